"""Where the CLI finds things: the state database (``store.locator``), and connection types.

Every command finds the state database through one ``StateDbLocator``: ``--state-db``, then
the FILE's ``state_db`` (``run``, ``status``), then the deployment's setting
(docs/operations.md). The locator reads ``[sqlsentinel] state_db_conn_id`` without importing
Airflow; Airflow is imported only when a connection id has to be turned into a URL.
"""

from __future__ import annotations

from sqlsentinel_airflow.core.config.models import AlertsConfig
from sqlsentinel_airflow.core.databases import conn_type_from_env
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.locator import ResolvedStateDb, StateDbLocator

__all__ = ["conn_type_from_env", "locator", "open_store", "resolve_store_url"]


def locator() -> StateDbLocator:
    """The CLI's locator: the process environment, Airflow connections on demand, no cache."""
    return StateDbLocator()


def resolve_store_url(config: AlertsConfig | None, explicit_url: str | None) -> ResolvedStateDb:
    """The state database of ``config`` (None: a command without FILE) or ``--state-db``."""
    state_db = config.state_db if config is not None else None
    return locator().resolve(state_db, explicit_url=explicit_url)


def open_store(
    config: AlertsConfig | None, explicit_url: str | None, *, migrate: bool = True
) -> StateStore:
    """The state database for writing (created and migrated when ``migrate``)."""
    state_db = config.state_db if config is not None else None
    return locator().open_for_writing(state_db, explicit_url=explicit_url, migrate=migrate)
