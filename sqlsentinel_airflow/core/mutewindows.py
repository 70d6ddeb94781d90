"""Recurring mute windows: when the alerts a window matches are muted, from the calendar.

A :class:`MuteWindow` of ``mute_windows:`` (docs/notifications.md, "Mute windows") says what
Alertmanager's ``time_intervals`` say, plus "the n-th weekday of the month". Like a silence
it mutes events, never evaluation, and feeds the state machine's ``silenced`` input; unlike a
silence it recurs, so whether it is active is computed from the clock in the window's
timezone (zoneinfo, so wall-clock times hold across DST changes) and never stored.

Rules, as in Alertmanager (``timeinterval/timeinterval.go``):

- a window is active when ANY of its intervals contains the instant; an interval contains it
  when ALL of its given fields do (a field not given holds for every instant);
- ``times``: ``start_time`` inclusive, ``end_time`` exclusive, ``HH:MM``, ``24:00`` allowed
  as an end; ``weekdays``, ``days_of_month``, ``months``, ``years``: values or inclusive
  ranges ``first:last``; a negative day of month counts from its end (``-1`` the last day);
  a range that starts after the month's last day holds on no day of that month and the rest
  is clamped to the month;
- additions: a weekday or month range may wrap around (``saturday:sunday``,
  ``november:february``); ``sunday#1`` is the month's first Sunday, ``friday#-1`` its last,
  and ``monday#5`` holds only in months that have five Mondays.

:func:`next_change` finds the next start or end (for the CLI and the UI) by trying each
instant at which activity can change, day by day, within :data:`HORIZON_DAYS`.
:func:`muting_windows` decides which windows mute an instance at an evaluation, with the
two end-of-window choices a window makes (``notify_firing_at_end``,
``notify_resolved_inside``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from sqlsentinel_airflow.core.config.matchers import Matcher
from sqlsentinel_airflow.core.model import InstanceState, State

__all__ = [
    "HORIZON_DAYS",
    "MONTHS",
    "WEEKDAYS",
    "DayRange",
    "MuteWindow",
    "TimeInterval",
    "TimeRange",
    "WeekdaySpec",
    "active",
    "active_names",
    "describe",
    "describe_interval",
    "lets_resolved_through",
    "muting_windows",
    "next_change",
    "occurrence",
    "parse_day_of_month",
    "parse_month",
    "parse_time",
    "parse_weekday",
    "parse_year",
]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""In ``date.weekday()`` order (Monday is 0)."""
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
HORIZON_DAYS = 2 * 366 + 1
"""How far :func:`next_change` looks ahead: past two years, a window "never" changes."""

