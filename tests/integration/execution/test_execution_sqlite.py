"""QueryRunner on a real SQLite file through the sqlite provider's hook."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.providers.common.sql.hooks.sql import DbApiHook

from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner

ENDLESS = (
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
    "SELECT CASE WHEN count(*) > 0 THEN 'ALERT' ELSE 'OK' END AS status FROM r"
)


def runner(hook: DbApiHook, *, timeout: float = 10, max_rows: int = 1) -> QueryRunner:
    return QueryRunner(hook, timeout=timedelta(seconds=timeout), max_rows=max_rows, check_sql=False)


def test_returns_columns_rows_and_backend(sqlite_hook: DbApiHook) -> None:
    result = runner(sqlite_hook).run(
        "SELECT CASE WHEN SUM(amount) < 100 THEN 'ALERT' ELSE 'OK' END AS status, "
        "SUM(amount) AS actual_value, 100 AS threshold FROM orders"
    )
    assert result.columns == ("status", "actual_value", "threshold")
    assert result.rows == [("ALERT", 42.5, 100)]
    assert (result.truncated, result.backend) == (False, "sqlite")


def test_fetch_stops_one_row_past_the_cap(sqlite_hook: DbApiHook) -> None:
    result = runner(sqlite_hook, max_rows=1000).run(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000) "
        "SELECT n, 'OK' AS status FROM r"
    )
    assert result.truncated is True
    assert len(result.rows) == 1001
    assert result.rows[-1] == (1001, "OK")


def test_timeout_stops_a_heavy_query(sqlite_hook: DbApiHook) -> None:
    started = time.monotonic()
    with pytest.raises(QueryError) as info:
        runner(sqlite_hook, timeout=1).run(ENDLESS)
    assert str(info.value) == "query exceeded timeout 1s and was stopped by the database"
    assert time.monotonic() - started < 2.5


def test_write_is_refused_by_the_authorizer(sqlite_hook: DbApiHook, sqlite_path: Path) -> None:
    with pytest.raises(
        QueryError,
        match=r"^query refused by sqlite's guard \(it would write, .*\): not authorized$",
    ):
        runner(sqlite_hook).run("INSERT INTO orders VALUES (3, 1.0) RETURNING 'OK' AS status")
    conn = sqlite3.connect(sqlite_path)
    try:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == (2,)
    finally:
        conn.close()


def test_missing_table_carries_the_database_message(sqlite_hook: DbApiHook) -> None:
    with pytest.raises(
        QueryError, match=r"^query failed on connection 'sst_sqlite' \(sqlite\): no such table: x$"
    ):
        runner(sqlite_hook).run("SELECT status FROM x")


def test_cancel_from_another_thread_interrupts(
    sqlite_hook: DbApiHook, run_in_thread: Callable[[float, Callable[[], object]], None]
) -> None:
    query = runner(sqlite_hook, timeout=60)
    run_in_thread(0.5, query.cancel)
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"^query was cancelled before it finished$"):
        query.run(ENDLESS)
    assert time.monotonic() - started < 5
