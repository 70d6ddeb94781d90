"""Per-driver guarantees for one alert query: read-only, a database-side timeout, cancel.

An alert query must not write and must not run forever (PRODUCT section 6). Airflow's
DbApiHook offers neither, and ``execution_timeout`` (SIGALRM) may not interrupt a blocking
C driver call, so each supported driver gets a session that, on a fresh DB-API connection:

- opens a read-only transaction and sets the statement timeout in the database session;
- opens a cursor that streams rows, so fetching ``max_rows + 1`` never transfers the rest
  (a PostgreSQL server-side cursor, a MySQL unbuffered cursor, SQLite's lazy stepping);
- cancels the running statement from another thread (the operator's ``on_kill``);
- says whether a driver exception was a timeout, an interruption or a write attempt.

The driver is recognised from the connection object's module, not the conn_type, so a
custom hook handing out a psycopg or mysqlclient connection gets the same guarantees.
Anything else runs as plain DB-API with one warning that nothing is enforced.
"""

from __future__ import annotations

import enum
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from typing import Any

from sqlsentinel_airflow.execution.connections import one_line

__all__ = ["DbSession", "ErrorKind", "open_session"]

log = logging.getLogger(__name__)


class ErrorKind(enum.Enum):
    """What a driver exception means for the alert."""

    TIMEOUT = "timeout"  # the database stopped the statement at the statement timeout
    INTERRUPTED = "interrupted"  # stopped by a cancel / KILL QUERY / interrupt()
    READ_ONLY = "read_only"  # the statement tried to write in the read-only transaction
    OTHER = "other"  # syntax error, missing table, lost connection...


class DbSession:
    """One query's life on one connection. The base class is the unguarded DB-API path."""

    backend = "dbapi"
    #: psycopg2 named cursors describe their columns only after the first fetch.
    describes_after_fetch = False

    def __init__(self, conn: Any, timeout: timedelta) -> None:
        self.conn = conn
        self.timeout = timeout
        #: set by the runner's watchdog before it calls :meth:`cancel`.
        self.stopped_by_watchdog = False
        # Read now: mysqlclient refuses any call while another thread runs a statement.
        self._fileno: int | None = None
        fileno = getattr(conn, "fileno", None)
        if callable(fileno):
            with suppress(Exception):
                self._fileno = int(fileno())

    def prepare(self) -> None:
        """Put the connection into the read-only, time-limited state."""

    def cursor(self) -> Any:
        return self.conn.cursor()

    def cancel(self) -> None:
        """Stop the running statement; called from another thread."""
        cancel = getattr(self.conn, "cancel", None)
        if callable(cancel):
            cancel()

    def abort(self) -> None:
        """Break the connection under a statement that outlived :meth:`cancel` (a dead network
        carries neither the answer nor the cancel request): shutting the socket down makes the
        blocked driver call return with an error. Called with the runner's lock held, so the
        connection is still open; a driver without ``fileno()`` (sqlite3) is left alone."""
        if self._fileno is None:
            return
        with suppress(OSError), socket.socket(fileno=os.dup(self._fileno)) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    def classify(self, exc: BaseException) -> ErrorKind:
        return ErrorKind.OTHER

    def db_message(self, exc: BaseException) -> str:
        return one_line(str(exc)) or type(exc).__name__

    def swallowed_interrupt(self, elapsed_s: float) -> bool:
        """True if a statement that 'succeeded' was in fact stopped at the timeout."""
        return False

    def finish(self, *, result_pending: bool, keep_open: bool = False) -> bool:
        """End the transaction (never commit) and close the connection, whatever happens.

        With ``keep_open`` (the query ran cleanly and the caller could reuse the connection)
        a session that can prove the connection is as it found it leaves it open and returns
        True; this one never does.
        """
        with suppress(Exception):
            self.conn.rollback()
        self.close()
        return False

    def close(self) -> None:
        with suppress(Exception):
            self.conn.close()


class GenericSession(DbSession):
    """A driver we do not know: plain DB-API, timeout and read-only not enforced."""

    def __init__(self, conn: Any, timeout: timedelta, conn_type: str) -> None:
        super().__init__(conn, timeout)
        self.backend = conn_type or type(conn).__module__.split(".")[0]

    def prepare(self) -> None:
        log.warning(
            "conn type '%s' (driver %s): SQL Sentinel cannot enforce the statement timeout "
            "or a read-only transaction for it; the query runs with the connection's own "
            "settings",
            self.backend,
            type(self.conn).__module__.split(".")[0],
        )


