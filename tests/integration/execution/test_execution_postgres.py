"""QueryRunner on the real local PostgreSQL, through psycopg 3 (the provider's choice with
SQLAlchemy 2) and through psycopg2 (what the provider uses when psycopg 3 is absent)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg2
import pytest
import sqlalchemy as sa
from airflow.providers.common.sql.hooks.sql import DbApiHook

from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRows, QueryRunner, resolve_db_hook

pytestmark = pytest.mark.postgres


class Psycopg2Hook(DbApiHook):
    """A real DbApiHook handing out psycopg2 connections for an Airflow postgres connection."""

    conn_name_attr = "postgres_conn_id"
    default_conn_name = "postgres_default"
    conn_type = "postgres"
    hook_name = "Postgres (psycopg2)"

    def get_conn(self) -> Any:
        c = self.connection
        return psycopg2.connect(
            host=c.host, port=c.port, user=c.login, password=c.password, dbname=c.schema
        )


@pytest.fixture(params=["psycopg", "psycopg2"])
def pg_hook(request: pytest.FixtureRequest, pg_conn_id: str) -> DbApiHook:
    if request.param == "psycopg":
        hook = resolve_db_hook(pg_conn_id)
        conn = hook.get_conn()
        conn.close()
        assert type(conn).__module__.split(".")[0] == "psycopg"  # psycopg 3, not psycopg2
        return hook
    return Psycopg2Hook(postgres_conn_id=pg_conn_id)


def runner(hook: DbApiHook, *, timeout: float = 10, max_rows: int = 1) -> QueryRunner:
    return QueryRunner(hook, timeout=timedelta(seconds=timeout), max_rows=max_rows, check_sql=False)


def open_sessions(engine: sa.Engine) -> int:
    """Client sessions on the test database other than the admin engine's own."""
    with engine.connect() as conn:
        return int(
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        )


def wait_no_sessions(engine: sa.Engine) -> int:
    deadline = time.monotonic() + 3
    while (count := open_sessions(engine)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_returns_columns_rows_and_backend(pg_hook: DbApiHook) -> None:
    result = runner(pg_hook).run(
        "SELECT 'ALERT' AS status, 42 AS actual_value, 10.5 AS threshold, NULL AS note"
    )
    assert result.columns == ("status", "actual_value", "threshold", "note")
    assert [tuple(map(str, r)) for r in result.rows] == [("ALERT", "42", "10.5", "None")]
    assert result.truncated is False
    assert result.backend == "postgresql"
    assert result.duration_ms > 0


def test_zero_rows_keep_column_names(pg_hook: DbApiHook) -> None:
    result = runner(pg_hook).run("SELECT 'OK' AS status WHERE false")
    assert result == QueryRows(
        columns=("status",),
        rows=[],
        truncated=False,
        duration_ms=result.duration_ms,
        backend="postgresql",
    )


def test_fetch_stops_one_row_past_the_cap(pg_hook: DbApiHook, pg_engine: sa.Engine) -> None:
    result = runner(pg_hook, max_rows=1000).run(
        "SELECT g AS n, 'OK' AS status FROM generate_series(1, 1000000) AS g"
    )
    assert result.truncated is True
    assert len(result.rows) == 1001
    assert result.rows[0] == (1, "OK") and result.rows[-1] == (1001, "OK")
    assert wait_no_sessions(pg_engine) == 0


def test_exactly_the_cap_is_not_truncated(pg_hook: DbApiHook) -> None:
    result = runner(pg_hook, max_rows=3).run("SELECT g FROM generate_series(1, 3) AS g")
    assert (result.truncated, len(result.rows)) == (False, 3)


def test_statement_timeout_is_enforced_by_the_database(
    pg_hook: DbApiHook, pg_engine: sa.Engine
) -> None:
    started = time.monotonic()
    with pytest.raises(QueryError) as info:
        runner(pg_hook, timeout=1).run("SELECT pg_sleep(5) AS status")
    assert str(info.value) == "query exceeded timeout 1s and was stopped by the database"
    assert time.monotonic() - started < 2.5  # the database, not the 3 s watchdog, stopped it
    assert wait_no_sessions(pg_engine) == 0


def test_function_with_side_effect_fails_and_writes_nothing(
    pg_hook: DbApiHook, pg_engine: sa.Engine
) -> None:
    with pg_engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE audit (x int)"))
        conn.execute(
            sa.text(
                "CREATE FUNCTION sneaky() RETURNS text LANGUAGE plpgsql AS "
                "$$ BEGIN INSERT INTO audit VALUES (1); RETURN 'OK'; END $$"
            )
        )
    with pytest.raises(
        QueryError,
        match=r"^query tried to write inside the read-only transaction: "
        r"cannot execute INSERT in a read-only transaction$",
    ):
        runner(pg_hook).run("SELECT sneaky() AS status")
    with pg_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit")) == 0


def test_commit_inside_the_text_does_not_open_a_writable_transaction(
    pg_hook: DbApiHook, pg_engine: sa.Engine
) -> None:
    with pg_engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE audit (x int)"))
    sql = "SELECT 'OK' AS status; COMMIT; INSERT INTO audit VALUES (1)"
    with pytest.raises(QueryError, match=r"read-only transaction|multiple commands"):
        runner(pg_hook).run(sql)
    with pg_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit")) == 0


def test_a_statement_that_is_not_a_select_gets_a_hint(
    pg_hook: DbApiHook, pg_engine: sa.Engine
) -> None:
    with pg_engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE audit (x int)"))
    with pytest.raises(
        QueryError,
        match=r'syntax error at or near "INSERT" \(an alert query must be a single SELECT statement\)$',
    ):
        runner(pg_hook).run("/* nightly */ INSERT INTO audit VALUES (1)")
    with pg_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit")) == 0


def test_syntax_error_is_one_line_with_the_database_message(pg_hook: DbApiHook) -> None:
    with pytest.raises(QueryError) as info:
        runner(pg_hook).run("SELEC 'OK' AS status")
    assert str(info.value) == (
        "query failed on connection 'sst_pg' (postgresql): syntax error at or near \"SELEC\""
        " (an alert query must be a single SELECT statement)"
    )


def test_missing_table_names_it(pg_hook: DbApiHook) -> None:
    # a SELECT gets no "must be a single SELECT" hint
    with pytest.raises(QueryError, match=r'relation "no_such_table" does not exist$'):
        runner(pg_hook).run("SELECT status FROM no_such_table")


def test_cancel_from_another_thread_stops_a_long_query(
    pg_hook: DbApiHook,
    pg_engine: sa.Engine,
    run_in_thread: Callable[[float, Callable[[], object]], None],
) -> None:
    query = runner(pg_hook, timeout=60)
    run_in_thread(1.0, query.cancel)
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"^query was cancelled before it finished$"):
        query.run("SELECT pg_sleep(30) AS status")
    assert time.monotonic() - started < 5
    assert wait_no_sessions(pg_engine) == 0
    with pytest.raises(QueryError, match="cancelled"):
        query.run("SELECT 'OK' AS status")  # a cancelled runner stays cancelled


