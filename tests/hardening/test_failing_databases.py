"""Failing databases (docs/reliability.md), through the real path: ``dag.test()`` of generated DAGs.

The warehouse (PostgreSQL or MariaDB) sits behind a TCP proxy the test owns
(``faults_support.FaultProxy``); the shared servers are never stopped. Each alert runs one
``dag.test()`` per fault, in a row: refused connection, wrong login, a restart in the middle of
the query (the proxy cuts every connection), the backend killed from a second session
(``pg_terminate_backend`` / ``KILL``), a network stalled for 5 s, a network dead until the run
is over (this one used to hang the task: see ``QueryRunner._abort``), a lock held on the table
the alert reads, and a statement past the alert's timeout. After each run: the task failed, the state
is ERROR with a message naming the cause and no secret, history has exactly one row for that
run, the state row keeps what the error interrupted (``last_good_state``, counters,
``firing_since``), and the error notification follows ``notify_on_error: after 2``
(docs/adr/0002-evaluation-semantics.md): one ``error`` event for the streak. The run after the faults recovers with the right
``resolved`` (recovered from error) event, and the next one resolves the incident.

The state DB tests put a PostgreSQL state DB behind the proxy and use Airflow's own retries
(``retries: 1``, ``retry_delay: 2s``; ``dag.test()`` in Airflow 3.3 re-runs a task that is
up for retry once its delay has passed): the state DB drops while the query runs, or right
after the evaluation committed but before delivery. A watcher brings the proxy back when
the task instance is ``up_for_retry``; the retry writes or delivers exactly once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from faults_support import FaultProxy, fault_proxy, in_background, join_checked, wait_for
from hardening_support import ROOT  # noqa: F401  (puts the notify servers on sys.path)
from notify_servers import HttpReceiver

from sqlsentinel_airflow.core.model import Reason

PASSWORD = "faultsPw-Q7r2Lx"  # must never appear in a message, history row, XCom or body
WRONG_PASSWORD = "wrongPw-Z3k9Mv"
TIMEOUT_S = 2  # the alerts' timeout; the fault steps below are sized against it

DAG_FILE = """\
# airflow dag file for the failing-database tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("faults_alerts.yaml", globals(), config_watch=False)
"""

ALERT = """\
  - name: {name}
    conn_id: {conn_id}
    schedule: "0 * * * *"
    timeout: {timeout}s
    retries: {retries}
    retry_delay: 2s
    notify_on_error: after 2
    notify:
      - channel: webhook
        url: http://127.0.0.1:{port}/hook
    query: |
      SELECT CASE WHEN MAX(v) > 3 THEN 'ALERT' ELSE 'OK' END AS status,
             MAX(v) AS actual_value, 3 AS threshold
      FROM metrics_v