_TIME = re.compile(r"^(?:([01][0-9]|2[0-3]):([0-5][0-9])|(24):(00))$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeRange(_Frozen):
    """Minutes of the day, ``start`` inclusive, ``end`` exclusive (1440: midnight)."""

    start: int = Field(ge=0, lt=1440)
    end: int = Field(gt=0, le=1440)


class WeekdaySpec(_Frozen):
    """Weekdays ``first``..``last`` (0 Monday; wraps when ``first > last``), or, with
    ``nth``, the ``nth`` such weekday of the month (negative: from the month's end)."""

    first: int = Field(ge=0, le=6)
    last: int = Field(ge=0, le=6)
    nth: int | None = None


class DayRange(_Frozen):
    """Days of the month, inclusive; negative counts from the month's end."""

    first: int
    last: int


class TimeInterval(_Frozen):
    """One interval: every field given must hold (None: any)."""

    times: tuple[TimeRange, ...] | None = None
    weekdays: tuple[WeekdaySpec, ...] | None = None
    days_of_month: tuple[DayRange, ...] | None = None
    months: tuple[DayRange, ...] | None = None  # 1..12; wraps when first > last
    years: tuple[DayRange, ...] | None = None


class MuteWindow(_Frozen):
    """A named, recurring mute of the alerts ``match`` selects (docs/notifications.md)."""

    name: str
    intervals: tuple[TimeInterval, ...]
    timezone: str = "UTC"
    match: Matcher = Field(default_factory=Matcher)
    reason: str = ""
    # an incident still firing when the window ends: one `firing` (else it stays muted
    # until it resolves)
    notify_firing_at_end: bool = True
    # an incident announced before the window that resolves inside it: its `resolved` goes
    # out (else nothing does; an incident that starts inside the window is never announced)
    notify_resolved_inside: bool = False


# --- parsing what the file writes (raw.py validates with these; errors are ValueError) ---


def parse_time(text: str, *, end: bool) -> int:
    """``HH:MM`` as minutes of the day; ``24:00`` only as an end."""
    found = _TIME.match(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"{text!r} is not a time of day (HH:MM, 00:00 to 23:59, or 24:00)")
    if found.group(3) is not None:
        if not end:
            raise ValueError("24:00 can only end a time range")
        return 1440
    return int(found.group(1)) * 60 + int(found.group(2))


def _name_or_number(text: str, names: Sequence[str], what: str, low: int, high: int) -> int:
    word = text.strip().lower()
    if word in names:
        return names.index(word) + low
    try:
        number = int(word)
    except ValueError:
        raise ValueError(f"{text!r} is not a {what}") from None
    if not low <= number <= high:
        raise ValueError(f"{number} is not a {what} ({low} to {high})")
    return number


def _split(value: str | int) -> tuple[str, str]:
    text = str(value).strip()
    if ":" in text:
        first, _, last = text.partition(":")
        return first, last
    return text, text


def parse_weekday(value: str) -> WeekdaySpec:
    """``monday``, ``monday:friday`` (wraps: ``saturday:sunday``), ``sunday#1``, ``friday#-1``."""
    text = str(value).strip().lower()
    if "#" in text:
        day, _, nth_text = text.partition("#")
        if ":" in day:
            raise ValueError(f"{value!r}: `#n` follows one weekday, not a range")
        if day not in WEEKDAYS:
            raise ValueError(f"{day!r} is not a weekday")
        try:
            nth = int(nth_text)
        except ValueError:
            raise ValueError(f"{value!r}: `#` takes 1 to 5 or -1 to -5") from None
        if nth == 0 or not -5 <= nth <= 5:
            raise ValueError(f"{value!r}: `#` takes 1 to 5 or -1 to -5")
        index = WEEKDAYS.index(day)
        return WeekdaySpec(first=index, last=index, nth=nth)
    first, last = _split(text)
    for day in (first, last):
        if day not in WEEKDAYS:
            raise ValueError(f"{day!r} is not a weekday")
    return WeekdaySpec(first=WEEKDAYS.index(first), last=WEEKDAYS.index(last))


def parse_day_of_month(value: str | int) -> DayRange:
    """``1``, ``-1``, ``1:7``, ``-7:-1``, ``25:-1`` (Alertmanager's checks)."""
    first_text, last_text = _split(value)
    try:
        first, last = int(first_text), int(last_text)
    except ValueError:
        raise ValueError(f"{value!r} is not a day of the month or a range of them") from None
    for day in (first, last):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{day} is not a day of the month (1 to 31, or -1 to -31)")
    if first < 0 < last:
        raise ValueError(f"{value!r}: a range that starts from the month's end must end there")
    if (first + 28 if first < 0 else first) > (last + 28 if last < 0 else last):
        raise ValueError(f"{value!r}: the last day is always before the first")
    return DayRange(first=first, last=last)


def parse_month(value: str | int) -> DayRange:
    """``march``, ``3``, ``march:may``, ``november:february`` (wraps)."""
    first, last = _split(value)
    return DayRange(
        first=_name_or_number(first, MONTHS, "month", 1, 12),
        last=_name_or_number(last, MONTHS, "month", 1, 12),
    )


def parse_year(value: str | int) -> DayRange:
    """``2027``, ``2026:2028``."""
    first_text, last_text = _split(value)
    try:
        first, last = int(first_text), int(last_text)
    except ValueError:
        raise ValueError(f"{value!r} is not a year or a range of years") from None
    if not (1 <= first <= 9999 and 1 <= last <= 9999):
        raise ValueError(f"{value!r} is not a year (1 to 9999)")
    if first > last:
        raise ValueError(f"{value!r}: the last year is before the first")
    return DayRange(first=first, last=last)


# --- when a window is active ---------------------------------------------------------------


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _cyclic(value: int, first: int, last: int) -> bool:
    return first <= value <= last if first <= last else value >= first or value <= last


def _weekday_holds(spec: WeekdaySpec, day: date) -> bool:
    weekday = day.weekday()
    if spec.nth is None:
        return _cyclic(weekday, spec.first, spec.last)
    if weekday != spec.first:
        return False
    if spec.nth > 0:
        return (day.day - 1) // 7 + 1 == spec.nth
    days = calendar.monthrange(day.year, day.month)[1]
    return (days - day.day) // 7 + 1 == -spec.nth


def _day_holds(spec: DayRange, day: date) -> bool:
    days = calendar.monthrange(day.year, day.month)[1]
    first = days + spec.first + 1 if spec.first < 0 else spec.first
    last = days + spec.last + 1 if spec.last < 0 else spec.last
    if first > days:
        return False
    first, last = max(first, 1), min(last, days)
    return first <= day.day <= last


def _date_holds(interval: TimeInterval, day: date) -> bool:
    """The interval's calendar fields hold on ``day`` (its ``times`` aside)."""
    if interval.years is not None and not any(
        y.first <= day.year <= y.last for y in interval.years
    ):
        return False
    if interval.months is not None and not any(
        _cyclic(day.month, m.first, m.last) for m in interval.months
    ):
        return False
    if interval.days_of_month is not None and not any(
        _day_holds(d, day) for d in interval.days_of_month
    ):
        return False
    return interval.weekdays is None or any(_weekday_holds(w, day) for w in interval.weekdays)


def _contains(interval: TimeInterval, local: datetime) -> bool:
    if not _date_holds(interval, local.date()):
        return False
    if interval.times is None:
        return True
    minute = local.hour * 60 + local.minute
    return any(t.start <= minute < t.end for t in interval.times)


def active(window: MuteWindow, at: datetime) -> bool:
    """Whether ``window`` is active at ``at`` (timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    local = at.astimezone(_zone(window.timezone))
    return any(_contains(interval, local) for interval in window.intervals)


def active_names(windows: Iterable[MuteWindow], at: datetime) -> tuple[str, ...]:
    """The names of the ``windows`` active at ``at``, in order."""
    return tuple(w.name for w in windows if active(w, at))


def _instants(day: date, minute: int, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants the wall-clock ``minute`` of ``day`` stands for (two in a DST fold;
    in a gap, zoneinfo's reading, near enough: the gap's own edge is a candidate too)."""
    if minute >= 1440:
        day, minute = day + timedelta(days=1), 0
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return sorted({wall.astimezone(timezone.utc), wall.replace(fold=1).astimezone(timezone.utc)})


def _offset_change(start: datetime, end: datetime, tz: ZoneInfo) -> datetime | None:
    """The instant in ``(start, end]`` where ``tz``'s offset changes, to the second."""
    if start.astimezone(tz).utcoffset() == end.astimezone(tz).utcoffset():
        return None
    low, high = start, end
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == start.astimezone(tz).utcoffset():
            low = mid
        else:
            high = mid
    return high.replace(microsecond=0) if high.microsecond else high


def _candidates(window: MuteWindow, day: date, tz: ZoneInfo) -> list[datetime]:
    """Every instant of local ``day`` at which the window's activity may change."""
    found = _instants(day, 0, tz)
    if any(_date_holds(i, day) for i in window.intervals):
        for interval in window.intervals:
            for t in interval.times or ():
                found += _instants(day, t.start, tz) + _instants(day, t.end, tz)
        shift = _offset_change(found[0], _instants(day, 1440, tz)[0], tz)
        if shift is not None:
            found.append(shift)
    return sorted(set(found))


def next_change(window: MuteWindow, after: datetime) -> datetime | None:
    """The first instant after ``after`` at which ``window`` starts or ends (UTC); None when
    it does not change within :data:`HORIZON_DAYS`."""
    tz = _zone(window.timezone)
    now_active = active(window, after)
    first_day = after.astimezone(tz).date() - timedelta(days=1)  # a fold may reach back
    for offset in range(HORIZON_DAYS + 1):
        for instant in _candidates(window, first_day + timedelta(days=offset), tz):
            if instant > after and active(window, instant) != now_active:
                return instant
    return None


def occurrence(window: MuteWindow, at: datetime) -> tuple[datetime | None, datetime | None]:
    """``(starts, ends)``: the current occurrence's end when active at ``at`` (``starts`` is
    then None), else the next occurrence's start and end; None where none is found."""
    change = next_change(window, at)
    if active(window, at):
        return None, change
    return change, next_change(window, change) if change is not None else None


# --- for people ----------------------------------------------------------------------------


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}:{last}"


