"""The A/B benchmark of ``sqlsentinel status`` (bench/status_ab.py) at a tiny size: both
children run and alternate, and the same code on both sides prints the same bytes. No time
is asserted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from bench import bigstate, status_ab

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def big() -> Iterator[str]:
    name = f"sst_status_ab_{uuid.uuid4().hex[:8]}"  # one per xdist worker and test
    url = bigstate.create_database(name)
    try:
        bigstate.generate(url, 20, 0.1, now=NOW)
        yield url
    finally:
        bigstate.drop_database(name)


def test_both_sides_run_alternately_and_print_the_same(big: str) -> None:
    result = status_ab.run(big, alerts=20, before=status_ab.REPO, after=status_ab.REPO, reps=2)
    assert result["same_output_pairs"] == "2/2"
    assert result["bytes"]["before"] == result["bytes"]["after"] > 0
    for side in ("before", "after"):
        assert len(result[side]["runs_ms"]) == 2 and result[side]["cpu_median_ms"] > 0
    assert "| before |" in status_ab.report(result)