class PostgresSession(DbSession):
    """psycopg 3 or psycopg2: READ ONLY transaction, statement_timeout, server-side cursor."""

    backend = "postgresql"

    def __init__(self, conn: Any, timeout: timedelta, *, psycopg2: bool) -> None:
        super().__init__(conn, timeout)
        self.psycopg2 = psycopg2
        self.describes_after_fetch = psycopg2

    def prepare(self) -> None:
        timeout_ms = max(1, round(self.timeout.total_seconds() * 1000))
        self.conn.autocommit = False  # the driver opens the transaction before the first SET
        cur = self.conn.cursor()
        try:
            cur.execute("SET TRANSACTION READ ONLY")
            # Session-wide as well: if the text sneaks in a COMMIT, what follows is still
            # read-only and still timed. The connection is closed after this one query.
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cur.execute(f"SET statement_timeout = {timeout_ms}")
        finally:
            cur.close()

    def cursor(self) -> Any:
        name = f"sqlsentinel_{uuid.uuid4().hex}"
        if self.psycopg2:
            import psycopg2.extensions

            return self.conn.cursor(name=name, cursor_factory=psycopg2.extensions.cursor)
        from psycopg.rows import tuple_row

        return self.conn.cursor(name=name, row_factory=tuple_row)

    def cancel(self) -> None:
        cancel_safe = getattr(self.conn, "cancel_safe", None)  # psycopg >= 3.2
        if callable(cancel_safe):
            cancel_safe()
        else:
            self.conn.cancel()

    def classify(self, exc: BaseException) -> ErrorKind:
        sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if sqlstate == "57014":  # query_canceled: statement timeout or cancel request
            if "statement timeout" in str(exc):
                return ErrorKind.TIMEOUT
            return ErrorKind.INTERRUPTED
        if sqlstate == "25006":  # read_only_sql_transaction
            return ErrorKind.READ_ONLY
        return ErrorKind.OTHER

    def db_message(self, exc: BaseException) -> str:
        diag = getattr(exc, "diag", None)
        primary = getattr(diag, "message_primary", None)
        return str(primary) if primary else super().db_message(exc)


# MySQL / MariaDB error numbers.
_ER_QUERY_INTERRUPTED = 1317  # KILL QUERY
_ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION = 1792
_ER_STATEMENT_TIMEOUT = 1969  # MariaDB max_statement_time
_ER_QUERY_TIMEOUT = 3024  # MySQL max_execution_time


class MySqlSession(DbSession):
    """mysqlclient or mysql-connector-python against MariaDB or MySQL."""

    def __init__(self, conn: Any, timeout: timedelta, connect: Callable[[], Any]) -> None:
        super().__init__(conn, timeout)
        self._connect = connect
        self.mysqlclient = type(conn).__module__.split(".")[0] == "MySQLdb"
        if self.mysqlclient:
            thread_id, info = conn.thread_id(), conn.get_server_info()
        else:  # mysql-connector-python
            thread_id, info = conn.connection_id, conn.server_info
        self.thread_id = int(thread_id)
        self.backend = "mariadb" if "mariadb" in str(info).lower() else "mysql"

    def prepare(self) -> None:
        seconds = self.timeout.total_seconds()
        cur = self.conn.cursor()
        try:
            if self.backend == "mariadb":
                cur.execute(f"SET SESSION max_statement_time = {seconds:.3f}")
            else:
                cur.execute(f"SET SESSION max_execution_time = {max(1, round(seconds * 1000))}")
            # Session-wide too: mysqlclient allows several statements in one text, and a
            # COMMIT in it would otherwise end the read-only transaction.
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            cur.execute("START TRANSACTION READ ONLY")
        finally:
            cur.close()

    def cursor(self) -> Any:
        if self.mysqlclient:
            import MySQLdb.cursors

            return self.conn.cursor(MySQLdb.cursors.SSCursor)
        return self.conn.cursor(buffered=False, dictionary=False)

    def cancel(self) -> None:
        killer = self._connect()
        try:
            cur = killer.cursor()
            cur.execute(f"KILL QUERY {self.thread_id}")
            cur.close()
        finally:
            killer.close()

    @staticmethod
    def _errno(exc: BaseException) -> int | None:
        errno = getattr(exc, "errno", None)
        if isinstance(errno, int):
            return errno
        args: tuple[Any, ...] = exc.args
        return args[0] if args and isinstance(args[0], int) else None

    def classify(self, exc: BaseException) -> ErrorKind:
        errno = self._errno(exc)
        if errno in (_ER_STATEMENT_TIMEOUT, _ER_QUERY_TIMEOUT):
            return ErrorKind.TIMEOUT
        if errno == _ER_QUERY_INTERRUPTED:
            return ErrorKind.INTERRUPTED
        if errno == _ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION:
            return ErrorKind.READ_ONLY
        return ErrorKind.OTHER

    def db_message(self, exc: BaseException) -> str:
        msg = getattr(exc, "msg", None)
        if isinstance(msg, str) and msg:
            return one_line(msg)
        args: tuple[Any, ...] = exc.args
        if len(args) >= 2 and isinstance(args[1], str):
            return one_line(args[1])
        return super().db_message(exc)

    def swallowed_interrupt(self, elapsed_s: float) -> bool:
        # A SLEEP() stopped by the statement timeout or KILL QUERY returns 1 on some servers
        # instead of raising. Any statement still running at the timeout was stopped.
        return elapsed_s >= self.timeout.total_seconds()

    def finish(self, *, result_pending: bool, keep_open: bool = False) -> bool:
        # Unread rows of an unbuffered result would be read to the end by a rollback;
        # closing the socket ends the statement and the transaction at once.
        if not result_pending:
            with suppress(Exception):
                self.conn.rollback()
        self.close()
        return False


