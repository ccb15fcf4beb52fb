"""Schedules and deadlines around the Spring Festival and National Day, with 调休 working weekends.

Dates checked against the State Council holiday notices: 2024 Spring Festival 2/10–2/17 off, 2/4 (Sun)
and 2/18 (Sun) worked; 2024 National Day 10/1–10/7 off, 9/29 (Sun) and 10/12 (Sat) worked; 2025 Spring
Festival 1/28–2/4 off, 1/26 (Sun) and 2/8 (Sat) worked; 2025 National Day 10/1–10/8 off, 9/28 (Sun) and
10/11 (Sat) worked.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from targetwatch import workdays
from collectors.layout import ScheduleSpec
from collectors.triggers import WorkingDayTrigger, trigger_for
from targetwatch.model import Deadline
from targetwatch.periods import TZ


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.mark.parametrize(
    "n, now, expected",
    [
        pytest.param(1, at(2024, 2, 1, 8), at(2024, 2, 1, 9), id="the first working day of February 2024 is Thursday 1 February"),
        pytest.param(3, at(2024, 2, 1, 8), at(2024, 2, 4, 9), id="the 3rd is Sunday 4 February, a 调休 working day"),
        pytest.param(9, at(2024, 2, 1, 8), at(2024, 2, 18, 9), id="the 9th jumps the Spring Festival week to Sunday 18 February"),
        pytest.param(1, at(2024, 10, 1, 8), at(2024, 10, 8, 9), id="the first working day of October 2024 is the 8th"),
        pytest.param(5, at(2024, 10, 1, 8), at(2024, 10, 12, 9), id="the 5th working day of October 2024 is Saturday the 12th"),
        pytest.param(1, at(2025, 2, 1, 8), at(2025, 2, 5, 9), id="the first working day of February 2025 is the 5th"),
        pytest.param(4, at(2025, 2, 1, 8), at(2025, 2, 8, 9), id="the 4th working day of February 2025 is Saturday the 8th"),
        pytest.param(1, at(2025, 10, 1, 8), at(2025, 10, 9, 9), id="the first working day of October 2025 is the 9th"),
        pytest.param(3, at(2025, 10, 1, 8), at(2025, 10, 11, 9), id="the 3rd working day of October 2025 is Saturday the 11th"),
        pytest.param(1, at(2025, 9, 1, 9, 1), at(2025, 10, 9, 9), id="once this month's run has passed the next month's comes"),
    ],
)
def test_working_day_trigger_fires_on_the_nth_chinese_working_day(n, now, expected):
    assert WorkingDayTrigger(n, 9, 0).get_next_fire_time(None, now) == expected


def test_working_day_trigger_after_a_fire_moves_to_the_next_month():
    trigger = WorkingDayTrigger(1, 9, 0)
    fired = at(2025, 9, 1, 9)
    assert trigger.get_next_fire_time(fired, fired) == at(2025, 10, 9, 9)
    assert trigger.get_next_fire_time(at(2025, 10, 9, 9), at(2025, 10, 9, 9)) == at(2025, 11, 3, 9)


def test_working_day_schedule_builds_the_working_day_trigger_at_its_time():
    trigger = trigger_for(ScheduleSpec(working_day=2, at="14:30"))
    assert trigger.get_next_fire_time(None, at(2024, 2, 17, 12)) == at(2024, 3, 4, 14, 30)  # Feb 2 has passed; Mar 1 (Fri), Mar 4


def test_cron_schedule_runs_in_shanghai_time_even_on_a_holiday():
    trigger = trigger_for(ScheduleSpec(cron="0 9 10 * *"))
    assert trigger.get_next_fire_time(None, at(2024, 2, 1, 8)) == at(2024, 2, 10, 9)
    assert trigger.get_next_fire_time(None, at(2024, 2, 1, 8)).utcoffset().total_seconds() == 8 * 3600


def test_interval_schedule_reads_its_unit():
    trigger = trigger_for(ScheduleSpec(every="15m"))
    assert trigger.interval.total_seconds() == 900


@pytest.mark.parametrize("bad", [{}, {"cron": "0 9 * * *", "every": "1h"}, {"every": "soon"}, {"working_day": 0}, {"working_day": 1, "at": "25:00"}])
def test_a_schedule_needs_exactly_one_valid_kind(bad):
    with pytest.raises(ValueError):
        ScheduleSpec(**bad)


@pytest.mark.parametrize(
    "period, deadline, due",
    [
        pytest.param("2024-09", Deadline(working_days=5), date(2024, 10, 12), id="5 working days after September 2024 ends on the 调休 Saturday 12 October"),
        pytest.param("2025-01", Deadline(working_days=5), date(2025, 2, 10), id="5 working days after January 2025 skip the Spring Festival"),
        pytest.param("2025-09", Deadline(working_days=1), date(2025, 10, 9), id="1 working day after September 2025 is 9 October"),
        pytest.param("2024-Q1", Deadline(days=25), date(2024, 4, 25), id="calendar days ignore holidays"),
        pytest.param("2024-12", Deadline(working_days=0), date(2024, 12, 31), id="zero working days is the period's last day"),
    ],
)
def test_reporting_deadline_counts_chinese_working_days(period, deadline, due):
    from targetwatch.periods import parse

    when = workdays.deadline_of(parse(period), deadline)
    assert when.date() == due and when.tzinfo == TZ and (when.hour, when.minute) == (23, 59)


def test_a_year_the_calendar_does_not_know_is_an_error_not_a_guess():
    with pytest.raises(workdays.WorkdayCalendarError, match="upgrade"):
        workdays.is_working_day(date(2099, 1, 2))
