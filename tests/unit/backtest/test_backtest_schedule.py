"""Schedule ticks in the alert's timezone across DST, as Airflow's cron timetable runs them
(the expectations were checked against ``CronTriggerTimetable`` of Airflow 3.3)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sqlsentinel_airflow.backtest.schedule import schedule_ticks

BERLIN = ZoneInfo("Europe/Berlin")


def _local(expr: str, tz: str, start: datetime, hours: float) -> list[str]:
    ticks = schedule_ticks(expr, tz, start, start + timedelta(hours=hours))
    return [t.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M%z") for t in ticks]


def test_a_daily_time_the_clocks_skip_runs_an_hour_later_in_summer_time() -> None:
    start = datetime(2026, 3, 28, tzinfo=timezone.utc)
    assert _local("30 2 * * *", "Europe/Berlin", start, 72) == [
        "03-28 02:30+0100",
        "03-29 03:30+0200",  # 02:30 does not exist that night
        "03-30 02:30+0200",
    ]


def test_a_daily_time_that_happens_twice_runs_once_after_the_clocks_went_back() -> None:
    start = datetime(2026, 10, 24, tzinfo=timezone.utc)
    assert _local("30 2 * * *", "Europe/Berlin", start, 72) == [
        "10-24 02:30+0200",
        "10-25 02:30+0100",
        "10-26 02:30+0100",
    ]
    new_york = datetime(2026, 10, 31, tzinfo=timezone.utc)
    assert _local("15 1 * * *", "America/New_York", new_york, 72) == [
        "10-31 01:15-0400",
        "11-01 01:15-0500",
        "11-02 01:15-0500",
    ]


def test_a_frequent_schedule_runs_the_repeated_hour_twice_and_loses_none_in_spring() -> None:
    autumn = datetime(2026, 10, 25, tzinfo=timezone.utc)
    assert _local("*/30 * * * *", "Europe/Berlin", autumn, 3) == [
        "10-25 02:00+0200",
        "10-25 02:30+0200",
        "10-25 02:00+0100",
        "10-25 02:30+0100",
        "10-25 03:00+0100",
        "10-25 03:30+0100",
    ]
    spring = datetime(2026, 3, 29, tzinfo=timezone.utc)
    assert _local("*/30 * * * *", "Europe/Berlin", spring, 2) == [
        "03-29 01:00+0100",
        "03-29 01:30+0100",
        "03-29 03:00+0200",
        "03-29 03:30+0200",
    ]


def test_the_range_includes_its_start_and_excludes_its_end() -> None:
    start = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    ticks = list(schedule_ticks("@hourly", "UTC", start, start + timedelta(hours=3)))
    assert ticks == [start + timedelta(hours=h) for h in range(3)]
    a_year = list(schedule_ticks("0 0 * * *", "UTC", start, start + timedelta(days=365)))
    assert len(a_year) == 365
    with pytest.raises(ValueError, match="timezone-aware"):
        list(schedule_ticks("@hourly", "UTC", start.replace(tzinfo=None), start))
