"""The state databases the UI reads and writes, opened once per api-server process.

Each alert's state lives in the state database its alerts file names (``state_db``), else
the deployment's: found by ``store.locator`` exactly as the operator and the CLI find it
(docs/operations.md), with its look-ups of Airflow's config and connections kept for
``URL_CACHE_SECONDS``. Alerts are grouped by URL so one page view costs a few queries per
database, not per alert.

Reading never creates anything: a database (or schema) that does not exist yet means "no
alert has been evaluated", not an error. Creating a silence does create it, as the CLI does,
so maintenance can be silenced before an alert's first run.
"""

from __future__ import annotations

import threading

from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.store import LATEST_VERSION, StateStore
from sqlsentinel_airflow.store.locator import StateDbLocator

__all__ = ["URL_CACHE_SECONDS", "StateStores"]

# How long a resolved URL is reused: resolving a ``conn_id`` reads Airflow's connections
# (metadata DB or secrets backend), which a page view should not do once per alert.
URL_CACHE_SECONDS = 60.0


class StateStores:
    """Resolve ``state_db`` settings to URLs and keep one open :class:`StateStore` per URL."""

    def __init__(self, locator: StateDbLocator | None = None) -> None:
        self._locator = locator or StateDbLocator(cache_seconds=URL_CACHE_SECONDS)
        self._lock = threading.Lock()
        self._open: dict[str, StateStore] = {}

    def url_for(self, state_db: StateDbConfig | None) -> str:
        """The URL (password included: never show it) of the state DB for ``state_db``."""
        return self._locator.url(state_db)

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
