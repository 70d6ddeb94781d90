"""Every table round-trips through the StateStore on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.core.model import (
    EventKind,
    InstanceState,
    Outcome,
    Reason,
    RunType,
    State,
)
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import (
    AlertTransaction,
    HistoryEntry,
    OutboxEntry,
    OutboxStatus,
    StateStore,
)

BERLIN = timezone(timedelta(hours=1))


def _full_state(now: datetime, instance_key: str = "") -> InstanceState:
    return InstanceState(
        alert_name="revenue",
        instance_key=instance_key,
        state=State.ERROR,
        last_good_state=State.FIRING,
        consecutive_alerts=3,
        consecutive_oks=0,
        consecutive_errors=2,
        state_since=now,
        firing_since=now - timedelta(hours=5),
        firing_notified=True,
        last_notified_at=now - timedelta(minutes=30),
        error_notified=True,
        last_evaluated_at=now,
        last_outcome=Outcome.ERROR,
        last_value=9876.5,
        last_threshold=10000,
        last_context={"region": "EU", "rows": [1, 2, None], "ok": False},
        last_error='relation "orders" does not exist',
        key_values={"table_name": "orders", "shard": 7},
    )


def _outbox_entry(now: datetime, key: str, alert: str = "revenue") -> OutboxEntry:
    return OutboxEntry(
        event_id=str(uuid.uuid4()),
        alert_name=alert,
        kind=EventKind.FIRING,
        channel_id="slack:#data-alerts",
        channel_kind="slack",
        payload={"version": 1, "alert": alert, "value": 1.5, "context": {"a": [1, "b"]}},
        idempotency_key=key,
        created_at=now,
        instance_key='{"table_name":"orders"}',
        run_id="scheduled__2025-03-14T09:00:00+00:00",
    )


def test_state_round_trips_every_field(store: StateStore, now: datetime) -> None:
    saved = _full_state(now)
    with store.alert_transaction("revenue") as tx:
        tx.save_state(saved)
    with store.alert_transaction("revenue") as tx:
        assert tx.states() == {"": saved}
    assert store.list_states() == [saved]
    assert store.list_states("other") == []


def test_state_update_replaces_and_long_unicode_keys_stay_distinct(
    store: StateStore, now: datetime
) -> None:
    # Two keys sharing a 2,000-character prefix: the sha1 primary key must keep them apart.
    prefix = "ключ-" + "x" * 2000
    first, second = _full_state(now, prefix + "1"), _full_state(now, prefix + "2")
    with store.alert_transaction("revenue") as tx:
        tx.save_state(first)
        tx.save_state(second)
        tx.save_state(first)  # identical values: still one row (MySQL reports matched rows)
    updated = InstanceState("revenue", prefix + "1", State.OK, last_evaluated_at=now)
    with store.alert_transaction("revenue") as tx:
        tx.save_state(updated)
        assert tx.states() == {prefix + "1": updated, prefix + "2": second}
        assert tx.delete_state(prefix + "2") is True
        assert tx.delete_state("never stored") is False
    assert store.list_states("revenue") == [updated]


def test_datetimes_come_back_utc_aware_with_microseconds(store: StateStore, now: datetime) -> None:
    local = now.astimezone(BERLIN)
    with store.alert_transaction("revenue") as tx:
        tx.save_state(InstanceState("revenue", state_since=local, last_evaluated_at=local))
    (loaded,) = store.list_states()
    assert loaded.state_since == now
    assert loaded.state_since is not None and loaded.state_since.tzinfo == timezone.utc
    assert loaded.state_since.microsecond == 589793


def test_naive_datetime_is_refused_and_nothing_is_written(store: StateStore) -> None:
    naive = datetime(2025, 1, 1, 12, 0)
    with (
        pytest.raises(
            StateStoreError, match=r"naive datetime 2025-01-01T12:00:00 .*timezone-aware"
        ),
        store.alert_transaction("revenue") as tx,
    ):
        tx.save_state(InstanceState("revenue", last_evaluated_at=naive))
    assert store.list_states() == []


def test_history_round_trips_and_pages_newest_first(store: StateStore, now: datetime) -> None:
    entries = [
        HistoryEntry(
            alert_name="revenue",
            evaluated_at=now + timedelta(minutes=i),
            outcome=Outcome.ALERT if i % 2 else Outcome.OK,
            state=State.FIRING if i % 2 else State.OK,
            instance_key="k1" if i < 3 else "k2",
            run_type=RunType.MANUAL,
            run_id=f"manual__{i}",
            dag_id="sqlsentinel_revenue",
            reason=Reason.FIRST_FIRING,
            actual_value={"amount": 9000 + i},
            threshold=10000,
            context={"day": "2025-03-13"},
            key_values={"table_name": "orders"},
            error=None,
            duration_ms=120 + i,
            events=(EventKind.FIRING, EventKind.REMINDER),
        )
        for i in range(5)
    ]
    with store.alert_transaction("revenue") as tx:
        ids = [tx.add_history(e) for e in entries]
    with store.alert_transaction("other") as tx:
        tx.add_history(HistoryEntry("other", now, Outcome.ERROR, State.ERROR, error="boom"))
    assert ids == sorted(ids)

    page = store.history("revenue", limit=2)
    assert [e.id for e in page] == [ids[4], ids[3]]
    assert page[0] == _with_id(entries[4], ids[4])
    assert [e.id for e in store.history("revenue", limit=2, before_id=ids[3])] == [ids[2], ids[1]]
    assert [e.id for e in store.history("revenue", instance_key="k1")] == ids[2::-1]
    everything = store.history()
    assert len(everything) == 6 and everything[0].alert_name == "other"
    assert everything[0].reason is None and everything[0].error == "boom"


def test_confirm_commit_marks_only_the_given_unconfirmed_rows(
    store: StateStore, now: datetime
) -> None:
    with store.alert_transaction("revenue") as tx:
        waiting = [
            tx.add_history(
                HistoryEntry("revenue", now, Outcome.OK, State.OK, commit_confirmed=False)
            )
            for _ in range(3)
        ]
        nobody_waits = tx.add_history(HistoryEntry("revenue", now, Outcome.OK, State.OK))

    assert store.confirm_commit([waiting[0], waiting[2], nobody_waits]) == 2
    assert store.confirm_commit([waiting[0]]) == 0  # already confirmed: nothing changes
    assert store.confirm_commit([]) == 0
    marks = {e.id: e.commit_confirmed for e in store.history("revenue")}
    assert marks == {waiting[0]: True, waiting[1]: False, waiting[2]: True, nobody_waits: None}


def _with_id(entry: HistoryEntry, id_: int) -> HistoryEntry:
    from dataclasses import replace

    return replace(entry, id=id_)


def test_outbox_round_trip_listing_and_pending_order(store: StateStore, now: datetime) -> None:
    with store.alert_transaction("revenue") as tx:
        first = tx.enqueue(_outbox_entry(now, "k-1"))
        second = tx.enqueue(_outbox_entry(now + timedelta(seconds=1), "k-2"))
    with store.alert_transaction("other") as tx:
        other = tx.enqueue(_outbox_entry(now, "k-3", alert="other"))

    pending = store.pending_outbox("revenue")
    assert [e.id for e in pending] == [first, second]
    assert pending[0].payload == {
        "version": 1,
        "alert": "revenue",
        "value": 1.5,
        "context": {"a": [1, "b"]},
    }
    assert pending[0].status is OutboxStatus.PENDING and pending[0].attempts == 0
    assert pending[0].created_at == now
    assert [e.id for e in store.outbox()] == [other, second, first]
    assert [e.id for e in store.outbox(alert_name="other")] == [other]
    assert store.outbox(status=OutboxStatus.DELIVERED) == []


def test_duplicate_idempotency_key_is_refused_and_rolls_back(
    store: StateStore, now: datetime
) -> None:
    with store.alert_transaction("revenue") as tx:
        tx.enqueue(_outbox_entry(now, "same-key"))
    with (
        pytest.raises(StateStoreError, match=r"already holds idempotency key 'same-key'"),
        store.alert_transaction("revenue") as tx,
    ):
        tx.save_state(InstanceState("revenue", state=State.FIRING))
        tx.enqueue(_outbox_entry(now, "same-key"))
    assert store.list_states() == []  # the state written before the failure was rolled back
    assert len(store.outbox()) == 1


def test_delivery_bookkeeping_delivered_failed_dead(store: StateStore, now: datetime) -> None:
    with store.alert_transaction("revenue") as tx:
        ok_id = tx.enqueue(_outbox_entry(now, "ok"))
        bad_id = tx.enqueue(_outbox_entry(now, "bad"))
    later = now + timedelta(minutes=1)

    store.mark_delivered(ok_id, later)
    assert (
        store.mark_attempt_failed(bad_id, "HTTP 503", later, max_attempts=2) is OutboxStatus.PENDING
    )
    assert [e.id for e in store.pending_outbox("revenue")] == [bad_id]
    assert store.mark_attempt_failed(bad_id, "HTTP 503 again", later, 2) is OutboxStatus.DEAD
    # a delivered row is not turned back by a late failure report
    assert store.mark_attempt_failed(ok_id, "late", later, 2) is OutboxStatus.DELIVERED

    by_id = {e.id: e for e in store.outbox()}
    delivered, dead = by_id[ok_id], by_id[bad_id]
    assert (delivered.status, delivered.attempts, delivered.delivered_at) == (
        OutboxStatus.DELIVERED,
        1,
        later,
    )
    assert (dead.status, dead.attempts, dead.last_error, dead.last_attempt_at) == (
        OutboxStatus.DEAD,
        2,
        "HTTP 503 again",
        later,
    )
    assert store.pending_outbox("revenue") == []
    with pytest.raises(StateStoreError, match=r"no outbox row with id 999999"):
        store.mark_delivered(999999, later)


def test_purge_keeps_recent_rows_and_every_pending_row(store: StateStore, now: datetime) -> None:
    old, recent = now - timedelta(days=100), now - timedelta(days=1)
    with store.alert_transaction("revenue") as tx:
        for at in (old, old, recent):
            tx.add_history(HistoryEntry("revenue", at, Outcome.OK, State.OK))
        old_delivered = tx.enqueue(_outbox_entry(old, "old-delivered"))
        old_dead = tx.enqueue(_outbox_entry(old, "old-dead"))
        old_pending = tx.enqueue(_outbox_entry(old, "old-pending"))
        recent_delivered = tx.enqueue(_outbox_entry(recent, "recent-delivered"))
    store.mark_delivered(old_delivered, old)
    store.mark_attempt_failed(old_dead, "gone", old, max_attempts=1)
    store.mark_delivered(recent_delivered, recent)

    assert store.purge(now - timedelta(days=90)) == {
        "history": 2,
        "incidents": 0,
        "outbox": 2,
        "incident_actions": 0,
    }
    assert [e.evaluated_at for e in store.history()] == [recent]
    assert sorted(e.id or 0 for e in store.outbox()) == [old_pending, recent_delivered]
    assert store.purge(now - timedelta(days=90)) == {
        "history": 0,
        "incidents": 0,
        "outbox": 0,
        "incident_actions": 0,
    }


def test_writes_for_another_alert_are_refused(store: StateStore, now: datetime) -> None:
    with (
        pytest.raises(ValueError, match=r"save_state: alert 'b' inside the transaction of 'a'"),
        store.alert_transaction("a") as tx,
    ):
        tx.save_state(InstanceState("b"))


def test_alert_names_are_case_sensitive_on_every_database(store: StateStore) -> None:
    # MySQL's default collation would fold these together; the store uses a binary one.
    for name in ("Revenue", "revenue"):
        with store.alert_transaction(name) as tx:
            tx.save_state(
                InstanceState(name, state=State.FIRING if name == "Revenue" else State.OK)
            )
    assert [(s.alert_name, s.state) for s in store.list_states()] == [
        ("Revenue", State.FIRING),
        ("revenue", State.OK),
    ]
    assert [s.alert_name for s in store.list_states("revenue")] == ["revenue"]


def test_run_in_alert_transaction_commits_and_does_not_retry_real_errors(
    store: StateStore, now: datetime
) -> None:
    calls: list[str] = []

    def work(tx: AlertTransaction) -> int:
        calls.append(tx.alert_name)
        tx.save_state(InstanceState("revenue", state=State.PENDING))
        return tx.enqueue(_outbox_entry(now, "once"))

    outbox_id = store.run_in_alert_transaction("revenue", work)
    assert [e.id for e in store.pending_outbox("revenue")] == [outbox_id]
    with pytest.raises(StateStoreError, match=r"already holds idempotency key 'once'"):
        store.run_in_alert_transaction("revenue", work)
    assert calls == ["revenue", "revenue"]  # a duplicate key is not worth retrying


def test_outbox_claims_let_exactly_one_deliverer_send_a_row(
    store: StateStore, now: datetime, any_db_url: str
) -> None:
    with store.alert_transaction("revenue") as tx:
        row_id = tx.enqueue(_outbox_entry(now, "claim-1"))
    other = StateStore.connect(any_db_url)  # a second process's view of the same database
    try:
        lease = timedelta(minutes=2)
        assert store.claim_outbox_row(row_id, "a" * 36, now, lease) is True
        assert other.claim_outbox_row(row_id, "b" * 36, now, lease) is False
        # a claim lapses by itself: the holder may have died mid-send
        later = now + lease + timedelta(seconds=1)
        assert other.claim_outbox_row(row_id, "b" * 36, later, lease) is True
        other.mark_delivered(row_id, later)
        # a delivered row cannot be claimed again, whenever
        assert store.claim_outbox_row(row_id, "c" * 36, later + lease * 2, lease) is False
    finally:
        other.dispose()
    (row,) = store.outbox(alert_name="revenue")
    assert row.status is OutboxStatus.DELIVERED and row.attempts == 1


def test_a_failed_attempt_releases_the_claim(store: StateStore, now: datetime) -> None:
    with store.alert_transaction("revenue") as tx:
        row_id = tx.enqueue(_outbox_entry(now, "claim-2"))
    lease = timedelta(minutes=2)
    assert store.claim_outbox_row(row_id, "a" * 36, now, lease)
    assert store.mark_attempt_failed(row_id, "HTTP 503", now, 5) is OutboxStatus.PENDING
    assert store.claim_outbox_row(row_id, "b" * 36, now, lease), "the next attempt may go at once"
