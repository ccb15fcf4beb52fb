"""Notify on a change of state: diff the verdicts against the ledger, queue digests, deliver the outbox.

:meth:`Notifications.plan` compares each verdict's status with the last one recorded. A verdict that
entered or left a digest status (behind, late, at risk) triggers a digest for its leader (one per cycle,
naming every period that changed), on each of the leader's channels; the decision, the new states and the queued messages are committed
together, so a restart neither forgets nor repeats anything. :meth:`Notifications.deliver` sends what
is due, part by part, and backs off exponentially on failure; nothing is dropped.

A part is marked sent only after the channel accepted it, so a process killed between the two resends
that one part after the restart. Each message has an idempotency key (:func:`idempotency_key`) that
every resend of it carries, so a receiver that got a part whose answer never arrived (a timeout) can
tell the resend apart: exactly once as far as the receiver can tell. A redirect fails for good.

Two policies keep leaders from being flooded. A change of a verdict whose period is older than the
current reporting period (``historic``: a first start, a restart after downtime) is recorded as
``backfilled`` and not sent; :meth:`Notifications.backfill` sends those on request. With ``via:
alertmanager`` in ``notifiers.yaml`` the changes are recorded but Alertmanager notifies the leaders.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import pandas as pd

from exporters.channels import NotifierConfig
from exporters.digest import PERIOD_JOIN, build_digest
from exporters.ledger import KEY, Ledger, idempotency_key
from exporters.notifiers import DeliveryError, Message, PermanentDeliveryError, notifier_for
from exporters.verdicts import DIGEST_STATUSES, HISTORIC
from rules.owners import recipients
from targetwatch import settings as settings_mod
from targetwatch.errors import ConfigError

log = logging.getLogger("targetwatch.notify")


@dataclass
class Preview:
    """What one channel would deliver of one digest: the parts its notifier sends, or why it cannot."""

    leader: str
    period: str
    channel: str
    kind: str
    parts: list[dict]
    error: str | None = None


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

    def plan(self, verdicts: pd.DataFrame, changed: pd.DataFrame | None = None) -> int:
        """Record the state changes and queue the digests they call for; return how many were queued.

        ``changed``: after an incremental evaluation, the only verdicts that may have changed state; the
        digests still list the leader's other verdicts of the period from ``verdicts``."""
        if verdicts.empty or (changed is not None and changed.empty):
            return 0
        frame = with_recipients(verdicts.reset_index(drop=True))
        candidates = None if changed is None else with_recipients(changed.reset_index(drop=True))
        changed, triggers, messages, decisions = self._messages(frame, self.ledger.states(), candidates)
        self.ledger.record(changed[KEY + ["status", "value"]], messages, decisions)
        if messages:
            log.info("queued %d digest(s) for %d state change(s)", len(messages), len(triggers))
        return len(messages)

    def _messages(self, frame: pd.DataFrame, old: pd.DataFrame,
                  candidates: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, list[dict], list[dict]]:
        """The changes against the recorded states ``old`` (of ``candidates``, default every verdict of ``frame``),
        the alerting ones, and the messages and decisions they call for (nothing recorded: :meth:`plan`
        records, :meth:`preview` shows)."""
        merged = (frame if candidates is None else candidates).merge(old, on=KEY, how="left")
        changed = merged[merged["old_status"].isna() | (merged["old_status"] != merged["status"])]
        alerting = changed["status"].isin(DIGEST_STATUSES) | changed["old_status"].isin(DIGEST_STATUSES)
        triggers = changed[alerting]
        messages: list[dict] = []
        decisions: list[dict] = []
        leaders = triggers["recipient"].where(triggers["recipient"].notna(), None)
        held = (triggers[HISTORIC] == "true") if HISTORIC in triggers else pd.Series(False, index=triggers.index)
        for row in triggers[leaders.isna()].itertuples(index=False):
            decisions.append(_decision(row, None, "no leader owns this verdict: nobody to notify"))
        for row in triggers[leaders.notna() & held].itertuples(index=False):
            decisions.append(_decision(row, None, f"backfilled: {row.period} is older than the current reporting period; "
                                                  "`targetwatch notifications backfill --since DATE` sends it", kind="backfilled"))
        current = triggers[leaders.notna() & ~held]
        if self.config.via == "alertmanager":
            decisions.extend(_decision(r, None, "via alertmanager (notifiers.yaml): Alertmanager notifies the leader")
                             for r in current.itertuples(index=False))
            current = current.iloc[0:0]
        # One digest per leader and cycle: a leader with monthly and quarterly targets hears of both at once.
        # A data-quality verdict's recipient is its first contact (rules.owners.recipients), every other one's its leader.
        for leader, group in current.groupby("recipient", sort=True):
            period = PERIOD_JOIN.join(sorted(group["period"].unique()))
            own = frame[(frame["recipient"] == leader) & frame["period"].isin(group["period"].unique())]
            recovered = group[~group["status"].isin(DIGEST_STATUSES)]
            digest = build_digest(self.deployment, leader, period, own, recovered, self.dashboard_url)
            change = sorted((r.rule, r.unit, r.indicator, r.period, _text(r.old_status), _text(r.old_changed_at), r.status)
                            for r in group.itertuples(index=False))
            self.queue(leader, period, digest, change, messages, decisions, group)
        return changed, triggers, messages, decisions

    def preview(self, verdicts: pd.DataFrame, leader: str, period: str | None = None) -> list[Preview]:
        """Exactly what would be sent to ``leader``, per channel, as the parts each notifier sends; nothing is
        recorded or sent.

        Without ``period``: what :meth:`plan` would queue now for these verdicts against the recorded states
        (none without a ledger). With ``period``: that period's digest as ``notifications backfill`` sends it.
        """
        if period is None:
            old = self.ledger.states() if self.ledger is not None else pd.DataFrame(columns=[*KEY, "old_status", "old_changed_at"])
            messages = [m for m in self._messages(with_recipients(verdicts.reset_index(drop=True)), old)[2] if m["leader"] == leader]
        else:
            frame = with_recipients(verdicts)
            own = frame[(frame["recipient"] == leader) & (frame["period"] == period)]
            alerting = own[own["status"].isin(DIGEST_STATUSES)]
            digest = build_digest(self.deployment, leader, period, own, None, self.dashboard_url)
            change = sorted(("backfill", r.rule, r.unit, r.indicator, r.status) for r in alerting.itertuples(index=False))
            messages = []
            self.queue(leader, period, digest, change, messages, [], alerting.assign(old_status=None),
                       channels=self.config.delivered_by_targetwatch(leader))
        out = []
        for m in messages:
            channel = self.config.channel(m["channel"])
            try:  # as deliver() builds them
                out.append(Preview(leader, m["period"], m["channel"], channel.kind,
                                   notifier_for(channel, self.secret).keyed_parts(Message.from_json(m["message"]))))
            except (ConfigError, DeliveryError) as exc:
                out.append(Preview(leader, m["period"], m["channel"], channel.kind, [], str(exc)))
        return out

    def queue(self, leader: str, period: str, digest: Message, change, messages: list[dict], decisions: list[dict],
               rows: pd.DataFrame, note: str | None = None, channels: list[str] | None = None, kind: str = "digest") -> None:
        """Add the digest to ``messages`` once per channel of the leader, each with its key, and its decisions."""
        channels = self.config.channels_of(leader) if channels is None else channels
        if not channels:
            decisions.extend(_decision(r, None, "no channel configured for this leader in notifiers.yaml", kind=kind)
                             for r in rows.itertuples(index=False))
        for channel in channels:
            key = message_key(leader, period, change, channel)
            message = Message(**{**digest.__dict__, "key": key})
            messages.append({"leader": leader, "period": period, "channel": channel, "recipient": digest.recipient.id,
                             "subject": digest.subject, "message": message.to_json(), "key": key})
            decisions.extend(_decision(r, len(messages) - 1, note, kind=kind) for r in rows.itertuples(index=False))

    def backfill(self, verdicts_of, since_code: int = 0) -> int:
        """Queue digests of the backfilled (held) changes of periods from ``since_code`` on; return how many.

        They go where targetwatch delivers on the configured path: every channel of the leader with
        ``via: builtin``, the group robots with ``via: alertmanager`` (never e-mail behind Alertmanager's back).

        ``verdicts_of(period)`` gives the verdict frame of one period (re-evaluated now, so the digest
        says what is true today). A held change whose verdict is no longer alerting is closed unsent.
        """
        held = self.ledger.held(since_code)
        queued = 0
        for period, of_period in held.groupby("period", sort=True):
            frame = verdicts_of(period)
            frame = with_recipients(frame[frame["period"] == period]) if len(frame) else frame
            # Held under its recipient (the leader, or a data check's contact: _decision), sent to the same person,
            # a data check in the digest's data section. A data check held before the recipient was recorded (leader
            # NULL) is sent to the recipient it has now.
            if len(frame) and of_period["leader"].isna().any():
                now = of_period.merge(frame[list(KEY) + ["recipient"]].drop_duplicates(KEY), on=KEY, how="left")["recipient"]
                of_period = of_period.assign(leader=of_period["leader"].where(of_period["leader"].notna(), now.to_numpy()))
            for leader, rows in of_period.groupby("leader", sort=True):
                own = frame[frame["recipient"] == leader] if len(frame) else frame
                still = own.merge(rows[KEY], on=KEY)
                alerting = still[still["status"].isin(DIGEST_STATUSES)]
                if alerting.empty:
                    self.ledger.release(rows["id"].tolist(), None, "backfill: no longer behind, late or at risk; not sent")
                    continue
                digest = build_digest(self.deployment, leader, period, own, None, self.dashboard_url)
                change = sorted(("backfill", r.rule, r.unit, r.indicator, r.status) for r in alerting.itertuples(index=False))
                messages: list[dict] = []
                decisions: list[dict] = []
                rows_now = alerting.assign(old_status=None)
                # The channels targetwatch delivers on for this path: with via: alertmanager, the robots only.
                self.queue(leader, period, digest, change, messages, decisions, rows_now, note="sent by `notifications backfill`",
                           channels=self.config.delivered_by_targetwatch(leader))
                ids = self.ledger.record(pd.DataFrame(columns=KEY + ["status", "value"]), messages, decisions)
                self.ledger.release(rows["id"].tolist(), ids[0] if ids else None, "sent by backfill")
                queued += len(messages)
        return queued

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
                message = Message.from_json(row["message"])
                if not message.key and row["idempotency_key"]:
                    message.key = row["idempotency_key"]
                parts = notifier.keyed_parts(message)
                for i in range(row["parts_sent"], len(parts)):
                    notifier.send_part(parts[i])
                    self.ledger.part_sent(row["id"], i + 1, done=i + 1 == len(parts))
                if not parts or row["parts_sent"] >= len(parts):
                    self.ledger.part_sent(row["id"], len(parts), done=True)
                report.sent += 1
                log.info("sent message %d to %s on %s", row["id"], row["recipient"], row["channel"])
            except PermanentDeliveryError as exc:  # a redirect: retrying cannot help; it stays in the outbox, failed
                self.ledger.failed(row["id"], str(exc), 0, give_up=True)
                report.failed += 1
                log.error("message %d to %s on %s failed for good: %s", row["id"], row["recipient"], row["channel"], exc)
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