"""


# --- Airflow ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dags_folder(airflow_home: Path) -> Path:
    """A migrated metadata DB (once per module) and the dags folder ``dag.test()`` syncs."""
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    folder = airflow_home / "dags"
    folder.mkdir(exist_ok=True)
    return folder


def load_dag(folder: Path, alerts: list[str]) -> Any:
    (folder / "faults_alerts.yaml").write_text(
        "dag_id_prefix: faults_\nalerts:\n" + "".join(alerts)
    )
    (folder / "faults_dags.py").write_text(DAG_FILE)
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors
    return bag


def task_instances(dag_id: str, run_id: str | None = None) -> list[Any]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        query = sa.select(TaskInstance).where(TaskInstance.dag_id == dag_id)
        if run_id is not None:
            query = query.where(TaskInstance.run_id == run_id)
        found = list(session.scalars(query))
        session.expunge_all()
    return found


def xcom_values(dag_id: str) -> list[Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        return [
            row.value
            for row in session.scalars(sa.select(XComModel).where(XComModel.dag_id == dag_id))
        ]


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    yield server
    server.close()


# --- the state DB, read directly (never through the proxy) -----------------------------------


@dataclass
class StateView:
    url: str

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]
        finally:
            engine.dispose()

    def history(self, alert: str) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT run_id, outcome, state, reason, error, events, commit_confirmed "
            "FROM sqlsentinel_history "
            "WHERE alert_name = :a ORDER BY id",
            a=alert,
        )

    def states(self, alert: str) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM sqlsentinel_state WHERE alert_name = :a", a=alert)

    def outbox(self, alert: str) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT kind, status, attempts, run_id, payload FROM sqlsentinel_outbox "
            "WHERE alert_name = :a ORDER BY id",
            a=alert,
        )


# --- warehouses behind the proxy --------------------------------------------------------------


class Warehouse:
    """The alert's database: tables and a view it reads, reached through a FaultProxy."""

    kind: str
    port: int

    def __init__(self, admin_url: str, proxy: FaultProxy) -> None:
        self.admin_url = admin_url
        self.proxy = proxy
        self.db = str(sa.engine.make_url(admin_url).database)
        self.engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def execute(self, *statements: str) -> None:
        with self.engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def set_value(self, v: int) -> None:
        self.execute(f"UPDATE metrics SET v = {v}")

    def conn_json(self, login: str, password: str) -> str:
        """The alert's Airflow connection (JSON form): through the proxy, as ``login``."""
        return json.dumps(
            {"conn_type": self.kind, "host": "127.0.0.1", "port": self.proxy.port,
             "login": login, "password": password, "schema": self.db}
        )  # fmt: skip

    def slow_view(self) -> None:
        """metrics_v sleeps 10 s: the query is in flight long enough to be disturbed."""
        raise NotImplementedError

    def plain_view(self) -> None:
        self.execute("CREATE OR REPLACE VIEW metrics_v AS SELECT v FROM metrics")

    def alert_backend(self) -> int | None:
        """The server-side id of the alert's running query, found from a second session."""
        raise NotImplementedError

    def kill_backend(self, backend: int) -> None:
        raise NotImplementedError

    def running_for(self, backend: int) -> float:
        """Seconds the server has been running the statement of ``backend``."""
        raise NotImplementedError

    @contextmanager
    def table_locked(self) -> Iterator[None]:
        raise NotImplementedError

    def close(self) -> None:
        self.engine.dispose()


class PostgresWarehouse(Warehouse):
    kind = "postgres"
    port = 5432

    def __init__(self, admin_url: str, proxy: FaultProxy) -> None:
        super().__init__(admin_url, proxy)
        self.execute("CREATE TABLE metrics (v INTEGER)", "INSERT INTO metrics VALUES (5)")
        self.plain_view()

    def slow_view(self) -> None:
        self.execute("CREATE OR REPLACE VIEW metrics_v AS SELECT v FROM metrics, pg_sleep(10) AS s")

    def alert_backend(self) -> int | None:
        return self.scalar(
            # the alert reads through a named (server-side) cursor: the running statement
            # is its FETCH, the DECLARE before it holds the query text
            "SELECT pid FROM pg_stat_activity WHERE datname = :db AND state = 'active' "
            "AND pid <> pg_backend_pid() "
            "AND (query LIKE '%FROM metrics\\_v%' OR query LIKE 'FETCH FORWARD % FROM \"sqlsentinel\\_%')",
            db=self.db,
        )

    def kill_backend(self, backend: int) -> None:
        assert self.scalar("SELECT pg_terminate_backend(:pid)", pid=backend) is True

    def running_for(self, backend: int) -> float:
        return float(
            self.scalar(
                "SELECT EXTRACT(EPOCH FROM clock_timestamp() - query_start) "
                "FROM pg_stat_activity WHERE pid = :pid",
                pid=backend,
            )
            or 0.0
        )

    @contextmanager
    def table_locked(self) -> Iterator[None]:
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="READ COMMITTED")
            with conn.begin():
                conn.execute(sa.text("LOCK TABLE metrics IN ACCESS EXCLUSIVE MODE"))
                yield


