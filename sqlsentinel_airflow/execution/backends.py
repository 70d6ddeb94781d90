"""Per-backend guarantees for one alert query: read-only, a database-side timeout, cancel.

Two words, two meanings, in the whole package: the **backend** is the database a query
executes on, as its driver reports it (``postgresql``, ``mysql``, ``mariadb``, ``sqlite``,
or a conn_type for plain DB-API; ``DbSession.backend``); the **SQL dialect** is the sqlglot
dialect the query text is checked in (``postgres``, ``mysql``, ``sqlite``;
``DbSession.sql_dialect``, ``AlertConfig.dialect``, ``core/config/sqlcheck``). A backend
reads one SQL dialect; a SQL dialect serves several backends (MySQL and MariaDB).

An alert query must not write and must not run forever (docs/security.md). Airflow's
DbApiHook offers neither, and ``execution_timeout`` (SIGALRM) may not interrupt a blocking
C driver call, so each supported driver gets a session that, on a fresh DB-API connection:

- opens a read-only transaction and sets the statement timeout in the database session;
- makes a second statement in the text impossible below any parser: PostgreSQL receives it
  through the extended query protocol, which refuses several commands (a psycopg2 connection
  is probed with libpq's ``PQprepare`` first); MySQL and MariaDB get the multi-statements
  option switched off on the connection; SQLite's ``execute`` runs one statement, and an
  authorizer denies everything but reading (``ATTACH`` creates files even under
  ``query_only``);
- pins the lexical settings the SQL check assumes (PostgreSQL ``standard_conforming_strings``;
  MySQL without ``ANSI_QUOTES`` and ``NO_BACKSLASH_ESCAPES``), so the check and the server
  read strings and comments alike;
- reads the login's privileges for ``privileges.ensure_least_privilege``;
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

from sqlsentinel_airflow.core.config.sqlcheck import dialect_for_conn_type
from sqlsentinel_airflow.core.config.sqlfunctions import refused_function
from sqlsentinel_airflow.core.redact import one_line
from sqlsentinel_airflow.execution import sqlite_printf

__all__ = ["DbSession", "ErrorKind", "open_session"]

log = logging.getLogger(__name__)


class ErrorKind(enum.Enum):
    """What a driver exception means for the alert."""

    TIMEOUT = "timeout"  # the database stopped the statement at the statement timeout
    INTERRUPTED = "interrupted"  # stopped by a cancel / KILL QUERY / interrupt()
    READ_ONLY = "read_only"  # the statement tried to write in the read-only transaction
    DENIED = "denied"  # the session's guard (SQLite's authorizer) refused to prepare it
    OTHER = "other"  # syntax error, missing table, lost connection...


class DbSession:
    """One query's life on one connection. The base class is the unguarded DB-API path."""

    backend = "dbapi"
    #: the SQL dialect the database reads (the SQL check runs in it); None: unknown.
    sql_dialect: str | None = None
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

    def execute(self, cursor: Any, sql: str) -> None:
        """Send the alert statement; a session that can refuse a second statement does so."""
        cursor.execute(sql)

    def login_name(self) -> str:
        return "?"

    def privilege_findings(self) -> list[str]:
        """What the login may do beyond reading (see ``privileges``); [] where unknown."""
        return []

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

    def __init__(
        self, conn: Any, timeout: timedelta, conn_type: str, sql_dialect: str | None = None
    ) -> None:
        super().__init__(conn, timeout)
        self.backend = conn_type or type(conn).__module__.split(".")[0]
        self.sql_dialect = sql_dialect

    def prepare(self) -> None:
        log.warning(
            "conn type '%s' (driver %s): SQL Sentinel cannot enforce the statement timeout, "
            "a read-only transaction, a single statement or least privilege for it; the query "
            "runs with the connection's own settings and the login's own rights",
            self.backend,
            type(self.conn).__module__.split(".")[0],
        )


