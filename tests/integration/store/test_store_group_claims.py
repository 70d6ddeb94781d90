"""StateStore.claim_group and the batch marks (docs/adr/0016-groups-across-alerts.md), with a
frozen clock, on SQLite, PostgreSQL and MariaDB: a group waits out group_wait from its OLDEST pending row, is claimed whole in
one transaction (a batch id written on every row), and a resend repeats exactly that batch,
never a different subset; it fails and dies as a unit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.store import OutboxEntry, OutboxStatus, StateStore

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
WAIT = timedelta(minutes=1)
LEASE = timedelta(seconds=55)
GROUP = "team/0:webhook:abc|0123456789abcdef"


def enqueue(store: StateStore, alert: str, minute: float, group: str | None = GROUP) -> int:
    event_id = str(uuid.uuid4())
    entry = OutboxEntry(
        event_id=event_id,
        alert_name=alert,
        kind=EventKind.FIRING,
        channel_id="team/0:webhook:abc",
        channel_kind="webhook",
        payload={"version": 1, "alert": alert},
        idempotency_key=f"{event_id}:team/0:webhook:abc",
        created_at=T0 + timedelta(minutes=minute),
        group_key=group,
    )
    return store.run_in_alert_transaction(alert, lambda tx: tx.enqueue(entry))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_group_waits_from_its_oldest_row_then_is_claimed_whole(any_db_url: str) -> None:
    with StateStore.connect(any_db_url) as store:
        first = enqueue(store, "a", 0)
        second = enqueue(store, "b", 0.9)  # a newer row does not push the group back
        enqueue(store, "c", 0, group="another")

        waiting = store.claim_group(GROUP, "t1", at(0.95), LEASE, WAIT)
        assert (waiting.status, waiting.due_at) == ("waiting", at(1))
        assert [r.batch_id for r in store.pending_outbox("a")] == [None]  # nothing written

        claim = store.claim_group(GROUP, "t1", at(1), LEASE, WAIT)
        assert claim.status == "claimed" and claim.batch_id is not None
        assert [r.id for r in claim.rows] == [first, second]  # oldest first, both alerts
        assert {r.batch_id for r in [*store.pending_outbox("a"), *store.pending_outbox("b")]} == {
            claim.batch_id
        }
        assert store.pending_outbox("c")[0].batch_id is None  # other groups untouched

        raced = store.claim_group(GROUP, "t2", at(1), LEASE, WAIT)
        assert raced.status == "in_flight" and raced.batch_id == claim.batch_id

        store.mark_batch_delivered(claim.batch_id, at(1.1))
        assert store.claim_group(GROUP, "t2", at(2), LEASE, WAIT).status == "none"
        assert {(r.status, r.attempts) for r in store.outbox(alert_name="b")} == {
            (OutboxStatus.DELIVERED, 1)
        }


def test_a_lapsed_or_failed_batch_is_resent_as_the_same_set_and_dies_as_a_unit(
    any_db_url: str,
) -> None:
    with StateStore.connect(any_db_url) as store:
        ids = [enqueue(store, "a", 0), enqueue(store, "b", 0)]
        claim = store.claim_group(GROUP, "dead", at(2), LEASE, WAIT)
        assert claim.batch_id is not None
        late = enqueue(store, "c", 2.5)  # after the claim: not in that message

        again = store.claim_group(GROUP, "t2", at(2) + LEASE, LEASE, WAIT)  # the claim lapsed
        assert (again.status, again.batch_id) == ("claimed", claim.batch_id)
        assert [r.id for r in again.rows] == ids  # exactly the same set, without the late row

        status = store.mark_batch_failed(claim.batch_id, "503", at(3), max_attempts=2)
        assert status is OutboxStatus.PENDING
        retry = store.claim_group(GROUP, "t3", at(4), LEASE, WAIT)  # no live claim: retried
        assert (retry.batch_id, [r.id for r in retry.rows]) == (claim.batch_id, ids)
        assert store.mark_batch_failed(claim.batch_id, "503", at(5), 2) is OutboxStatus.DEAD
        assert {(r.status, r.attempts) for r in store.outbox(status="dead")} == {
            (OutboxStatus.DEAD, 2)
        }

        rest = store.claim_group(GROUP, "t4", at(5), LEASE, WAIT)  # then the rows since
        assert rest.status == "claimed" and [r.id for r in rest.rows] == [late]
        assert rest.batch_id != claim.batch_id
