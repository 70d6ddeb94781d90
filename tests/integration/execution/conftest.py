"""Fixtures of the query execution tests: Airflow connections to fresh real databases.

Connections are defined the way users define them outside the metadata DB, as
``AIRFLOW_CONN_<ID>`` JSON variables. The PostgreSQL ones carry a recognisable password
(trust auth on loopback ignores it) so tests can assert it never leaks into a message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

PASSWORD = "S3cr3t-PW-123"

DefineConnection = Callable[..., str]


def define_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
    return conn_id


@pytest.fixture
def password() -> str:
    """The recognisable password set on test connections; it must never leak."""
    return PASSWORD


@pytest.fixture
def define_conn(monkeypatch: pytest.MonkeyPatch) -> DefineConnection:
    """``define_conn("my_id", conn_type=..., host=...)`` sets AIRFLOW_CONN_MY_ID for the test."""

    def define(conn_id: str, **fields: Any) -> str:
        return define_connection(monkeypatch, conn_id, **fields)

    return define


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[sa.Engine]:
    """Admin access to the test's PostgreSQL database, to set up tables and check effects."""
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_conn_id(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = sa.engine.make_url(pg_url)
    return define_connection(
        monkeypatch,
        "sst_pg",
        conn_type="postgres",
        host="127.0.0.1",
        port=5432,
        login="postgres",
        password=PASSWORD,
        schema=url.database,
    )


@pytest.fixture
def mysql_engine(mysql_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def mysql_conn_id(mysql_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = sa.engine.make_url(mysql_url)
    return define_connection(
        monkeypatch,
        "sst_mysql",
        conn_type="mysql",
        host="127.0.0.1",
        port=3306,
        login="root",
        schema=url.database,
    )


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.db"


@pytest.fixture
def sqlite_conn_id(sqlite_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return define_connection(monkeypatch, "sst_sqlite", conn_type="sqlite", host=str(sqlite_path))


@pytest.fixture
def sqlite_hook(sqlite_conn_id: str, sqlite_path: Path) -> Any:
    """The hook of a SQLite warehouse holding an ``orders`` table of two rows."""
    import sqlite3

    from sqlsentinel_airflow.execution import resolve_db_hook

    with sqlite3.connect(sqlite_path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, amount REAL)")
        conn.executemany("INSERT INTO orders VALUES (?, ?)", [(1, 10.0), (2, 32.5)])
    conn.close()
    return resolve_db_hook(sqlite_conn_id)


@pytest.fixture
def run_in_thread() -> Iterator[Callable[[float, Callable[[], object]], None]]:
    """Call ``fn`` from another thread after ``delay`` seconds (like Airflow's on_kill)."""

    timers: list[threading.Timer] = []

    def schedule(delay: float, fn: Callable[[], object]) -> None:
        timer = threading.Timer(delay, fn)
        timer.daemon = True
        timers.append(timer)
        timer.start()

    yield schedule
    for timer in timers:
        timer.cancel()
