"""QueryRunner on a real SQLite file through the sqlite provider's hook."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
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


# --- one statement and reads only, enforced below the SQL check ------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 'OK' AS status; DELETE FROM orders", r"one statement at a time"),
        ("SELECT 'OK' AS status; ATTACH 'evil.db' AS e", r"one statement at a time"),
        ("ATTACH DATABASE 'evil.db' AS e", r"not authorized"),
        ("VACUUM INTO 'evil.db'", r"authorization denied"),
        ("PRAGMA query_only = OFF", r"not authorized"),
        ("PRAGMA journal_mode = DELETE", r"not authorized"),
        ("BEGIN IMMEDIATE", r"not authorized"),
        ("SAVEPOINT s", r"not authorized"),
        ("CREATE TEMP TABLE evil (x)", r"not authorized"),
        ("SELECT load_extension('evil') AS status", r"guard .*not authorized to use function"),
        ("SELECT 'OK' AS status, fts3_tokenizer('x') AS t", r"not authorized|no such function"),
        ("SELECT randomblob(100000000) AS status", r"string or blob too big"),
    ],
)
def test_only_reads_run_even_without_the_sql_check(
    sqlite_hook: DbApiHook, sqlite_path: Path, sql: str, message: str
) -> None:
    before = sorted(p.name for p in sqlite_path.parent.iterdir())
    digest = sqlite_path.read_bytes()
    with pytest.raises(QueryError, match=message):
        runner(sqlite_hook).run(sql)
    assert sorted(p.name for p in sqlite_path.parent.iterdir()) == before  # no evil.db
    assert sqlite_path.read_bytes() == digest


def test_schema_pragmas_and_json_table_functions_still_read(sqlite_hook: DbApiHook) -> None:
    rows = (
        runner(sqlite_hook, max_rows=10)
        .run(
            "SELECT 'OK' AS status, (SELECT count(*) FROM pragma_table_info('orders')) AS cols,"
            " (SELECT count(*) FROM json_each('[1,2,3]')) AS items"
        )
        .rows
    )
    assert rows == [("OK", 2, 3)]


# --- the SQL check again, in the dialect of the database reached ------------------------------


def test_the_text_is_checked_again_unless_accepted_in_this_very_dialect(
    sqlite_hook: DbApiHook,
) -> None:
    sql = "SELECT load_extension('evil') AS status"

    def run_with(**kwargs: object) -> None:
        QueryRunner(sqlite_hook, timeout=timedelta(seconds=5), max_rows=1, **kwargs).run(sql)  # type: ignore[arg-type]

    with pytest.raises(
        QueryError, match=r"^query refused before it ran .*\(checked as sqlite SQL\)"
    ):
        run_with()
    with pytest.raises(QueryError, match=r"\(checked as sqlite SQL\): query calls load_extension"):
        run_with(checked_dialect="postgres")  # validated for another database: checked again
    with pytest.raises(QueryError, match=r"sqlite's guard .*not authorized"):
        run_with(checked_dialect="sqlite")  # trusted as checked; the authorizer still stands


def test_a_text_checked_in_this_dialect_does_not_import_the_parser(
    sqlite_hook: DbApiHook, sqlite_path: Path
) -> None:
    script = f"""
import json, os, sys
from datetime import timedelta
os.environ["AIRFLOW_CONN_SST_SQLITE"] = json.dumps({{"conn_type": "sqlite", "host": {str(sqlite_path)!r}}})
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook
runner = QueryRunner(resolve_db_hook("sst_sqlite"), timeout=timedelta(seconds=5), max_rows=1,
                     checked_dialect="sqlite")
print(runner.run("SELECT 'OK' AS status").rows, "sqlglot" in sys.modules)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "[('OK',)] False"
