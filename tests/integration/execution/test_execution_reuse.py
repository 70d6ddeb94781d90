"""``reusing_connections``: one SQLite connection serves a run's queries, only when safe.

Real SQLite files through the sqlite provider's hook. ``hook.get_conn`` is wrapped to count
the connections opened (the connections themselves are real). A reused connection must
behave like a fresh one for every query: read-only, timed, and never carrying over what an
earlier query did to it (a PRAGMA), never holding a lock between queries.
"""

from __future__ import annotations

import contextvars
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.sql.hooks.sql import DbApiHook

from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, reusing_connections

ENDLESS = (
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
    "SELECT CASE WHEN count(*) > 0 THEN 'ALERT' ELSE 'OK' END AS status FROM r"
)
COUNT = "SELECT CASE WHEN count(*) > 1 THEN 'ALERT' ELSE 'OK' END AS status FROM orders"


class CountingHook:
    """The real hook, with a count of the connections QueryRunner opened through it."""

    def __init__(self, hook: DbApiHook) -> None:
        self.hook = hook
        self.opened = 0
        real_get_conn = hook.get_conn

        def get_conn() -> Any:
            self.opened += 1
            return real_get_conn()

        setattr(hook, "get_conn", get_conn)  # noqa: B010


@pytest.fixture
def counted(sqlite_hook: DbApiHook) -> CountingHook:
    return CountingHook(sqlite_hook)


def run(counted: CountingHook, sql: str, *, timeout: float = 10, max_rows: int = 10) -> Any:
    runner = QueryRunner(
        counted.hook, timeout=timedelta(seconds=timeout), max_rows=max_rows, check_sql=False
    )
    return runner.run(sql)


def write_now(path: Path) -> None:
    """A writer that does not wait: fails with 'database is locked' if a reader holds a lock."""
    conn = sqlite3.connect(path, timeout=0)
    try:
        conn.execute("INSERT INTO orders VALUES (9, 1.0)")
        conn.commit()
    finally:
        conn.close()


def test_outside_the_block_every_query_opens_its_own_connection(counted: CountingHook) -> None:
    for _ in range(3):
        assert run(counted, COUNT).rows == [("ALERT",)]
    assert counted.opened == 3


def test_queries_in_the_block_share_one_connection(
    counted: CountingHook, sqlite_path: Path
) -> None:
    with reusing_connections():
        for _ in range(5):
            assert run(counted, COUNT).rows == [("ALERT",)]
        write_now(sqlite_path)  # kept open between queries, yet holding no lock
        assert run(counted, "SELECT count(*) AS n, 'OK' AS status FROM orders").rows == [(3, "OK")]
    assert counted.opened == 1


def test_a_reused_connection_is_still_read_only(counted: CountingHook, sqlite_path: Path) -> None:
    with reusing_connections():
        run(counted, COUNT)
        with pytest.raises(QueryError, match=r"^query refused by sqlite's guard .*not authorized$"):
            run(counted, "PRAGMA query_only = OFF")
        with pytest.raises(QueryError, match=r"^query refused by sqlite's guard .*not authorized$"):
            run(counted, "INSERT INTO orders VALUES (3, 1.0) RETURNING 'OK' AS status")
        assert run(counted, "SELECT count(*) AS n FROM orders").rows == [(2,)]


def test_a_pragma_that_returns_rows_is_not_carried_to_the_next_query(
    counted: CountingHook, sqlite_path: Path
) -> None:
    # locking_mode=EXCLUSIVE would make every later read keep its lock until the connection
    # closes, blocking the warehouse's writers for the rest of the run. The authorizer
    # refuses the PRAGMA, and the connection that saw it is not kept all the same.
    with reusing_connections():
        run(counted, COUNT)
        with pytest.raises(QueryError, match=r"not authorized$"):
            run(counted, "PRAGMA locking_mode = EXCLUSIVE")
        run(counted, COUNT)
        write_now(sqlite_path)
        run(counted, COUNT)
    assert counted.opened == 2  # the first connection, then a fresh one after the PRAGMA


def test_a_capped_result_leaves_no_lock_and_the_connection_serves_on(
    counted: CountingHook, sqlite_path: Path
) -> None:
    with reusing_connections():
        capped = run(
            counted,
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100000) "
            "SELECT n, 'OK' AS status FROM r, orders",
            max_rows=5,
        )
        assert (capped.truncated, len(capped.rows)) == (True, 6)
        write_now(sqlite_path)
        assert run(counted, "SELECT count(*) AS n FROM orders").rows == [(3,)]
    assert counted.opened == 1


