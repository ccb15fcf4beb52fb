"""Late-report reminders to the contacts (联络人), through the same outbox as the leaders' digests.

A reminder is not the leaders' "behind target" digest: it goes to the people who send the figures,
lists what is missing, and says by when it was due. It acts on the ``late`` verdicts of the cycle, the
same verdicts /metrics, the digests and Alertmanager show: lateness is decided once, by the rules
(:func:`rules.derive.report_status` over each rule's units), and the contacts are the verdict's owner
chain (:mod:`rules.owners`: the rule's contacts, else the indicator's, else the unit's).

Each evaluation cycle :meth:`LateReminders.plan` leaves out every (contact, indicator, unit, period)
already reminded (the ledger's ``reminded`` table), and queues one message per remaining contact on
each of that contact's channels. The messages, their decisions (kind ``late_reminder``) and the
reminded items are committed in one transaction, so a second cycle or a restart reminds nobody twice,
and a unit that reports leaves the late verdicts and is not reminded again. Delivery, retries and
secret scrubbing are the outbox's (:meth:`exporters.notify.Notifications.deliver`). A contact without
a channel is recorded, not dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from exporters.channels import NotifierConfig
from exporters.ledger import Ledger
from exporters.notifiers import Message, Recipient
from rules.vocabulary import label
from targetwatch import periods

log = logging.getLogger("targetwatch.notify")
KIND = "late_reminder"
ITEM_KEY = ["person", "indicator", "unit", "period"]


@dataclass
class Reminder:
    """One late-report reminder for one contact, ready for a notifier channel.

    ``items`` are JSON-safe (period and deadline as text). ``key`` names what is reminded, the same on
    every day the reports stay missing, so a sender can remind once and not at every evaluation."""

    person: str
    name: str
    subject: str
    text: str
    items: list[dict] = field(default_factory=list)
    mobile: str | None = None
    email: str | None = None
    wecom_userid: str | None = None
    dingtalk_userid: str | None = None

    @property
    def key(self) -> str:
        return self.person + ":" + ",".join(sorted(f"{i['indicator']}/{i['unit']}/{i['period']}" for i in self.items))

    @property
    def period(self) -> str:
        """The latest period the reminder covers, as text (2025-09), for an outbox row."""
        return max(i["period"] for i in self.items)


def late_items(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row (``ITEM_KEY`` and deadline) per contact and late report, from the ``late`` verdicts.

    Two rules on the same report make one item: a contact is reminded of a report, not of a rule."""
    # A scorecard's verdict has no deadline: it is late because an item's report is, and that item's own verdict reminds.
    late = verdicts[(verdicts["status"] == "late") & verdicts["deadline"].notna()] if len(verdicts) else verdicts
    if late.empty:
        return pd.DataFrame(columns=[*ITEM_KEY, "deadline"])
    items = late.assign(person=late["owners"].map(lambda owners: list(owners["contacts"]) if isinstance(owners, dict) else []))
    items = items.explode("person").dropna(subset=["person"])
    return items[[*ITEM_KEY, "deadline"]].drop_duplicates(ITEM_KEY).sort_values(ITEM_KEY, ignore_index=True)


def reminders(deployment, items: pd.DataFrame, as_of: datetime) -> list[Reminder]:
    """One reminder per contact listing each late report of ``items`` (:func:`late_items`) they are responsible for."""
    out = []
    day = as_of.astimezone(periods.TZ).date()
    late_word = label("late")
    for person_id, mine in items.groupby("person", sort=True):
        person = deployment.people[person_id]
        records = [{"indicator": r.indicator, "unit": r.unit, "period": r.period, "period_label": periods.parse(r.period).label_zh(),
                    "deadline": r.deadline, "status": "late"} for r in mine.itertuples(index=False)]
        lines = [f"{i}. {deployment.units[r['unit']].name}：{deployment.indicators[r['indicator']].name}（{r['period_label']}），"
                 f"报送截止 {date.fromisoformat(r['deadline']):%Y年%m月%d日}" for i, r in enumerate(records, 1)]
        text = (f"{person.name}同志：截至{day:%Y年%m月%d日}，以下数据已过报送期限仍未报送，请尽快组织报送：\n"
                + "\n".join(lines) + "\n（本提醒由 targetwatch 自动发送，报送后不再提醒。）")
        out.append(Reminder(person_id, person.name, f"【数据报送提醒】{len(lines)}项数据{late_word}", text, records,
                            person.mobile, person.email, person.wecom_userid, person.dingtalk_userid))
    return out


def pending_reminders(deployment, verdicts: pd.DataFrame, reminded: pd.DataFrame, as_of: datetime) -> list[Reminder]:
    """The reminders still owed: the late verdicts' items less what each contact was already reminded of."""
    items = late_items(verdicts)
    if items.empty:
        return []
    seen = reminded[ITEM_KEY].assign(_seen=True)
    fresh = items.merge(seen, on=ITEM_KEY, how="left")
    return reminders(deployment, fresh[fresh["_seen"].isna()].drop(columns="_seen"), as_of)


def reminder_message(reminder: Reminder, as_of: datetime) -> Message:
    """The outbox message of one reminder; ``data["kind"]`` tells it from a digest."""
    who = Recipient(id=reminder.person, name=reminder.name, mobile=reminder.mobile, email=reminder.email,
                    wecom_userid=reminder.wecom_userid, dingtalk_userid=reminder.dingtalk_userid)
    return Message(subject=reminder.subject, markdown=f"**{reminder.subject}**\n\n{reminder.text}",
                   text=f"{reminder.subject}\n\n{reminder.text}", recipient=who,
                   data={"kind": KIND, "key": reminder.key, "person": reminder.person, "period": reminder.period,
                         "as_of": as_of.astimezone(periods.TZ).date().isoformat(), "items": reminder.items})


class LateReminders:
    """Plans the late-report reminders of one deployment into a :class:`Ledger`'s outbox."""

    def __init__(self, deployment, ledger: Ledger, config: NotifierConfig):
        self.deployment = deployment
        self.ledger = ledger
        self.config = config

    def plan(self, verdicts: pd.DataFrame, as_of=None) -> int:
        """Queue the reminders the ``late`` verdicts call for as of ``as_of`` (a date, YYYY-MM-DD, a datetime or None for now); return how many."""
        instant = periods.as_of_instant(as_of)
        owed = pending_reminders(self.deployment, verdicts, self.ledger.reminded(), instant)
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


def _decision(reminder: Reminder, item: dict, message: int | None, note: str | None) -> dict:
    # A reminder is about a report, whichever rules judge it: the rule column stays empty and the kind says what it is.
    return {"rule": "", "unit": item["unit"], "indicator": item["indicator"], "period": item["period"], "old_status": None,
            "new_status": item["status"], "value": None, "target": None, "gap": None, "leader": reminder.person,
            "message": message, "note": note, "kind": KIND}
