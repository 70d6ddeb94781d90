"""Where the CLI finds things: the state database, and cheap connection-type look-ups.

Commands without a FILE argument find the state DB by the order of docs/operations.md without a
file: ``[sqlsentinel] state_db_conn_id`` (env ``AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID`` or
``$AIRFLOW_HOME/airflow.cfg``), then ``SQLSENTINEL_STATE_DB_URL``, then the SQLite default.
Reading airflow.cfg with configparser keeps ``sqlsentinel history`` from paying Airflow's
import; resolving a *connection* does need Airflow and is done lazily.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from pathlib import Path

from sqlsentinel_airflow.core.config.models import AlertsConfig
from sqlsentinel_airflow.core.databases import conn_type_from_env
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.url import ResolvedStateDb, resolve_state_db_url

__all__ = ["airflow_state_db_conn_id", "conn_type_from_env", "open_store", "resolve_store_url"]


def airflow_state_db_conn_id(env: Mapping[str, str]) -> str | None:
    """``[sqlsentinel] state_db_conn_id`` from the environment or airflow.cfg, without Airflow."""
    value = env.get("AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID")
    if value:
        return value
    home = env.get("AIRFLOW_HOME") or str(Path.home() / "airflow")
    cfg = Path(home) / "airflow.cfg"
    if cfg.is_file():
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(cfg, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return None
        found = parser.get("sqlsentinel", "state_db_conn_id", fallback="").strip()
        return found or None
    return None


def _conn_url_of(conn_id: str) -> str:
    from sqlsentinel_airflow.store.airflow_url import sqlalchemy_url_for_conn

    return sqlalchemy_url_for_conn(conn_id)


def resolve_store_url(
    config: AlertsConfig | None, explicit_url: str | None, env: Mapping[str, str] | None = None
) -> ResolvedStateDb:
    env = os.environ if env is None else env
    if explicit_url:
        return ResolvedStateDb(url=explicit_url, source="--state-db")
    return resolve_state_db_url(
        state_db=config.state_db if config is not None else None,
        conn_url_of=_conn_url_of,
        airflow_state_db_conn_id=airflow_state_db_conn_id(env),
        env=env,
        airflow_home=env.get("AIRFLOW_HOME"),
    )


def open_store(
    config: AlertsConfig | None, explicit_url: str | None, *, migrate: bool = True
) -> StateStore:
    resolved = resolve_store_url(config, explicit_url)
    return StateStore.connect(resolved.url, migrate=migrate)
