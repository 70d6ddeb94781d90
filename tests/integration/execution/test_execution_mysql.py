"""QueryRunner on the real local MariaDB, through mysqlclient (the mysql provider's default)
and mysql-connector-python (its ``client`` extra)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from airflow.providers.common.sql.hooks.sql import DbApiHook

from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

pytestmark = pytest.mark.mysql


@pytest.fixture
def mysql_hook(mysql_conn_id: str) -> DbApiHook:
    return resolve_db_hook(mysql_conn_id)


def runner(hook: DbApiHook, *, timeout: float = 10, max_rows: int = 1) -> QueryRunner:
    return QueryRunner(hook, timeout=timedelta(seconds=timeout), max_rows=max_rows, check_sql=False)


def open_sessions(engine: sa.Engine) -> int:
    """Client sessions on the test database other than the admin engine's own."""
    with engine.connect() as conn:
        return int(
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM information_schema.processlist "
                    "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
                )
            )
        )


def wait_no_sessions(engine: sa.Engine) -> int:
    deadline = time.monotonic() + 3
    while (count := open_sessions(engine)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_returns_columns_rows_and_detects_mariadb(
    mysql_hook: DbApiHook, mysql_engine: sa.Engine
) -> None:
    result = runner(mysql_hook).run("SELECT 'OK' AS status, 7 AS actual_value, NULL AS note")
    assert result.columns == ("status", "actual_value", "note")
    assert result.rows == [("OK", 7, None)]
    assert result.truncated is False
    assert result.backend == "mariadb"
    assert wait_no_sessions(mysql_engine) == 0


def test_fetch_stops_one_row_past_the_cap(mysql_hook: DbApiHook, mysql_engine: sa.Engine) -> None:
    result = runner(mysql_hook, max_rows=1000).run(
        "SELECT seq AS n, 'OK' AS status FROM seq_1_to_1000000"
    )
    assert result.truncated is True
    assert len(result.rows) == 1001
    assert result.rows[0] == (1, "OK") and result.rows[-1] == (1001, "OK")
    assert wait_no_sessions(mysql_engine) == 0


def test_statement_timeout_is_enforced_by_the_database(mysql_hook: DbApiHook) -> None:
    started = time.monotonic()
    with pytest.raises(QueryError) as info:
        runner(mysql_hook, timeout=1).run("SELECT SLEEP(5) AS status")
    assert str(info.value) == "query exceeded timeout 1s and was stopped by the database"
    assert time.monotonic() - started < 2.5


def test_stored_function_with_side_effect_fails_and_writes_nothing(
    mysql_hook: DbApiHook, mysql_engine: sa.Engine
) -> None:
    with mysql_engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE audit (x INT)"))
        conn.execute(
            sa.text(
                "CREATE FUNCTION sneaky() RETURNS VARCHAR(5) MODIFIES SQL DATA "
                "BEGIN INSERT INTO audit VALUES (1); RETURN 'OK'; END"
            )
        )
    with pytest.raises(
        QueryError,
        match=r"^query tried to write inside the read-only transaction: "
        r"Cannot execute statement in a READ ONLY transaction",
    ):
        runner(mysql_hook).run("SELECT sneaky() AS status")
    with mysql_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit")) == 0


def test_a_second_statement_is_refused_by_the_server(
    mysql_hook: DbApiHook, mysql_engine: sa.Engine
) -> None:
    with mysql_engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE audit (x INT)"))
    # mysqlclient asks for multiple statements by default; the session switches the option
    # off (COM_SET_OPTION), so the server refuses the text as one syntax error. Nothing ran.
    with pytest.raises(QueryError, match=r"near 'COMMIT; SET SESSION TRANSACTION READ WRITE"):
        runner(mysql_hook).run(
            "SELECT 'OK' AS status; COMMIT; SET SESSION TRANSACTION READ WRITE; "
            "INSERT INTO audit VALUES (1); COMMIT"
        )
    with mysql_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM audit")) == 0


def test_syntax_error_carries_the_database_message(mysql_hook: DbApiHook) -> None:
    with pytest.raises(
        QueryError,
        match=r"^query failed on connection 'sst_mysql' \(mariadb\): "
        r"You have an error in your SQL syntax; .* near 'SELEC 'OK' AS status'",
    ):
        runner(mysql_hook).run("SELEC 'OK' AS status")


def test_cancel_from_another_thread_kills_the_query(
    mysql_hook: DbApiHook,
    mysql_engine: sa.Engine,
    run_in_thread: Callable[[float, Callable[[], object]], None],
) -> None:
    query = runner(mysql_hook, timeout=60)
    run_in_thread(1.0, query.cancel)
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"^query was cancelled before it finished$"):
        query.run("SELECT SLEEP(30) AS status")
    assert time.monotonic() - started < 5
    assert wait_no_sessions(mysql_engine) == 0


def test_mysql_connector_python_client(
    mysql_url: str, define_conn: Callable[..., str], mysql_engine: sa.Engine
) -> None:
    conn_id = define_conn(
        "sst_mysql_connector",
        conn_type="mysql",
        host="127.0.0.1",
        port=3306,
        login="root",
        schema=sa.engine.make_url(mysql_url).database,
        extra={"client": "mysql-connector-python"},
    )
    hook = resolve_db_hook(conn_id)
    result = runner(hook, max_rows=10).run("SELECT seq AS n FROM seq_1_to_100000")
    assert (result.backend, result.truncated, len(result.rows)) == ("mariadb", True, 11)
    with pytest.raises(QueryError, match=r"^query exceeded timeout 1s and was stopped"):
        runner(hook, timeout=1).run("SELECT SLEEP(5) AS status")
    assert wait_no_sessions(mysql_engine) == 0


