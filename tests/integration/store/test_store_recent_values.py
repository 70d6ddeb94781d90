"""``recent_values``: the sparklines of many alert instances in one read, on every database.

It must answer what ``history(name, limit, instance_key=key)`` answers for each pair (the
same evaluations, newest first), including pairs without history, instances of one alert
with interleaved rows, and JSON values that are not numbers. On PostgreSQL it is one query
(a LATERAL join over two arrays); the statement count is checked there.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from sqlsentinel_airflow.core.model import Outcome, State
from sqlsentinel_airflow.store import AlertTransaction, HistoryEntry, RecentValue, StateStore

START = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
KEYS = ['{"table_name":"orders"}', '{"table_name":"customers"}']


def _fill(store: StateStore) -> None:
    """``plain``: 12 evaluations; ``keyed``: 7 per instance, interleaved; ``other``: 3."""

    def plain(tx: AlertTransaction) -> None:
        for i in range(12):
            value = "n/a" if i == 5 else {"x": i} if i == 6 else i * 1.5
            tx.add_history(
                HistoryEntry(
                    "plain",
                    START + timedelta(minutes=i),
                    Outcome.ALERT if i % 4 == 0 else Outcome.OK,
                    State.OK,
                    actual_value=value,
                    threshold=10,
                    context={"region": "eu"},
                )
            )

    def keyed(tx: AlertTransaction) -> None:
        for i in range(7):
            for n, key in enumerate(KEYS):
                tx.add_history(
                    HistoryEntry(
                        "keyed",
                        START + timedelta(minutes=i),
                        Outcome.OK,
                        State.OK,
                        instance_key=key,
                        actual_value=100 * n + i,
                        threshold=None,
                    )
                )

    def other(tx: AlertTransaction) -> None:
        for _ in range(3):
            tx.add_history(HistoryEntry("other", START, Outcome.ERROR, State.ERROR, error="boom"))

    store.run_in_alert_transaction("plain", plain)
    store.run_in_alert_transaction("keyed", keyed)
    store.run_in_alert_transaction("other", other)


def _as_values(entries: list[HistoryEntry]) -> list[RecentValue]:
    return [RecentValue(e.evaluated_at, e.outcome, e.actual_value, e.threshold) for e in entries]


def test_recent_values_answer_what_history_answers_per_instance(store: StateStore) -> None:
    _fill(store)
    pairs = [("plain", ""), ("keyed", KEYS[1]), ("keyed", KEYS[0]), ("other", ""), ("none", "")]

    found = store.recent_values(pairs, limit=5)

    assert list(found) == pairs
    for name, key in pairs:
        expected = _as_values(store.history(name, limit=5, instance_key=key))
        assert found[(name, key)] == expected, (name, key)
    assert [v.actual_value for v in found[("keyed", KEYS[1])]] == [106, 105, 104, 103, 102]
    seven = store.recent_values([("plain", "")], limit=7)[("plain", "")]
    assert [v.actual_value for v in seven][-2:] == [{"x": 6}, "n/a"]  # kept as stored
    assert found[("other", "")][0].outcome is Outcome.ERROR
    assert found[("none", "")] == []
    assert store.recent_values([], limit=5) == {}
    assert len(store.recent_values([("plain", "")], limit=50)[("plain", "")]) == 12


def test_recent_values_is_one_statement_on_postgresql(store: StateStore) -> None:
    if store.engine.dialect.name != "postgresql":
        return  # elsewhere: one query per pair on one connection (in-process on SQLite)
    _fill(store)
    statements: list[tuple[str, int]] = []

    def seen(conn: object, cursor: Any, statement: str, *args: object) -> None:
        statements.append((statement, cursor.rowcount))

    sa.event.listen(store.engine, "after_cursor_execute", seen)
    try:
        pairs = [("plain", ""), ("keyed", KEYS[0]), ("other", ""), ("none", "")]
        found = store.recent_values(pairs, limit=3)
    finally:
        sa.event.remove(store.engine, "after_cursor_execute", seen)
    reads = [(s, n) for s, n in statements if "sqlsentinel_history" in s]
    assert len(reads) == 1, statements
    assert "LATERAL" in reads[0][0]
    # one row of arrays per pair, not one row per value: the 30,000 values of the overview
    # cost more Python as rows than as arrays (docs/benchmarks.md, section 5)
    assert reads[0][1] == len(pairs)
    assert [len(found[p]) for p in pairs] == [3, 3, 3, 0]
