"""The shared query watchdog: one thread serves every deadline; an action runs on its own.

These use private ``Watchdog`` instances with short delays, never the process's one, so a
QueryRunner test running next to them is not disturbed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlsentinel_airflow.execution.watchdog import Watchdog


def wait_until(check: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_an_action_runs_after_its_delay_in_a_thread_of_its_own() -> None:
    dog = Watchdog()
    fired: list[tuple[float, str]] = []
    started = time.monotonic()
    dog.schedule(
        0.2,
        lambda: fired.append((time.monotonic(), threading.current_thread().name)),
        name="test-deadline",
    )
    assert wait_until(lambda: fired)
    at, thread_name = fired[0]
    assert at - started >= 0.2
    assert thread_name == "test-deadline"
    assert dog.pending() == 0


def test_a_cancelled_deadline_never_fires() -> None:
    dog = Watchdog()
    fired: list[str] = []
    deadline = dog.schedule(0.2, lambda: fired.append("late"), name="test-deadline")
    dog.cancel(deadline)
    dog.schedule(0.4, lambda: fired.append("kept"), name="test-deadline")
    assert wait_until(lambda: fired)
    time.sleep(0.1)
    assert fired == ["kept"]


def test_an_earlier_deadline_scheduled_later_wakes_the_thread() -> None:
    dog = Watchdog()
    fired: list[str] = []
    dog.schedule(30, lambda: fired.append("far"), name="test-deadline")
    time.sleep(0.05)  # the thread now sleeps until the far deadline
    started = time.monotonic()
    dog.schedule(0.1, lambda: fired.append("near"), name="test-deadline")
    assert wait_until(lambda: fired, timeout=2)
    assert fired == ["near"]
    assert time.monotonic() - started < 2
    assert dog.pending() == 1


def test_a_hanging_action_does_not_hold_up_the_next_deadline() -> None:
    dog = Watchdog()
    release = threading.Event()
    fired: list[str] = []
    dog.schedule(0.05, lambda: release.wait(10), name="test-hanging")  # a cancel on a dead network
    dog.schedule(0.2, lambda: fired.append("next"), name="test-deadline")
    try:
        assert wait_until(lambda: fired, timeout=2)
    finally:
        release.set()


def test_the_thread_leaves_when_idle_and_comes_back_for_the_next_deadline() -> None:
    dog = Watchdog(linger=0.1, name="test-idle-watchdog")

    def watchdog_threads() -> int:
        return sum(t.name == "test-idle-watchdog" for t in threading.enumerate())

    fired: list[int] = []
    dog.schedule(0.05, lambda: fired.append(1), name="test-deadline")
    assert watchdog_threads() == 1
    assert wait_until(lambda: fired and watchdog_threads() == 0)
    dog.schedule(0.05, lambda: fired.append(2), name="test-deadline")
    assert watchdog_threads() == 1
    assert wait_until(lambda: fired == [1, 2])


def test_a_huge_delay_neither_kills_the_thread_nor_hides_later_deadlines() -> None:
    # A 999,999-day timeout used to make Condition.wait raise OverflowError in the thread;
    # the dead thread stayed registered and no later deadline ever fired.
    dog = Watchdog()
    fired = threading.Event()
    far = dog.schedule(999_999 * 86_400.0, lambda: None, name="test-far")
    dog.schedule(0.05, fired.set, name="test-near")
    assert fired.wait(5)
    dog.cancel(far)


def test_an_impossible_delay_is_refused() -> None:
    dog = Watchdog()
    for delay in (float("inf"), float("nan"), -1.0):
        try:
            dog.schedule(delay, lambda: None, name="test-bad")
        except ValueError as exc:
            assert "finite delay" in str(exc)
        else:  # pragma: no cover - the assertion below reports it
            raise AssertionError(f"delay {delay} was accepted")
    assert dog.pending() == 0
