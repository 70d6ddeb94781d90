"""The evaluation hot path after the issue-7 work: lock rows made once, outbox read in bulk.

On every database: an alert's lock row is created by its first evaluation only (later ones,
from any process, lock straight away), and ``pending_outbox_by_alert`` returns exactly what
``pending_outbox`` returns per alert, in one query.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from sqlsentinel_airflow.core.model import EventKind, InstanceState, Outcome, State
from sqlsentinel_airflow.store import AlertTransaction, OutboxEntry, StateStore
from sqlsentinel_airflow.store.tables import alert_lock, state

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)


def _state(alert: str, key: str, consecutive: int) -> InstanceState:
    return InstanceState(
        alert_name=alert,
        instance_key=key,
        state=State.FIRING,
        last_good_state=State.FIRING,
        consecutive_alerts=consecutive,
        consecutive_oks=0,
        consecutive_errors=0,
        state_since=NOW,
        firing_since=NOW,
        firing_notified=True,
        last_notified_at=NOW,
        error_notified=False,
        last_evaluated_at=NOW + timedelta(minutes=consecutive),
        last_outcome=Outcome.ALERT,
        last_value=consecutive,
        last_threshold=0,
        last_context={},
        last_error=None,
        key_values={"k": key},
    )


def _entry(alert: str, key: str = "") -> OutboxEntry:
    event_id = str(uuid.uuid4())
    return OutboxEntry(
        event_id=event_id,
        alert_name=alert,
        kind=EventKind.FIRING,
        channel_id="webhook:0",
        channel_kind="webhook",
        payload={"version": 1, "alert": alert},
        idempotency_key=f"{event_id}:webhook:0",
        created_at=NOW,
        instance_key=key,
    )


def test_lock_rows_are_made_by_the_first_evaluation_and_reused(any_db_url: str) -> None:
    first, second = StateStore.connect(any_db_url), StateStore.connect(any_db_url)
    try:
        for n, store in enumerate([first, second, first, second], start=1):  # two "processes"
            for alert in ("orders", "revenue"):

                def work(tx: AlertTransaction, alert: str = alert, n: int = n) -> None:
                    tx.save_state(_state(alert, "a", n))  # update-else-insert, n times

                store.run_in_alert_transaction(alert, work)
        with first.engine.connect() as conn:
            locks = sorted(conn.execute(sa.select(alert_lock.c.alert_name)).scalars())
            saved = conn.execute(
                sa.select(state.c.alert_name, state.c.consecutive_alerts).order_by(
                    state.c.alert_name
                )
            ).all()
        # SQLite locks with BEGIN IMMEDIATE and needs no lock rows.
        expected_locks = [] if first.engine.dialect.name == "sqlite" else ["orders", "revenue"]
        assert locks == expected_locks
        assert [tuple(r) for r in saved] == [("orders", 4), ("revenue", 4)]
        states = {s.instance_key: s for s in second.list_states("orders")}
        assert states["a"].key_values == {"k": "a"} and states["a"].last_value == 4
    finally:
        first.dispose()
        second.dispose()


def test_pending_outbox_by_alert_equals_the_per_alert_reads(any_db_url: str) -> None:
    store = StateStore.connect(any_db_url)
    try:
        ids: dict[str, list[int]] = {}
        for alert, count in (("orders", 3), ("revenue", 1), ("quiet", 0), ("orders", 2)):

            def work(tx: AlertTransaction, alert: str = alert, count: int = count) -> list[int]:
                return [tx.enqueue(_entry(alert, f"i{i}")) for i in range(count)]

            ids.setdefault(alert, []).extend(store.run_in_alert_transaction(alert, work))
        store.mark_delivered(ids["orders"][1], NOW)  # no longer pending

        names = ["orders", "revenue", "quiet", "never-seen"]
        bulk = store.pending_outbox_by_alert(names)

        assert list(bulk) == names
        for name in names:
            assert [e.id for e in bulk[name]] == [e.id for e in store.pending_outbox(name)]
        assert [e.id for e in bulk["orders"]] == [i for i in ids["orders"] if i != ids["orders"][1]]
        assert bulk["quiet"] == [] and bulk["never-seen"] == []
        assert store.pending_outbox_by_alert([]) == {}
    finally:
        store.dispose()
