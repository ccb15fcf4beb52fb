"""Verdicts → the outside world: the /metrics collector, generated Prometheus rules and Alertmanager
configuration, alerts pushed to Alertmanager, and leader digests over WeCom, DingTalk, e-mail and
webhooks with a persistent ledger and outbox. ``exporters.service.Service`` runs it all in one process.
"""