# Progress handler granularity: SQLite virtual machine instructions between clock checks.
_SQLITE_PROGRESS_STEPS = 1000

# What a statement may do and leave the connection as it was: read tables, call functions,
# recurse. Anything else (PRAGMA, ATTACH, BEGIN, SAVEPOINT, a write, a table-valued pragma)
# may have changed the connection's state for the next query, so it is not reused.
_SQLITE_STATELESS_ACTIONS = frozenset(
    {sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
)


class SqliteSession(DbSession):
    """sqlite3: ``PRAGMA query_only``, a progress handler as the timeout, ``interrupt()``.

    With ``reuse`` the connection may serve the next query (``reusing_connections``): an
    authorizer, which allows everything, notes whether the statement did anything but read
    (a PRAGMA could turn ``query_only`` off or change how later queries compare text); the
    connection is kept only if it did not, the query ran to the end, its cursor is closed
    and the rollback left no transaction open. The next query sets ``query_only``, its own
    timeout and progress handler again, as on a fresh connection.
    """

    backend = "sqlite"

    def __init__(
        self, conn: sqlite3.Connection, timeout: timedelta, *, reuse: bool = False
    ) -> None:
        super().__init__(conn, timeout)
        self._deadline = time.monotonic() + timeout.total_seconds()
        self._cancel_requested = threading.Event()
        self.deadline_passed = False
        self._reuse = reuse
        self._stateless = True
        self._cursor: sqlite3.Cursor | None = None

    def prepare(self) -> None:
        self.conn.execute("PRAGMA query_only = ON")
        self._deadline = time.monotonic() + self.timeout.total_seconds()
        self.conn.set_progress_handler(self._progress, _SQLITE_PROGRESS_STEPS)
        if self._reuse:
            self.conn.set_authorizer(self._authorize)

    def _authorize(self, action: int, *_: object) -> int:
        if action not in _SQLITE_STATELESS_ACTIONS:
            self._stateless = False
        return sqlite3.SQLITE_OK

    def cursor(self) -> Any:
        self._cursor = self.conn.cursor()
        return self._cursor

    def finish(self, *, result_pending: bool, keep_open: bool = False) -> bool:
        keep = (
            keep_open
            and self._reuse
            and self._stateless
            and not self.deadline_passed
            and not self._cancel_requested.is_set()
        )
        try:
            if self._cursor is not None:
                self._cursor.close()  # resets a statement with unread rows: no read lock held
            self.conn.rollback()
            if keep:
                # The authorizer stays: it allows everything, the next prepare() replaces it,
                # and set_authorizer(None) only clears it from Python 3.11 on.
                self.conn.set_progress_handler(None, 0)
                keep = not self.conn.in_transaction
        except Exception:
            keep = False
        if not keep:
            self.close()
        return keep

    def _progress(self) -> int:
        if self._cancel_requested.is_set():
            return 1
        if time.monotonic() >= self._deadline:
            self.deadline_passed = True
            return 1
        return 0

    def cancel(self) -> None:
        self._cancel_requested.set()
        self.conn.interrupt()

    def classify(self, exc: BaseException) -> ErrorKind:
        name = getattr(exc, "sqlite_errorname", "")
        text = str(exc).lower()
        if name == "SQLITE_INTERRUPT" or text == "interrupted":
            return ErrorKind.TIMEOUT if self.deadline_passed else ErrorKind.INTERRUPTED
        if name.startswith("SQLITE_READONLY") or "readonly database" in text:
            return ErrorKind.READ_ONLY
        return ErrorKind.OTHER


def open_session(
    conn: Any,
    *,
    timeout: timedelta,
    connect: Callable[[], Any],
    conn_type: str,
    reuse: bool = False,
) -> DbSession:
    """The session for ``conn``'s driver; ``connect`` opens a second connection (KILL QUERY).

    ``reuse``: the caller may keep the connection for another query if :meth:`DbSession.finish`
    says it can (SQLite only).
    """
    driver = type(conn).__module__.split(".")[0]
    if driver == "psycopg":
        return PostgresSession(conn, timeout, psycopg2=False)
    if driver == "psycopg2":
        return PostgresSession(conn, timeout, psycopg2=True)
    if driver in ("MySQLdb", "mysql"):
        return MySqlSession(conn, timeout, connect)
    if isinstance(conn, sqlite3.Connection):
        return SqliteSession(conn, timeout, reuse=reuse)
    return GenericSession(conn, timeout, conn_type)
