"""``POST /alertmanager/webhook`` of ``targetwatch serve``: Alertmanager's grouped notifications to the robots.

With ``via: alertmanager`` the generated ``alertmanager.yml`` sends each leader's group (alerts grouped
by leader and period) here as Alertmanager's webhook JSON (version 4). :class:`AlertmanagerRelay` turns
it into the same digest a built-in notification would be (:func:`exporters.digest.build_digest`, with
the verdicts' own sentences when the service has them) and queues it in the outbox for each DingTalk
and WeCom robot channel of the leader in ``notifiers.yaml``. The outbox then delivers it like any digest:
signed, @-mentioning, split under the robot's size limit, retried, with an idempotency key. This is the
role PrometheusAlert plays for many Chinese teams.

Alertmanager resends a notification it thinks failed, and repeats a group every ``repeat_interval``: a
notification whose alerts and states were already relayed has the same key and is not queued again.

Whoever can post here makes the robots speak, so the endpoint takes a shared secret,
``TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN`` (the environment, ``…_FILE``, or the secrets file), that
Alertmanager presents as ``Authorization: Bearer`` (the generated ``http_config`` reads it from
``alertmanager.targetwatch_token_file``). Without it the endpoint answers only while ``serve`` listens on
loopback, where only this machine can reach it (:func:`refusal`).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from typing import Callable

import pandas as pd

from exporters.channels import NotifierConfig
from exporters.digest import build_digest
from exporters.ledger import KEY, Ledger
from exporters.notify import Notifications, message_key
from exporters.verdicts import DIGEST_STATUSES

log = logging.getLogger("targetwatch.alertmanager_webhook")
PATH = "/alertmanager/webhook"
TOKEN_ENV = "TARGETWATCH_ALERTMANAGER_WEBHOOK_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether ``serve`` bound to ``host`` is reachable from this machine only (a host name other than
    ``localhost`` could resolve anywhere, so it is not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(authorization: str | None, token: str | None, loopback: bool) -> tuple[int, str] | None:
    """Why a POST is refused, as (HTTP status, reason), or ``None`` when it may be relayed.

    With a token, only ``Bearer <token>`` passes (compared in constant time). Without one, only a
    loopback listener answers. The reason never quotes the header: it may hold a near-miss of the secret.
    """
    if token is None:
        return None if loopback else (403, f"serve listens beyond loopback and {TOKEN_ENV} is not set")
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401, "no bearer token"
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        return 401, "wrong bearer token"
    return None


class AlertmanagerRelay:
    """Queues robot digests from Alertmanager notifications; ``verdicts()`` is the service's latest frame."""

    def __init__(self, deployment, ledger: Ledger, config: NotifierConfig, notifications: Notifications,
                 verdicts: Callable[[], pd.DataFrame] = pd.DataFrame):
        self.deployment = deployment
        self.ledger = ledger
        self.config = config
        self.notifications = notifications
        self.verdicts = verdicts

    def handle(self, body: bytes) -> tuple[int, str]:
        """Queue what one notification calls for; (HTTP status, text). 4xx only for a body Alertmanager would not send."""
        if self.config.via != "alertmanager":
            return 409, "notifiers.yaml says via: builtin; this endpoint relays only when via: alertmanager\n"
        try:
            payload = json.loads(body)
            alerts = payload["alerts"]
        except (ValueError, KeyError, TypeError):
            return 400, "expected Alertmanager's webhook JSON (an object with \"alerts\")\n"
        queued = 0
        by_group: dict[tuple, list[dict]] = {}
        for alert in alerts:
            labels = alert.get("labels", {})
            if labels.get("leader") and labels.get("period") and labels.get("rule") and labels.get("unit"):
                by_group.setdefault((labels["leader"], labels["period"]), []).append(alert)
        for (leader, period), group in sorted(by_group.items()):
            queued += self._relay(leader, period, group)
        return 200, f"queued {queued} message(s)\n"

    def _relay(self, leader: str, period: str, alerts: list[dict]) -> int:
        rows = self._rows(alerts)
        change = sorted((a.get("fingerprint", ""), a.get("status", ""), a.get("startsAt", "")) for a in alerts)
        channels = [c for c in self.config.robot_channels_of(leader) if not self.ledger.has_key(message_key(leader, period, change, c))]
        if not channels:
            return 0  # already relayed (a resend or a repeat), or the leader has no robot: Alertmanager's own receivers serve them
        firing = rows[rows["status"].isin(DIGEST_STATUSES)]
        recovered = rows[~rows["status"].isin(DIGEST_STATUSES)]
        digest = build_digest(self.deployment, leader, period, firing, recovered, self.notifications.dashboard_url)
        messages: list[dict] = []
        decisions: list[dict] = []
        self.notifications.queue(leader, period, digest, change, messages, decisions, rows.assign(old_status=None),
                                  note="relayed from Alertmanager", channels=channels, kind="alertmanager")
        self.ledger.record(pd.DataFrame(columns=KEY + ["status", "value"]), messages, decisions)
        log.info("queued %d robot message(s) for %s %s from Alertmanager (%d alert(s))", len(messages), leader, period, len(alerts))
        return len(messages)

    def _rows(self, alerts: list[dict]) -> pd.DataFrame:
        """One verdict-like row per alert: the service's verdict when it has it, else the alert's own words."""
        rows = []
        for alert in alerts:
            lab, ann = alert.get("labels", {}), alert.get("annotations", {})
            status = lab.get("status", "behind") if alert.get("status") == "firing" else "on_track"
            rows.append({"rule": lab["rule"], "unit": lab["unit"], "indicator": lab.get("indicator", ""), "period": lab["period"],
                         "leader": lab.get("leader"), "status": status, "rule_title": ann.get("rule_title") or lab["rule"],
                         "message": ann.get("description", ""), "value": None, "target": None, "gap": None, "as_of": ""})
        frame = pd.DataFrame(rows)
        known = self.verdicts()
        if known is None or known.empty:
            return frame
        cols = ["rule_title", "message", "value", "target", "gap", "as_of"]
        merged = frame.merge(known[KEY + cols + ["status"]].rename(columns={"status": "_now"}), on=KEY, how="left", suffixes=("", "_v"))
        have = merged["_now"].notna()
        for col in cols:
            merged[col] = merged[col + "_v"].where(have, merged[col])
        # A resolved alert says what the verdict is now: 已改善 only when it reached the target, and still
        # listed when the service judges it behind (Alertmanager resolved it on a stale scrape).
        resolved = have & ~merged["status"].isin(DIGEST_STATUSES)
        merged["status"] = merged["_now"].where(resolved, merged["status"])
        return merged[frame.columns]
