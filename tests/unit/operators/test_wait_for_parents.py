"""``operators.alert.wait_for_parents``: bounded, logged, degrading to no wait.

The DAG-run counter is injected (the Task SDK's ``get_dr_count`` in a task; the real one
is exercised in tests/integration/airflow/test_depends_on_wait.py)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import pytest

from sqlsentinel_airflow.operators.alert import wait_for_parents

POLL = timedelta(milliseconds=20)


class Runs:
    """Counts of queued/running runs per dag_id, each call consuming one of its counts."""

    def __init__(self, **counts: list[int]) -> None:
        self.counts = counts
        self.calls: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, *, dag_id: str, states: list[str]) -> int:
        self.calls.append((dag_id, tuple(states)))
        left = self.counts[dag_id]
        return left.pop(0) if len(left) > 1 else left[0]


def test_no_parent_run_busy_means_no_wait(caplog: pytest.LogCaptureFixture) -> None:
    runs = Runs(p=[0])
    caplog.set_level(logging.INFO)
    waited = wait_for_parents("child", ["p"], runs, bound=timedelta(seconds=5), poll=POLL)
    assert waited < 1
    assert runs.calls == [("p", ("queued", "running"))]
    assert "wait" not in caplog.text


def test_waits_until_every_parent_is_done_and_says_for_what(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = Runs(a=[1, 1, 0], b=[1, 0])
    caplog.set_level(logging.INFO)
    waited = wait_for_parents("child", ["a", "b"], runs, bound=timedelta(seconds=5), poll=POLL)
    assert 0.03 <= waited < 2
    assert [d for d, _ in runs.calls] == ["a", "b"] * 3  # both busy, then a, then neither
    assert "alert child: waiting for the queued or running DAG runs of a, b (at most 5s)" in (
        caplog.text
    )
    assert "alert child: waited " in caplog.text and "s for a, b" in caplog.text


def test_the_wait_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    started = time.monotonic()
    waited = wait_for_parents(
        "child", ["p"], Runs(p=[1]), bound=timedelta(milliseconds=200), poll=POLL
    )
    assert 0.2 <= waited < 1 and time.monotonic() - started < 1
    assert "alert child: p still queued or running after 0.2s (the most it waits): " in (
        caplog.text
    )


def test_without_get_dr_count_it_warns_and_does_not_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert wait_for_parents("child", ["p"], None, bound=timedelta(seconds=5)) == 0
    assert "this Airflow cannot count DAG runs from a task (no get_dr_count): evaluating " in (
        caplog.text
    )


def test_a_failing_count_warns_and_does_not_wait(caplog: pytest.LogCaptureFixture) -> None:
    def broken(**_: Any) -> int:
        raise RuntimeError("execution API unreachable")

    waited = wait_for_parents("child", ["p"], broken, bound=timedelta(seconds=5), poll=POLL)
    assert waited < 1
    assert (
        "alert child: could not count the DAG runs of p (execution API unreachable): "
        "evaluating without waiting" in caplog.text
    )


def test_no_parents_or_no_bound_asks_nothing() -> None:
    runs = Runs(p=[1])
    assert wait_for_parents("child", [], runs, bound=timedelta(seconds=5)) == 0
    assert wait_for_parents("child", ["p"], runs, bound=timedelta(0)) == 0
    assert runs.calls == []
