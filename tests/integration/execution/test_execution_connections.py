"""Resolving the database an alert runs on: Airflow connections and standalone database URLs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import (
    URL_CONN_ID,
    QueryRunner,
    conn_type_for_url,
    conn_type_of,
    resolve_db_hook,
)


def run_one(
    hook: object, sql: str = "SELECT 'OK' AS status"
) -> tuple[str, list[tuple[object, ...]]]:
    result = QueryRunner(hook, timeout=timedelta(seconds=10), max_rows=1, check_sql=False).run(sql)  # type: ignore[arg-type]
    return result.backend, result.rows


# -- Airflow connections ---------------------------------------------------------------------


def test_missing_connection_says_how_to_define_it() -> None:
    with pytest.raises(QueryError) as info:
        resolve_db_hook("warehouse-eu")
    assert str(info.value) == (
        "connection 'warehouse-eu' is not defined; create it in Admin > Connections "
        "or set AIRFLOW_CONN_WAREHOUSE_EU"
    )


def test_non_sql_connection_is_refused_with_its_type(
    define_conn: Callable[..., str], password: str
) -> None:
    define_conn("sst_api", conn_type="http", host="example.internal", password=password)
    with pytest.raises(
        QueryError,
        match=r"^connection 'sst_api' has conn_type 'http' \(HttpHook\), which is not a SQL "
        r"database connection",
    ) as info:
        resolve_db_hook("sst_api")
    assert password not in str(info.value)


def test_connection_type_without_a_hook(define_conn: Callable[..., str]) -> None:
    define_conn("sst_odd", conn_type="no_such_db", host="h")
    with pytest.raises(
        QueryError, match=r"^connection 'sst_odd' has conn_type 'no_such_db', for which no hook"
    ):
        resolve_db_hook("sst_odd")


def test_neither_conn_id_nor_url() -> None:
    with pytest.raises(QueryError, match=r"^no database to run the query on: set conn_id"):
        resolve_db_hook(None, None)


def test_conn_id_wins_over_database_url(sqlite_conn_id: str) -> None:
    hook = resolve_db_hook(sqlite_conn_id, "postgresql://u:p@127.0.0.1:1/nowhere")
    assert hook.get_conn_id() == sqlite_conn_id
    assert run_one(hook) == ("sqlite", [("OK",)])


def test_conn_type_of(pg_conn_id: str, sqlite_conn_id: str) -> None:
    assert conn_type_of(pg_conn_id) == "postgres"
    assert conn_type_of(sqlite_conn_id) == "sqlite"
    assert conn_type_of("sst_not_defined") is None


# -- standalone database URLs ----------------------------------------------------------------


def test_postgres_url_runs_and_hides_the_password(pg_url: str, password: str) -> None:
    url = sa.engine.make_url(pg_url).set(drivername="postgresql", password=password)
    hook = resolve_db_hook(None, url.render_as_string(hide_password=False))
    assert hook.get_conn_id() == URL_CONN_ID
    assert run_one(hook) == ("postgresql", [("OK",)])
    with pytest.raises(QueryError) as info:
        run_one(hook, "SELEC 1")
    assert str(info.value).startswith("query failed on database.url (postgresql): syntax error")
    assert password not in str(info.value)


def test_postgres_url_connection_failure_hides_the_url(password: str) -> None:
    hook = resolve_db_hook(None, f"postgresql+psycopg2://postgres:{password}@127.0.0.1:1/db")
    with pytest.raises(QueryError, match=r"^could not connect with database.url: ") as info:
        run_one(hook)
    assert password not in str(info.value)
    assert "postgresql+psycopg2://" not in str(info.value)


@pytest.mark.parametrize("driver", ["mysql", "mysql+pymysql", "mysql+mysqldb", "mariadb"])
def test_mysql_urls_run(mysql_url: str, driver: str) -> None:
    url = sa.engine.make_url(mysql_url).set(drivername=driver)
    hook = resolve_db_hook(None, url.render_as_string(hide_password=False))
    assert run_one(hook) == ("mariadb", [("OK",)])


def test_mysql_connector_url_uses_that_client(mysql_url: str) -> None:
    url = sa.engine.make_url(mysql_url).set(drivername="mysql+mysqlconnector")
    hook = resolve_db_hook(None, url.render_as_string(hide_password=False))
    conn = hook.get_conn()
    try:
        assert type(conn).__module__.split(".")[0] == "mysql"
    finally:
        conn.close()
    assert run_one(hook) == ("mariadb", [("OK",)])


def test_sqlite_url_absolute_and_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    db = tmp_path / "warehouse.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (status TEXT)")
        conn.execute("INSERT INTO t VALUES ('ALERT')")
    conn.close()
    assert run_one(resolve_db_hook(None, f"sqlite:///{db}"), "SELECT status FROM t") == (
        "sqlite",
        [("ALERT",)],
    )
    monkeypatch.chdir(tmp_path)
    relative = resolve_db_hook(None, "sqlite:///warehouse.db")
    monkeypatch.chdir("/")  # the relative path was fixed when the file was loaded
    assert run_one(relative, "SELECT status FROM t") == ("sqlite", [("ALERT",)])


def test_unsupported_url_scheme(password: str) -> None:
    with pytest.raises(
        QueryError, match=r"^database.url uses 'oracle', which cannot run from a URL"
    ) as info:
        resolve_db_hook(None, f"oracle://scott:{password}@db.internal:1521/orcl")
    assert password not in str(info.value)
    assert "db.internal" not in str(info.value)


def test_unparsable_url_is_not_echoed(password: str) -> None:
    with pytest.raises(QueryError, match=r"^database.url is not a valid SQLAlchemy URL") as info:
        resolve_db_hook(None, f"not a url {password}")
    assert password not in str(info.value)


@pytest.mark.parametrize(
    ("url", "conn_type"),
    [
        ("postgresql://u:p@h/db", "postgres"),
        ("postgresql+psycopg://h/db", "postgres"),
        ("postgres://h/db", "postgres"),
        ("mysql+pymysql://root@h/db", "mysql"),
        ("mariadb://h/db", "mysql"),
        ("sqlite:////tmp/x.db", "sqlite"),
    ],
)
def test_conn_type_for_url(url: str, conn_type: str) -> None:
    assert conn_type_for_url(url) == conn_type


def test_runner_rejects_nonsense_limits(sqlite_conn_id: str) -> None:
    hook = resolve_db_hook(sqlite_conn_id)
    with pytest.raises(ValueError, match=r"^timeout must be positive, got 0:00:00$"):
        QueryRunner(hook, timeout=timedelta(0), max_rows=1)
    with pytest.raises(ValueError, match=r"^max_rows must not be negative, got -1$"):
        QueryRunner(hook, timeout=timedelta(seconds=1), max_rows=-1)