def test_password_never_appears_in_results_or_errors(pg_hook: DbApiHook, password: str) -> None:
    assert pg_hook.connection.password == password  # the secret is really in the connection
    result = runner(pg_hook).run("SELECT 'OK' AS status")
    assert password not in str(result) and password not in repr(result)
    for sql in ("SELEC 1", "SELECT pg_sleep(3)", "SELECT 1/0"):
        with pytest.raises(QueryError) as info:
            runner(pg_hook, timeout=1).run(sql)
        assert password not in str(info.value)


def test_unreachable_server_error_names_the_connection_without_password(
    define_conn: Callable[..., str], password: str
) -> None:
    conn_id = define_conn(
        "sst_pg_down",
        conn_type="postgres",
        host="127.0.0.1",
        port=1,
        login="postgres",
        password=password,
        schema="postgres",
    )
    with pytest.raises(
        QueryError, match=r"^could not connect with connection 'sst_pg_down': "
    ) as info:
        runner(resolve_db_hook(conn_id)).run("SELECT 1")
    assert password not in str(info.value)
    assert "\n" not in str(info.value)


def test_airflow_task_timeout_inside_the_driver_stops_the_statement(
    pg_conn_id: str, pg_engine: sa.Engine
) -> None:
    """execution_timeout raises AirflowTaskTimeout from SIGALRM in the middle of the driver
    call: it must reach Airflow unchanged, and the statement must not keep running."""
    from airflow.sdk.exceptions import AirflowTaskTimeout

    def on_alarm(signum: int, frame: object) -> None:
        raise AirflowTaskTimeout("Timeout, PID: 1")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(AirflowTaskTimeout):
            runner(resolve_db_hook(pg_conn_id), timeout=60).run("SELECT pg_sleep(30) AS status")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert wait_no_sessions(pg_engine) == 0


# --- one statement, enforced below the SQL check --------------------------------------------

SEVERAL_STATEMENTS = [
    "SELECT 'OK' AS status; DELETE FROM victim",
    "SELECT 'OK' AS status;DELETE FROM victim;",
    "SELECT 'OK' AS status; COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; "
    "DELETE FROM victim; COMMIT",
    "SELECT 'OK' AS status; COMMIT; BEGIN READ WRITE; CREATE TABLE evil (x int); COMMIT",
    "SELECT 'OK' AS status; ROLLBACK; SET default_transaction_read_only = off; "
    "INSERT INTO victim VALUES (99); COMMIT",
    "/* c */ SELECT 1 AS status -- c\n; DROP TABLE victim",
    "SELECT $$;$$ AS status; DELETE FROM victim",
]


@pytest.mark.parametrize("sql", SEVERAL_STATEMENTS)
def test_a_second_statement_never_runs_even_without_the_sql_check(
    pg_hook: DbApiHook, pg_engine: sa.Engine, sql: str
) -> None:
    # runner() passes check_sql=False: only the database-side guards stand here. psycopg 3
    # declares the cursor through the extended protocol; psycopg2 is probed with PQprepare.
    with pg_engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE victim (x int)"))
        conn.execute(sa.text("INSERT INTO victim VALUES (1), (2)"))
    with pytest.raises(
        QueryError, match=r"cannot insert multiple commands into a prepared statement"
    ):
        runner(pg_hook).run(sql)
    with pg_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM victim")) == 2
        assert conn.scalar(sa.text("SELECT to_regclass('evil') IS NULL"))
        assert conn.scalar(sa.text("SHOW default_transaction_read_only")) == "off"


def test_the_psycopg2_probe_keeps_the_database_message_for_other_errors(
    pg_engine: sa.Engine, pg_conn_id: str
) -> None:
    with pytest.raises(
        QueryError, match=r"^query failed on connection 'sst_pg' \(postgresql\): relation"
    ):
        runner(Psycopg2Hook(postgres_conn_id=pg_conn_id)).run("SELECT 1 AS status FROM nope")


def test_backslash_is_an_ordinary_character_in_strings(pg_hook: DbApiHook) -> None:
    # standard_conforming_strings is pinned on, as the SQL check reads strings.
    rows = runner(pg_hook).run("SELECT 'a\\' AS status, length('\\') AS n").rows
    assert rows == [("a\\", 1)]
