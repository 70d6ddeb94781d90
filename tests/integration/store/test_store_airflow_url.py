"""Airflow connections (AIRFLOW_CONN_* JSON) become state database URLs; real Airflow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.airflow_url import sqlalchemy_url_for_conn
from sqlsentinel_airflow.store.locator import state_db_conn_id

pytestmark = pytest.mark.airflow


def _define(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: object) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_postgres_connection_maps_to_psycopg2_url_with_driver_extras_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _define(
        monkeypatch,
        "state_pg",
        conn_type="postgres",
        host="db.internal",
        port=5433,
        login="sentinel",
        password="p@ss/word",
        schema="alerts",
        extra={"sslmode": "require", "cursor": "dictcursor"},
    )
    assert (
        sqlalchemy_url_for_conn("state_pg")
        == "postgresql+psycopg2://sentinel:p%40ss%2Fword@db.internal:5433/alerts?sslmode=require"
    )


def test_mysql_and_sqlite_connections(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _define(monkeypatch, "state_my", conn_type="mysql", host="h", login="u", schema="s")
    assert sqlalchemy_url_for_conn("state_my") == "mysql+mysqldb://u@h/s"
    db = tmp_path / "state.db"
    _define(monkeypatch, "state_lite", conn_type="sqlite", host=str(db))
    url = sqlalchemy_url_for_conn("state_lite")
    assert url == f"sqlite:///{db}"
    StateStore.connect(url).dispose()
    assert db.is_file()


def test_real_connection_reaches_the_database(monkeypatch: pytest.MonkeyPatch, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(pg_url)
    _define(
        monkeypatch,
        "state_live",
        conn_type="postgres",
        host=parsed.host,
        port=parsed.port,
        login=parsed.username,
        schema=parsed.database,
    )
    store = StateStore.connect(sqlalchemy_url_for_conn("state_live"))
    try:
        assert store.schema_version() >= 1
    finally:
        store.dispose()


def test_unknown_and_unsuitable_connections_name_the_conn_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(
        StateStoreError,
        match=r"Airflow connection 'no_such_conn' for the state database could not be read "
        r".*AIRFLOW_CONN_NO_SUCH_CONN",
    ):
        sqlalchemy_url_for_conn("no_such_conn")
    _define(monkeypatch, "state_http", conn_type="http", host="example.com")
    with pytest.raises(
        StateStoreError,
        match=r"'state_http' has type 'http', which cannot hold the state database; use one of "
        r"postgres, mysql, sqlite",
    ):
        sqlalchemy_url_for_conn("state_http")
    _define(monkeypatch, "state_nohost", conn_type="sqlite")
    with pytest.raises(StateStoreError, match=r"'state_nohost' \(sqlite\) has no host: set host"):
        sqlalchemy_url_for_conn("state_nohost")


def test_conn_id_from_the_environment_reads_as_airflow_reads_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The locator reads ``[sqlsentinel] state_db_conn_id`` without Airflow; Airflow agrees."""
    from airflow.configuration import conf

    monkeypatch.setenv("AIRFLOW_CONFIG", str(tmp_path / "absent.cfg"))
    monkeypatch.delenv("AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID", raising=False)
    assert state_db_conn_id(dict(os.environ)) is None
    assert not conf.get("sqlsentinel", "state_db_conn_id", fallback=None)
    monkeypatch.setenv("AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID", " sqlsentinel_state ")
    assert state_db_conn_id(dict(os.environ)) == "sqlsentinel_state"
    assert conf.get("sqlsentinel", "state_db_conn_id").strip() == "sqlsentinel_state"
