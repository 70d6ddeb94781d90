"""Run one alert query through a DbApiHook: read-only, time-limited, capped, cancellable.

:class:`QueryRunner` opens a fresh connection from the hook, checks the SQL again in the
dialect of the database it reached unless it was already accepted in that very dialect
(``sqlcheck``: validation may not have known the connection's type), lets the driver's
session (``backends.py``) make it read-only, one statement only, with a database-side
statement timeout, refuses a privileged login (``privileges.py``), fetches at most
``max_rows + 1`` rows (one more than allowed, so the contract check can tell "too many rows"
without reading them all), and always rolls back and closes. A watchdog (``watchdog.py``, one thread for all queries) cancels the statement
if the database has not stopped it a little after the timeout, so a timeout is reported
even when the database's own guard fails; if the statement still runs as long again (a dead
network carries neither the answer nor the cancel), it shuts the connection's socket so the
driver call returns. :meth:`QueryRunner.cancel` may be called from another thread (the
operator's ``on_kill``).

Inside :func:`reusing_connections` (``sqlsentinel run`` over many alerts) a SQLite
connection is kept open for the next query on the same hook instead of being closed, when
the session says it is safe (see ``SqliteSession``): opening one and reading its schema again
cost more than the query. Every query still gets its own read-only, time-limited setup.

A SQLite query runs on a lane (``execution/lane.py``): a thread the caller stops waiting for
when SQLite cannot stop the query, since one SQLite step is out of reach of the interrupt.

Every failure is a :class:`~sqlsentinel_airflow.errors.QueryError` with one line that says
what happened (timeout, cancelled, write attempt, the database's own message) and never a
password or connection URI.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlsentinel_airflow.core.config.sqlcheck import UnsafeQuery, check_query
from sqlsentinel_airflow.core.durations import format_duration
from sqlsentinel_airflow.core.redact import one_line, redact_text
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution.backends import (
    DbSession,
    ErrorKind,
    OneStatementRefused,
    open_session,
)
from sqlsentinel_airflow.execution.connections import describe_hook, hook_secrets
from sqlsentinel_airflow.execution.lane import Lane
from sqlsentinel_airflow.execution.privileges import ensure_least_privilege
from sqlsentinel_airflow.execution.watchdog import watchdog

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

__all__ = ["QueryRows", "QueryRunner", "reusing_connections"]

log = logging.getLogger(__name__)

_CANCELLED = "query was cancelled before it finished"
_CLOSE_WAIT_S = 5.0
# After the watchdog's two grace periods, how long to wait still for a SQLite lane to answer.
_LANE_MARGIN_S = 0.25


@dataclass(frozen=True)
class QueryRows:
    """What one query returned.

    ``rows`` holds at most ``max_rows + 1`` rows; ``truncated`` is True when the query had
    more than ``max_rows`` (the rows beyond ``max_rows + 1`` were never transferred).
    """

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool
    duration_ms: float
    backend: str


def _format_timeout(timeout: timedelta) -> str:
    seconds = timeout.total_seconds()
    if seconds >= 1 and seconds.is_integer():
        return format_duration(timeout)
    return f"{seconds:g}s"


def _watchdog_grace(timeout: timedelta) -> float:
    """How long after the timeout the watchdog waits for the database to act first."""
    return min(max(2.0, timeout.total_seconds() * 0.1), 60.0)


def _as_tuple(row: Any) -> tuple[Any, ...]:
    if isinstance(row, tuple):
        return row
    if isinstance(row, Mapping):
        return tuple(row.values())
    return tuple(row)


_QUERY_KEYWORDS = frozenset({"select", "with", "values", "table"})
_LEADING_NOISE = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.DOTALL)


def _single_select_hint(sql: str, message: str) -> str:
    """A hint when the text is not one SELECT: PostgreSQL's cursor then reports a bare
    'syntax error at or near "INSERT"', which does not say what is wrong."""
    words = _LEADING_NOISE.sub("", sql).split(None, 1)
    leading = words[0].lower() if words else ""
    if leading not in _QUERY_KEYWORDS or "multiple commands" in message:
        return " (an alert query must be a single SELECT statement)"
    return ""


class _IdleConnections:
    """Connections kept open between queries, at most one per hook, on one SQLite lane.

    Keyed by the hook object (``sqlsentinel run`` resolves each connection's hook once), and
    bounded: a caller making a new hook per query must not pile up open files. The
    connections belong to the lane's thread (sqlite3 objects stay on the thread that made
    them); a lane given up on takes its connections with it.
    """

    _MAX_IDLE = 4

    def __init__(self) -> None:
        self._lane: Lane | None = None
        # id(hook) -> (hook, connection): holding the hook keeps its id from being reused.
        self._idle: dict[int, tuple[Any, Any]] = {}

    def lane(self) -> Lane:
        """The lane this block's SQLite queries run on (a new one after an abandoned one)."""
        if self._lane is None or self._lane.abandoned:
            self._lane = Lane()
            self._idle = {}  # the old lane's connections cannot be used from the new one
        return self._lane

    def take(self, hook: Any) -> Any | None:
        if self._lane is None or not self._lane.on_lane():
            return None
        entry = self._idle.pop(id(hook), None)
        return entry[1] if entry is not None else None

    def give_back(self, hook: Any, conn: Any) -> bool:
        """Keep ``conn`` for the next query on ``hook``; False (caller closes it) if not."""
        if self._lane is None or self._lane.abandoned or not self._lane.on_lane():
            return False
        self._idle[id(hook)] = (hook, conn)
        while len(self._idle) > self._MAX_IDLE:
            _, oldest = self._idle.pop(next(iter(self._idle)))
            with suppress(Exception):
                oldest.close()
        return True

    def close_all(self) -> None:
        lane, self._lane = self._lane, None
        idle, self._idle = self._idle, {}
        if lane is None or lane.abandoned:
            return

        def close() -> None:
            for _, conn in idle.values():
                with suppress(Exception):
                    conn.close()

        lane.submit(close).wait(_CLOSE_WAIT_S)
        lane.stop()


