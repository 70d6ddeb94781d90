"""Quiet runs of history compacted, and purge in batches, on SQLite, PostgreSQL and MariaDB.

The history is written by the real engine (``evaluation.evaluate_alert``, one evaluation a
minute). What compaction may change is how many rows hold it, never what it says: every
evaluation is still there (its time, outcome, state, value, threshold, duration), with the
same recent values, incidents and backtest replay as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.backtest.replay import replay_ticks
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import HistoryEntry, StateStore
from sqlsentinel_airflow.store.tables import history as history_table
from sqlsentinel_airflow.store.tables import history_compaction

T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=timezone.utc)

ALERTS = """\
alerts:
  - name: plain
    conn_id: warehouse
    schedule: "* * * * *"
    notify_on_error: 1
    notify:
      - channel: webhook
        url: http://127.0.0.1:9/hook
    query: SELECT 'OK' AS status
  - name: keyed
    conn_id: warehouse
    schedule: "* * * * *"
    key_columns: [table_name]
    query: SELECT 'OK' AS status
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


@pytest.fixture
def alerts(tmp_path: Path) -> dict[str, AlertConfig]:
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS)
    config = load_config(str(path)).config
    assert config is not None
    return {name: config.alert(name) for name in ("plain", "keyed")}


def _evaluate(store: StateStore, alert: AlertConfig, step: int, rows: _Rows | Exception) -> None:
    def fetch() -> _Rows:
        if isinstance(rows, Exception):
            raise rows
        return rows

    evaluate_alert(
        alert,
        fetch=fetch,
        store=store,
        run_type=RunType.SCHEDULED,
        run_id=f"run_{step}",
        clock=lambda: T0 + timedelta(minutes=step, microseconds=step * 7),
    )


def _fill(store: StateStore, alerts: dict[str, AlertConfig], minutes: int) -> None:
    """``plain``: OK with a moving value, an incident at 20-24, a query error at 40, a
    threshold change at 60. ``keyed``: three tables, ``b`` firing at 30-33, ``c`` gone at
    50-54 (MISSING), one evaluation's answer the same for all."""
    for step in range(minutes):
        if step == 40:
            answer: _Rows | Exception = QueryError("relation missing")
        else:
            status = "ALERT" if 20 <= step < 25 else "OK"
            answer = _Rows(
                ["status", "actual_value", "threshold"],
                [[status, 1.5 + step % 7, 5 if step < 60 else 6]],
            )
        _evaluate(store, alerts["plain"], step, answer)
        keyed_rows = [
            [name, "ALERT" if name == "b" and 30 <= step < 34 else "OK", step % 3]
            for name in ("a", "b", "c")
            if not (name == "c" and 50 <= step < 55)
        ]
        _evaluate(
            store,
            alerts["keyed"],
            step,
            _Rows(["table_name", "status", "actual_value"], keyed_rows),
        )


def _every_evaluation(entries: list[HistoryEntry]) -> list[tuple[Any, ...]]:
    """What the history says, one tuple per evaluation, a quiet run's folded ones included."""
    said: list[tuple[Any, ...]] = []
    for e in entries:
        shared = (e.instance_key, e.outcome, e.state, e.threshold, e.context, e.key_values)
        said.append((e.evaluated_at, *shared, e.actual_value, e.duration_ms, e.error))
        for sample in e.samples:
            said.append(
                (sample.evaluated_at, *shared, sample.actual_value, sample.duration_ms, None)
            )
    return sorted(said, key=lambda t: (t[0], t[1]))


def _all_history(store: StateStore, alert: str) -> list[HistoryEntry]:
    return store.history(alert_name=alert, limit=10_000)


def _ticks(store: StateStore, alert: AlertConfig) -> list[tuple[Any, ...]]:
    end = T0 + timedelta(days=1)
    return [(t.at, t.evaluation) for t in replay_ticks(store, alert, T0, end, page_rows=13)]


