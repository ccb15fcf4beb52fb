"""Late-report reminders to the contacts (联络人), through the same outbox as the leaders' digests.

Each evaluation cycle :meth:`LateReminders.plan` asks :mod:`collectors.compliance` which reports are
past their deadline, leaves out every (contact, indicator, unit, period) already reminded (the ledger's
``reminded`` table), and queues one message per remaining contact on each of that contact's channels.
The messages, their decisions (kind ``late_reminder``) and the reminded items are committed in one
transaction, so a second cycle or a restart reminds nobody twice, and a unit that reports leaves the
late list and is not reminded again. Delivery, retries and secret scrubbing are the outbox's
(:meth:`exporters.notify.Notifications.deliver`). A contact without a channel is recorded, not dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pandas as pd

from collectors import compliance
from exporters.channels import NotifierConfig
from exporters.ledger import Ledger
from exporters.notifiers import Message, Recipient
from targetwatch import periods
from targetwatch.store import Store

log = logging.getLogger("targetwatch.notify")
KIND = "late_reminder"
ITEM_KEY = ["person", "indicator", "unit", "period"]


def pending_reminders(deployment, late: pd.DataFrame, reminded: pd.DataFrame, as_of: datetime) -> list[compliance.Reminder]:
    """The reminders still owed: the ``late`` rows (``compliance.LATE_COLUMNS``) less what each contact was reminded of."""
    due = late[late["status"] == "late"].explode("contacts").dropna(subset=["contacts"])
    if due.empty:
        return []
    due = due.assign(person=due["contacts"], period_text=due["period"].map(periods.format_code))
    seen = reminded.rename(columns={"period": "period_text"}).assign(_seen=True)
    fresh = due.merge(seen, on=["person", "indicator", "unit", "period_text"], how="left")
    fresh = fresh[fresh["_seen"].isna()]
    # One contact per row, so that each contact's reminder lists only what they were not yet reminded of.
    one_contact = fresh.assign(contacts=fresh["person"].map(lambda person: [person]))[compliance.LATE_COLUMNS]
    return compliance.reminders(deployment, one_contact, as_of)


def reminder_message(reminder: compliance.Reminder, as_of: datetime) -> Message:
    """The outbox message of one reminder; ``data["kind"]`` tells it from a digest."""
    who = Recipient(id=reminder.person, name=reminder.name, mobile=reminder.mobile, email=reminder.email,
                    wecom_userid=reminder.wecom_userid, dingtalk_userid=reminder.dingtalk_userid)
    return Message(subject=reminder.subject, markdown=f"**{reminder.subject}**\n\n{reminder.text}",
                   text=f"{reminder.subject}\n\n{reminder.text}", recipient=who,
                   data={"kind": KIND, "key": reminder.key, "person": reminder.person, "period": reminder.period,
                         "as_of": as_of.astimezone(periods.TZ).date().isoformat(), "items": reminder.items})


def rule_contacts(deployment) -> dict[tuple[str, str], list[str]]:
    """(indicator, unit) → the 联络人 the rules name for that target.

    Task lists (seed 003) name a contact per task, not per unit or indicator, so a late report whose unit
    and indicator registries name nobody is reminded to the contact of the rule that judges it.
    """
    from rules import load_rules

    out: dict[tuple[str, str], list[str]] = {}
    for rule in load_rules(deployment.root).rules:
        spec = rule.doc.spec
        contacts = list(spec.owners.contacts) if spec.owners else []
        if not contacts:
            continue
        units = spec.units or (deployment.group_members(spec.group) if spec.group else [])
        for unit in units:
            out.setdefault((spec.indicator, unit), contacts)
    return out


class LateReminders:
    """Plans the late-report reminders of one deployment into a :class:`Ledger`'s outbox."""

    def __init__(self, deployment, ledger: Ledger, config: NotifierConfig):
        self.deployment = deployment
        self.ledger = ledger
        self.config = config
        self._rule_contacts: dict[tuple[str, str], list[str]] | None = None

    def plan(self, store: Store, as_of=None) -> int:
        """Queue the reminders owed as of ``as_of`` (a date, YYYY-MM-DD, a datetime or None for now); return how many."""
        instant = periods.as_of_instant(as_of)
        late = compliance.late_reports(self.deployment, store, as_of=instant)
        if not late.empty:
            if self._rule_contacts is None:  # rules do not change while the service runs: read them once
                self._rule_contacts = rule_contacts(self.deployment)
            late["contacts"] = [c or self._rule_contacts.get((i, u), [])
                                for c, i, u in zip(late["contacts"], late["indicator"], late["unit"])]
        owed = pending_reminders(self.deployment, late, self.ledger.reminded(), instant)
        messages: list[dict] = []
        decisions: list[dict] = []
        reminded: list[dict] = []
        for reminder in owed:
            message = reminder_message(reminder, instant)
            channels = self.config.channels_of(reminder.person)
            note = None if channels else "no channel configured for this contact in notifiers.yaml"
            for channel in channels:
                messages.append({"leader": reminder.person, "period": reminder.period, "channel": channel,
                                 "recipient": reminder.person, "subject": message.subject, "message": message.to_json()})
                decisions.extend(_decision(reminder, item, len(messages) - 1, None) for item in reminder.items)
            if not channels:
                decisions.extend(_decision(reminder, item, None, note) for item in reminder.items)
            reminded.extend({"person": reminder.person, "indicator": i["indicator"], "unit": i["unit"], "period": i["period"],
                             "key": reminder.key} for i in reminder.items)
        if decisions:
            self.ledger.record(pd.DataFrame(columns=["rule", "unit", "indicator", "period", "status", "value"]),
                               messages, decisions, reminded)
            log.info("queued %d late-report reminder(s) for %d contact(s)", len(messages), len(owed))
        return len(messages)


def _decision(reminder: compliance.Reminder, item: dict, message: int | None, note: str | None) -> dict:
    # A reminder follows no rule: the rule column stays empty and the kind says what it is.
    return {"rule": "", "unit": item["unit"], "indicator": item["indicator"], "period": item["period"], "old_status": None,
            "new_status": item["status"], "value": None, "target": None, "gap": None, "leader": reminder.person,
            "message": message, "note": note, "kind": KIND}
