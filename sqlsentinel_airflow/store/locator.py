"""Which state database to use, and opening it: the one locator every edge goes through.

The order (docs/operations.md, "The state database"), first match wins:

0. an explicit URL (the CLI's ``--state-db``);
1. ``state_db`` in alerts.yaml: ``conn_id`` (an Airflow connection) or ``url``;
2. ``[sqlsentinel] state_db_conn_id`` in Airflow's configuration;
3. the ``SQLSENTINEL_STATE_DB_URL`` environment variable;
4. SQLite at ``$AIRFLOW_HOME/sqlsentinel/state.db`` (fine for one machine).

``[sqlsentinel] state_db_conn_id`` is read one way, here, without importing Airflow:
``AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID``, else the ``[sqlsentinel]`` section of
``$AIRFLOW_CONFIG`` (default ``$AIRFLOW_HOME/airflow.cfg``). Why not Airflow's ``conf``:
importing it made ``sqlsentinel history`` take 1.77 s instead of 0.50 s (median of 5 on the
dev machine), and it buys nothing for this option: Airflow honours ``_CMD``/``_SECRET``
only for options declared sensitive, and a connection id is not a secret. Airflow is
imported only to turn a connection id into a URL (``airflow_url.sqlalchemy_url_for_conn``).

``ResolvedStateDb.source`` says where the URL came from, for messages; it never holds the
URL itself, which may carry a password (show ``display_url``).
"""

from __future__ import annotations

import configparser
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlsentinel_airflow.airflow_contract import CONFIG_SECTION, STATE_DB_CONN_ID_OPTION
from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.core.redact import redact_db_url
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store.store import StateStore

__all__ = [
    "STATE_DB_CONN_ID_ENV",
    "STATE_DB_URL_ENV",
    "ResolvedStateDb",
    "StateDbLocator",
    "default_sqlite_path",
    "resolve_state_db_url",
    "state_db_conn_id",
]

STATE_DB_URL_ENV = "SQLSENTINEL_STATE_DB_URL"
STATE_DB_CONN_ID_ENV = "AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID"

ConnUrlOf = Callable[[str], str]


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


def _airflow_home(env: Mapping[str, str]) -> Path:
    """``$AIRFLOW_HOME``, else ``~/airflow`` (Airflow's own default)."""
    return Path(env.get("AIRFLOW_HOME") or os.path.join("~", "airflow")).expanduser()


def default_sqlite_path(env: Mapping[str, str], airflow_home: str | None = None) -> Path:
    """``$AIRFLOW_HOME/sqlsentinel/state.db``; the home from the argument, env, ~/airflow."""
    home = Path(airflow_home).expanduser() if airflow_home else _airflow_home(env)
    return home / "sqlsentinel" / "state.db"


def state_db_conn_id(env: Mapping[str, str]) -> str | None:
    """``[sqlsentinel] state_db_conn_id``: the environment, else airflow.cfg (module doc)."""
    value = env.get(STATE_DB_CONN_ID_ENV, "").strip()
    if not value:
        cfg = Path(env.get("AIRFLOW_CONFIG") or _airflow_home(env) / "airflow.cfg").expanduser()
        if not cfg.is_file():
            return None
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(cfg, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            return None
        value = parser.get(CONFIG_SECTION, STATE_DB_CONN_ID_OPTION, fallback="").strip()
    # Airflow expands $VARS and ~ in both places; a conn id rarely has either, but agree.
    return os.path.expanduser(os.path.expandvars(value)) or None


def resolve_state_db_url(
    *,
    state_db: StateDbConfig | None,
    conn_url_of: ConnUrlOf | None,
    airflow_state_db_conn_id: str | None,
    env: Mapping[str, str],
    airflow_home: str | None = None,
) -> ResolvedStateDb:
    """Steps 1 to 4 of the order, pure: every input is an argument (tests, docs)."""
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


def _url_of_conn(conn_id: str, conn_url_of: ConnUrlOf | None, source: str) -> str:
    if conn_url_of is None:
        raise StateStoreError(
            f"{source} names an Airflow connection, but Airflow connections cannot be read "
            f"here; run inside Airflow, or set {STATE_DB_URL_ENV} to a SQLAlchemy URL"
        )
    return conn_url_of(conn_id)


def airflow_conn_url(conn_id: str) -> str:
    """The URL of Airflow connection ``conn_id`` (imports Airflow, so only when asked)."""
    from sqlsentinel_airflow.store.airflow_url import sqlalchemy_url_for_conn

    return sqlalchemy_url_for_conn(conn_id)


class StateDbLocator:
    """Finds the state database in the order of the module doc, and opens it.

    ``env`` defaults to ``os.environ``, read at each call; ``conn_url_of`` turns an Airflow
    connection id into a URL (None: naming a connection is an error). ``cache_seconds`` > 0
    keeps what costs a read outside the process (the ``[sqlsentinel]`` option from
    airflow.cfg, and each connection's URL from Airflow) that long: the UI resolves once
    per alert per page view. Thread-safe.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        conn_url_of: ConnUrlOf | None = airflow_conn_url,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._env = env
        self._conn_url_of = conn_url_of
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, str | None]] = {}

    def resolve(
        self, state_db: StateDbConfig | None = None, *, explicit_url: str | None = None
    ) -> ResolvedStateDb:
        """The state database for an alerts file's ``state_db`` (None: the deployment's)."""
        if explicit_url:
            return ResolvedStateDb(explicit_url, "--state-db")
        env = os.environ if self._env is None else self._env
        uses_config = state_db is None or not (state_db.conn_id or state_db.url)
        return resolve_state_db_url(
            state_db=state_db,
            conn_url_of=self._cached_conn_url if self._conn_url_of is not None else None,
            airflow_state_db_conn_id=(
                self._cached("config", lambda: state_db_conn_id(env)) if uses_config else None
            ),
            env=env,
        )

    def url(self, state_db: StateDbConfig | None = None, *, explicit_url: str | None = None) -> str:
        """``resolve(...).url``: password included, never show it."""
        return self.resolve(state_db, explicit_url=explicit_url).url

    def open_for_reading(
        self, state_db: StateDbConfig | None = None, *, explicit_url: str | None = None
    ) -> StateStore | None:
        """The store without creating anything; None while its database or schema is absent."""
        return StateStore.open_for_reading(self.url(state_db, explicit_url=explicit_url))

    def open_for_writing(
        self,
        state_db: StateDbConfig | None = None,
        *,
        explicit_url: str | None = None,
        migrate: bool = True,
    ) -> StateStore:
        """The store; its database and schema are created or brought up to date (``migrate``)."""
        return StateStore.connect(self.url(state_db, explicit_url=explicit_url), migrate=migrate)

    def _cached_conn_url(self, conn_id: str) -> str:
        assert self._conn_url_of is not None
        conn_url_of = self._conn_url_of
        url = self._cached(f"conn:{conn_id}", lambda: conn_url_of(conn_id))
        assert url is not None
        return url

    def _cached(self, key: str, read: Callable[[], str | None]) -> str | None:
        if self._cache_seconds <= 0:
            return read()
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self._cache_seconds:
            return hit[1]
        value = read()
        with self._lock:
            self._cache[key] = (now, value)
        return value
