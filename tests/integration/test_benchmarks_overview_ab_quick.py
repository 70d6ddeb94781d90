"""The overview A/B (bench/overview_ab.py) at a tiny size: a revision's package is imported
beside this checkout's and both answer; answers are compared with the sparkline's times read
either way. No time is asserted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from bench import bigstate, overview_ab

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def small() -> Iterator[str]:
    name = f"sst_overview_ab_quick_{uuid.uuid4().hex[:8]}"  # one per xdist worker and test
    url = bigstate.create_database(name)
    try:
        bigstate.generate(url, 20, 0.25, now=NOW)
        yield name
    finally:
        bigstate.drop_database(name)


def test_both_sides_answer_and_are_compared(small: str) -> None:
    result = overview_ab.run(small, "HEAD", alerts=20, warmup=0, reps=2)
    assert result["same_answer"] is True
    assert result["before"]["bytes"] > 10_000 and result["after"]["bytes"] > 10_000
    assert len(result["before"]["cpu_ms"]) == len(result["after"]["wall_ms"]) == 2


def test_times_as_text_and_as_epoch_seconds_are_the_same_answer() -> None:
    def answer(at: list[object], value: float) -> bytes:
        return json.dumps({"alerts": [{"spark": {"at": at, "value": [value]}}]}).encode()

    text = answer(["2026-11-01T09:00:00.250000+00:00"], 1.5)
    assert overview_ab.same_answer(text, answer([1793523600.25], 1.5))
    assert not overview_ab.same_answer(text, answer([1793523600.0], 1.5))
    assert not overview_ab.same_answer(text, answer([1793523600.25], 2.5))
