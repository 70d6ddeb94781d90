"""Durations as written in alerts.yaml: ``30s``, ``5m``, ``4h``, ``1d``, ``1h30m`` or integer seconds."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$")


def parse_duration(value: object) -> timedelta:
    """Parse a duration; raise ValueError with a message that says what to write instead."""
    try:
        return _parse_duration(value)
    except OverflowError:  # beyond timedelta's range (about 2.7 million years)
        raise ValueError(f"{value!r} is too long a duration (at most 999999999 days)") from None


def _parse_duration(value: object) -> timedelta:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (write e.g. 30s, 5m, 4h, 1d or seconds)")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"duration must not be negative, got {value}")
        return timedelta(seconds=value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return timedelta(seconds=int(value))
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text.isdigit():
            return timedelta(seconds=int(text))
        if _WHOLE.match(text):
            seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(text))
            return timedelta(seconds=seconds)
    raise ValueError(
        f"{value!r} is not a duration (write e.g. 30s, 5m, 4h, 1d, 1h30m or an integer of seconds)"
    )


def format_duration(delta: timedelta) -> str:
    """The shortest ``1d2h3m4s`` spelling of a duration (``0s`` for zero)."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
