"""Concurrency: one firing per incident, one migration of an empty database, deadlock retries.

Real processes (multiprocessing, spawn) started together by a Barrier, on each database:
threads would share one interpreter and hide what separate Airflow workers do.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.model import EventKind, InstanceState, Outcome, State
from sqlsentinel_airflow.store import (
    LATEST_VERSION,
    AlertTransaction,
    HistoryEntry,
    OutboxEntry,
    StateStore,
)
from sqlsentinel_airflow.store.engine import create_state_engine
from sqlsentinel_airflow.store.rows import key_hash
from sqlsentinel_airflow.store.tables import history, schema_version, state

_SPAWN = multiprocessing.get_context("spawn")
_TIMEOUT = 120


def _evaluate_and_maybe_fire(url: str, barrier: Barrier, results: Any, worker: int) -> None:
    """One evaluation that finds the alert firing: emits `firing` unless already FIRING."""
    try:
        store = StateStore.connect(url)
        barrier.wait(_TIMEOUT)
        fired = False
        with store.alert_transaction("a") as tx:
            current = tx.states().get("")
            time.sleep(0.05)  # widen the window between reading and writing the state
            if current is None or current.state is not State.FIRING:
                now = datetime.now(timezone.utc)
                tx.save_state(
                    InstanceState("a", state=State.FIRING, state_since=now, firing_since=now)
                )
                tx.enqueue(
                    OutboxEntry(
                        event_id=str(uuid.uuid4()),
                        alert_name="a",
                        kind=EventKind.FIRING,
                        channel_id="webhook:1",
                        channel_kind="webhook",
                        payload={"worker": worker},
                        idempotency_key=f"firing-{worker}-{uuid.uuid4()}",
                        created_at=now,
                    )
                )
                fired = True
        store.dispose()
        results.put((worker, "fired" if fired else "quiet"))
    except BaseException:
        results.put((worker, traceback.format_exc()))


def _connect_fresh(url: str, barrier: Barrier, results: Any, worker: int) -> None:
    try:
        barrier.wait(_TIMEOUT)
        store = StateStore.connect(url)
        results.put((worker, f"version {store.schema_version()}"))
        store.dispose()
    except BaseException:
        results.put((worker, traceback.format_exc()))


def _run_together(target: Any, url: str, processes: int) -> list[str]:
    barrier = _SPAWN.Barrier(processes)
    results = _SPAWN.Queue()
    procs = [
        _SPAWN.Process(target=target, args=(url, barrier, results, i)) for i in range(processes)
    ]
    for p in procs:
        p.start()
    try:
        outcomes = dict(results.get(timeout=_TIMEOUT) for _ in procs)
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():  # pragma: no cover - only on a hang
                p.kill()
    return [outcomes[i] for i in range(processes)]


def test_eight_simultaneous_evaluations_emit_exactly_one_firing(any_db_url: str) -> None:
    StateStore.connect(any_db_url).dispose()  # migrated up front: this test is about the lock

    outcomes = _run_together(_evaluate_and_maybe_fire, any_db_url, 8)

    assert all(o in ("fired", "quiet") for o in outcomes), outcomes
    assert outcomes.count("fired") == 1, outcomes
    store = StateStore.connect(any_db_url)
    try:
        firing_rows = [e for e in store.outbox() if e.kind is EventKind.FIRING]
        assert len(firing_rows) == 1
        assert [s.state for s in store.list_states("a")] == [State.FIRING]
    finally:
        store.dispose()


def test_four_processes_migrate_an_empty_database_once(any_db_url: str) -> None:
    outcomes = _run_together(_connect_fresh, any_db_url, 4)

    assert outcomes == [f"version {LATEST_VERSION}"] * 4
    engine = sa.create_engine(any_db_url)
    try:
        with engine.connect() as conn:
            versions = list(conn.scalars(sa.select(schema_version.c.version)))
        assert sorted(versions) == list(range(1, LATEST_VERSION + 1))
    finally:
        engine.dispose()


@pytest.fixture(params=["postgres", "mysql"])
def server_db_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL and MariaDB only: SQLite's BEGIN IMMEDIATE cannot deadlock."""
    return str(request.getfixturevalue({"postgres": "pg_url", "mysql": "mysql_url"}[request.param]))


def test_a_deadlocked_unit_of_work_is_retried_whole(server_db_url: str) -> None:
    store = StateStore.connect(server_db_url)
    try:
        with store.alert_transaction("a") as tx:
            for key in ("k1", "k2"):
                tx.save_state(InstanceState("a", key))
            for _ in range(20):  # rows the other writer modifies, making it the heavier one
                tx.add_history(HistoryEntry("a", datetime.now(timezone.utc), Outcome.OK, State.OK))
        a_holds_k1, b_holds_k2 = threading.Event(), threading.Event()

        def other_writer() -> None:
            # Not holding the alert lock: it stands for any writer that takes rows in the
            # opposite order. It waits on k1 after the evaluation started waiting on k2, so
            # PostgreSQL (the first waiter detects) and MariaDB (the lighter one loses) both
            # pick the evaluation as the victim.
            a_holds_k1.wait(_TIMEOUT)
            with store.engine.begin() as conn:
                conn.execute(sa.update(history).values(error="touched"))
                conn.execute(_touch_state("k2"))
                b_holds_k2.set()
                time.sleep(0.3)
                conn.execute(_touch_state("k1"))

        attempts: list[int] = []

        def work(tx: AlertTransaction) -> str:
            attempts.append(1)
            tx.save_state(InstanceState("a", "k1", consecutive_alerts=len(attempts)))
            if len(attempts) == 1:
                a_holds_k1.set()
                b_holds_k2.wait(_TIMEOUT)
            tx.save_state(InstanceState("a", "k2", consecutive_alerts=len(attempts)))
            return "done"

        writer = threading.Thread(target=other_writer)
        writer.start()
        try:
            assert store.run_in_alert_transaction("a", work) == "done"
        finally:
            writer.join(_TIMEOUT)
        assert len(attempts) == 2
        assert [(s.instance_key, s.consecutive_alerts) for s in store.list_states("a")] == [
            ("k1", 2),
            ("k2", 2),
        ]
    finally:
        store.dispose()


def _touch_state(key: str) -> sa.Update:
    return (
        sa.update(state)
        .where(state.c.alert_name == "a", state.c.key_hash == key_hash(key))
        .values(last_error="touched")
    )


def test_opening_a_new_sqlite_database_waits_for_a_writer_before_switching_to_wal(
    tmp_path: Any,
) -> None:
    """Switching to WAL needs the exclusive lock, and SQLite refuses it at once (no busy
    handler) while another connection writes: what four workers opening a fresh state DB
    together met. The opening now waits for the writer, as the busy timeout promises."""
    path = tmp_path / "state.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (x INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (1)")
    releaser = threading.Timer(0.5, writer.execute, args=("COMMIT",))
    releaser.start()
    engine = create_state_engine(f"sqlite:///{path}")
    try:
        started = time.monotonic()
        with engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        waited = time.monotonic() - started
    finally:
        releaser.join()
        engine.dispose()
        writer.close()
    assert mode == "wal"
    assert 0.4 <= waited < 10
    with sqlite3.connect(path) as check:  # the mode is in the file, and the write survived
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert check.execute("SELECT x FROM t").fetchall() == [(1,)]
