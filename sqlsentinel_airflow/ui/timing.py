"""What a UI read spends its time on: each part timed for a ``Server-Timing`` header (the
browser's network panel shows it, and ``bench.ui_speed`` can read it)."""

from __future__ import annotations

import time

__all__ = ["Timings"]


class Timings:
    """Named parts of one request, in milliseconds, as a ``Server-Timing`` header value."""

    def __init__(self) -> None:
        self._parts: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        """End the part ``name`` (it began at the previous mark or at the start)."""
        now = time.perf_counter()
        self._parts.append((name, (now - self._last) * 1000.0))
        self._last = now

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.1f}" for name, ms in self._parts)
