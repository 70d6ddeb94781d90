"""Engines for the state database, and what its driver errors mean to an operator.

Per-database set-up that the locking in ``store.py`` and ``migrations.py`` relies on:
- SQLite: pysqlite's own transaction handling is switched off (SQLAlchemy's documented recipe:
  ``isolation_level = None`` on connect, ``BEGIN`` emitted from a ``begin`` listener) so a
  transaction can start with ``BEGIN IMMEDIATE`` (the write lock is taken up front instead of
  failing on upgrade), a 30 s busy timeout, and WAL so readers (CLI, UI) never block a writer.
- PostgreSQL and MySQL/MariaDB: READ COMMITTED, so that after a transaction has waited for the
  per-alert row lock its reads see what the previous holder committed (MySQL's default,
  REPEATABLE READ, could serve an older snapshot). MySQL/MariaDB: ``innodb_lock_wait_timeout``
  set once per connection (a session setting; PostgreSQL's ``lock_timeout`` is set per
  transaction in ``transaction.py``).
- PostgreSQL and MySQL/MariaDB: a pooled connection is checked before use only when it may be
  dead (:func:`_install_liveness_check`), instead of SQLAlchemy's ``pool_pre_ping`` on every
  checkout, which cost two round trips per evaluation on PostgreSQL (docs/benchmarks.md,
  section 2). ``StateStore`` retries an evaluation whose connection dies before its lock is
  taken.

Errors: every driver error leaving the store is a :class:`StateStoreError` naming the database
(password redacted) and what to do; :func:`is_retryable` tells deadlocks and serialisation
failures, which are worth retrying as a whole transaction.
"""

from __future__ import annotations

import select
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    InvalidatePoolError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.pool import ConnectionPoolEntry

from sqlsentinel_airflow.core.redact import one_line, redact_db_url, redact_text
from sqlsentinel_airflow.errors import StateStoreError

__all__ = [
    "IDLE_PING_SECONDS",
    "LOCK_WAIT_SECONDS",
    "SQLITE_BEGIN_OPTION",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "create_state_engine",
    "is_retryable",
    "store_error",
    "translating_errors",
]

SQLITE_BEGIN_OPTION = "sqlsentinel_sqlite_begin"
"""Execution option: the SQLite ``BEGIN`` mode of a connection's transactions (``IMMEDIATE``)."""

SQLITE_BUSY_TIMEOUT_SECONDS = 30

LOCK_WAIT_SECONDS = 60
"""How long an evaluation waits for another one of the same alert before giving up."""

IDLE_PING_SECONDS = 10.0
"""A pooled connection idle at least this long is pinged before use (see the module doc)."""

_IDLE_SINCE = "sqlsentinel_idle_since"  # connection record info key: when it was checked in

_URL_EXAMPLE = "postgresql+psycopg2://user:password@host:5432/db or sqlite:////path/to/state.db"
_DRIVER_HINT = {
    "postgresql": "pip install psycopg2-binary",
    "mysql": "pip install mysqlclient",
    "mariadb": "pip install mysqlclient",
}

# Deadlock / serialisation failure / lock not available (PostgreSQL SQLSTATE).
_PG_RETRYABLE = {"40001", "40P01", "55P03"}
# ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT (MySQL/MariaDB error numbers).
_MYSQL_RETRYABLE = {1213, 1205}


