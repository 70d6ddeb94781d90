"""Silences in the store: add, list, match inside the alert transaction, end early, expire."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sqlsentinel_airflow.core.model import Silence
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import StateStore


def _silence(match: str, start: datetime, hours: float, reason: str = "maintenance") -> Silence:
    return Silence(
        match=match,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        reason=reason,
        author="alice@example.com",
        source="cli",
    )


def test_silence_lifecycle(store: StateStore, now: datetime) -> None:
    glob = store.add_silence(_silence("revenue_*", now - timedelta(hours=1), 2))
    exact = store.add_silence(_silence("orders_late", now - timedelta(hours=1), 2))
    upcoming = store.add_silence(_silence("revenue_*", now + timedelta(hours=5), 1))
    expired = store.add_silence(_silence("*", now - timedelta(days=2), 1))

    assert glob.id is not None and glob.created_at is not None
    assert len({glob.id, exact.id, upcoming.id, expired.id}) == 4
    # active and upcoming by default, ordered by start; expired ones only on request
    assert [s.id for s in store.list_silences(now)] == [glob.id, exact.id, upcoming.id]
    assert store.list_silences(now)[0] == glob
    assert [s.id for s in store.list_silences(now, include_inactive=True)] == [
        expired.id,
        glob.id,
        exact.id,
        upcoming.id,
    ]

    with store.alert_transaction("revenue_daily") as tx:
        assert [s.id for s in tx.active_silences(now)] == [glob.id]
        assert tx.active_silences(now + timedelta(hours=5, minutes=30)) == [upcoming]
        assert tx.active_silences(now + timedelta(hours=3)) == []
    with store.alert_transaction("orders_late") as tx:
        assert [s.id for s in tx.active_silences(now)] == [exact.id]
    with store.alert_transaction("daily") as tx:  # the glob may also match the dag_id
        assert tx.active_silences(now, dag_id="revenue_dag") == [glob]

    later = now + timedelta(minutes=10)
    ended = store.end_silence(exact.id or 0, later)
    assert ended.ended_at == later
    assert store.end_silence(exact.id or 0, later + timedelta(minutes=1)) == ended  # idempotent
    with store.alert_transaction("orders_late") as tx:
        assert tx.active_silences(later) == []
        assert [s.id for s in tx.active_silences(now)] == [exact.id]  # it was active back then

    ended_by_match = store.end_silences_matching("revenue_*", later)
    assert [(s.id, s.ended_at) for s in ended_by_match] == [(glob.id, later), (upcoming.id, later)]
    assert store.end_silences_matching("revenue_*", later) == []
    assert store.list_silences(later) == []
    assert len(store.list_silences(later, include_inactive=True)) == 4


def test_end_unknown_silence_and_inverted_window_are_errors(
    store: StateStore, now: datetime
) -> None:
    with pytest.raises(StateStoreError, match=r"no silence with id 424242 \(list them with"):
        store.end_silence(424242, now)
    with pytest.raises(StateStoreError, match=r"silence of 'x' ends .* before it starts"):
        store.add_silence(_silence("x", now, -1))
    assert store.list_silences(now, include_inactive=True) == []
