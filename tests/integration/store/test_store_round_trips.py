"""Round trips of one evaluation transaction, and pooled connections that die (docs/benchmarks.md).

The evaluation transaction's cost on PostgreSQL and MariaDB is mostly round trips, so they
are counted where they happen: on the wire, by a proxy in front of the server that counts
the commands the client sends (PostgreSQL simple queries, MySQL command packets: each waits
for its answer). SQLAlchemy's statement events miss some (a pool pre-ping, psycopg2's
``BEGIN``, the pool's ``ROLLBACK`` on return); they are counted too, on all three databases.

The pool pings a connection only when it may be dead (``engine.py``), so the rest of this
file kills connections: between two evaluations (the next one must not notice), after the
check but before the first statement (the store retries: nothing was done yet), and for good
(a clear error, not a hang).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from sqlsentinel_airflow.core.model import InstanceState, Outcome, State
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import AlertTransaction, HistoryEntry, StateStore
from sqlsentinel_airflow.store import engine as store_engine
from sqlsentinel_airflow.store.tables import history

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=timezone.utc)

# One evaluation after the alert's first: lock, read states, read silences, update the state,
# insert the history row (SQLite: BEGIN IMMEDIATE is the lock). An instance that is, or was,
# FIRING or ERROR also reads its open incidents and writes the one it continues. PostgreSQL
# (psycopg2) reads the states in the lock's message, and upserts the state in one statement.
STATEMENTS_PER_EVALUATION = {"postgresql": 4, "mysql": 5, "mariadb": 5, "sqlite": 5}
STATEMENTS_IN_AN_INCIDENT = {"postgresql": 6, "mysql": 7, "mariadb": 7, "sqlite": 7}
# On the wire, the same plus BEGIN and COMMIT on PostgreSQL (psycopg2 sends BEGIN on its own;
# the lock_timeout and the states read ride with the lock SELECT), and COMMIT plus the pool's
# ROLLBACK on return on MariaDB (innodb_lock_wait_timeout is set once per connection).
ROUND_TRIPS_PER_EVALUATION = {"postgresql": 6, "mysql": 7}
# The alert's first evaluation ever on PostgreSQL: BEGIN, the lock (which finds no row), the
# lock row inserted in the same transaction, states, silences, the state, history, the open
# incidents (an instance never seen before may have some), COMMIT. It was 13: a rollback, a
# second connection's autocommit insert of the lock row, BEGIN and the lock again, and an
# UPDATE of the state that found no row before its INSERT.
ROUND_TRIPS_FIRST_EVALUATION_POSTGRESQL = 9


def _evaluate(
    store: StateStore, alert: str = "orders", n: int = 1, state: State = State.OK
) -> None:
    """What ``evaluation.evaluate_alert`` does in its transaction, for one instance."""

    def work(tx: AlertTransaction) -> None:
        known = tx.states()
        tx.active_silences(NOW)
        previous = known.get("")
        count = previous.consecutive_alerts + 1 if previous is not None else 1
        evaluated_at = NOW + timedelta(minutes=n)
        tx.save_state(
            InstanceState(
                alert,
                state=state,
                consecutive_alerts=count,
                state_since=NOW,
                last_evaluated_at=evaluated_at,
            )
        )
        tx.add_history(HistoryEntry(alert, evaluated_at, Outcome.ALERT, state))

    store.run_in_alert_transaction(alert, work)


def _consecutive_alerts(store: StateStore, alert: str = "orders") -> int:
    return store.list_states(alert)[0].consecutive_alerts


def _history_rows(store: StateStore) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(history)).scalar_one())


# --- counting statements (every database) -----------------------------------------------------


def test_one_evaluation_runs_five_statements(any_db_url: str) -> None:
    store = StateStore.connect(any_db_url)
    try:
        _evaluate(store, n=1)  # the first evaluation also creates the lock row and the state
        statements: list[str] = []

        @event.listens_for(store.engine, "before_cursor_execute")
        def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(" ".join(statement.split())[:60])

        _evaluate(store, n=2)
        dialect = store.engine.dialect.name
        assert len(statements) == STATEMENTS_PER_EVALUATION[dialect], statements
        assert _consecutive_alerts(store) == 2
        statements.clear()
        _evaluate(store, n=3, state=State.FIRING)  # an incident begins
        _evaluate(store, n=4, state=State.FIRING)
        assert len(statements) == 2 * STATEMENTS_IN_AN_INCIDENT[dialect], statements
        assert [s for s in statements if "incidents" in s][::2] == [
            "SELECT sqlsentinel_incidents.alert_name, sqlsentinel_inciden",
            "SELECT sqlsentinel_incidents.alert_name, sqlsentinel_inciden",
        ]
        event.remove(store.engine, "before_cursor_execute", _count)
    finally:
        store.dispose()


# --- counting round trips (PostgreSQL, MariaDB) ------------------------------------------------


class CommandCountingProxy:
    """A TCP proxy that counts the commands a PostgreSQL or MySQL client sends.

    Needs the protocol in clear text (the PostgreSQL URL gets ``sslmode=disable``; the
    MariaDB test server has no TLS). ``down()`` resets every connection and refuses new ones.
    """

    def __init__(self, target_port: int, protocol: str) -> None:
        self.protocol = protocol
        self.commands: list[bytes] = []  # first bytes of each command, for failure messages
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def count(self) -> int:
        with self._lock:
            return len(self.commands)

    def since(self, start: int) -> list[bytes]:
        with self._lock:
            return self.commands[start:]

    def down(self) -> None:
        with contextlib.suppress(OSError):  # wakes the accept() below; close() alone would not
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            doomed, self._sockets = self._sockets, []
        for sock in doomed:
            with contextlib.suppress(OSError):  # RST: the client sees the connection die
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # down
            server = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        parse = (self._pg_commands if self.protocol == "postgresql" else self._mysql_commands)()
        next(parse)
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            if from_client:
                parse.send(data)  # counted before forwarding: before the server can answer
            try:
                dst.sendall(data)
            except OSError:
                return

    def _record(self, command: bytes) -> None:
        with self._lock:
            self.commands.append(command)

    def _pg_commands(self) -> Iterator[None]:
        """Frontend messages: untyped start-up ones (SSL/GSS requests, start-up), then
        typed ones; a simple query ('Q') or a sync ('S') is one round trip."""
        buffer, started = b"", False
        while True:
            buffer += yield
            while True:
                if not started:
                    if len(buffer) < 8:
                        break
                    length, code = struct.unpack("!ii", buffer[:8])
                    if len(buffer) < length:
                        break
                    buffer = buffer[length:]
                    started = code not in (80877103, 80877104)  # SSLRequest, GSSENCRequest
                    continue
                if len(buffer) < 5:
                    break
                kind, length = buffer[:1], struct.unpack("!i", buffer[1:5])[0]
                if len(buffer) < 1 + length:
                    break
                if kind in (b"Q", b"S"):
                    self._record(buffer[5 : 5 + min(length - 4, 60)])
                buffer = buffer[1 + length :]

    def _mysql_commands(self) -> Iterator[None]:
        """Client packets: a command starts a new sequence (sequence id 0); the hand-shake
        answers continue the server's (1 and up)."""
        buffer = b""
        while True:
            buffer += yield
            while len(buffer) >= 4:
                length = int.from_bytes(buffer[:3], "little")
                if len(buffer) < 4 + length:
                    break
                if buffer[3] == 0:
                    self._record(buffer[4 : 4 + min(length, 60)])
                buffer = buffer[4 + length :]


