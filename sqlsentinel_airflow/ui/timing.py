"""What a UI read spends its time on: the cyclic garbage collector held off during one, and
each part timed for a ``Server-Timing`` header (the browser's network panel shows it).

The SQL Sentinel page's answer builds ~100,000 short-lived objects (30,000 sparkline points,
1,000 summaries and their JSON), none of them in a reference cycle. Built with the collector
on, they trigger full collections that walk every object of the api-server process, a third
of the answer's CPU time in a bare process and more in Airflow's. :func:`collector_held`
holds the collector off for the length of one such read; the young objects are collected as
usual right after (nothing is lost: the collector only frees cycles, and these have none).
Nested and concurrent reads share one hold; the collector comes back on with the last.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Timings", "collector_held"]

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collector_held() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()


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
