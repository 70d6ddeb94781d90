"""Silences: which alerts are muted at a given instant, computed from start and end, never stored.

A :class:`~sqlsentinel_airflow.core.model.Silence` mutes events (not evaluation) of every
alert whose name, or dag_id, matches its glob; a silence with an ``instance_key`` mutes only
that instance of a keyed alert (:func:`covers`), the alert's other instances still notify.
Like Alertmanager, whether it is pending, active or expired is derived from ``starts_at``,
``ends_at``, ``ended_at`` (set when someone ends it early) and the clock, so nothing has to
flip a flag when a silence runs out.

Silences come from the CLI / UI (stored) and from ``silences:`` in alerts.yaml
(:func:`from_file`, never stored: they live as long as the file says).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from fnmatch import fnmatchcase

from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.config.models import FileSilence
from sqlsentinel_airflow.core.model import Silence

__all__ = [
    "SilenceStatus",
    "active_for",
    "covers",
    "from_file",
    "is_active",
    "matches",
    "mutes",
    "silence_status",
    "silence_window",
]


class SilenceStatus(str, enum.Enum):
    PENDING = "pending"  # starts in the future
    ACTIVE = "active"
    EXPIRED = "expired"  # ran out, or ended early


def silence_status(silence: Silence, now: datetime) -> SilenceStatus:
    """Whether ``silence`` is pending, active or expired at ``now``."""
    if now >= silence.ends_at or (silence.ended_at is not None and silence.ended_at <= now):
        return SilenceStatus.EXPIRED
    if now < silence.starts_at:
        return SilenceStatus.PENDING
    return SilenceStatus.ACTIVE


def is_active(silence: Silence, now: datetime) -> bool:
    """``starts_at <= now < ends_at``, unless it was ended early (``ended_at <= now``)."""
    return silence_status(silence, now) is SilenceStatus.ACTIVE


def matches(silence: Silence, alert_name: str, dag_id: str | None = None) -> bool:
    """Whether the silence's glob (``*``, ``?``, ``[...]``; case-sensitive) matches the alert.

    The glob is tried on the alert name and, when given, on the alert's dag_id, so both
    ``revenue_*`` and ``sqlsentinel_revenue_*`` work.
    """
    pattern = silence.match
    if "*" not in pattern and "?" not in pattern and "[" not in pattern:
        # a plain name, as most silences are: fnmatch would compare it the same, 10x slower
        # (the SQL Sentinel page matches every silence against every alert)
        return alert_name == pattern or (dag_id is not None and dag_id == pattern)
    if fnmatchcase(alert_name, pattern):
        return True
    return dag_id is not None and fnmatchcase(dag_id, pattern)


def covers(silence: Silence, instance_key: str | None) -> bool:
    """Whether ``silence`` (already matching the alert) covers the instance ``instance_key``.

    A silence without ``instance_key`` covers every instance; one with it covers that
    instance only. ``instance_key=None`` asks about the whole alert: only a silence of every
    instance covers it. The alert-level instance ``""`` of a keyed alert (where its query
    errors are tracked) is covered by whole-alert silences only.
    """
    return silence.instance_key is None or (
        instance_key is not None and silence.instance_key == instance_key
    )


def active_for(
    alert_name: str,
    silences: Iterable[Silence],
    now: datetime,
    dag_id: str | None = None,
) -> list[Silence]:
    """The silences that mute ``alert_name``, or one of its instances, at ``now``, in the
    order given (narrow them to one instance with :func:`mutes`)."""
    return [s for s in silences if matches(s, alert_name, dag_id) and is_active(s, now)]


def mutes(active: Iterable[Silence], instance_key: str | None) -> bool:
    """Whether one of the ``active`` silences of an alert covers ``instance_key`` (None: the
    whole alert, i.e. a silence of every instance)."""
    return any(covers(s, instance_key) for s in active)


def _aware(value: datetime, tz: tzinfo) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def from_file(
    declared: FileSilence, now: datetime, *, tz: tzinfo = timezone.utc, file: str | None = None
) -> Silence:
    """A silence declared in alerts.yaml (``match``, ``until``, ``starts``, ``reason``).

    Without ``starts`` it is in force from ``now`` (it is rebuilt at every evaluation).
    Times written without an offset are read in ``tz`` (pass the file's default timezone).
    ``file`` (the alerts file) becomes the silence's author and names the file in the error
    raised when ``until`` is not after ``starts``.
    """
    starts_at = _aware(declared.starts, tz) if declared.starts is not None else now
    ends_at = _aware(declared.until, tz)
    if declared.starts is not None and ends_at <= starts_at:
        where = f"{file}: " if file else ""
        raise ValueError(
            f"{where}silence for {declared.match!r}: until ({rfc3339(ends_at)}) must be after "
            f"starts ({rfc3339(starts_at)})"
        )
    return Silence(
        match=declared.match,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=declared.reason,
        author=file or "",
        source="config",
        instance_key=declared.instance_key,
    )


def silence_window(
    *, now: datetime, duration: timedelta | None = None, until: datetime | None = None
) -> tuple[datetime, datetime]:
    """``(start, end)`` of a new silence starting ``now``: for ``duration``, or ``until`` a time.

    Exactly one of ``duration`` / ``until``; a naive ``until`` is read in ``now``'s timezone.
    Raises ValueError with what to write instead when the end is not in the future.
    """
    if duration is not None and until is None:
        if duration <= timedelta(0):
            raise ValueError(f"the silence duration must be positive, got {duration}")
        return now, now + duration
    if until is None or duration is not None:
        raise ValueError("give exactly one of a duration (--for 2h) or an end time (--until)")
    end = _aware(until, now.tzinfo or timezone.utc)
    if end <= now:
        raise ValueError(
            f"the silence would end at {rfc3339(end)}, which is not after now "
            f"({rfc3339(now)}); give a future end time or a duration"
        )
    return now, end
