"""The metrics' gauges read the whole state database in two queries, on every database.

``state_counts`` (instances per stored state) and ``pending_outbox_summary`` (the backlog and
when its oldest row was created) feed ``metrics.emit_gauges``; a state DB that cannot answer
makes the gauges go missing, never the run fail (docs/operations.md#metrics).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta, timezone

import airflow.sdk  # noqa: F401  (its first import sets up logging: before caplog's handler)
import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.model import EventKind, InstanceState, State
from sqlsentinel_airflow.metrics import emit_gauges
from sqlsentinel_airflow.store import AlertTransaction, OutboxEntry, StateStore

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)


def _entry(alert: str, created_at: datetime) -> OutboxEntry:
    event_id = str(uuid.uuid4())
    return OutboxEntry(
        event_id=event_id,
        alert_name=alert,
        kind=EventKind.FIRING,
        channel_id="0:webhook:abc",
        channel_kind="webhook",
        payload={"version": 1, "alert": alert},
        idempotency_key=f"{event_id}:0:webhook:abc",
        created_at=created_at,
    )


def test_state_counts_and_the_pending_backlog(store: StateStore) -> None:
    assert store.state_counts() == {}
    assert store.pending_outbox_summary() == (0, None)

    def work(tx: AlertTransaction) -> list[int]:
        tx.save_state(InstanceState("a", "", state=State.FIRING, state_since=NOW))
        tx.save_state(InstanceState("a", "k2", state=State.FIRING, state_since=NOW))
        tx.save_state(InstanceState("a", "k3", state=State.OK, state_since=NOW))
        return [
            tx.enqueue(_entry("a", NOW - timedelta(minutes=30))),  # delivered below
            tx.enqueue(_entry("a", NOW - timedelta(minutes=20))),  # the oldest still pending
            tx.enqueue(_entry("a", NOW - timedelta(minutes=5))),
        ]

    first, *_ = store.run_in_alert_transaction("a", work)
    store.run_in_alert_transaction(
        "b", lambda tx: tx.save_state(InstanceState("b", state=State.ERROR, state_since=NOW))
    )
    store.mark_delivered(first, NOW)

    assert store.state_counts() == {"FIRING": 2, "OK": 1, "ERROR": 1}
    pending, oldest = store.pending_outbox_summary()
    assert pending == 2
    assert oldest == NOW - timedelta(minutes=20) and oldest.tzinfo is not None


@pytest.mark.airflow
def test_gauges_of_a_broken_state_db_are_dropped_with_a_warning(
    store: StateStore, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE sqlsentinel_state"))
    with caplog.at_level(logging.WARNING, logger="sqlsentinel_airflow.metrics"):
        emit_gauges(store, NOW)  # Airflow's metrics are off: not even queried
    assert caplog.text == ""

    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", "9")  # discard: nothing is sent anyway
    with caplog.at_level(logging.WARNING, logger="sqlsentinel_airflow.metrics"):
        emit_gauges(store, NOW)  # does not raise
    assert "could not emit the state metrics (ignored)" in caplog.text
    assert "reading alert states" in caplog.text or "counting alert states" in caplog.text
