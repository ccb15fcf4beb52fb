"""Grafana dashboards generated from a deployment with grafana-foundation-sdk (pinned to Grafana 11.6).

``targetwatch dashboards build`` writes ``dashboards/generated/<uid>.json``; the committed files are
what Grafana's file provisioning loads (``config/provisioning/grafana/dashboards/``). A test
regenerates them and fails on any difference, and another type-checks them with ``tsc`` against the
npm ``@grafana/grafana-foundation-sdk`` types (``dashboards/tsc/``).
"""
