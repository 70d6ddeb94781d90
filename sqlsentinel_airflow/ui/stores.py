"""The state databases the UI reads and writes, opened once per api-server process.

Each alert's state lives in the state database its alerts file names (``state_db``), else
the deployment's (``[sqlsentinel] state_db_conn_id``, ``SQLSENTINEL_STATE_DB_URL``, SQLite
under ``$AIRFLOW_HOME``): the order of docs/operations.md, resolved by ``store.url`` exactly as the
operator does. Alerts are grouped by that URL so one page view costs a few queries per
database, not per alert.

Reading never creates anything: a database (or schema) that does not exist yet means "no
alert has been evaluated", not an error. Creating a silence does create it, as the CLI does,
so maintenance can be silenced before an alert's first run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping

from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.store import LATEST_VERSION, StateStore
from sqlsentinel_airflow.store.url import resolve_state_db_url

__all__ = ["URL_CACHE_SECONDS", "StateStores"]

# How long a resolved URL is reused: resolving a ``conn_id`` reads Airflow's connections
# (metadata DB or secrets backend), which a page view should not do once per alert.
URL_CACHE_SECONDS = 60.0


def _airflow_conn_url(conn_id: str) -> str:
    from sqlsentinel_airflow.store.airflow_url import sqlalchemy_url_for_conn

    return sqlalchemy_url_for_conn(conn_id)


def _airflow_state_db_conn_id() -> str | None:
    from sqlsentinel_airflow.store.airflow_url import state_db_conn_id_from_airflow_config

    return state_db_conn_id_from_airflow_config()


class StateStores:
    """Resolve ``state_db`` settings to URLs and keep one open :class:`StateStore` per URL."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        conn_url_of: Callable[[str], str] = _airflow_conn_url,
        airflow_state_db_conn_id: Callable[[], str | None] = _airflow_state_db_conn_id,
    ) -> None:
        self._env = env
        self._conn_url_of = conn_url_of
        self._airflow_conn_id = airflow_state_db_conn_id
        self._lock = threading.Lock()
        self._open: dict[str, StateStore] = {}
        self._urls: dict[str, tuple[float, str]] = {}

    def url_for(self, state_db: StateDbConfig | None) -> str:
        """The URL (password included: never show it) of the state DB for ``state_db``."""
        airflow_conn_id = self._airflow_conn_id()
        if state_db is not None and state_db.conn_id:
            key: str | None = state_db.conn_id
        elif state_db is not None and state_db.url:
            key = None
        else:
            key = airflow_conn_id
        if key is None:  # no Airflow connection to look up: the environment decides, cheaply
            return self._resolve(state_db, airflow_conn_id)
        now = time.monotonic()
        with self._lock:
            cached = self._urls.get(key)
        if cached is not None and now - cached[0] < URL_CACHE_SECONDS:
            return cached[1]
        url = self._resolve(state_db, airflow_conn_id)
        with self._lock:
            self._urls[key] = (now, url)
        return url

    def _resolve(self, state_db: StateDbConfig | None, airflow_conn_id: str | None) -> str:
        env = os.environ if self._env is None else self._env
        return resolve_state_db_url(
            state_db=state_db,
            conn_url_of=self._conn_url_of,
            airflow_state_db_conn_id=airflow_conn_id,
            env=env,
            airflow_home=env.get("AIRFLOW_HOME"),
        ).url

    def for_reading(self, url: str) -> StateStore | None:
        """The store at ``url``; None while its database or schema does not exist."""
        with self._lock:
            store = self._open.get(url)
        if store is not None:
            return store
        probe = StateStore.open_for_reading(url)
        if probe is None:
            return None
        if probe.schema_version() < LATEST_VERSION:
            probe.dispose()  # an older schema: bring it up to date, as every writer would
            probe = StateStore.connect(url)
        return self._keep(url, probe)

    def for_writing(self, url: str) -> StateStore:
        """The store at ``url``, its database and schema created when missing."""
        with self._lock:
            store = self._open.get(url)
        if store is not None:
            return store
        return self._keep(url, StateStore.connect(url))

    def _keep(self, url: str, store: StateStore) -> StateStore:
        with self._lock:
            kept = self._open.setdefault(url, store)
        if kept is not store:
            store.dispose()
        return kept

    def close(self) -> None:
        with self._lock:
            stores, self._open = list(self._open.values()), {}
        for store in stores:
            store.dispose()