def test_wrong_password_error_has_no_password(
    define_conn: Callable[..., str], password: str
) -> None:
    conn_id = define_conn(
        "sst_mysql_badpw", conn_type="mysql", host="127.0.0.1", login="root", password=password
    )
    with pytest.raises(
        QueryError, match=r"^could not connect with connection 'sst_mysql_badpw': .*Access denied"
    ) as info:
        runner(resolve_db_hook(conn_id)).run("SELECT 1")
    assert password not in str(info.value)


class PyMySqlHook(DbApiHook):
    """A real DbApiHook over PyMySQL, a driver the runner has no special support for."""

    conn_name_attr = "pymysql_conn_id"
    default_conn_name = "pymysql_default"
    conn_type = "pymysql"
    hook_name = "PyMySQL"

    def get_conn(self) -> Any:
        import pymysql

        c = self.connection
        return pymysql.connect(host=c.host, port=c.port, user=c.login, database=c.schema)


def test_unknown_driver_runs_plainly_and_warns_once(
    mysql_conn_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    hook = PyMySqlHook(pymysql_conn_id=mysql_conn_id)
    with caplog.at_level(logging.WARNING, logger="sqlsentinel_airflow.execution"):
        result = runner(hook, max_rows=5).run("SELECT seq AS n FROM seq_1_to_10")
    assert (result.backend, result.columns, len(result.rows), result.truncated) == (
        "pymysql",
        ("n",),
        6,
        True,
    )
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "conn type 'pymysql' (driver pymysql): SQL Sentinel cannot enforce the statement "
        "timeout, a read-only transaction, a single statement or least privilege for it; the "
        "query runs with the connection's own settings and the login's own rights"
    ]


# --- one statement, enforced below the SQL check --------------------------------------------

SEVERAL_STATEMENTS = [
    "SELECT 'OK' AS status; DELETE FROM victim",
    "SELECT 'OK' AS status;DELETE FROM victim;",
    "SELECT 'OK' AS status, 1--1; COMMIT; SET SESSION TRANSACTION READ WRITE; "
    "DELETE FROM victim; COMMIT; )(",
    "SELECT 'OK' AS status; COMMIT; START TRANSACTION READ WRITE; CREATE TABLE evil (x int)",
    "SELECT 1 AS status # c\n; DROP TABLE victim",
    "SELECT 1 AS status /* /* */ ; DROP TABLE victim /* */",
]


@pytest.fixture(params=["mysqlclient", "mysql-connector-python"])
def any_mysql_hook(
    request: pytest.FixtureRequest, mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> DbApiHook:
    url = sa.engine.make_url(mysql_url)
    extra = {} if request.param == "mysqlclient" else {"client": "mysql-connector-python"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_SST_MYSQL_ANY",
        json.dumps(
            {
                "conn_type": "mysql",
                "host": "127.0.0.1",
                "port": 3306,
                "login": "root",
                "schema": url.database,
                "extra": extra,
            }
        ),
    )
    return resolve_db_hook("sst_mysql_any")


@pytest.mark.parametrize("sql", SEVERAL_STATEMENTS)
def test_a_second_statement_never_runs_even_without_the_sql_check(
    any_mysql_hook: DbApiHook, mysql_engine: sa.Engine, sql: str
) -> None:
    # runner() passes check_sql=False: only the session's guards stand here. The multi-
    # statements option is off, so the server reads the text as one (broken) statement.
    with mysql_engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE victim (x INT)"))
        conn.execute(sa.text("INSERT INTO victim VALUES (1), (2)"))
    with pytest.raises(QueryError, match=r"You have an error in your SQL syntax"):
        runner(any_mysql_hook).run(sql)
    with mysql_engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM victim")) == 2
        assert (
            conn.scalar(
                sa.text(
                    "SELECT count(*) FROM information_schema.tables "
                    "WHERE table_schema = DATABASE() AND table_name = 'evil'"
                )
            )
            == 0
        )


def test_the_lexical_sql_mode_is_pinned_whatever_the_login_starts_with(
    mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server or login whose sql_mode has ANSI_QUOTES / NO_BACKSLASH_ESCAPES would read
    # strings unlike the SQL check. init_command stands in for such a server default.
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    url = sa.engine.make_url(mysql_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SST_MYSQL_ANSI",
        json.dumps(
            {"conn_type": "mysql", "host": "127.0.0.1", "login": "root", "schema": url.database}
        ),
    )
    hook = MySqlHook(
        mysql_conn_id="sst_mysql_ansi",
        init_command="SET SESSION sql_mode = 'ANSI,NO_BACKSLASH_ESCAPES,STRICT_ALL_TABLES'",
    )
    rows = runner(hook).run("SELECT \"x\" AS status, 'a\\'b' AS s, @@SESSION.sql_mode AS mode").rows
    status, text, mode = rows[0]
    assert (status, text) == ("x", "a'b")
    assert "ANSI_QUOTES" not in mode and "NO_BACKSLASH_ESCAPES" not in mode
    assert "STRICT_ALL_TABLES" in mode and "PIPES_AS_CONCAT" in mode  # the rest is kept
