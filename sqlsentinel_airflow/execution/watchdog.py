"""One thread per process watches the deadline of every running query.

:class:`~sqlsentinel_airflow.execution.query.QueryRunner` stops a statement the database
did not stop a little after its timeout. It used to start a ``threading.Timer`` per query:
starting a thread cost ~0.15 ms of CPU and, on a busy machine, up to a millisecond before
the new thread first ran, more than the alert query itself on SQLite, paid by every alert
of a ``sqlsentinel run``. Here one thread sleeps until the earliest deadline;
scheduling and cancelling a deadline only take a lock, and the thread is not woken for a
deadline later than the one it already sleeps until.

An expired deadline's action runs in a thread of its own, started only then: a cancel that
hangs on a dead network must not hold up the deadlines of other queries. The thread exits
after ``linger`` seconds with nothing to watch and the next deadline starts it again; a
forked child (Airflow's task runner forks) starts its own.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable

__all__ = ["Deadline", "Watchdog", "watchdog"]

log = logging.getLogger(__name__)

# The longest single sleep: ``Condition.wait`` raises OverflowError past threading.TIMEOUT_MAX,
# which killed the thread (and every later deadline) for a huge timeout. The loop re-reads the
# heap after each wake, so a capped sleep only costs a wake-up an hour.
_MAX_WAIT = 3600.0


class Deadline:
    """A scheduled action; :meth:`Watchdog.cancel` it once the query has ended."""

    __slots__ = ("action", "name", "when")

    def __init__(self, when: float, action: Callable[[], None], name: str) -> None:
        self.when = when
        self.action = action
        self.name = name


class Watchdog:
    """Runs each scheduled action in a thread of its own once its deadline has passed."""

    def __init__(self, *, linger: float = 5.0, name: str = "sqlsentinel-query-watchdog") -> None:
        self._linger = linger
        self._name = name
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        # When the serving thread's current wait ends; -inf while it is not waiting (it
        # reads the heap under the lock before it waits again, so nothing is missed).
        self._wakes_at = -math.inf

    def schedule(self, delay: float, action: Callable[[], None], *, name: str) -> Deadline:
        """Run ``action`` (in a new thread named ``name``) ``delay`` seconds from now."""
        if not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"a deadline needs a finite delay >= 0, got {delay!r}")
        deadline = Deadline(time.monotonic() + delay, action, name)
        with self._cond:
            heapq.heappush(self._heap, (deadline.when, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            elif deadline.when < self._wakes_at:
                self._cond.notify()
        return deadline

    def cancel(self, deadline: Deadline) -> None:
        """Forget ``deadline``; nothing happens if its action has already started."""
        with self._cond:
            for index, entry in enumerate(self._heap):
                if entry[2] is deadline:
                    self._heap[index] = self._heap[-1]
                    self._heap.pop()
                    heapq.heapify(self._heap)
                    return

    def pending(self) -> int:
        """How many deadlines are scheduled and not yet due (for tests and diagnostics)."""
        with self._cond:
            return len(self._heap)

    def _serve(self) -> None:
        try:
            self._serve_until_idle()
        except BaseException:  # never leave a dead thread registered: the next schedule()
            log.exception("%s stopped; the next deadline starts it again", self._name)
            with self._cond:
                self._thread = None
                self._wakes_at = -math.inf
            raise

    def _serve_until_idle(self) -> None:
        idle_until: float | None = None
        while True:
            due: list[Deadline] = []
            with self._cond:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap)[2])
                if due:
                    idle_until = None
                    self._wakes_at = -math.inf
                elif self._heap:
                    idle_until = None
                    self._wakes_at = self._heap[0][0]
                    self._cond.wait(min(self._wakes_at - now, _MAX_WAIT))
                    self._wakes_at = -math.inf
                    continue
                elif idle_until is not None and now >= idle_until:
                    self._thread = None
                    return
                else:
                    idle_until = now + self._linger if idle_until is None else idle_until
                    self._wakes_at = idle_until
                    self._cond.wait(min(idle_until - now, _MAX_WAIT))
                    self._wakes_at = -math.inf
                    continue
            for deadline in due:
                self._fire(deadline)

    @staticmethod
    def _fire(deadline: Deadline) -> None:
        try:
            threading.Thread(target=deadline.action, name=deadline.name, daemon=True).start()
        except RuntimeError:  # no thread can be started (limit reached, or shutting down)
            log.warning("could not start a thread for %s; running it here", deadline.name)
            try:
                deadline.action()
            except Exception:  # the watchdog must outlive one failed action
                log.exception("%s failed", deadline.name)


#: The process's watchdog, shared by every QueryRunner.
watchdog = Watchdog()

if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    # The parent's thread does not exist in a forked child, and its lock may be held.
    os.register_at_fork(after_in_child=watchdog._reset)
