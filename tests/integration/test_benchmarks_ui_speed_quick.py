"""The big state database of the UI benchmark, at a tiny size (bench/bigstate.py).

What the full-size run (docs/benchmarks.md, "The UI on a big state database") relies on:
the generator's rows have the planned shape (one history row per instance and due minute,
a state row per instance matching its last evaluation, outbox rows for the notifying
evaluations, silences), the alerts.yaml it writes defines exactly its alerts, and the reads
the UI makes use the indexes (plans checked with sequential scans discouraged, as the
planner would choose at full size). No time is asserted.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from bench import bigstate
from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.model import State
from sqlsentinel_airflow.store import StateStore

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
ALERTS = 20  # of each 10: 1 every minute, 4 every 5 min, 5 hourly; alerts 0-9 keyed
DAYS = 0.25  # six hours


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[str, dict]]:
    name = f"sst_bigstate_quick_{uuid.uuid4().hex[:8]}"  # one per xdist worker
    url = bigstate.create_database(name)
    try:
        yield url, bigstate.generate(url, ALERTS, DAYS, now=NOW)
    finally:
        bigstate.drop_database(name)


def _expected_history_rows() -> int:
    minutes = round(DAYS * 1440)
    total = 0
    for a in bigstate.big_alerts(ALERTS):
        evaluations = minutes // a.every_minutes if a.every_minutes < 60 else minutes // 60
        total += evaluations * len(a.instance_keys())
    return total


def test_the_generator_writes_the_planned_rows(big: tuple[str, dict]) -> None:
    url, stats = big
    alerts = bigstate.big_alerts(ALERTS)
    instances = sum(len(a.instance_keys()) for a in alerts)
    assert [a.every_minutes for a in alerts[:10]] == [1, 5, 5, 5, 5, 60, 60, 60, 60, 60]
    assert sum(a.keyed for a in alerts) == 10
    assert stats["instances"] == stats["state_rows"] == instances == 10 * 20 + 10
    assert stats["history_rows"] == _expected_history_rows()
    assert stats["outbox_rows"] > 0 and stats["silence_rows"] > 0
    assert stats["incident_rows"] > 0

    store = StateStore.connect(url)
    try:
        states = store.list_states()
        assert len(states) == instances
        busy = bigstate.busiest_alert(alerts)
        assert (busy.every_minutes, busy.keyed) == (1, True)
        for s in [s for s in states if s.alert_name == busy.name][:3]:
            (last,) = store.history(busy.name, limit=1, instance_key=s.instance_key)
            assert last.evaluated_at == s.last_evaluated_at  # the state is its last evaluation
            assert last.state is s.state
            assert json.loads(s.instance_key) == s.key_values
        assert {s.state for s in states} <= {State.OK, State.FIRING, State.ERROR}
        outbox = store.outbox(limit=100_000)
        assert "delivered" in {o.status.value for o in outbox}
        assert {o.status.value for o in outbox} <= {"delivered", "dead", "pending"}
        assert all(isinstance(o.payload, dict) and o.payload["kind"] == o.kind for o in outbox)
        assert store.list_silences(NOW)  # some are active now
    finally:
        store.dispose()


def test_the_alerts_file_defines_the_generated_alerts() -> None:
    alerts = bigstate.big_alerts(ALERTS)
    loaded = load_config_text(bigstate.alerts_yaml(alerts))
    assert loaded.config is not None, loaded.errors
    by_name = {a.name: a for a in loaded.config.alerts}
    assert list(by_name) == [a.name for a in alerts]
    for a in alerts:
        assert by_name[a.name].dag_id == a.dag_id
        assert by_name[a.name].schedule == a.schedule
        assert by_name[a.name].key_columns == (("table_name",) if a.keyed else ())


def _plans(store: StateStore, read: Callable[[], object]) -> list[str]:
    """The plans of the statements ``read`` sends, with sequential scans discouraged."""
    sent: list[tuple[str, Any]] = []

    def seen(conn: object, cursor: object, statement: str, params: Any, *rest: object) -> None:
        sent.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:
        read()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", seen)
    plans = []
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, params in sent:
            if statement.lstrip().upper().startswith("SELECT"):
                rows = conn.exec_driver_sql(f"EXPLAIN {statement}", params).all()
                plans.append("\n".join(r[0] for r in rows))
    return plans


def test_the_ui_reads_use_the_indexes(big: tuple[str, dict]) -> None:
    url, _ = big
    alerts = bigstate.big_alerts(ALERTS)
    names = [a.name for a in alerts]
    store = StateStore.connect(url)
    try:
        pairs = [(s.alert_name, s.instance_key) for s in store.list_states()]
        (sparks,) = [
            p for p in _plans(store, lambda: store.recent_values(pairs, 30)) if "history" in p
        ]
        assert "ix_sqlsentinel_history_alert_id" in sparks, sparks  # at full size: Backward
        assert "JIT" not in sparks
        # an hourly alert: a small part of the table, as nearly every alert is at full size
        (page,) = _plans(store, lambda: store.history(names[15], limit=50))
        assert "ix_sqlsentinel_history_alert_id" in page, page
        (counts,) = _plans(store, lambda: store.outbox_counts(names, ("pending", "dead")))
        # by status (an index-only scan once the visibility map is set)
        assert re.search(r"Index (Only )?Scan using ix_sqlsentinel_outbox_status_", counts), counts
        # an alert's incidents: a page of their table by its key, never the history
        busy = bigstate.busiest_alert(alerts).name
        (incidents,) = _plans(store, lambda: store.incidents(busy, limit=5))
        assert re.search(r"Index (Only )?Scan Backward using sqlsentinel_incidents_pkey", incidents)
        assert "history" not in incidents
        for plan in (sparks, page, counts, incidents):
            assert "Seq Scan" not in plan, plan
    finally:
        store.dispose()