def create_state_engine(url: str | URL) -> Engine:
    """An engine for the state database, with the per-database set-up described above."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        # The text may hold a password: never echo it.
        raise StateStoreError(
            f"the state database URL is not a valid SQLAlchemy URL (write e.g. {_URL_EXAMPLE})"
        ) from None
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
    elif backend in ("postgresql", "mysql", "mariadb"):
        kwargs.update(isolation_level="READ COMMITTED", pool_recycle=3600)
    if parsed.get_driver_name() == "psycopg2":
        # No hstore columns here: skip psycopg2's look-up of the hstore type at the first
        # connect (three round trips in every new process, i.e. in every Airflow task).
        kwargs["use_native_hstore"] = False
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        hint = _DRIVER_HINT.get(backend, "install the DBAPI driver the URL names")
        raise StateStoreError(
            f"state database {redact_db_url(parsed)}: no driver for {parsed.drivername!r} "
            f"({exc.__class__.__name__}: {exc}); {hint}"
        ) from None
    if backend == "sqlite":
        _install_sqlite_transaction_control(engine)
    elif backend in ("postgresql", "mysql", "mariadb"):
        _install_liveness_check(engine)
    if backend in ("mysql", "mariadb"):
        _install_mysql_lock_wait_timeout(engine)
    return engine


def _install_sqlite_transaction_control(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Stop pysqlite from issuing BEGIN itself; our "begin" listener does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            _switch_to_wal(cursor)
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode = WAL``, waiting out other connections as the busy timeout would.

    Switching a database to WAL takes an exclusive lock, and SQLite answers "database is
    locked" at once, without calling the busy handler, when waiting could deadlock: several
    processes opening a new database together (four Airflow workers on a fresh state DB) hold
    shared locks and each asks for the exclusive one. One of them wins; the others retry here
    and then find the database in WAL already, which needs no exclusive lock. The mode is
    stored in the file, so only the first opening of a database ever waits.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _install_liveness_check(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it may be dead.

    What kills a pooled connection, and how it shows without a round trip:
    - the server ended it (restart, ``pg_terminate_backend`` / ``KILL``, ``idle_session_timeout``
      or ``wait_timeout``, a proxy's reset): the server's goodbye (an error message, FIN or RST)
      is waiting on the socket, which an idle connection otherwise never has;
    - a firewall or load balancer dropped the idle flow silently: nothing shows, but that takes
      minutes of idleness, so a connection idle ``IDLE_PING_SECONDS`` or more is pinged anyway.
    Either way the ping is SQLAlchemy's own (``dialect.do_ping``), and a failed one makes the
    pool reconnect, as ``pool_pre_ping`` does. A connection back-to-back evaluations reuse is
    not pinged. Whatever slips through (a connection dying between this check and its first
    statement) fails that statement; ``StateStore`` retries an evaluation whose connection dies
    before its lock is taken, since nothing was done yet.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None:
            return  # connected just now (the pool clears ``info`` on every reconnect)
        idle = time.monotonic() - idle_since
        if idle < IDLE_PING_SECONDS and not _has_pending_input(dbapi_connection):
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # Like pool_pre_ping: reconnect, and recycle every connection as old as this one.
            raise InvalidatePoolError("pooled state database connection is gone; reconnecting")


def _has_pending_input(dbapi_connection: Any) -> bool:
    """Whether the socket of an idle connection has something to read (or cannot be checked).

    Idle, a healthy connection has nothing to read (no LISTEN, no query in flight), so
    anything there is most likely the server's goodbye; a parameter change the server
    announces on its own (PostgreSQL, after a configuration reload) only costs a ping.
    """
    try:
        poller = select.poll()  # not select.select: descriptors above 1024 are fine
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
    except Exception:  # no poll() on this platform, a driver without fileno(), a closed handle
        return True  # cannot tell: ping
    return bool(poller.poll(0))


def _install_mysql_lock_wait_timeout(engine: Engine) -> None:
    # A session variable: set once per connection, not once per transaction (a round trip).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SET SESSION innodb_lock_wait_timeout = {LOCK_WAIT_SECONDS}")
        finally:
            cursor.close()


def is_retryable(exc: BaseException) -> bool:
    """True for deadlocks, serialisation failures and lock timeouts: retry the transaction."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    pgcode = getattr(orig, "pgcode", None)
    if pgcode is not None:
        return pgcode in _PG_RETRYABLE
    if isinstance(orig, sqlite3.OperationalError):
        text = str(orig).lower()
        return "database is locked" in text or "database is busy" in text
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and type(orig).__module__.startswith("MySQLdb"):
        return args[0] in _MYSQL_RETRYABLE
    return False


def _first_line(exc: BaseException) -> str:
    """The driver's first line, redacted (a driver may quote a DSN or a key=value pair)."""
    orig = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    return redact_text(one_line(str(orig))) or orig.__class__.__name__


def store_error(exc: SQLAlchemyError, display_url: str, doing: str) -> StateStoreError:
    """A StateStoreError that says which database, what failed, and what to do.

    Only the driver's first line is kept: SQLAlchemy's full text carries the statement
    parameters, which do not belong in logs or CLI output.
    """
    if isinstance(exc, OperationalError) and is_retryable(exc):
        hint = "another process held the lock too long; retry, and check for stuck workers"
    elif isinstance(exc, OperationalError):
        hint = "check that the state database is running, reachable and writable by this user"
    elif isinstance(exc, IntegrityError):
        hint = "a row with this key already exists"
    elif isinstance(exc, DBAPIError):
        hint = "the state schema may have been changed by hand; compare with `sqlsentinel` docs"
    else:
        hint = "a value could not be stored"
    return StateStoreError(
        f"state database {display_url}: {doing} failed: {_first_line(exc)} ({hint})"
    )


@contextmanager
def translating_errors(display_url: str, doing: str) -> Iterator[None]:
    """Turn SQLAlchemy errors raised inside the block into :class:`StateStoreError`."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise store_error(exc, display_url, doing) from exc