_reuse: ContextVar[_IdleConnections | None] = ContextVar("sqlsentinel_reuse", default=None)


@contextmanager
def reusing_connections() -> Iterator[None]:
    """Let the queries run in this block (in this context) share connections where safe.

    For a ``sqlsentinel run`` over many alerts. Only SQLite connections are kept (see
    ``SqliteSession``), and only after a query that ran cleanly; all are closed on exit.
    The block's SQLite queries run on one lane, the thread that owns the kept connections;
    queries outside the block keep one fresh connection per query.
    """
    idle = _IdleConnections()
    token = _reuse.set(idle)
    try:
        yield
    finally:
        _reuse.reset(token)
        idle.close_all()


class QueryRunner:
    """Runs alert queries on connections from ``hook``, one fresh connection per query
    (outside :func:`reusing_connections`).

    ``check_sql`` (the default) refuses a text the read-only check refuses in the live
    database's dialect; False leaves only the database-side guards (tests of those alone).
    ``checked_dialect``: the dialect this exact text was already accepted in (an alert's
    ``dialect`` from validation); the check is not repeated when the live database reads
    that same dialect, so a task does not import the SQL parser again.
    ``allow_privileged``: run even with a privileged login (True), refuse (False), or ask
    ``[sqlsentinel] allow_privileged_conn_ids`` (None, the default).
    """

    def __init__(
        self,
        hook: DbApiHook,
        *,
        timeout: timedelta,
        max_rows: int,
        check_sql: bool = True,
        checked_dialect: str | None = None,
        allow_privileged: bool | None = None,
    ) -> None:
        if timeout <= timedelta(0):
            raise ValueError(f"timeout must be positive, got {timeout}")
        if max_rows < 0:
            raise ValueError(f"max_rows must not be negative, got {max_rows}")
        self._hook = hook
        self.timeout = timeout
        self.max_rows = max_rows
        self.check_sql = check_sql
        self.checked_dialect = checked_dialect
        self.allow_privileged = allow_privileged
        self._label = describe_hook(hook)
        self._lock = threading.Lock()
        self._session: DbSession | None = None
        self._cancelled = False

    # -- cancellation ----------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop the running query (from any thread); later :meth:`run` calls are refused."""
        with self._lock:
            self._cancelled = True
            session = self._session
        if session is not None:
            self._stop(session, why="cancel")

    def _on_deadline(self, session: DbSession) -> None:
        with self._lock:
            if self._session is not session:
                return
            session.stopped_by_watchdog = True
        # The cancel below may itself hang on a dead network: the abort does not wait for it.
        abort = threading.Timer(_watchdog_grace(self.timeout), self._abort, args=(session,))
        abort.daemon = True
        abort.start()
        self._stop(session, why="timeout watchdog")

    def _abort(self, session: DbSession) -> None:
        with self._lock:  # _run_in clears _session under this lock before closing
            if self._session is not session:
                return
            log.warning(
                "the query on %s did not stop after a cancel; closing its connection",
                self._label,
            )
            session.abort()

    def _stop(self, session: DbSession, *, why: str) -> None:
        try:
            session.cancel()
        except Exception as exc:
            log.warning(
                "could not stop the query on %s (%s): %s",
                self._label,
                why,
                self._redact(session.db_message(exc)),
            )

    # -- running ---------------------------------------------------------------------------

    def run(self, sql: str) -> QueryRows:
        """Run ``sql`` and return its columns and up to ``max_rows + 1`` rows.

        Raises QueryError on any failure (timeout, cancel, write attempt, SQL error, no
        connection). The transaction is always rolled back and the connection closed.
        """
        if self._cancelled:
            raise QueryError(_CANCELLED)
        idle = _reuse.get()
        if str(getattr(self._hook, "conn_type", "") or "") == "sqlite":
            return self._run_on_lane(sql, idle)
        return self._run_here(sql, idle)

    def _run_on_lane(self, sql: str, idle: _IdleConnections | None) -> QueryRows:
        """Run on a lane (see ``execution/lane.py``), and stop waiting for a query that
        neither ended nor answered the watchdog's interrupt."""
        lane = idle.lane() if idle is not None else Lane()
        job = lane.submit(lambda: self._run_here(sql, idle))
        grace = _watchdog_grace(self.timeout)
        try:
            finished = job.wait(self.timeout.total_seconds() + 2 * grace + _LANE_MARGIN_S)
        except BaseException:
            # Airflow's task timeout or termination, raised in this thread while it waits
            self._stop_running("interrupted")
            if idle is None:
                lane.stop()  # its thread ends after the query instead of idling on
            raise
        if not finished:
            lane.abandon()
            log.warning(
                "the query on %s did not stop after an interrupt (SQLite checks for one only "
                "between steps, and one function call can take hours); no longer waiting "
                "for it: its thread %s ends when that call returns or this process ends",
                self._label,
                lane.ident,
            )
            raise QueryError(self._abandoned_message())
        if idle is None:
            lane.stop()
        return job.result()

    def _stop_running(self, why: str) -> None:
        with self._lock:
            session = self._session
        if session is not None:
            self._stop(session, why=why)

    def _run_here(self, sql: str, idle: _IdleConnections | None) -> QueryRows:
        conn = idle.take(self._hook) if idle is not None else None
        if conn is None:
            conn = self._connect()
        try:
            session = open_session(
                conn,
                timeout=self.timeout,
                connect=self._hook.get_conn,
                conn_type=str(getattr(self._hook, "conn_type", "") or ""),
                reuse=idle is not None,
            )
        except Exception as exc:
            with suppress(Exception):
                conn.close()
            raise QueryError(
                f"could not start the query on {self._label}: {self._redact(one_line(str(exc)))}"
            ) from None
        if self.check_sql and (
            self.checked_dialect is None or self.checked_dialect != session.sql_dialect
        ):
            try:
                check_query(sql, session.sql_dialect)
            except UnsafeQuery as exc:
                session.close()
                language = f"{session.sql_dialect} SQL" if session.sql_dialect else "SQL"
                raise QueryError(
                    f"query refused before it ran on {self._label} (checked as {language}): "
                    f"{exc.message}"
                ) from None
        with self._lock:
            self._session = session
        deadline = watchdog.schedule(
            self.timeout.total_seconds() + _watchdog_grace(self.timeout),
            lambda: self._on_deadline(session),
            name="sqlsentinel-query-timeout",
        )
        try:
            return self._run_in(session, sql, idle)
        finally:
            watchdog.cancel(deadline)

    def _connect(self) -> Any:
        try:
            return self._hook.get_conn()
        except Exception as exc:
            raise QueryError(
                f"could not connect with {self._label}: {self._redact(one_line(str(exc)))}"
            ) from None

    def _run_in(self, session: DbSession, sql: str, idle: _IdleConnections | None) -> QueryRows:
        result_pending = False
        stop_statement = False
        completed = False
        started = time.monotonic()
        try:
            session.prepare()
            ensure_least_privilege(
                session,
                conn_id=str(self._hook.get_conn_id()),
                key=self._login_key(),
                label=self._label,
                allow=self.allow_privileged,
            )
            if self._cancelled:
                raise QueryError(_CANCELLED)
            cursor = session.cursor()
            started = time.monotonic()
            session.execute(cursor, sql)
            if cursor.description is None and not session.describes_after_fetch:
                raise QueryError(self._no_result_set(session))
            fetched = cursor.fetchmany(self.max_rows + 1)
            description: Sequence[Sequence[Any]] | None = cursor.description
            if description is None:
                raise QueryError(self._no_result_set(session))
            elapsed_s = time.monotonic() - started
            rows = [_as_tuple(row) for row in fetched]
            truncated = len(rows) > self.max_rows
            result_pending = truncated
            completed = True
        except QueryError:
            raise
        except Exception as exc:
            raise self._translate(session, sql, exc) from exc
        except BaseException:
            # AirflowTaskTimeout / AirflowTaskTerminated (BaseException) raised inside a
            # driver call: stop the statement server-side, let Airflow see the signal.
            stop_statement = True
            raise
        finally:
            if stop_statement:
                self._stop(session, why="interrupted")
            with self._lock:  # from here on, cancel() and the watchdog leave it alone
                self._session = None
                # A cancel or the watchdog may have reached the connection: never reuse it.
                keep = (
                    idle is not None
                    and completed
                    and not self._cancelled
                    and not session.stopped_by_watchdog
                )
            if session.finish(result_pending=result_pending, keep_open=keep):
                assert idle is not None
                if not idle.give_back(self._hook, session.conn):
                    session.close()
        if self._cancelled:
            raise QueryError(_CANCELLED)
        if session.stopped_by_watchdog:
            raise QueryError(self._watchdog_message())
        if session.swallowed_interrupt(elapsed_s):
            raise QueryError(self._timeout_message())
        result = QueryRows(
            columns=tuple(str(column[0]) for column in description),
            rows=rows,
            truncated=truncated,
            duration_ms=elapsed_s * 1000.0,
            backend=session.backend,
        )
        log.info(
            "query on %s (%s) returned %d row(s)%s in %.1f ms",
            self._label,
            session.backend,
            len(rows),
            " (more were not fetched)" if truncated else "",
            result.duration_ms,
        )
        return result

    def _login_key(self) -> tuple[str, ...]:
        """Where and as whom the hook logs in (no password): the privilege check's cache key."""
        try:
            c = self._hook.connection
            return (str(c.conn_type), str(c.host), str(c.port), str(c.schema), str(c.login))
        except Exception:
            return (str(id(self._hook)),)

    # -- messages --------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact_text(text, hook_secrets(self._hook))

    def _timeout_message(self) -> str:
        return (
            f"query exceeded timeout {_format_timeout(self.timeout)} "
            "and was stopped by the database"
        )

    def _watchdog_message(self) -> str:
        return (
            f"query exceeded timeout {_format_timeout(self.timeout)}; the database did not "
            "stop it, so SQL Sentinel cancelled it"
        )

    def _abandoned_message(self) -> str:
        return (
            f"query exceeded timeout {_format_timeout(self.timeout)}; SQLite did not stop it "
            "(one function call on a long value cannot be interrupted), so SQL Sentinel "
            "stopped waiting for it"
        )

    def _no_result_set(self, session: DbSession) -> str:
        return (
            f"query on {self._label} ({session.backend}) returned no result set; "
            "an alert query must be a SELECT that returns a status column"
        )

    def _translate(self, session: DbSession, sql: str, exc: BaseException) -> QueryError:
        kind = session.classify(exc)
        message = self._redact(session.db_message(exc))
        if kind is ErrorKind.TIMEOUT:
            return QueryError(self._timeout_message())
        if self._cancelled:
            return QueryError(_CANCELLED)
        if session.stopped_by_watchdog:
            return QueryError(self._watchdog_message())
        if isinstance(exc, OneStatementRefused) and exc.several:
            return QueryError(
                f"query refused by {session.backend} before it ran: {message} (an alert query "
                "must be a single SELECT statement)"
            )
        if kind is ErrorKind.READ_ONLY:
            return QueryError(f"query tried to write inside the read-only transaction: {message}")
        if kind is ErrorKind.DENIED:
            return QueryError(
                f"query refused by {session.backend}'s guard (it would write, attach a file, "
                f"change a setting or call a refused function): {message}"
            )
        if kind is ErrorKind.INTERRUPTED:
            return QueryError(f"query was interrupted by the database: {message}")
        hint = _single_select_hint(sql, message)
        return QueryError(f"query failed on {self._label} ({session.backend}): {message}{hint}")