def test_compaction_keeps_every_evaluation_and_what_each_reader_shows(
    store: StateStore, alerts: dict[str, AlertConfig]
) -> None:
    _fill(store, alerts, 90)
    cutoff = T0 + timedelta(minutes=80)  # the last 10 minutes stay as they are
    before = {name: _all_history(store, name) for name in alerts}
    instances = [("plain", ""), ("keyed", "a"), ("keyed", "b"), ("keyed", "c")]
    values_before = store.recent_values(instances, 500)
    incidents_before = {name: store.incidents(name) for name in alerts}
    ticks_before = {name: _ticks(store, alert) for name, alert in alerts.items()}
    batches: list[tuple[str, int, float]] = []

    done = store.compact_history(
        cutoff, batch_rows=17, max_samples=6, on_batch=lambda *b: batches.append(b)
    )

    after = {name: _all_history(store, name) for name in alerts}
    rows_before = sum(len(v) for v in before.values())
    rows_after = sum(len(v) for v in after.values())
    assert done["folded"] == rows_before - rows_after > rows_before // 2
    assert done["runs"] == sum(1 for v in after.values() for e in v if e.samples)
    for name in alerts:
        assert _every_evaluation(after[name]) == _every_evaluation(before[name])
        # newest first still; the rows newer than the cut-off untouched, none of them a run
        assert [e.id for e in after[name]] == sorted((e.id for e in after[name]), reverse=True)
        recent = [e for e in before[name] if e.evaluated_at >= cutoff]
        assert [e for e in after[name] if e.evaluated_at >= cutoff] == recent
        for e in after[name]:
            assert len(e.samples) <= 6
            assert all(s.evaluated_at < cutoff for s in e.samples)
            if e.samples:  # a run is of quiet rows only
                assert (e.outcome.value, e.state.value, e.events, e.error) == ("OK", "OK", (), None)
                assert e.last_evaluated_at == e.samples[-1].evaluated_at
    run = next(e for e in after["plain"] if e.samples)
    shown = readmodel.evaluation_view(run).to_json()  # the UI's and the CLI's JSON
    assert shown["repeats"] == len(run.samples) and shown["samples"] == [
        {
            "evaluated_at": rfc3339(s.evaluated_at),
            "actual_value": s.actual_value,
            "duration_ms": s.duration_ms,
        }
        for s in run.samples
    ]
    assert shown["last_evaluated_at"] == rfc3339(run.samples[-1].evaluated_at)
    assert store.recent_values(instances, 500) == values_before
    assert store.recent_values(instances, 7) == {k: v[:7] for k, v in values_before.items()}
    assert {name: store.incidents(name) for name in alerts} == incidents_before
    kept = {e.id for v in after.values() for e in v}
    for found, _more in incidents_before.values():
        for incident in found:
            assert {incident.start_id, incident.end_id, incident.peak_id} - {None} <= kept
    ticks_after = {name: _ticks(store, alert) for name, alert in alerts.items()}
    for name in alerts:
        assert len(ticks_after[name]) == len(ticks_before[name])
        for a, b in zip(ticks_after[name], ticks_before[name], strict=True):
            assert a == b, (a, b)
    # batches of at most 17 rows read, each told once
    older = sum(1 for v in before.values() for e in v if e.evaluated_at < cutoff)
    assert done["read"] == older
    assert len(batches) >= older // 17 and sum(b[1] for b in batches) == done["folded"]

    # a second pass finds nothing new; the watermark is where the first one stopped
    assert store.compact_history(cutoff, batch_rows=17, max_samples=6)["folded"] == 0
    with store.engine.connect() as conn:
        marks = dict(
            conn.execute(
                sa.select(history_compaction.c.alert_name, history_compaction.c.through_id)
            ).all()
        )
    for name in alerts:
        assert marks[name] == max(e.id or 0 for e in before[name] if e.evaluated_at < cutoff)


def test_compaction_goes_on_where_it_stopped_and_a_run_spans_no_two_passes(
    store: StateStore, alerts: dict[str, AlertConfig]
) -> None:
    _fill(store, alerts, 15)  # all quiet: plain OK, keyed a/b/c OK
    store.compact_history(T0 + timedelta(minutes=10), max_samples=100)
    first = _all_history(store, "plain")
    assert [len(e.samples) for e in first] == [0, 0, 0, 0, 0, 9]
    for step in range(15, 20):
        _evaluate(
            store,
            alerts["plain"],
            step,
            _Rows(["status", "actual_value", "threshold"], [["OK", 2.0, 5]]),
        )
    between = _all_history(store, "plain")
    store.compact_history(T0 + timedelta(minutes=18), max_samples=100)
    second = _all_history(store, "plain")
    # minutes 10-17 become a second run (its head at 10); the first run is left as it was
    assert [len(e.samples) for e in second] == [0, 0, 7, 9]
    assert second[-1] == first[-1]
    assert _every_evaluation(second) == _every_evaluation(between)


def test_purge_deletes_in_batches_and_a_run_goes_with_its_first_evaluation(
    store: StateStore, alerts: dict[str, AlertConfig]
) -> None:
    _fill(store, alerts, 30)
    store.compact_history(T0 + timedelta(minutes=30), max_samples=4)
    compacted = _all_history(store, "plain")
    cutoff = T0 + timedelta(minutes=12)
    batches: list[tuple[str, int, float]] = []

    counts = store.purge(cutoff, batch_rows=3, on_batch=lambda *b: batches.append(b))

    left = _all_history(store, "plain") + _all_history(store, "keyed")
    assert left and all(e.evaluated_at >= cutoff for e in left)
    assert [e for e in compacted if e.evaluated_at >= cutoff] == _all_history(store, "plain")
    with store.engine.connect() as conn:
        remaining = conn.execute(sa.select(sa.func.count()).select_from(history_table)).scalar()
    assert remaining == len(left)
    assert all(n <= 3 for _t, n, _s in batches)
    assert sum(n for t, n, _s in batches if t == "history") == counts["history"] > 3
    assert counts["incidents"] == 0  # the incident at 20-24 ended after the cut-off
