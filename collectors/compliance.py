"""Reporting compliance: which units have not reported, whether they are past the deadline, and the
reminder each contact (联络人) gets. The reminder is not the leaders' "behind target" digest: it goes to
the people who send the figures, lists what is missing, and says by when it was due.

A unit is *expected* to report an indicator when it reported it in any of the ``lookback`` periods
before the one judged. Before the deadline (``Indicator.deadline``, calendar or Chinese working days,
see :func:`targetwatch.workdays.deadline_of`) a missing report is ``no_data``; after it, ``late``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from targetwatch.workdays import deadline_of
from targetwatch import periods
from targetwatch.deployment import Deployment
from targetwatch.periods import TZ, Period
from targetwatch.store import Store

LATE_COLUMNS = ["indicator", "unit", "period", "period_label", "deadline", "status", "contacts"]
_FIRST = {periods.MONTHLY: (1, 1), periods.QUARTERLY: (1, 3), periods.HALF_YEARLY: (1, 6), periods.YEARLY: (1, 12)}


def judged_period(frequency: str, jan_feb_combined: bool, as_of: date, lookback: int) -> list[Period]:
    """The latest period of a frequency that ended before ``as_of``, preceded by ``lookback`` earlier ones."""
    first, last = _FIRST[frequency]
    span = last - first + 1
    listed = periods.periods_between(Period(as_of.year - 3, first, last), Period(as_of.year, 13 - span, 12), frequency, jan_feb_combined)
    ended = [p for p in listed if p.end < as_of]
    return ended[-(lookback + 1):]


def late_reports(deployment: Deployment, store: Store, as_of: datetime | None = None, lookback: int = 12) -> pd.DataFrame:
    """Missing reports of the latest ended period of each indicator (``LATE_COLUMNS``), late ones first."""
    as_of = (as_of or datetime.now(TZ)).astimezone(TZ)
    frame = store.read(as_of=as_of)
    parts = []
    for ind in deployment.indicators.values():
        window = judged_period(ind.frequency, ind.jan_feb_combined, as_of.date(), lookback)
        if len(window) < 2:
            continue
        target, earlier = window[-1], {p.code for p in window[:-1]}
        rows = frame[frame["indicator"] == ind.id]
        expected = set(rows.loc[rows["period"].isin(earlier), "unit"])
        missing = sorted(expected - set(rows.loc[rows["period"] == target.code, "unit"]))
        if not missing:
            continue
        due = deadline_of(target, ind.deadline)
        parts.append(pd.DataFrame({
            "indicator": ind.id, "unit": missing, "period": target.code, "period_label": target.label_zh(),
            "deadline": due.date(), "status": "late" if as_of > due else "no_data",
            "contacts": [_contacts(deployment, u, ind.id) for u in missing],
        }))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=LATE_COLUMNS)
    return out.sort_values(["status", "indicator", "unit"], key=lambda s: s.map({"late": 0, "no_data": 1}) if s.name == "status" else s,
                           ignore_index=True)[LATE_COLUMNS]


def _contacts(dep: Deployment, unit: str, indicator: str) -> list[str]:
    """The unit's 联络人, else the indicator's."""
    owners = dep.units[unit].owners
    if owners and owners.contacts:
        return list(owners.contacts)
    owners = dep.indicators[indicator].owners
    return list(owners.contacts) if owners and owners.contacts else []


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


def reminders(deployment: Deployment, late: pd.DataFrame, as_of: datetime) -> list[Reminder]:
    """One reminder per contact listing each late report they are responsible for (``no_data`` rows are not reminded)."""
    due = late[late["status"] == "late"].explode("contacts").dropna(subset=["contacts"])
    out = []
    day = as_of.astimezone(TZ).date()
    for person_id, items in due.groupby("contacts", sort=True):
        person = deployment.people[person_id]
        lines = [f"{i}. {deployment.units[r.unit].name}：{deployment.indicators[r.indicator].name}（{r.period_label}），"
                 f"报送截止 {r.deadline:%Y年%m月%d日}" for i, r in enumerate(items.itertuples(index=False), 1)]
        text = (f"{person.name}同志：截至{day:%Y年%m月%d日}，以下数据已过报送期限仍未报送，请尽快组织报送：\n"
                + "\n".join(lines) + "\n（本提醒由 targetwatch 自动发送，报送后不再提醒。）")
        records = [{"indicator": r.indicator, "unit": r.unit, "period": periods.format_code(r.period),
                    "period_label": r.period_label, "deadline": r.deadline.isoformat(), "status": r.status}
                   for r in items.itertuples(index=False)]
        out.append(Reminder(person_id, person.name, f"【数据报送提醒】{len(lines)}项数据逾期未报", text, records,
                            person.mobile, person.email, person.wecom_userid, person.dingtalk_userid))
    return out
