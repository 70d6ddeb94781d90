"""The read model's queries filter and count in SQL, on every database.

``outbox_counts`` is one GROUP BY per slice of names (what ``sqlsentinel status`` and the UI
show as "pending/dead"), ``outbox`` takes several statuses at once, and ``list_states``
takes the alerts of one file: none of them reads rows of other alerts to filter in Python.
Names beyond one ``IN`` list (500) land in a later slice: counted all the same.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.model import EventKind, InstanceState, State
from sqlsentinel_airflow.store import AlertTransaction, OutboxEntry, OutboxStatus, StateStore

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)
PENDING, DELIVERED, DEAD = OutboxStatus.PENDING, OutboxStatus.DELIVERED, OutboxStatus.DEAD
# Far apart in a long list of names: the first, a later and the last slice of the IN lists.
NAMES = [f"alert_{i:04d}" for i in range(1200)]
FIRST, MIDDLE, LAST = NAMES[0], NAMES[700], NAMES[1199]


def _entry(alert: str) -> OutboxEntry:
    event_id = str(uuid.uuid4())
    return OutboxEntry(
        event_id=event_id,
        alert_name=alert,
        kind=EventKind.FIRING,
        channel_id="0:webhook:abc",
        channel_kind="webhook",
        payload={"version": 1, "alert": alert},
        idempotency_key=f"{event_id}:0:webhook:abc",
        created_at=NOW,
    )


def _fill(store: StateStore, alert: str, statuses: list[OutboxStatus]) -> list[int]:
    """One outbox row per status given, then each brought to that status, oldest first."""

    def work(tx: AlertTransaction) -> list[int]:
        return [tx.enqueue(_entry(alert)) for _ in statuses]

    ids = store.run_in_alert_transaction(alert, work)
    for row_id, status in zip(ids, statuses, strict=True):
        if status is DELIVERED:
            store.mark_delivered(row_id, NOW)
        elif status is DEAD:
            store.mark_attempt_failed(row_id, "HTTP 500", NOW, max_attempts=1)
    return ids


@pytest.fixture
def filled(store: StateStore) -> dict[str, list[int]]:
    return {
        FIRST: _fill(store, FIRST, [PENDING, DEAD, PENDING, DELIVERED, DELIVERED]),
        MIDDLE: _fill(store, MIDDLE, [DEAD]),
        LAST: _fill(store, LAST, [PENDING, DELIVERED]),
        "other": _fill(store, "other", [PENDING, PENDING, DEAD]),
    }


def test_outbox_counts_per_alert_and_status_in_sql(
    store: StateStore, filled: dict[str, list[int]]
) -> None:
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    counts = store.outbox_counts(NAMES)

    assert list(counts) == NAMES  # every name asked for, none other ("other" has rows)
    assert counts[FIRST] == {PENDING: 2, DELIVERED: 2, DEAD: 1}
    assert counts[MIDDLE] == {PENDING: 0, DELIVERED: 0, DEAD: 1}
    assert counts[LAST] == {PENDING: 1, DELIVERED: 1, DEAD: 0}
    assert counts[NAMES[1]] == {PENDING: 0, DELIVERED: 0, DEAD: 0}
    counted = [s for s in statements if "count(" in s.lower()]
    assert len(counted) == 3, statements  # 1200 names: three IN lists of at most 500
    assert all("group by" in s.lower() for s in counted)


def test_outbox_counts_of_chosen_statuses(store: StateStore, filled: dict[str, list[int]]) -> None:
    counts = store.outbox_counts([LAST, "other", "never-seen"], (PENDING, "dead"))
    assert counts == {
        LAST: {PENDING: 1, DEAD: 0},
        "other": {PENDING: 2, DEAD: 1},
        "never-seen": {PENDING: 0, DEAD: 0},
    }
    assert store.outbox_counts([]) == {}


def test_outbox_of_several_statuses_newest_first(
    store: StateStore, filled: dict[str, list[int]]
) -> None:
    first = filled[FIRST]
    owed = store.outbox(status=(PENDING, DEAD), alert_name=FIRST)
    assert [(e.id, e.status) for e in owed] == [
        (first[2], PENDING),
        (first[1], DEAD),
        (first[0], PENDING),
    ]
    assert [e.id for e in store.outbox(status=["pending", "dead"], alert_name=FIRST, limit=2)] == [
        first[2],
        first[1],
    ]
    # one status, as text or enum, still works as before
    assert [e.id for e in store.outbox(status="delivered", alert_name=FIRST)] == [
        first[4],
        first[3],
    ]
    assert [e.alert_name for e in store.outbox(status=DEAD)] == ["other", MIDDLE, FIRST]


def test_the_alerts_that_delivered_are_found_by_probes_not_by_counting(
    store: StateStore, filled: dict[str, list[int]]
) -> None:
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    assert store.delivered_alerts([*NAMES, "other", "never-seen"]) == {FIRST, LAST}
    assert store.delivered_alerts([]) == set()
    assert not [s for s in statements if "count(" in s.lower()]


def test_owed_rows_of_many_alerts_newest_first_at_most_n_each(
    store: StateStore, filled: dict[str, list[int]]
) -> None:
    statements: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    owed = store.outbox_by_alert([*NAMES, "other"], (PENDING, DEAD), 2)

    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3  # 1201 names: three IN lists, not a listing per alert
    assert list(owed) == [*NAMES, "other"]
    first, other = filled[FIRST], filled["other"]
    assert [(e.id, e.status) for e in owed[FIRST]] == [(first[2], PENDING), (first[1], DEAD)]
    assert [e.id for e in owed[MIDDLE]] == filled[MIDDLE]
    assert [e.id for e in owed[LAST]] == filled[LAST][:1]
    assert [e.id for e in owed["other"]] == [other[2], other[1]]
    assert owed[NAMES[1]] == []
    # what one alert's listing gives, for each
    for name in (FIRST, MIDDLE, LAST, "other"):
        listed = store.outbox(status=(PENDING, DEAD), alert_name=name, limit=2)
        assert [e.id for e in owed[name]] == [e.id for e in listed]


def test_an_unknown_status_is_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="'sent' is not a valid OutboxStatus"):
        store.outbox(status=(PENDING, "sent"))
    with pytest.raises(ValueError, match="'sent' is not a valid OutboxStatus"):
        store.outbox_counts(["a"], "sent")


def test_states_of_chosen_alerts(store: StateStore) -> None:
    for alert, keys in ((LAST, ["b", "a"]), (FIRST, [""]), ("other", ["x"])):
        for key in keys:

            def work(tx: AlertTransaction, alert: str = alert, key: str = key) -> None:
                tx.save_state(InstanceState(alert, key, state=State.FIRING, state_since=NOW))

            store.run_in_alert_transaction(alert, work)

    found = store.list_states(alert_names=NAMES)
    assert [(s.alert_name, s.instance_key) for s in found] == [
        (FIRST, ""),
        (LAST, "a"),
        (LAST, "b"),
    ]
    assert store.list_states(alert_names=[]) == []
    assert len(store.list_states()) == 4