@pytest.fixture(params=["postgres", "mysql"])
def server_db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue({"postgres": "pg_url", "mysql": "mysql_url"}[request.param]))


@contextlib.contextmanager
def _store_behind_proxy(url: str) -> Iterator[tuple[StateStore, CommandCountingProxy]]:
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    proxy = CommandCountingProxy(parsed.port or 0, backend)
    proxied = parsed.set(host="127.0.0.1", port=proxy.port)
    if backend == "postgresql":
        proxied = proxied.update_query_dict({"sslmode": "disable"})
    store = StateStore.connect(proxied)
    try:
        yield store, proxy
    finally:
        store.dispose()
        proxy.down()


def test_one_evaluation_is_six_or_seven_round_trips(server_db_url: str) -> None:
    with _store_behind_proxy(server_db_url) as (store, proxy):
        _evaluate(store, n=1)
        for n in (2, 3):  # the same every time: nothing per connection is repeated
            start = proxy.count()
            _evaluate(store, n=n)
            sent = proxy.since(start)
            assert len(sent) == ROUND_TRIPS_PER_EVALUATION[proxy.protocol], sent
        assert _consecutive_alerts(store) == 3


def test_a_first_evaluation_on_postgresql_inserts_its_lock_row_in_its_transaction(
    pg_url: str,
) -> None:
    with _store_behind_proxy(pg_url) as (store, proxy):
        _evaluate(store, n=0, alert="warm-up")  # the pooled connection is made and checked
        start = proxy.count()
        _evaluate(store, n=1)
        sent = proxy.since(start)
        assert len(sent) == ROUND_TRIPS_FIRST_EVALUATION_POSTGRESQL, sent
        assert [m for m in sent if b"sqlsentinel_alert_lock (alert_name)" in m] == [
            b"INSERT INTO sqlsentinel_alert_lock (alert_name) VALUES ('ord"  # its first 60 bytes
        ], sent
        _evaluate(store, n=2)
        assert _consecutive_alerts(store) == 2