def _describe_weekday(spec: WeekdaySpec) -> str:
    if spec.nth is not None:
        return f"{WEEKDAYS[spec.first]}#{spec.nth}"
    return _span(WEEKDAYS[spec.first], WEEKDAYS[spec.last])


def describe_interval(interval: TimeInterval) -> str:
    """``saturday, sunday; 02:00-06:00`` (the fields as the file writes them)."""
    parts = []
    if interval.weekdays is not None:
        parts.append(", ".join(_describe_weekday(w) for w in interval.weekdays))
    if interval.days_of_month is not None:
        days = ", ".join(_span(str(d.first), str(d.last)) for d in interval.days_of_month)
        parts.append(f"days {days}")
    if interval.months is not None:
        parts.append(
            ", ".join(_span(MONTHS[m.first - 1], MONTHS[m.last - 1]) for m in interval.months)
        )
    if interval.years is not None:
        parts.append(", ".join(_span(str(y.first), str(y.last)) for y in interval.years))
    if interval.times is not None:
        parts.append(", ".join(f"{_hhmm(t.start)}-{_hhmm(t.end)}" for t in interval.times))
    return "; ".join(parts)


def describe(window: MuteWindow) -> str:
    """When ``window`` is active, for people: its intervals joined by ``or``, and its
    timezone (``saturday, sunday (Europe/Berlin)``)."""
    return " or ".join(describe_interval(i) for i in window.intervals) + f" ({window.timezone})"


