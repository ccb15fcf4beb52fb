"""Chinese working days: public holidays and adjusted working days (调休), from ``chinese_calendar``.

The holiday list is the State Council's, maintained in the ``chinesecalendar`` package; nothing here
hand-writes a holiday. The package knows only the years it was released for: asking about a later
year raises :class:`WorkdayCalendarError`, telling the operator to upgrade it, instead of silently
treating the Spring Festival as ordinary weekdays.

Two uses: the "Nth working day of the month" schedule trigger, and reporting deadlines such as "the
5th working day after the period ends" (:func:`deadline_of`), which decide ``no_data`` versus ``late``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

import chinese_calendar

from targetwatch.errors import TargetwatchError
from targetwatch.model import Deadline
from targetwatch.periods import TZ, Period


log = logging.getLogger("targetwatch.workdays")
_warned: set[int] = set()


class WorkdayCalendarError(TargetwatchError):
    """The holiday calendar does not cover the asked-for year."""


def is_working_day(day: date, *, beyond_calendar: str = "raise") -> bool:
    """True on a Chinese working day: weekdays that are not holidays, plus 调休 weekends.

    For a year the package does not know yet, ``beyond_calendar="weekdays"`` counts Monday–Friday and
    logs a warning; the default raises. Deadlines use the former (an approximate due date beats no
    verdict at all at the turn of the year); schedules the latter.
    """
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError as exc:
        if beyond_calendar == "weekdays":
            if day.year not in _warned:
                _warned.add(day.year)
                log.warning("chinesecalendar has no holidays for %s: counting Monday–Friday; upgrade it", day.year)
            return day.weekday() < 5
        raise WorkdayCalendarError(
            f"the installed chinesecalendar {getattr(chinese_calendar, '__version__', '')} has no holidays for "
            f"{day.year}; upgrade it (pip install -U chinesecalendar)"
        ) from exc


def nth_working_day_of_month(year: int, month: int, n: int) -> date | None:
    """The ``n``-th (1-based) working day of a month; ``None`` when the month has fewer."""
    if n < 1:
        raise ValueError("n counts from 1")
    day = date(year, month, 1)
    seen = 0
    while day.month == month:
        if is_working_day(day):
            seen += 1
            if seen == n:
                return day
        day += timedelta(days=1)
    return None


def working_day_after(day: date, n: int, *, beyond_calendar: str = "raise") -> date:
    """The ``n``-th working day strictly after ``day`` (``n=0``: ``day`` itself)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    seen = 0
    while seen < n:
        day += timedelta(days=1)
        if is_working_day(day, beyond_calendar=beyond_calendar):
            seen += 1
    return day


def deadline_of(period: Period, deadline: Deadline) -> datetime:
    """When the report of ``period`` is due: the end of the due day, Asia/Shanghai.

    ``Deadline(working_days=5)`` is the end of the 5th working day after the period's last day;
    ``Deadline(days=15)`` the end of the 15th calendar day after it. A report that arrives by this
    instant is on time; a missing report is ``no_data`` before it and ``late`` after it.
    """
    if deadline.working_days is not None:
        due = working_day_after(period.end, deadline.working_days, beyond_calendar="weekdays")
    else:
        due = period.end + timedelta(days=deadline.days or 0)
    return datetime.combine(due, time.max, tzinfo=TZ)
