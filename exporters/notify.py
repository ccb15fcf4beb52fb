"""Notify on a change of state: diff the verdicts against the ledger, queue digests, deliver the outbox.

:meth:`Notifications.plan` compares each verdict's status with the last one recorded. A verdict that
entered or left a digest status (behind, late, at risk) triggers one digest for its leader and period,
on each of the leader's channels; the decision, the new states and the queued messages are committed
together, so a restart neither forgets nor repeats anything. :meth:`Notifications.deliver` sends what
is due, part by part, and backs off exponentially on failure; nothing is dropped.

A part is marked sent only after the channel accepted it, so a process killed between the two resends
that one part after the restart: delivery is exactly once unless the process dies mid-request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import pandas as pd

from exporters.channels import NotifierConfig
from exporters.digest import build_digest
from exporters.ledger import KEY, Ledger
from exporters.notifiers import DeliveryError, Message, notifier_for
from exporters.verdicts import DIGEST_STATUSES
from targetwatch import settings as settings_mod
from targetwatch.errors import ConfigError

log = logging.getLogger("targetwatch.notify")


@dataclass
class Delivery:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0


class Notifications:
    """Digests for leaders, driven by the verdicts and kept in a :class:`Ledger`."""

    def __init__(self, deployment, ledger: Ledger, config: NotifierConfig, dashboard_url: str = "", secret=None):
        self.deployment = deployment
        self.ledger = ledger
        self.config = config
        self.dashboard_url = dashboard_url.rstrip("/") + config.dashboard_path if dashboard_url else config.dashboard_path
        self.secret = secret or (lambda name: settings_mod.secret(name, deployment.settings))
        self._delivering = threading.Lock()  # one delivery pass at a time, or a due message could go twice

    def plan(self, verdicts: pd.DataFrame) -> int:
        """Record the state changes and queue the digests they call for; return how many were queued."""
        if verdicts.empty:
            return 0
        frame = verdicts.reset_index(drop=True)
        old = self.ledger.states()
        merged = frame.merge(old, on=KEY, how="left")
        changed = merged[merged["old_status"].isna() | (merged["old_status"] != merged["status"])]
        alerting = changed["status"].isin(DIGEST_STATUSES) | changed["old_status"].isin(DIGEST_STATUSES)
        triggers = changed[alerting]
        messages: list[dict] = []
        decisions: list[dict] = []
        leaders = triggers["leader"].where(triggers["leader"].notna(), None)
        for row in triggers[leaders.isna()].itertuples(index=False):
            decisions.append(_decision(row, None, "no leader owns this verdict: nobody to notify"))
        for (leader, period), group in triggers[leaders.notna()].groupby(["leader", "period"], sort=True):
            own = frame[(frame["leader"] == leader) & (frame["period"] == period)]
            recovered = group[~group["status"].isin(DIGEST_STATUSES)]
            digest = build_digest(self.deployment, leader, period, own, recovered, self.dashboard_url)
            channels = self.config.channels_of(leader)
            if not channels:
                decisions.extend(_decision(r, None, "no channel configured for this leader in notifiers.yaml") for r in group.itertuples(index=False))
            for channel in channels:
                messages.append({"leader": leader, "period": period, "channel": channel, "recipient": digest.recipient.id,
                                 "subject": digest.subject, "message": digest.to_json()})
                decisions.extend(_decision(r, len(messages) - 1, None) for r in group.itertuples(index=False))
        self.ledger.record(changed[KEY + ["status", "value"]], messages, decisions)
        if messages:
            log.info("queued %d digest(s) for %d state change(s)", len(messages), len(triggers))
        return len(messages)

    def deliver(self) -> Delivery:
        """Send every due message, resuming after the last part that arrived; back off on failure."""
        with self._delivering:
            return self._deliver_due()

    def _deliver_due(self) -> Delivery:
        report = Delivery()
        for row in self.ledger.due():
            try:
                notifier = notifier_for(self.config.channel(row["channel"]), self.secret)
            except ConfigError as exc:
                self._failed(row, f"channel {row['channel']!r} is not usable: {exc.message}", report)
                continue
            try:
                parts = notifier.parts(Message.from_json(row["message"]))
                for i in range(row["parts_sent"], len(parts)):
                    notifier.send_part(parts[i])
                    self.ledger.part_sent(row["id"], i + 1, done=i + 1 == len(parts))
                if not parts or row["parts_sent"] >= len(parts):
                    self.ledger.part_sent(row["id"], len(parts), done=True)
                report.sent += 1
                log.info("sent message %d to %s on %s", row["id"], row["recipient"], row["channel"])
            except DeliveryError as exc:
                self._failed(row, str(exc), report)
            except Exception as exc:  # a bug in a notifier must not stop the others, nor leak a secret
                self._failed(row, notifier.redact(f"{type(exc).__name__}: {exc}"), report)
        return report

    def _failed(self, row, error: str, report: Delivery) -> None:
        retry = self.config.retry
        delay = min(retry.base_seconds * 2 ** row["failures"], retry.max_seconds)
        self.ledger.failed(row["id"], error, delay)
        report.failed += 1
        log.warning("message %d to %s on %s failed (attempt %d), retry in %.0f s: %s",
                    row["id"], row["recipient"], row["channel"], row["failures"] + 1, delay, error)


def _decision(row, message: int | None, note: str | None) -> dict:
    old = row.old_status if isinstance(row.old_status, str) else None
    return {"rule": row.rule, "unit": row.unit, "indicator": row.indicator, "period": row.period, "old_status": old,
            "new_status": row.status, "value": row.value, "target": row.target, "gap": row.gap,
            "leader": row.leader if isinstance(row.leader, str) else None, "message": message, "note": note}