class MariaDbWarehouse(Warehouse):
    kind = "mysql"
    port = 3306
    user = f"sst_faults_{uuid.uuid4().hex[:8]}"

    def __init__(self, admin_url: str, proxy: FaultProxy) -> None:
        super().__init__(admin_url, proxy)
        self.execute(
            "CREATE TABLE metrics (v INTEGER)",
            "INSERT INTO metrics VALUES (5)",
            f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{PASSWORD}'",
            f"GRANT SELECT ON `{self.db}`.* TO '{self.user}'@'%'",
        )
        self.plain_view()

    def slow_view(self) -> None:
        self.execute(
            "CREATE OR REPLACE VIEW metrics_v AS SELECT v FROM metrics WHERE SLEEP(10) = 0"
        )

    def alert_backend(self) -> int | None:
        return self.scalar(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db "
            "AND INFO LIKE '%FROM metrics\\_v%' AND ID <> CONNECTION_ID()",
            db=self.db,
        )

    def kill_backend(self, backend: int) -> None:
        self.execute(f"KILL CONNECTION {int(backend)}")

    def running_for(self, backend: int) -> float:
        ms = self.scalar(
            "SELECT TIME_MS FROM information_schema.PROCESSLIST WHERE ID = :id", id=backend
        )
        return float(ms or 0) / 1000.0

    @contextmanager
    def table_locked(self) -> Iterator[None]:
        with self.engine.connect() as conn:
            conn.execute(sa.text("LOCK TABLES metrics WRITE"))
            try:
                yield
            finally:
                conn.execute(sa.text("UNLOCK TABLES"))

    def close(self) -> None:
        self.execute(f"DROP USER IF EXISTS '{self.user}'@'%'")
        super().close()


# --- faults -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[Warehouse, pytest.MonkeyPatch, str], Any]  # a context manager
    message: dict[str, str]  # backend kind -> regex the ERROR message must match


