"""The big state database written compacted (``bench.bigstate --compact``) is the one
``sqlsentinel purge`` leaves: the same rows, ids, samples, watermarks and incidents as the
generator's one-row-per-evaluation output compacted by ``StateStore.compact_history``.

The year of docs/benchmarks.md is generated compacted (a year one row per evaluation would
not fit the disk), so this is what makes that measurement one of the real thing. Tiny
sizes, small batches and runs so that batch boundaries, full runs and the cut-off all occur.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from bench import bigstate
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.tables import history, history_compaction, incidents

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
ALERTS = 20
DAYS = 0.25  # 360 minutes
COMPACTION = bigstate.Compaction(before_minute=240, batch_rows=50, max_samples=7)


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    names = [f"sst_compact_quick_{uuid.uuid4().hex[:8]}_{n}" for n in ("raw", "compacted")]
    urls = [bigstate.create_database(n) for n in names]
    try:
        yield urls[0], urls[1]
    finally:
        for n in names:
            bigstate.drop_database(n)


def _table(url: str, table: sa.Table, order: Any) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    finally:
        engine.dispose()


def test_the_compacted_year_is_what_purge_leaves(databases: tuple[str, str]) -> None:
    raw_url, compacted_url = databases
    raw_stats = bigstate.generate(raw_url, ALERTS, DAYS, now=NOW)
    stats = bigstate.generate(compacted_url, ALERTS, DAYS, now=NOW, compaction=COMPACTION)
    start = NOW - timedelta(days=DAYS)
    with StateStore.connect(raw_url) as store:
        done = store.compact_history(
            start + timedelta(minutes=COMPACTION.before_minute),
            batch_rows=COMPACTION.batch_rows,
            max_samples=COMPACTION.max_samples,
        )

    assert stats["evaluations"] == raw_stats["evaluations"] == raw_stats["history_rows"]
    assert stats["history_rows"] == raw_stats["history_rows"] - done["folded"]
    assert done["folded"] > stats["history_rows"] // 2 and done["runs"] > 0
    written = _table(compacted_url, history, [history.c.id])
    assert written == _table(raw_url, history, [history.c.id])
    repeats = list(history.c.keys()).index("repeats")
    last_at = list(history.c.keys()).index("last_evaluated_at")
    full = [r for r in written if r[repeats] == COMPACTION.max_samples]
    assert full and any(r[repeats] and r[repeats] < COMPACTION.max_samples for r in written)
    cut = start + timedelta(minutes=COMPACTION.before_minute)
    assert all(r[last_at] < cut for r in written if r[last_at] is not None)
    marks = _table(compacted_url, history_compaction, [history_compaction.c.alert_name])
    assert marks == _table(raw_url, history_compaction, [history_compaction.c.alert_name])
    assert len(marks) == ALERTS
    # the incidents the upgrade finds in the compacted history are the ones of the whole one
    order = [incidents.c.alert_name, incidents.c.start_id]
    assert _table(compacted_url, incidents, order) == _table(raw_url, incidents, order)
    assert stats["incident_rows"] == raw_stats["incident_rows"] > 0