class PostgresSession(DbSession):
    """psycopg 3 or psycopg2: READ ONLY transaction, statement_timeout, server-side cursor,
    one statement through the extended query protocol."""

    backend = "postgresql"
    sql_dialect = "postgres"

    def __init__(self, conn: Any, timeout: timedelta, *, psycopg2: bool) -> None:
        super().__init__(conn, timeout)
        self.psycopg2 = psycopg2
        self.describes_after_fetch = psycopg2
        self._login = "?"

    def prepare(self) -> None:
        timeout_ms = min(max(1, round(self.timeout.total_seconds() * 1000)), _PG_MAX_TIMEOUT_MS)
        self.conn.autocommit = False  # the driver opens the transaction before the first SET
        cur = self.conn.cursor()
        try:
            # Our own text, so one round trip for all four. Session-wide as well: the
            # connection serves this one query and is closed. standard_conforming_strings
            # makes '\' an ordinary character, as the SQL check reads it.
            cur.execute(
                "SET TRANSACTION READ ONLY;"
                " SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;"
                f" SET statement_timeout = {timeout_ms};"
                " SET standard_conforming_strings = on"
            )
        finally:
            cur.close()

    def execute(self, cursor: Any, sql: str) -> None:
        # psycopg 3 declares a server-side cursor through the extended protocol, which the
        # server refuses for several commands. psycopg2 sends DECLARE as a simple query, which
        # runs every statement in the text: the server is asked to prepare the text alone
        # first (the unnamed statement, parsed, never executed), which it refuses likewise.
        if self.psycopg2:
            _probe_one_statement_psycopg2(self.conn, sql)
        cursor.execute(sql)

    def login_name(self) -> str:
        return self._login

    def privilege_findings(self) -> list[str]:
        from sqlsentinel_airflow.execution.privileges import postgres_findings

        cur = self.conn.cursor()
        try:
            self._login, findings = postgres_findings(cur)
            return findings
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


#: PostgreSQL's statement_timeout is an int of milliseconds (about 24.8 days at most).
_PG_MAX_TIMEOUT_MS = 2_147_483_647


class _PQ:
    """libpq's PQprepare, reached through psycopg2's own copy of libpq (ctypes)."""

    _functions: Any = None

    @classmethod
    def functions(cls) -> Any:
        if cls._functions is None:
            import ctypes

            import psycopg2._psycopg as binding

            lib = ctypes.CDLL(binding.__file__)  # its libpq is resolved through it
            lib.PQprepare.restype = ctypes.c_void_p
            lib.PQprepare.argtypes = [
                ctypes.c_void_p,
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.c_void_p,
            ]
            lib.PQresultStatus.argtypes = [ctypes.c_void_p]
            lib.PQresultErrorField.argtypes = [ctypes.c_void_p, ctypes.c_int]
            lib.PQresultErrorField.restype = ctypes.c_char_p
            lib.PQclear.argtypes = [ctypes.c_void_p]
            cls._functions = lib
        return cls._functions


_PGRES_COMMAND_OK = 1
_PG_DIAG_SQLSTATE = ord("C")
_PG_DIAG_MESSAGE_PRIMARY = ord("M")


class OneStatementRefused(Exception):
    """The server refused to prepare the text: ``several`` statements, or another error
    (a missing table...) that the statement itself would have raised."""

    def __init__(self, message: str, sqlstate: str | None, *, several: bool = False) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.several = several


def _probe_one_statement_psycopg2(conn: Any, sql: str) -> None:
    """Ask the server to prepare ``sql`` as the unnamed statement (parse only, no execution);
    raise OneStatementRefused with the server's message if it refuses."""
    try:
        lib = _PQ.functions()
    except (ImportError, OSError, AttributeError) as exc:
        raise OneStatementRefused(
            "SQL Sentinel cannot enforce a single statement on this psycopg2 build "
            f"({exc}); install psycopg (version 3), which the postgres provider then uses",
            None,
            several=True,
        ) from None
    import psycopg2.extensions

    codec = psycopg2.extensions.encodings.get(conn.encoding, "utf-8")
    result = lib.PQprepare(conn.pgconn_ptr, b"", sql.encode(codec), 0, None)
    try:
        if lib.PQresultStatus(result) == _PGRES_COMMAND_OK:
            return
        state = lib.PQresultErrorField(result, _PG_DIAG_SQLSTATE)
        raw = lib.PQresultErrorField(result, _PG_DIAG_MESSAGE_PRIMARY)
        message = (raw or b"the server refused to prepare the statement").decode(errors="replace")
        raise OneStatementRefused(
            message,
            state.decode() if state else None,
            several="multiple commands" in message,
        )
    finally:
        lib.PQclear(result)


