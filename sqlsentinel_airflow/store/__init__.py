"""The state store adapter: alert state, history, outbox and silences in SQL (docs/operations.md).

SQLAlchemy 2 on SQLite, PostgreSQL and MySQL/MariaDB. Modules, one concept each:

- ``tables``       the current schema (SQLAlchemy Core), portable column types
- ``schema_v1``    the frozen version-1 schema that the first migration creates
- ``migrations``   ordered schema steps, applied on connect under a cross-process lock
- ``engine``       per-database engine set-up (SQLite BEGIN IMMEDIATE, READ COMMITTED) and
                   the mapping of driver errors to StateStoreError
- ``records``      HistoryEntry, OutboxEntry (frozen dataclasses), RecentValue (a named tuple)
- ``rows``         row <-> record / domain type mapping
- ``transaction``  the per-alert locked evaluation transaction
- ``store``        StateStore: connect, the evaluation transaction, read side, silences, purge
- ``locator``      which database (the order in docs/operations.md), and opening it
- ``airflow_url``  Airflow connection -> SQLAlchemy URL (the only module importing Airflow)

Airflow is never imported by importing this package.
"""

from __future__ import annotations

from sqlsentinel_airflow.store.engine import create_state_engine
from sqlsentinel_airflow.store.locator import (
    STATE_DB_URL_ENV,
    ResolvedStateDb,
    StateDbLocator,
    resolve_state_db_url,
)
from sqlsentinel_airflow.store.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    Migration,
    ensure_schema,
)
from sqlsentinel_airflow.store.records import (
    HistoryEntry,
    OutboxEntry,
    OutboxMember,
    OutboxStatus,
    RecentValue,
)
from sqlsentinel_airflow.store.store import MAX_TRANSACTION_ATTEMPTS, StateStore
from sqlsentinel_airflow.store.transaction import AlertTransaction

__all__ = [
    "LATEST_VERSION",
    "MAX_TRANSACTION_ATTEMPTS",
    "MIGRATIONS",
    "STATE_DB_URL_ENV",
    "AlertTransaction",
    "HistoryEntry",
    "Migration",
    "OutboxEntry",
    "OutboxMember",
    "OutboxStatus",
    "RecentValue",
    "ResolvedStateDb",
    "StateDbLocator",
    "StateStore",
    "create_state_engine",
    "ensure_schema",
    "resolve_state_db_url",
]