def with_recipients(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a ``recipient`` column: the person each verdict's digest goes to (:func:`rules.owners.recipients`:
    its leader, or for a data-quality verdict its first contact, 联络人)."""
    return frame.assign(recipient=recipients(frame).to_numpy(dtype=object))


def message_key(leader: str, period: str, change, channel: str) -> str:
    """The idempotency key of a digest: its leader, period, the state change it reports, and its channel.

    The same change always gives the same key; a later change of the same verdicts differs by the time
    their previous state was recorded, so it gets a new key. Parts add ``-<i>``.
    """
    return idempotency_key(leader, period, channel, change)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _recipient_of(row) -> str | None:
    """Whom a decision is about: the verdict's recipient (leader, or a data check's contact), else its leader."""
    who = getattr(row, "recipient", None)
    who = who if isinstance(who, str) else getattr(row, "leader", None)
    return who if isinstance(who, str) else None


def _decision(row, message: int | None, note: str | None, kind: str = "digest") -> dict:
    old = getattr(row, "old_status", None)
    old = old if isinstance(old, str) else None
    return {"rule": row.rule, "unit": row.unit, "indicator": row.indicator, "period": row.period, "old_status": old,
            "new_status": row.status, "value": getattr(row, "value", None), "target": getattr(row, "target", None),
            "gap": getattr(row, "gap", None), "leader": _recipient_of(row),
            "message": message, "note": note, "kind": kind}


def backfill_notifications(deployment, store, since: str, as_of=None, ledger: Ledger | None = None) -> tuple[int, Delivery]:
    """``targetwatch notifications backfill --since DATE``: send the held-back digests of periods starting then or later.

    ``since`` is a day (2023-06-01) or a period (2023-06, 2023-Q2). Each held period is re-evaluated as
    of ``as_of`` (default today), so the digest says what is true now. Returns (queued, delivery).
    """
    import rules
    from exporters.channels import load_notifier_config
    from exporters.ledger import ledger_path
    from targetwatch import periods

    try:
        start = periods.parse(since)
        since_code = periods.Period(start.year, start.first_month, start.first_month).code
    except Exception:
        day = periods.as_of_instant(since).date()
        since_code = periods.Period(day.year, day.month, day.month).code
    own = ledger is None
    ledger = ledger or Ledger(ledger_path(deployment.settings))
    try:
        notifications = Notifications(deployment, ledger, load_notifier_config(deployment.root), deployment.settings.dashboard_url)
        queued = notifications.backfill(lambda period: rules.evaluate(deployment, store, as_of=as_of, period=period), since_code)
        return queued, notifications.deliver()
    finally:
        if own:
            ledger.close()
