"""Output helpers for the CLI: aligned tables for people, JSON for machines, a progress bar."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

__all__ = [
    "Progress",
    "emit_json",
    "format_table",
    "human_duration",
    "human_time",
    "out",
    "short",
    "use_stdout",
]

# The stream results go to. ``main`` keeps the real stdout here and sends everything else
# printed to stdout (Airflow's and the providers' log lines) to stderr, so that
# ``--format json`` output stays parseable.
_OUT: TextIO | None = None


def use_stdout(stream: TextIO) -> None:
    global _OUT
    _OUT = stream


def out(text: str = "") -> None:
    """Print a line of results (never a log line) to the command's real stdout."""
    stream = _OUT or sys.stdout
    stream.write(text + "\n")


def short(value: Any, width: int = 40) -> str:
    """One line, at most ``width`` characters."""
    if value is None:
        return "-"
    kind = type(value)
    if kind is int or (kind is float and math.isfinite(value)):
        text = repr(value)  # what json.dumps writes for them, without its machinery
    elif isinstance(value, datetime):
        return human_time(value)
    else:
        text = (
            value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        )
        text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def human_time(value: datetime | None) -> str:
    """A time in a table: UTC, said so (``2026-12-05 16:06:23 UTC``); JSON has RFC 3339."""
    if value is None:
        return "-"
    if value.tzinfo is not timezone.utc:
        if value.tzinfo is None:  # the stores return UTC, some drivers naive
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
    if value.year < 1000:  # strftime writes such a year unpadded
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    # formatted by hand: half the time of strftime, and `status` prints two per instance
    return (
        f"{value.year}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} UTC"
    )


def human_duration(seconds: float) -> str:
    """``3d 4h``, ``2h 5m``, ``7m 30s``, ``45s``: the two largest units."""
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{n}{unit}" for n, unit in parts[:2])


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart; texts cut at 60 characters, other values at 40
    (:func:`short`). ``status`` prints a row per instance: ~3,000 rows at 1,000 alerts."""
    cells = [[_text_cell(c) if isinstance(c, str) else short(c) for c in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"a row of {len(row)} cells under {len(headers)} headers")
    widths = [len(h) for h in headers]
    for i, column in enumerate(zip(*cells, strict=True)):
        widths[i] = max(widths[i], *map(len, column))
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [line.format(*(h.upper() for h in headers)).rstrip()]
    lines += [line.format(*row).rstrip() for row in cells]
    return "\n".join(lines)


def _text_cell(text: str, width: int = 60) -> str:
    """``short(text, 60)`` without its checks, for a table's text cells."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def emit_json(data: Any, stream: TextIO | None = None) -> None:
    target = stream or _OUT or sys.stdout
    json.dump(data, target, indent=2, default=str, ensure_ascii=False)
    target.write("\n")


class Progress:
    """A one-line progress bar on stderr, shown only on a terminal and for several items."""

    def __init__(self, total: int, *, stream: TextIO | None = None, min_items: int = 2) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = total >= min_items and self.stream.isatty()

    def advance(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {short(label, 40):<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()
