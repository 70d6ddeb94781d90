"""Which state database to use: the order of docs/operations.md, in one pure function.

1. ``state_db`` in alerts.yaml: ``conn_id`` (an Airflow connection) or ``url``;
2. ``[sqlsentinel] state_db_conn_id`` in Airflow's config;
3. the ``SQLSENTINEL_STATE_DB_URL`` environment variable;
4. SQLite at ``$AIRFLOW_HOME/sqlsentinel/state.db`` (fine for one machine).

Airflow is reached only through the injected ``conn_url_of`` (see ``airflow_url.py``), so the
order is testable without Airflow and the CLI can resolve without importing it when no
connection is involved. ``source`` says where the URL came from, for ``status`` output and
error messages; it never contains the URL itself (which may hold a password).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.core.redact import redact_db_url
from sqlsentinel_airflow.errors import StateStoreError

__all__ = ["STATE_DB_URL_ENV", "ResolvedStateDb", "default_sqlite_path", "resolve_state_db_url"]

STATE_DB_URL_ENV = "SQLSENTINEL_STATE_DB_URL"


@dataclass(frozen=True)
class ResolvedStateDb:
    """The state database URL (may hold a password: show ``display_url``) and its origin."""

    url: str
    source: str

    @property
    def display_url(self) -> str:
        return redact_db_url(self.url)

    def __repr__(self) -> str:  # never leak the password through a repr in logs
        return f"ResolvedStateDb(url={self.display_url!r}, source={self.source!r})"


def default_sqlite_path(env: Mapping[str, str], airflow_home: str | None) -> Path:
    """``$AIRFLOW_HOME/sqlsentinel/state.db``; AIRFLOW_HOME from the argument, env, ~/airflow."""
    home = airflow_home or env.get("AIRFLOW_HOME") or os.path.join("~", "airflow")
    return Path(home).expanduser() / "sqlsentinel" / "state.db"


def resolve_state_db_url(
    *,
    state_db: StateDbConfig | None,
    conn_url_of: Callable[[str], str] | None,
    airflow_state_db_conn_id: str | None,
    env: Mapping[str, str],
    airflow_home: str | None,
) -> ResolvedStateDb:
    """The state database to use, in the order of the module doc."""
    if state_db is not None and state_db.conn_id and state_db.url:
        raise StateStoreError(
            "alerts.yaml state_db: set either conn_id (an Airflow connection) or url, not both"
        )
    if state_db is not None and state_db.conn_id:
        source = f"alerts.yaml state_db.conn_id {state_db.conn_id!r}"
        return ResolvedStateDb(_url_of_conn(state_db.conn_id, conn_url_of, source), source)
    if state_db is not None and state_db.url:
        return ResolvedStateDb(state_db.url, "alerts.yaml state_db.url")
    if airflow_state_db_conn_id:
        source = f"Airflow config [sqlsentinel] state_db_conn_id {airflow_state_db_conn_id!r}"
        return ResolvedStateDb(_url_of_conn(airflow_state_db_conn_id, conn_url_of, source), source)
    env_url = env.get(STATE_DB_URL_ENV, "").strip()
    if env_url:
        return ResolvedStateDb(env_url, f"environment variable {STATE_DB_URL_ENV}")
    path = default_sqlite_path(env, airflow_home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateStoreError(
            f"cannot create {path.parent} for the default SQLite state database ({exc}); "
            f"set AIRFLOW_HOME to a writable folder or choose a database with {STATE_DB_URL_ENV}"
        ) from exc
    return ResolvedStateDb(f"sqlite:///{path}", "default (SQLite under AIRFLOW_HOME)")


def _url_of_conn(conn_id: str, conn_url_of: Callable[[str], str] | None, source: str) -> str:
    if conn_url_of is None:
        raise StateStoreError(
            f"{source} names an Airflow connection, but Airflow connections cannot be read "
            f"here; run inside Airflow, or set {STATE_DB_URL_ENV} to a SQLAlchemy URL"
        )
    return conn_url_of(conn_id)
