"""Schedule triggers in Asia/Shanghai: cron, an interval, and the Nth Chinese working day of the month."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from targetwatch import workdays
from collectors.layout import ScheduleSpec
from targetwatch.periods import TZ

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class WorkingDayTrigger(BaseTrigger):
    """Fires on the ``n``-th Chinese working day of each month at ``hour:minute`` (调休 days count)."""

    def __init__(self, n: int, hour: int = 9, minute: int = 0, timezone=TZ):
        self.n, self.hour, self.minute, self.timezone = n, hour, minute, timezone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        start = now
        if previous_fire_time is not None:
            start = min(now, previous_fire_time + timedelta(microseconds=1))
        start = start.astimezone(self.timezone)
        year, month = start.year, start.month
        for _ in range(25):  # a month always has a 23rd working day or fewer: search two years at most
            day = workdays.nth_working_day_of_month(year, month, self.n)
            if day is not None:
                fire = datetime.combine(day, time(self.hour, self.minute), tzinfo=self.timezone)
                if fire >= start and (previous_fire_time is None or fire > previous_fire_time):
                    return fire
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return None

    def __str__(self) -> str:
        return f"working day {self.n} of each month at {self.hour:02d}:{self.minute:02d}"

    def __repr__(self) -> str:
        return f"<WorkingDayTrigger (n={self.n}, at={self.hour:02d}:{self.minute:02d}, timezone='{self.timezone}')>"


def trigger_for(schedule: ScheduleSpec) -> BaseTrigger:
    """The APScheduler trigger of a collector's ``schedule``, in Asia/Shanghai."""
    if schedule.cron:
        return CronTrigger.from_crontab(schedule.cron, timezone=TZ)
    if schedule.every:
        return IntervalTrigger(seconds=int(schedule.every[:-1]) * _UNITS[schedule.every[-1]], timezone=TZ)
    hour, minute = map(int, schedule.at.split(":"))
    return WorkingDayTrigger(schedule.working_day, hour, minute)


def describe(schedule: ScheduleSpec) -> str:
    if schedule.cron:
        return f"cron {schedule.cron}"
    if schedule.every:
        return f"every {schedule.every}"
    return f"working day {schedule.working_day} at {schedule.at}"