def test_a_connection_idle_for_long_is_pinged_first(
    server_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _store_behind_proxy(server_db_url) as (store, proxy):
        _evaluate(store, n=1)
        monkeypatch.setattr(store_engine, "IDLE_PING_SECONDS", 0.0)  # every connection is "old"
        start = proxy.count()
        _evaluate(store, n=2)
        sent = proxy.since(start)
    ping = b"SELECT 1" if proxy.protocol == "postgresql" else b"\x0e"  # COM_PING
    assert sent[0].startswith(ping), sent
    assert len(sent) > ROUND_TRIPS_PER_EVALUATION[proxy.protocol], sent


def test_a_database_gone_for_good_is_a_clear_error(server_db_url: str) -> None:
    with _store_behind_proxy(server_db_url) as (store, proxy):
        _evaluate(store, n=1)
        proxy.down()
        started = time.monotonic()
        with pytest.raises(StateStoreError, match="check that the state database is running"):
            _evaluate(store, n=2)
        assert time.monotonic() - started < 10


# --- connections killed by the server ------------------------------------------------------------


def _backend_id(store: StateStore) -> int:
    with store.engine.connect() as conn:
        query = "SELECT pg_backend_pid()" if _is_pg(store) else "SELECT CONNECTION_ID()"
        return int(conn.exec_driver_sql(query).scalar_one())


def _is_pg(store: StateStore) -> bool:
    return store.engine.dialect.name == "postgresql"


def _kill(url: str, backend_id: int) -> None:
    """End one server session from another one, and wait until it is gone."""
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    pg = admin.dialect.name == "postgresql"
    alive = (
        "SELECT count(*) FROM pg_stat_activity WHERE pid = :id"
        if pg
        else "SELECT count(*) FROM information_schema.processlist WHERE id = :id"
    )
    try:
        with admin.connect() as conn:
            if pg:
                conn.execute(sa.text("SELECT pg_terminate_backend(:id)"), {"id": backend_id})
            else:
                conn.exec_driver_sql(f"KILL {int(backend_id)}")
            deadline = time.monotonic() + 10
            while conn.execute(sa.text(alive), {"id": backend_id}).scalar_one():
                assert time.monotonic() < deadline, f"session {backend_id} is still there"
                time.sleep(0.02)
    finally:
        admin.dispose()


def test_a_connection_killed_between_two_evaluations_is_replaced(server_db_url: str) -> None:
    store = StateStore.connect(server_db_url)
    try:
        _evaluate(store, n=1)
        before = _backend_id(store)  # the one pooled connection, used by the evaluation
        _kill(server_db_url, before)
        checkouts: list[int] = []
        event.listen(store.engine, "checkout", lambda *_args: checkouts.append(1))
        _evaluate(store, n=2)  # no error: the pool saw the dead socket and reconnected
        assert checkouts == [1]  # at checkout: the evaluation never met the dead connection
        assert _consecutive_alerts(store) == 2
        assert _backend_id(store) != before
    finally:
        store.dispose()


def test_a_connection_killed_before_the_lock_is_taken_is_retried(server_db_url: str) -> None:
    store = StateStore.connect(server_db_url)
    try:
        _evaluate(store, n=1)
        victim = _backend_id(store)
        rows_before = _history_rows(store)
        checkouts: list[int] = []

        # Registered after the store's own check: the connection passed it, then dies before
        # its first statement, as when the server goes away between the two.
        def kill_the_first(_dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
            checkouts.append(1)
            if len(checkouts) == 1:
                _kill(server_db_url, victim)

        event.listen(store.engine, "checkout", kill_the_first)
        _evaluate(store, n=2)
        event.remove(store.engine, "checkout", kill_the_first)
        assert len(checkouts) == 2  # the attempt that lost its connection, and the retry
        assert _consecutive_alerts(store) == 2
        assert _history_rows(store) == rows_before + 1  # evaluated once
    finally:
        store.dispose()


# --- the lock wait bound -------------------------------------------------------------------------


def test_the_lock_wait_is_bounded_inside_the_transaction_only(server_db_url: str) -> None:
    store = StateStore.connect(server_db_url)
    pg = _is_pg(store)
    setting = "SHOW lock_timeout" if pg else "SELECT @@SESSION.innodb_lock_wait_timeout"
    try:
        _evaluate(store, n=1)
        seen: list[str] = []

        def work(tx: AlertTransaction) -> None:
            seen.append(str(tx._conn.exec_driver_sql(setting).scalar_one()))

        store.run_in_alert_transaction("orders", work)
        with store.engine.connect() as conn:  # the same pooled connection, afterwards
            after = str(conn.exec_driver_sql(setting).scalar_one())
        if pg:  # SET LOCAL: a migration waiting for another one's lock is not cut short
            assert (seen, after) == (["1min"], "0")
        else:  # a session variable, set when the connection is made
            assert (seen, after) == (["60"], "60")
    finally:
        store.dispose()