def test_a_timed_out_query_does_not_leave_its_connection_to_the_next(
    counted: CountingHook,
) -> None:
    with reusing_connections():
        run(counted, COUNT)
        with pytest.raises(QueryError, match=r"^query exceeded timeout 1s and was stopped"):
            run(counted, ENDLESS, timeout=1)
        assert run(counted, COUNT).rows == [("ALERT",)]
    assert counted.opened == 2


def test_a_cancelled_query_does_not_leave_its_connection_to_the_next(
    counted: CountingHook, run_in_thread: Callable[[float, Callable[[], object]], None]
) -> None:
    with reusing_connections():
        run(counted, COUNT)
        runner = QueryRunner(counted.hook, timeout=timedelta(seconds=60), max_rows=1)
        run_in_thread(0.5, runner.cancel)
        with pytest.raises(QueryError, match=r"^query was cancelled before it finished$"):
            runner.run(ENDLESS)
        assert run(counted, COUNT).rows == [("ALERT",)]
    assert counted.opened == 2


def test_a_failed_query_does_not_leave_its_connection_to_the_next(
    counted: CountingHook,
) -> None:
    with reusing_connections():
        run(counted, COUNT)
        with pytest.raises(QueryError, match=r"no such table: nowhere$"):
            run(counted, "SELECT status FROM nowhere")
        run(counted, COUNT)
    assert counted.opened == 2


def test_a_thread_with_the_blocks_context_shares_its_lane(counted: CountingHook) -> None:
    # sqlite3 refuses a connection used from another thread than its own. A worker given the
    # block's context (as asyncio.to_thread does) runs its SQLite query on the block's lane,
    # the thread that made the kept connection, so it may use that connection.
    results: list[Any] = []

    def in_worker() -> None:
        try:
            results.append(run(counted, COUNT).rows)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            results.append(exc)

    with reusing_connections():
        run(counted, COUNT)
        context = contextvars.copy_context()
        worker = threading.Thread(target=context.run, args=(in_worker,))
        worker.start()
        worker.join(10)
        run(counted, COUNT)
    assert results == [[("ALERT",)]]
    assert counted.opened == 1  # the block's connection served all three


def test_the_block_closes_what_it_kept(counted: CountingHook, sqlite_path: Path) -> None:
    with reusing_connections():
        run(counted, COUNT)
        with pytest.raises(QueryError, match=r"not authorized$"):  # dropped, closed at once
            run(counted, "PRAGMA locking_mode = EXCLUSIVE")
        run(counted, COUNT)
    conn = sqlite3.connect(sqlite_path, timeout=0)
    try:  # an exclusive lock needs every other connection closed
        conn.execute("BEGIN EXCLUSIVE")
        conn.rollback()
    finally:
        conn.close()


def test_a_query_sqlite_cannot_interrupt_is_given_up_and_the_block_goes_on(
    counted: CountingHook,
) -> None:
    """One SQLite step that never reaches the progress handler (here a function that sleeps,
    as a LIKE with a long pattern computes for hours) must not hold the caller past the
    timeout and the watchdog's two grace periods (2 s each); the next query gets a new lane."""
    release = threading.Event()
    real_get_conn = counted.hook.get_conn

    def get_conn_with_stall() -> Any:
        conn = real_get_conn()
        conn.create_function("stall", 0, lambda: release.wait(60) and 1)
        return conn

    setattr(counted.hook, "get_conn", get_conn_with_stall)  # noqa: B010
    try:
        with reusing_connections():
            run(counted, COUNT)
            started = time.monotonic()
            with pytest.raises(QueryError, match=r"SQLite did not stop it .*stopped waiting"):
                run(counted, "SELECT stall() AS status", timeout=1)
            waited = time.monotonic() - started
            stalled = [t for t in threading.enumerate() if t.name.startswith("sqlsentinel-sqlite")]
            assert run(counted, COUNT).rows == [("ALERT",)]
        assert 5.0 <= waited < 7.0  # 1 s + 2 x 2 s grace + 0.25 s
        assert any(t.is_alive() for t in stalled)  # still inside the stalled call...
    finally:
        release.set()
    for thread in stalled:
        thread.join(5)
        assert not thread.is_alive()  # ...and gone once the call returns
    assert counted.opened == 2  # the kept one (it stalled, given up with its lane), a fresh one