@contextmanager
def refused(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    wh.proxy.down()
    try:
        yield
    finally:
        wh.proxy.up()


@contextmanager
def wrong_login(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    good = os.environ[conn_env]
    if wh.kind == "postgres":  # trust auth on loopback: passwords are not checked; a role is
        bad = wh.conn_json("no_such_role_faults", WRONG_PASSWORD)
    else:
        bad = wh.conn_json(MariaDbWarehouse.user, WRONG_PASSWORD)
    mp.setenv(conn_env, bad)
    try:
        yield
    finally:
        mp.setenv(conn_env, good)


@contextmanager
def while_query_runs(
    wh: Warehouse, act: Callable[[int], None], after_run: Callable[[], None] = lambda: None
) -> Iterator[None]:
    """metrics_v sleeps; once the alert's query is seen on the server, ``act(backend)``;
    ``after_run`` once the task is over (before the view is restored)."""
    wh.slow_view()

    def injector() -> None:
        backend = wait_for(wh.alert_backend, timeout=20, what="the alert query on the server")
        act(int(backend))

    thread = in_background(injector)
    try:
        yield
        after_run()
        # the task has failed; the statement it left behind must not outlive the timeout
        started = time.monotonic()
        wait_for(lambda: wh.alert_backend() is None, timeout=TIMEOUT_S + 5, what="orphan")
        ORPHANS.append(round(time.monotonic() - started, 1))
    finally:
        join_checked(thread)
        wh.plain_view()


@contextmanager
def restarted(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    with while_query_runs(wh, lambda _backend: wh.proxy.cut()):
        yield


@contextmanager
def backend_killed(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    with while_query_runs(wh, wh.kill_backend):
        yield


@contextmanager
def stalled(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    """The network stops forwarding mid-query and stays dead until the run is over.

    The server keeps the dead session (and its open read-only transaction's locks on the
    view) until it hears the connection is gone, so the network comes back before the view
    is redefined."""
    try:
        with while_query_runs(wh, lambda _backend: wh.proxy.stall(), wh.proxy.resume):
            yield
    finally:
        wh.proxy.resume()


@contextmanager
def stalled_then_back(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    """The network stops forwarding mid-query and comes back 3 s after the timeout.

    Timed from the statement's start on the server, not from when the injector saw it: on a
    busy machine that can be a second later, and the watchdog (2 s after the timeout) and its
    abort (2 s after that) count from the query's start too.
    """

    def stall(backend: int) -> None:
        already = wh.running_for(backend)
        wh.proxy.stall()
        time.sleep(max(0.5, TIMEOUT_S + 3 - already))
        wh.proxy.resume()

    with while_query_runs(wh, stall):
        yield


@contextmanager
def table_locked(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    with wh.table_locked():
        yield


@contextmanager
def statement_timeout(wh: Warehouse, mp: pytest.MonkeyPatch, conn_env: str) -> Iterator[None]:
    wh.slow_view()
    try:
        yield
    finally:
        wh.plain_view()


TIMED_OUT = rf"^query exceeded timeout {TIMEOUT_S}s and was stopped by the database$"
CANCELLED = (
    rf"^query exceeded timeout {TIMEOUT_S}s; the database did not stop it, so SQL Sentinel "
    "cancelled it$"
)
FAULTS = [
    Fault(
        "refused",
        refused,
        {
            "postgres": r"^could not connect with connection 'faults_wh_postgres': connection "
            r'failed: connection to server at "127\.0\.0\.1", port \d+ failed: Connection refused$',
            "mysql": r"^could not connect with connection 'faults_wh_mysql': \(2002, \"Can't "
            r"connect to server on '127\.0\.0\.1' \(\d+\)\"\)$",
        },
    ),
    Fault(
        "wrong login",
        wrong_login,
        {
            "postgres": r"^could not connect with connection 'faults_wh_postgres': .*role "
            r'"no_such_role_faults" does not exist$',
            "mysql": r"^could not connect with connection 'faults_wh_mysql': \(1045, \"Access "
            r"denied for user 'sst_faults_\w+'@'(localhost|127\.0\.0\.1)' \(using password: ",
        },
    ),
    Fault(
        "restart mid-query",
        restarted,
        {
            "postgres": r"^query failed on connection 'faults_wh_postgres' \(postgresql\): "
            r"consuming input failed: server closed the connection unexpectedly$",
            "mysql": r"^query failed on connection 'faults_wh_mysql' \(mariadb\): Lost "
            r"connection to server during query$",
        },
    ),
    Fault(
        "backend killed",
        backend_killed,
        {
            "postgres": r"^query failed on connection 'faults_wh_postgres' \(postgresql\): "
            r"terminating connection due to administrator command$",
            "mysql": r"^query failed on connection 'faults_wh_mysql' \(mariadb\): (Lost "
            r"connection to server during query|Connection was killed)$",
        },
    ),
    Fault(
        "network stalled mid-query, back after 5 s",
        stalled_then_back,
        {"postgres": TIMED_OUT, "mysql": TIMED_OUT},
    ),
    Fault("network dead mid-query", stalled, {"postgres": CANCELLED, "mysql": CANCELLED}),
    Fault("table locked", table_locked, {"postgres": TIMED_OUT, "mysql": TIMED_OUT}),
    Fault("statement timeout", statement_timeout, {"postgres": TIMED_OUT, "mysql": TIMED_OUT}),
]

# What each fault run took (seconds), by backend, for docs/reliability.md (-s prints them),
# and how long the server still ran the disturbed statement after the task had failed.
MEASURED: dict[str, dict[str, float]] = {}
ORPHANS: list[float] = []


@pytest.fixture(params=["postgres", "mysql"])
def warehouse(request: pytest.FixtureRequest) -> Iterator[Warehouse]:
    kind = request.param
    url = str(request.getfixturevalue("pg_url" if kind == "postgres" else "mysql_url"))
    cls = PostgresWarehouse if kind == "postgres" else MariaDbWarehouse
    with fault_proxy(cls.port) as proxy:
        wh = cls(url, proxy)
        try:
            yield wh
        finally:
            wh.close()


@pytest.mark.airflow
@pytest.mark.postgres
@pytest.mark.mysql
def test_every_warehouse_fault_is_an_error_and_the_next_run_recovers(
    warehouse: Warehouse,
    dags_folder: Path,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wh = warehouse
    name = f"wh_{wh.kind}"
    conn_id = f"faults_wh_{wh.kind}"
    conn_env = f"AIRFLOW_CONN_{conn_id.upper()}"
    login = "postgres" if wh.kind == "postgres" else MariaDbWarehouse.user
    monkeypatch.setenv(conn_env, wh.conn_json(login, PASSWORD))
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", wh.admin_url)  # direct: not behind the proxy
    alert = ALERT.format(
        name=name, conn_id=conn_id, timeout=TIMEOUT_S, retries=0, port=receiver.port
    )
    dag = load_dag(dags_folder, [alert]).dags[f"faults_{name}"]
    view = StateView(wh.admin_url)
    runs: list[Any] = []

    def run() -> Any:
        dag_run = dag.test()
        runs.append(dag_run)
        history = view.history(name)
        assert len(history) == len(runs), "exactly one history row per evaluation"
        assert history[-1]["run_id"] == dag_run.run_id
        (state,) = view.states(name)  # one instance, never a half-written second row
        return dag_run, history[-1], state

    first, row, state = run()
    assert (first.state, row["outcome"], state["state"]) == ("success", "ALERT", "FIRING")
    firing_since = state["firing_since"]
    timings = MEASURED.setdefault(wh.kind, {})

    for position, fault in enumerate(FAULTS, start=1):
        with fault.inject(wh, monkeypatch, conn_env):
            started = time.monotonic()
            dag_run, row, state = run()
            timings[fault.name] = round(time.monotonic() - started, 1)  # the run, not clean-up
        if ORPHANS:
            timings[f"{fault.name}: statement left on the server"] = ORPHANS.pop()
        where = f"{fault.name} on {wh.kind}"
        assert dag_run.state == "failed", where
        assert (row["outcome"], row["state"]) == ("ERROR", "ERROR"), where
        assert re.search(fault.message[wh.kind], row["error"]), (where, row["error"])
        assert state["last_error"] == row["error"], where
        # the error interrupted a FIRING incident: it is kept beside the ERROR, untouched
        assert (state["state"], state["last_good_state"]) == ("ERROR", "FIRING"), where
        assert state["consecutive_errors"] == position, where
        assert state["consecutive_alerts"] == 1 and state["firing_since"] == firing_since, where
        # notify_on_error: after 2 -> one error event for the streak, at the second error
        expected_reason = {1: Reason.ERROR_BELOW_THRESHOLD, 2: Reason.ERROR_NOTIFIED}.get(
            position, Reason.ERROR_ALREADY_NOTIFIED
        ).code  # history keeps the code (schema v5)
        assert row["reason"] == expected_reason, (where, row["reason"])
        assert bool(state["error_notified"]) is (position >= 2), where
        (ti,) = task_instances(dag.dag_id, dag_run.run_id)
        assert ti.state == "failed" and ti.try_number == 1, where

    # the faults are gone: the same data, the incident goes on, the error streak is over
    recovered, row, state = run()
    assert (recovered.state, row["outcome"], state["state"]) == ("success", "ALERT", "FIRING")
    assert row["reason"] == Reason.RECOVERED_FROM_ERROR.code
    assert state["consecutive_errors"] == 0 and state["firing_since"] == firing_since
    wh.set_value(1)
    resolved, row, state = run()
    assert (resolved.state, row["outcome"], state["state"]) == ("success", "OK", "OK")
    assert row["reason"] == Reason.RESOLVED.code

    outbox = view.outbox(name)
    assert [(r["kind"], r["status"]) for r in outbox] == [
        ("firing", "delivered"),
        ("error", "delivered"),
        ("resolved", "delivered"),
        ("resolved", "delivered"),
    ]
    got = [(r.json()["kind"], r.json()["reason"]) for r in receiver.delivered]
    assert got == [
        ("firing", Reason.FIRST_FIRING.value),
        ("error", Reason.ERROR_NOTIFIED.value),
        ("resolved", Reason.RECOVERED_FROM_ERROR.value),
        ("resolved", Reason.RESOLVED.value),
    ]
    assert len(receiver.requests) == 4  # nothing sent twice
    error_body = receiver.delivered[1].json()
    assert error_body["error"].startswith(f"could not connect with connection '{conn_id}'")

    haystack = json.dumps(
        [view.history(name), view.states(name), outbox, xcom_values(dag.dag_id)], default=str
    ) + "".join(r.body.decode() for r in receiver.requests)
    assert PASSWORD not in haystack and WRONG_PASSWORD not in haystack
    print(f"\n{wh.kind} fault runs (s): {MEASURED[wh.kind]}")


# --- the state DB down ------------------------------------------------------------------------


class RetryWatcher:
    """Calls ``on_retry`` once, when the alert's task instance is ``up_for_retry``."""

    def __init__(self, dag_id: str, on_retry: Callable[[], None]) -> None:
        self.dag_id = dag_id
        self.on_retry = on_retry
        self.fired = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self.errors: list[BaseException] = []

    def _watch(self) -> None:
        # Plain SQL on its own engine: an ORM query from this thread can deadlock with the
        # model imports dag.test() does in the main thread (SQLAlchemy's configure lock).
        from airflow import settings

        engine = sa.create_engine(settings.SQL_ALCHEMY_CONN)
        query = sa.text("SELECT state FROM task_instance WHERE dag_id = :d")
        try:
            while not self._stop.is_set():
                with engine.connect() as conn:
                    states = set(conn.execute(query, {"d": self.dag_id}).scalars())
                if "up_for_retry" in states:
                    self.on_retry()
                    self.fired.set()
                    return
                time.sleep(0.05)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            engine.dispose()

    def __enter__(self) -> RetryWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def pg_state(pg_url: str) -> Iterator[tuple[FaultProxy, str, StateView]]:
    """The state DB (and the warehouse) in one PostgreSQL database; the state DB behind a proxy."""
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE metrics (v INTEGER)"))
        conn.execute(sa.text("INSERT INTO metrics VALUES (5)"))
        conn.execute(sa.text("CREATE VIEW metrics_v AS SELECT v FROM metrics, pg_sleep(0.5) s"))
    engine.dispose()
    with fault_proxy(5432) as proxy:
        behind = sa.engine.make_url(pg_url).set(port=proxy.port)
        yield proxy, behind.render_as_string(hide_password=False), StateView(pg_url)


def _state_test_dag(
    name: str,
    pg_url: str,
    state_url: str,
    folder: Path,
    port: int,
    mp: pytest.MonkeyPatch,
    extra: str = "",
) -> Any:
    db = sa.engine.make_url(pg_url).database
    conn = {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432, "login": "postgres",
            "password": PASSWORD, "schema": db}  # fmt: skip
    mp.setenv("AIRFLOW_CONN_FAULTS_STATE_WH", json.dumps(conn))
    mp.setenv("SQLSENTINEL_STATE_DB_URL", state_url)
    alert = ALERT.format(name=name, conn_id="faults_state_wh", timeout=5, retries=1, port=port)
    return load_dag(folder, [alert + extra]).dags[f"faults_{name}"]


@pytest.mark.airflow
@pytest.mark.postgres
def test_state_db_down_during_the_query_fails_the_task_and_the_retry_evaluates_once(
    pg_url: str,
    pg_state: tuple[FaultProxy, str, StateView],
    dags_folder: Path,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, state_url, view = pg_state
    name = "state_down"
    dag = _state_test_dag(name, pg_url, state_url, dags_folder, receiver.port, monkeypatch)
    wh = PostgresWarehouse.__new__(PostgresWarehouse)  # only to find the running query
    Warehouse.__init__(wh, pg_url, proxy)
    snapshot: dict[str, Any] = {}

    def state_db_goes_down() -> None:  # the query has started (the store is open): drop it
        wait_for(wh.alert_backend, timeout=20, what="the alert query")
        proxy.down()

    def state_db_comes_back() -> None:
        snapshot.update(
            history=view.history(name), outbox=view.outbox(name), states=view.states(name)
        )
        snapshot["received"] = len(receiver.requests)
        proxy.up()

    injector = in_background(state_db_goes_down)
    with RetryWatcher(dag.dag_id, state_db_comes_back) as watcher:
        dag_run = dag.test()
    join_checked(injector)
    wh.close()

    assert watcher.fired.is_set(), "the task was never up for retry"
    # while the state DB was down: nothing half-written
    assert snapshot == {"history": [], "outbox": [], "states": [], "received": 0}
    assert dag_run.state == "success"
    (ti,) = task_instances(dag.dag_id, dag_run.run_id)
    assert (ti.state, ti.try_number) == ("success", 2)
    history = view.history(name)
    assert [(h["run_id"], h["outcome"], h["state"]) for h in history] == [
        (dag_run.run_id, "ALERT", "FIRING")
    ]
    assert [(r["kind"], r["status"], r["attempts"]) for r in view.outbox(name)] == [
        ("firing", "delivered", 1)
    ]
    assert [r.json()["kind"] for r in receiver.requests] == ["firing"]
    assert proxy.events[:2] == ["up", "down"]


@pytest.mark.airflow
@pytest.mark.postgres
def test_state_db_down_after_the_commit_the_retry_only_delivers(
    pg_url: str,
    pg_state: tuple[FaultProxy, str, StateView],
    dags_folder: Path,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy, state_url, view = pg_state
    name = "state_drop_after_commit"
    dag = _state_test_dag(name, pg_url, state_url, dags_folder, receiver.port, monkeypatch)
    snapshot: dict[str, Any] = {}

    def state_db_comes_back() -> None:
        snapshot.update(history=view.history(name), outbox=view.outbox(name))
        snapshot["received"] = len(receiver.requests)
        proxy.up()

    # the evaluation's COMMIT (after its outbox insert) is answered, then the DB goes away
    proxy.down_after_commit(b"INSERT INTO sqlsentinel_outbox")
    with RetryWatcher(dag.dag_id, state_db_comes_back) as watcher:
        dag_run = dag.test()

    assert watcher.fired.is_set(), "the task was never up for retry"
    assert "down after commit" in proxy.events
    # between the tries: the evaluation is committed, its notification owed, nothing sent
    assert [(h["outcome"], h["state"]) for h in snapshot["history"]] == [("ALERT", "FIRING")]
    assert [(r["kind"], r["status"], r["attempts"]) for r in snapshot["outbox"]] == [
        ("firing", "pending", 0)
    ]
    assert snapshot["received"] == 0
    # the retry delivered it once and did not evaluate again
    assert dag_run.state == "success"
    (ti,) = task_instances(dag.dag_id, dag_run.run_id)
    assert (ti.state, ti.try_number) == ("success", 2)
    assert len(view.history(name)) == 1
    assert [(r["kind"], r["status"], r["attempts"]) for r in view.outbox(name)] == [
        ("firing", "delivered", 1)
    ]
    assert [r.json()["kind"] for r in receiver.requests] == ["firing"]
    xcoms = [x for x in xcom_values(dag.dag_id) if isinstance(x, dict)]
    assert any(x.get("delivery_only") is True for x in xcoms), xcoms


def _run_with_lost_commit_answer(
    name: str,
    pg_url: str,
    pg_state: tuple[FaultProxy, str, StateView],
    folder: Path,
    receiver: HttpReceiver,
    mp: pytest.MonkeyPatch,
    extra: str = "",
) -> tuple[Any, list[dict[str, Any]]]:
    """One dag.test() whose first try commits its evaluation but never hears the answer."""
    proxy, state_url, view = pg_state
    dag = _state_test_dag(name, pg_url, state_url, folder, receiver.port, mp, extra)
    proxy.down_after_commit(b"INSERT INTO sqlsentinel_history", answer=False)
    with RetryWatcher(dag.dag_id, proxy.up) as watcher:
        dag_run = dag.test()
    assert watcher.fired.is_set(), "the task was never up for retry"
    assert "down before the commit answer" in proxy.events
    (ti,) = task_instances(dag.dag_id, dag_run.run_id)
    assert (dag_run.state, ti.try_number) == ("success", 2)
    return dag_run, view.history(name)


@pytest.mark.airflow
@pytest.mark.postgres
def test_lost_commit_answer_with_an_event_owed_the_retry_only_delivers(
    pg_url: str,
    pg_state: tuple[FaultProxy, str, StateView],
    dags_folder: Path,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "state_lost_commit_answer"
    dag_run, history = _run_with_lost_commit_answer(
        name, pg_url, pg_state, dags_folder, receiver, monkeypatch
    )
    assert [(h["run_id"], h["outcome"], h["state"]) for h in history] == [
        (dag_run.run_id, "ALERT", "FIRING")
    ]
    assert [(r["kind"], r["status"]) for r in pg_state[2].outbox(name)] == [("firing", "delivered")]
    assert [r.json()["kind"] for r in receiver.requests] == ["firing"]


@pytest.mark.airflow
@pytest.mark.postgres
def test_lost_commit_answer_with_nothing_owed_counts_the_run_once(
    pg_url: str,
    pg_state: tuple[FaultProxy, str, StateView],
    dags_folder: Path,
    receiver: HttpReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "state_lost_commit_pending"
    dag_run, history = _run_with_lost_commit_answer(
        name, pg_url, pg_state, dags_folder, receiver, monkeypatch, extra="    fire_after: 2\n"
    )
    # The first try's commit landed unseen: its history row stays unconfirmed, so the retry
    # only delivers (nothing is owed) instead of counting the run a second time.
    evaluated = [(h["run_id"], h["state"], h["commit_confirmed"]) for h in history]
    assert evaluated == [(dag_run.run_id, "PENDING", False)], "one run was evaluated twice"
    assert receiver.requests == []
    xcoms = [x for x in xcom_values(dag_run.dag_id) if isinstance(x, dict)]
    assert any(x.get("delivery_only") is True for x in xcoms), xcoms
