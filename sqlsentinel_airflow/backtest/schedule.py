"""An alert's schedule ticks in a time range, as Airflow's cron timetable computes them.

The DAG of an alert runs its cron in the alert's timezone (``dags/factory.py``); Airflow's
``CronMixin._get_next`` reads the cron on the local wall clock and, across a DST change:

- a schedule that fires less than hourly gets each wall-clock time in the local timezone;
  a time the clocks skip (02:30 on a spring-forward night) runs when it would have been
  (03:30 local, the same instant), a time that happens twice runs once (the second,
  after the clocks went back);
- a schedule that fires at least hourly (``*/5 * * * *``) steps forward by the wall-clock
  gap between ticks from the previous tick's instant, so the hour that repeats in autumn
  is run twice and no tick is lost in spring.

This module does the same with the standard library's zoneinfo (no Airflow import), one
tick at a time, so 100,000 ticks stream in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

__all__ = ["schedule_ticks"]

_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def _covers_every_hour(expression: str) -> bool:
    """Airflow's test: croniter normalises the hour field to ``*`` (``_covers_every_hour``)."""
    return croniter(expression).expanded[1] == ["*"]


def schedule_ticks(
    schedule: str, tz_name: str, start: datetime, end: datetime
) -> Iterator[datetime]:
    """The ticks ``start <= tick < end`` of ``schedule`` in ``tz_name``, in UTC, in order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    expression = _PRESETS.get(schedule.strip(), schedule.strip())
    tz = ZoneInfo(tz_name)
    every_hour = _covers_every_hour(expression)
    # the first tick at or after start: the next one after a moment just before it
    current = start.astimezone(timezone.utc) - timedelta(microseconds=1)
    cron: croniter | None = None
    produced: datetime | None = None  # the wall-clock time ``cron`` last gave
    while True:
        naive = current.astimezone(tz).replace(tzinfo=None)
        if cron is None or naive != produced:
            # Airflow starts a new croniter from every tick's wall-clock time; one goes on
            # giving the same times while the wall clock does (not across a DST change)
            cron = croniter(expression, start_time=naive)
        produced = cron.get_next(datetime)
        if every_hour:
            current = current + (produced - naive)
        else:
            current = _localize(produced, tz).astimezone(timezone.utc)
        if current >= end:
            return
        if current >= start:
            yield current


def _localize(wall: datetime, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as an instant, as pendulum (Airflow's ``make_aware``) reads
    it: a time that happens twice is the second one (after the clocks went back); a time
    the clocks skip keeps the offset from before the change (02:30 is 03:30 summer time)."""
    first, second = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    happens_twice = second.astimezone(timezone.utc).astimezone(tz).replace(tzinfo=None) == wall
    return second if happens_twice else first