# MySQL / MariaDB error numbers.
_ER_QUERY_INTERRUPTED = 1317  # KILL QUERY
_ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION = 1792
_ER_STATEMENT_TIMEOUT = 1969  # MariaDB max_statement_time
_ER_QUERY_TIMEOUT = 3024  # MySQL max_execution_time


class MySqlSession(DbSession):
    """mysqlclient or mysql-connector-python against MariaDB or MySQL."""

    sql_dialect = "mysql"

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
        self._login = "?"

    def prepare(self) -> None:
        self._multi_statements_off()
        seconds = self.timeout.total_seconds()
        if self.backend == "mariadb":
            timeout = f"max_statement_time = {seconds:.3f}"
        else:
            timeout = f"max_execution_time = {max(1, round(seconds * 1000))}"
        cur = self.conn.cursor()
        try:
            # The lexical modes the SQL check assumes: with ANSI_QUOTES "..." is a name, with
            # NO_BACKSLASH_ESCAPES '\' ends a string; either would let the server read as code
            # what the check read as a string. ORACLE mode switches to another parser.
            cur.execute(f"SET SESSION {timeout}, SESSION sql_mode = {_MYSQL_LEXICAL_MODE}")
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            cur.execute("START TRANSACTION READ ONLY")
        finally:
            cur.close()

    def _multi_statements_off(self) -> None:
        """COM_SET_OPTION: the server then refuses a text with a second statement (1064).

        A protocol command, not SQL: nothing in the query text can turn it back on.
        """
        if self.mysqlclient:
            self.conn.set_server_option(_MYSQL_OPTION_MULTI_STATEMENTS_OFF)
            return
        send = getattr(self.conn, "_send_cmd", None)  # mysql-connector-python, pure Python
        if not callable(send):
            raise RuntimeError(
                "SQL Sentinel cannot switch off multiple statements on this mysql-connector "
                "connection (its C extension); use mysqlclient, the mysql provider's default "
                "client (remove `client` from the connection's extra)"
            )
        from mysql.connector.constants import ServerCmd

        send(ServerCmd.SET_OPTION, _MYSQL_OPTION_MULTI_STATEMENTS_OFF.to_bytes(2, "little"))

    def login_name(self) -> str:
        return self._login

    def privilege_findings(self) -> list[str]:
        from sqlsentinel_airflow.execution.privileges import mysql_findings

        cur = self.conn.cursor()
        try:
            self._login, findings = mysql_findings(cur)
            return findings
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


_MYSQL_OPTION_MULTI_STATEMENTS_OFF = 1
# sql_mode flags that change how text is read: ANSI_QUOTES, NO_BACKSLASH_ESCAPES, and the
# combination modes, which bring ANSI_QUOTES back when the list is set again (ORACLE mode
# also switches to another parser). Dropped from the session's mode; the rest is kept.
_MYSQL_LEXICAL_FLAGS = (
    "ANSI_QUOTES",
    "NO_BACKSLASH_ESCAPES",
    "ANSI",
    "DB2",
    "MAXDB",
    "MSSQL",
    "ORACLE",
    "POSTGRESQL",
)
_MYSQL_LEXICAL_MODE = "CONCAT(',', @@SESSION.sql_mode, ',')"
for _flag in _MYSQL_LEXICAL_FLAGS:
    _MYSQL_LEXICAL_MODE = f"REPLACE({_MYSQL_LEXICAL_MODE}, ',{_flag},', ',')"
_MYSQL_LEXICAL_MODE = f"TRIM(BOTH ',' FROM {_MYSQL_LEXICAL_MODE})"

# Progress handler granularity: SQLite virtual machine instructions between clock checks.
_SQLITE_PROGRESS_STEPS = 1000

