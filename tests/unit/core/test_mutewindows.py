"""Mute windows: each calendar rule, next start/end, and DST, on fixed instants."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sqlsentinel_airflow.core import mutewindows as mw
from sqlsentinel_airflow.core.model import InstanceState, State

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def window(tz: str = "UTC", **interval: object) -> mw.MuteWindow:
    fields: dict[str, object] = {}
    if "times" in interval:
        fields["times"] = tuple(
            mw.TimeRange(
                start=mw.parse_time(a, end=False),
                end=mw.parse_time(b, end=True),
            )
            for a, b in interval["times"]  # type: ignore[attr-defined]
        )
    for key, parse in (
        ("weekdays", mw.parse_weekday),
        ("days_of_month", mw.parse_day_of_month),
        ("months", mw.parse_month),
        ("years", mw.parse_year),
    ):
        if key in interval:
            fields[key] = tuple(parse(v) for v in interval[key])  # type: ignore[attr-defined,operator]
    return mw.MuteWindow(name="w", timezone=tz, intervals=(mw.TimeInterval(**fields),))


def at(text: str, tz: object = UTC) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)  # type: ignore[arg-type]


# --- parsing ----------------------------------------------------------------------------


def test_times_parse_with_24_00_as_end_only() -> None:
    assert mw.parse_time("00:00", end=False) == 0
    assert mw.parse_time("23:59", end=True) == 1439
    assert mw.parse_time("24:00", end=True) == 1440
    with pytest.raises(ValueError, match="24:00 can only end"):
        mw.parse_time("24:00", end=False)
    for bad in ("7:00", "24:01", "12:60", "noon"):
        with pytest.raises(ValueError, match="not a time of day"):
            mw.parse_time(bad, end=True)


def test_weekdays_parse_names_ranges_and_nth() -> None:
    assert mw.parse_weekday("Monday:Friday") == mw.WeekdaySpec(first=0, last=4)
    assert mw.parse_weekday("saturday:sunday") == mw.WeekdaySpec(first=5, last=6)
    assert mw.parse_weekday("sunday#-1") == mw.WeekdaySpec(first=6, last=6, nth=-1)
    with pytest.raises(ValueError, match="'funday' is not a weekday"):
        mw.parse_weekday("funday")
    with pytest.raises(ValueError, match="1 to 5 or -1 to -5"):
        mw.parse_weekday("sunday#6")
    with pytest.raises(ValueError, match="not a range"):
        mw.parse_weekday("monday:friday#1")


def test_days_of_month_follow_alertmanagers_checks() -> None:
    assert mw.parse_day_of_month("-7:-1") == mw.DayRange(first=-7, last=-1)
    assert mw.parse_day_of_month(15) == mw.DayRange(first=15, last=15)
    with pytest.raises(ValueError, match="0 is not a day"):
        mw.parse_day_of_month("0")
    with pytest.raises(ValueError, match="must end there"):
        mw.parse_day_of_month("-3:5")
    with pytest.raises(ValueError, match="always before the first"):
        mw.parse_day_of_month("10:3")


def test_months_and_years_parse() -> None:
    assert mw.parse_month("november:february") == mw.DayRange(first=11, last=2)
    assert mw.parse_month(3) == mw.DayRange(first=3, last=3)
    with pytest.raises(ValueError, match="13 is not a month"):
        mw.parse_month(13)
    with pytest.raises(ValueError, match="last year is before"):
        mw.parse_year("2028:2026")


# --- each rule -------------------------------------------------------------------------


def test_times_start_inclusive_end_exclusive_and_24_00() -> None:
    nightly = window(times=[("22:00", "24:00"), ("00:00", "02:00")])
    assert mw.active(nightly, at("2026-06-01T22:00"))
    assert mw.active(nightly, at("2026-06-01T23:59:59"))
    assert mw.active(nightly, at("2026-06-02T01:59"))
    assert not mw.active(nightly, at("2026-06-02T02:00"))
    assert not mw.active(nightly, at("2026-06-01T21:59:59"))
    # one night, no change at midnight: it ends at 02:00
    assert mw.next_change(nightly, at("2026-06-01T23:00")) == at("2026-06-02T02:00")


def test_weekday_ranges_wrap_and_next_start_end() -> None:
    weekend = window(weekdays=["saturday:sunday"])
    friday, saturday, monday = at("2026-06-05T12:00"), at("2026-06-06T00:00"), at("2026-06-08")
    assert not mw.active(weekend, friday)
    assert mw.active(weekend, saturday) and mw.active(weekend, at("2026-06-07T23:59"))
    assert not mw.active(weekend, monday)
    assert mw.occurrence(weekend, friday) == (saturday, monday)
    assert mw.occurrence(weekend, saturday) == (None, monday)


def test_days_of_month_negative_and_clamped() -> None:
    last_three = window(days_of_month=["-3:-1"])
    assert mw.active(last_three, at("2026-02-26T00:00"))  # February 2026 has 28 days
    assert not mw.active(last_three, at("2026-02-25T23:59"))
    assert mw.active(last_three, at("2026-03-29T00:00")) and not mw.active(
        last_three, at("2026-03-28T12:00")
    )
    from_30th = window(days_of_month=["30:31"])
    assert not mw.active(from_30th, at("2026-02-28T12:00"))  # starts after the month's end
    assert mw.active(from_30th, at("2026-04-30T12:00"))  # 31 clamped to April's 30
    assert mw.next_change(from_30th, at("2026-02-01")) == at("2026-03-30")


def test_months_wrap_and_years_bound() -> None:
    winter = window(months=["november:february"])
    assert mw.active(winter, at("2026-12-15")) and mw.active(winter, at("2027-01-15"))
    assert not mw.active(winter, at("2026-03-01"))
    only_2027 = window(years=["2027"])
    assert mw.next_change(only_2027, at("2026-12-06")) == at("2027-01-01")
    assert mw.next_change(only_2027, at("2028-01-01")) is None  # never again


def test_all_fields_of_an_interval_must_hold_any_interval_may() -> None:
    both = mw.MuteWindow(
        name="w",
        intervals=(
            mw.TimeInterval(
                weekdays=(mw.parse_weekday("monday"),), months=(mw.parse_month("june"),)
            ),
            mw.TimeInterval(days_of_month=(mw.parse_day_of_month("25"),)),
        ),
    )
    assert mw.active(both, at("2026-06-01T08:00"))  # a Monday in June
    assert not mw.active(both, at("2026-07-06T08:00"))  # a Monday in July
    assert mw.active(both, at("2026-07-25T08:00"))  # the second interval


def test_nth_weekday_first_last_and_a_fifth_that_does_not_exist() -> None:
    first_sunday = window(weekdays=["sunday#1"], times=[("02:00", "06:00")])
    assert mw.active(first_sunday, at("2026-06-07T03:00"))
    assert not mw.active(first_sunday, at("2026-06-14T03:00"))
    assert mw.occurrence(first_sunday, at("2026-06-08")) == (
        at("2026-07-05T02:00"),
        at("2026-07-05T06:00"),
    )
    last_friday = window(weekdays=["friday#-1"])
    assert mw.active(last_friday, at("2026-02-27T10:00"))
    assert not mw.active(last_friday, at("2026-02-20T10:00"))
    fifth_monday = window(weekdays=["monday#5"])
    # June 2026 has 5 Mondays (29th), July has 4, the next with 5 is August (31st)
    assert mw.active(fifth_monday, at("2026-06-29T10:00"))
    assert mw.next_change(fifth_monday, at("2026-06-30")) == at("2026-08-31")


# --- timezones and DST -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("friday", "saturday", "monday", "hours"),
    [
        # spring forward (2026-03-29, 02:00 CET -> 03:00 CEST): the weekend is an hour short
        ("2026-03-27T12:00", "2026-03-27T23:00", "2026-03-29T22:00", 47),
        # fall back (2026-10-25, 03:00 CEST -> 02:00 CET): an hour long
        ("2026-10-23T12:00", "2026-10-23T22:00", "2026-10-25T23:00", 49),
    ],
)
def test_a_weekend_across_the_eu_dst_change(
    friday: str, saturday: str, monday: str, hours: int
) -> None:
    weekend = window("Europe/Berlin", weekdays=["saturday", "sunday"])
    starts, ends = mw.occurrence(weekend, at(friday))
    assert (starts, ends) == (at(saturday), at(monday))
    assert ends - starts == timedelta(hours=hours)  # type: ignore[operator]
    assert starts.astimezone(BERLIN).hour == 0 and ends.astimezone(BERLIN).hour == 0  # type: ignore[union-attr]
    assert mw.active(weekend, at(monday) - timedelta(seconds=1))
    assert not mw.active(weekend, at(monday))


def test_a_time_in_the_spring_gap_ends_when_the_clock_jumps() -> None:
    night = window("Europe/Berlin", times=[("01:00", "02:30")])
    # 01:00 CET is 00:00 UTC; at 01:00 UTC the wall clock jumps from 02:00 to 03:00
    assert mw.occurrence(night, at("2026-03-28T12:00")) == (
        at("2026-03-29T00:00"),
        at("2026-03-29T01:00"),
    )


def test_a_time_in_the_autumn_fold_holds_on_both_passes() -> None:
    night = window("Europe/Berlin", times=[("02:00", "02:30")])
    first = mw.occurrence(night, at("2026-10-24T12:00"))
    assert first == (at("2026-10-25T00:00"), at("2026-10-25T00:30"))  # 02:00-02:30 CEST
    assert mw.occurrence(night, at("2026-10-25T00:30")) == (
        at("2026-10-25T01:00"),
        at("2026-10-25T01:30"),  # 02:00-02:30 CET, the hour again
    )


def test_an_aware_instant_is_required() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        mw.active(window(weekdays=["monday"]), datetime(2026, 6, 1))


# --- muting an instance ------------------------------------------------------------------

NIGHT = window(times=[("00:00", "06:00")])
QUIET_END = NIGHT.model_copy(update={"notify_firing_at_end": False})


def firing(since: str, seen: str, *, announced_at: str | None) -> InstanceState:
    return InstanceState(
        alert_name="a",
        instance_key="",
        state=State.FIRING,
        firing_since=at(since),
        firing_notified=announced_at is not None,
        last_notified_at=at(announced_at) if announced_at else None,
        last_evaluated_at=at(seen),
    )


def test_an_active_window_mutes_and_an_ended_one_does_not_by_default() -> None:
    muted = firing("2026-06-01T01:00", "2026-06-01T05:00", announced_at=None)
    assert mw.muting_windows([NIGHT], muted, at("2026-06-01T05:30")) == (NIGHT,)
    assert mw.muting_windows([NIGHT], muted, at("2026-06-01T06:00")) == ()


def test_notify_firing_at_end_false_keeps_the_muted_incident_muted() -> None:
    muted = firing("2026-06-01T01:00", "2026-06-01T09:00", announced_at=None)
    assert mw.muting_windows([QUIET_END], muted, at("2026-06-01T10:00")) == (QUIET_END,)
    # an incident that started after the window, or was announced since, is not held
    later = firing("2026-06-01T07:00", "2026-06-01T09:00", announced_at=None)
    assert mw.muting_windows([QUIET_END], later, at("2026-06-01T10:00")) == ()
    told = firing("2026-06-01T01:00", "2026-06-01T09:00", announced_at="2026-06-01T08:00")
    assert mw.muting_windows([QUIET_END], told, at("2026-06-01T10:00")) == ()


def test_lets_resolved_through_only_an_announced_incident_when_every_window_says_so() -> None:
    let = NIGHT.model_copy(update={"notify_resolved_inside": True})
    told = firing("2026-05-31T20:00", "2026-06-01T05:00", announced_at="2026-05-31T20:00")
    unannounced = firing("2026-06-01T01:00", "2026-06-01T05:00", announced_at=None)
    assert mw.lets_resolved_through([let], told, resolves=True)
    assert not mw.lets_resolved_through([let], told, resolves=False)
    assert not mw.lets_resolved_through([let, NIGHT], told, resolves=True)
    assert not mw.lets_resolved_through([let], unannounced, resolves=True)
