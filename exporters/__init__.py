"""Verdicts → the outside world.

- ``collector`` / ``exposition``: the /metrics collector (fresh families per scrape) and its fast renderer
- ``promrules`` / ``promtests``: ``targetwatch export prometheus-rules [--tests]``
- ``alertmanager``: ``targetwatch export alertmanager`` (a route and receiver per leader); ``push``: API v2
- ``notifiers``: WeCom, DingTalk, e-mail and webhook channels, registered by kind; ``channels``: notifiers.yaml
- ``digest``: one digest per leader per period; ``notify``: state changes → outbox → delivery; ``ledger``: SQLite
- ``service``: ``targetwatch serve`` as a library object (:class:`exporters.service.Service`)
- ``influx``: write-back of verdicts to InfluxDB
"""