# --- muting an instance at an evaluation ------------------------------------------------------


def _was_active_between(window: MuteWindow, start: datetime, end: datetime) -> bool:
    if active(window, start):
        return True
    change = next_change(window, start)
    return change is not None and change <= end


def _muted_incident_goes_on(window: MuteWindow, prev: InstanceState | None) -> bool:
    """``prev`` is an incident this window muted, not announced since (the window ended)."""
    if prev is None or prev.effective_state is not State.FIRING:
        return False
    if prev.last_notified_at is not None or prev.firing_since is None:
        return False
    seen = prev.last_evaluated_at or prev.firing_since
    return _was_active_between(window, prev.firing_since, seen)


def muting_windows(
    windows: Iterable[MuteWindow],
    prev: InstanceState | None,
    now: datetime,
    *,
    active_now: Sequence[MuteWindow] | None = None,
) -> tuple[MuteWindow, ...]:
    """The ``windows`` (those that match the alert) that mute the instance ``prev`` at
    ``now``: the active ones, and those with ``notify_firing_at_end: false`` whose muted
    incident still goes on. ``active_now``: the active ones, when already known (one
    evaluation decides many instances at the same ``now``)."""
    on = [w for w in windows if active(w, now)] if active_now is None else active_now
    return tuple(
        w
        for w in windows
        if w in on or (not w.notify_firing_at_end and _muted_incident_goes_on(w, prev))
    )


def lets_resolved_through(
    muting: Sequence[MuteWindow], prev: InstanceState | None, resolves: bool
) -> bool:
    """Whether the ``resolved`` of an incident announced before ``muting`` began goes out:
    every muting window says ``notify_resolved_inside`` and the decision ``resolves``."""
    return (
        bool(muting)
        and resolves
        and prev is not None
        and prev.firing_notified
        and all(w.notify_resolved_inside for w in muting)
    )