# What an alert statement may do: read tables, call functions, recurse. The authorizer denies
# everything else at prepare time (a write, ATTACH, which creates a file even under
# query_only, PRAGMA, BEGIN, SAVEPOINT, VACUUM INTO ...), so no such statement runs and the
# connection stays as it was for the next query.
_SQLITE_READ_ACTIONS = frozenset(
    {sqlite3.SQLITE_READ, sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE}
)
# Pragmas that only describe the schema, as table-valued functions (pragma_table_info('t')).
_SQLITE_READ_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_info",
        "index_xinfo",
        "index_list",
        "foreign_key_list",
        "collation_list",
        "function_list",
        "module_list",
        "pragma_list",
        "database_list",
        "compile_options",
    }
)
# SQLite reports an eponymous virtual table's (json_each, pragma_*) set-up as an UPDATE of
# the schema table; query_only still refuses any real write to it.
_SQLITE_SCHEMA_TABLES = frozenset(
    {"sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"}
)
#: The longest string or blob a query may make (randomblob(2e9) would allocate 2 GB).
SQLITE_MAX_VALUE_BYTES = 32 * 1024 * 1024


def _allow_everything(*_: object) -> int:
    return sqlite3.SQLITE_OK


class SqliteSession(DbSession):
    """sqlite3: ``PRAGMA query_only``, an authorizer that allows only reading, a progress
    handler as the timeout, ``interrupt()``, and a cap on the size of any value.

    The authorizer is the database-side guard: whatever the SQL check accepted, SQLite itself
    refuses to prepare a statement that would write, attach a file, change a pragma, open a
    transaction or call a refused function (``load_extension``...), with "not authorized".

    With ``reuse`` the connection may serve the next query (``reusing_connections``): it is
    kept only if nothing was denied, the query ran to the end, its cursor is closed and the
    rollback left no transaction open. The next query sets ``query_only``, the authorizer,
    its own timeout and progress handler again, as on a fresh connection.
    """

    backend = "sqlite"
    sql_dialect = "sqlite"

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
        self._printf: sqlite_printf.BoundedPrintf | None = None

    def prepare(self) -> None:
        self.conn.set_authorizer(_allow_everything)  # a reused connection has the last one's
        self.conn.execute("PRAGMA query_only = ON")
        setlimit = getattr(self.conn, "setlimit", None)  # Python 3.11+
        if setlimit is not None:
            setlimit(sqlite3.SQLITE_LIMIT_LENGTH, SQLITE_MAX_VALUE_BYTES)
        # printf('%.*c', 2e9, 'x') loops in C past the cap, where no interrupt reaches
        self._printf = sqlite_printf.install(self.conn, SQLITE_MAX_VALUE_BYTES)
        self._deadline = time.monotonic() + self.timeout.total_seconds()
        self.conn.set_progress_handler(self._progress, _SQLITE_PROGRESS_STEPS)
        self.conn.set_authorizer(self._authorize)

    def _authorize(self, action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
        if action in _SQLITE_READ_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if refused_function((arg2 or "").lower(), "sqlite") is None:
                return sqlite3.SQLITE_OK
        elif action == sqlite3.SQLITE_PRAGMA:
            if (arg1 or "").lower() in _SQLITE_READ_PRAGMAS:
                return sqlite3.SQLITE_OK
        elif action == sqlite3.SQLITE_UPDATE and (arg1 or "").lower() in _SQLITE_SCHEMA_TABLES:
            return sqlite3.SQLITE_OK
        self._stateless = False
        return sqlite3.SQLITE_DENY

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
                # The authorizer stays (it only allows reading); the next prepare() replaces
                # it, and set_authorizer(None) only clears it from Python 3.11 on.
                self.conn.set_progress_handler(None, 0)
                keep = not self.conn.in_transaction
        except Exception:
            keep = False
        if self._printf is not None:
            self._printf.close()  # its in-memory connection; a kept connection reopens one
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
        if name == "SQLITE_AUTH" or text.startswith(("not authorized", "authorization denied")):
            return ErrorKind.DENIED
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
    return GenericSession(conn, timeout, conn_type, dialect_for_conn_type(conn_type))
