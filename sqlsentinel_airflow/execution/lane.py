"""A thread to run SQLite queries on, which the caller can stop waiting for.

SQLite has no server to stop a statement: the runner's timeout reaches it through the progress
handler and ``interrupt()``, which SQLite checks between virtual-machine instructions. One
instruction can run for hours: a ``LIKE`` with a long pattern on a long value compares them
character by character in one call (``'%' || <12,000 characters> || 'b'`` against a million
characters is 10**10 steps), and so does ``instr``. On the thread that asked, such a query would
hold the Airflow task far beyond its timeout.

So a SQLite query (its connection, its read-only set-up, the statement and the fetch) runs on a
:class:`Lane`: the asking thread waits for it until the timeout and the watchdog's two grace
periods have passed, then stops waiting, and the query is reported as timed out. The lane's
thread is a daemon: it finishes the call on its own (or ends with the process, as an Airflow
task's does right after), and is never given another query. sqlite3 objects belong to the
thread that made them, so a lane also keeps the connections ``reusing_connections`` holds.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

_numbers = itertools.count(1)


class Job(Generic[T]):
    """One call on a lane: ``wait()`` then ``result()``."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the waiting thread as it is
            self._error = exc
        finally:
            self._done.set()

    def wait(self, seconds: float) -> bool:
        """True once the call has returned or raised; False after ``seconds`` without."""
        return self._done.wait(seconds)

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class Lane:
    """One daemon thread running calls in order. ``abandon()`` gives up on the one running."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Job[object] | None] = queue.SimpleQueue()
        self.abandoned = False
        self._thread = threading.Thread(
            target=self._serve, name=f"sqlsentinel-sqlite-{next(_numbers)}", daemon=True
        )
        self._thread.start()

    @property
    def ident(self) -> int | None:
        return self._thread.ident

    def on_lane(self) -> bool:
        return threading.get_ident() == self._thread.ident

    def submit(self, fn: Callable[[], T]) -> Job[T]:
        if self.abandoned:
            raise RuntimeError("this lane was abandoned")
        job: Job[T] = Job(fn)
        self._jobs.put(job)  # type: ignore[arg-type]
        return job

    def stop(self) -> None:
        """End the thread after the calls already submitted."""
        self._jobs.put(None)

    def abandon(self) -> None:
        """Stop waiting for the running call; the thread ends when that call returns."""
        self.abandoned = True
        self._jobs.put(None)

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self.abandoned:
                return
            job._run()
