"""The package's one notion of "now" and its one timestamp format.

Times are timezone-aware UTC everywhere inside the package; whatever leaves it as text (JSON of
the CLI and the UI API, event payloads) is RFC 3339 in UTC, written by :func:`rfc3339`, except
where a view says it sends seconds since the epoch (:func:`epoch_seconds`: the sparklines).
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["epoch_seconds", "rfc3339", "utcnow"]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def rfc3339(value: datetime | None) -> str | None:
    """``value`` as RFC 3339 in UTC (``2026-12-05T19:48:19.123456+00:00``); None stays None.

    A naive datetime is taken to be UTC already (the stores return UTC, some drivers naive).
    """
    if value is None:
        return None
    tz = value.tzinfo
    if tz is timezone.utc:  # what the stores return: no conversion (30,000 on the UI's page)
        return value.isoformat()
    if tz is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def epoch_seconds(value: datetime) -> float:
    """``value`` as seconds since 1970-01-01 UTC, to the microsecond (a float holds every
    microsecond of the next centuries exactly enough to give the same one back). A naive
    datetime is taken to be UTC already, as :func:`rfc3339` takes it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()
