"""Metrics through Airflow's own metrics system, received by real servers on loopback.

Airflow is configured as a user would (``AIRFLOW__METRICS__STATSD_ON`` or ``OTEL_ON`` and the
receiver's host and port); real evaluations run in a subprocess (``sqlsentinel run``, and one
alert DAG by ``dag.test()``), and the test asserts the exact StatsD lines received (a UDP
server), or the OpenTelemetry data points (an OTLP/HTTP server) (docs/operations.md#metrics).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.metrics import is_metric_name


class StatsdReceiver:
    """A UDP StatsD server on loopback keeping every metric line it is sent."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            self.lines.extend(line for line in data.decode().splitlines() if line)

    def ours(self) -> list[str]:
        """The lines of SQL Sentinel's metrics (Airflow's own are left out), after a moment
        for the last datagrams to arrive."""
        time.sleep(0.3)
        return [line for line in self.lines if line.startswith("airflow.sqlsentinel.")]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def statsd() -> Iterator[StatsdReceiver]:
    receiver = StatsdReceiver()
    try:
        yield receiver
    finally:
        receiver.close()


@pytest.fixture
def webhook() -> Iterator[int]:
    """A webhook receiver on loopback answering 200."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ALERTS = """\
alerts:
  - name: paid
    severity: critical
    schedule: "@hourly"
    conn_id: wh
    query: SELECT 'ALERT' AS status
    notify: [{{channel: webhook, url: "http://127.0.0.1:{ok}/hook"}}]
  - name: quiet
    schedule: "@hourly"
    conn_id: wh
    query: SELECT 'OK' AS status
  - name: broken
    severity: info
    schedule: "@hourly"
    conn_id: wh
    query: SELECT status FROM no_such_table
  - name: retrying
    schedule: "@hourly"
    conn_id: wh
    query: SELECT 'ALERT' AS status
    notify: [{{channel: webhook, url: "http://127.0.0.1:{closed}/hook"}}]
  - name: given_up
    schedule: "@hourly"
    conn_id: wh
    delivery_attempts: 1
    query: SELECT 'ALERT' AS status
    notify: [{{channel: webhook, url: "http://127.0.0.1:{closed}/hook"}}]
"""


def statsd_env(tmp_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.update(
        AIRFLOW__METRICS__STATSD_ON="True",
        AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
        AIRFLOW__METRICS__STATSD_PORT=str(port),
        SQLSENTINEL_STATE_DB_URL=f"sqlite:///{tmp_path / 'state.db'}",
        PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[3]), *sys.path]),
    )
    return env


def without_values(lines: list[str], kind: str) -> list[str]:
    """``name|kind`` for every line of ``kind`` (their values vary run to run)."""
    return sorted(f"{line.split(':')[0]}|{kind}" for line in lines if line.endswith(f"|{kind}"))


@pytest.mark.airflow
def test_cli_run_emits_the_documented_metrics_over_statsd(
    tmp_path: Path, statsd: StatsdReceiver, webhook: int
) -> None:
    wh = tmp_path / "wh.db"
    sqlite3.connect(wh).close()
    (tmp_path / "alerts.yaml").write_text(ALERTS.format(ok=webhook, closed=closed_port()))
    env = statsd_env(tmp_path, statsd.port)
    env["AIRFLOW_CONN_WH"] = json.dumps({"conn_type": "sqlite", "host": str(wh)})
    proc = subprocess.run(
        [sys.executable, "-m", "sqlsentinel_airflow.cli.main", "run", "alerts.yaml"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode != 0, proc.stdout  # a query failed and two deliveries did not go
    lines = statsd.ours()

    counters = sorted(line for line in lines if line.endswith("|c"))
    assert counters == sorted(
        [
            "airflow.sqlsentinel.evaluations.alert:1|c",
            "airflow.sqlsentinel.evaluations.alert:1|c",
            "airflow.sqlsentinel.evaluations.alert:1|c",
            "airflow.sqlsentinel.evaluations.ok:1|c",
            "airflow.sqlsentinel.evaluations.error:1|c",
            "airflow.sqlsentinel.alert_states.firing.critical:1|c",
            "airflow.sqlsentinel.alert_states.firing.warning:1|c",
            "airflow.sqlsentinel.alert_states.firing.warning:1|c",
            "airflow.sqlsentinel.alert_states.ok.warning:1|c",
            "airflow.sqlsentinel.alert_states.error.info:1|c",
            "airflow.sqlsentinel.notifications.sent.webhook:1|c",
            "airflow.sqlsentinel.notifications.failed.webhook:1|c",
            "airflow.sqlsentinel.notifications.dead_lettered.webhook:1|c",
        ]
    )
    timers = without_values(lines, "ms")
    assert timers.count("airflow.sqlsentinel.evaluation.duration|ms") == 5
    # the failed query has no duration of its own (it is in the evaluation's)
    assert timers.count("airflow.sqlsentinel.query.duration|ms") == 4
    assert set(timers) == {
        "airflow.sqlsentinel.evaluation.duration|ms",
        "airflow.sqlsentinel.query.duration|ms",
    }
    for line in lines:
        if line.endswith("|ms"):
            assert re.fullmatch(r"[a-z_.]+:\d+(\.\d+)?\|ms", line), line

    gauges = sorted(line for line in lines if line.endswith("|g"))
    age = [g for g in gauges if ".oldest_pending_age_seconds:" in g]
    assert len(age) == 1 and 0 <= int(age[0].split(":")[1].split("|")[0]) < 60, age
    assert [g for g in gauges if g not in age] == [
        "airflow.sqlsentinel.instances.error:1|g",
        "airflow.sqlsentinel.instances.firing:3|g",
        "airflow.sqlsentinel.instances.ok:1|g",
        "airflow.sqlsentinel.instances.pending:0|g",
        "airflow.sqlsentinel.outbox.pending:1|g",  # retrying's, still owed; given_up's is dead
    ]
    assert_documented(lines)


DAG_FILE = """\
# airflow dag file for tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("metrics_alerts.yaml", globals())
"""


@pytest.fixture
def airflow_statsd(statsd: StatsdReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's Airflow metrics sent to ``statsd``, set up as Airflow's task runner
    does (``stats.initialize`` from the ``[metrics]`` config), and back to off afterwards."""
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(statsd.port))
    stats.initialize(factory=get_stats_factory(), export_legacy_names=False)
    try:
        yield
    finally:
        monkeypatch.undo()
        stats.initialize(factory=get_stats_factory(), export_legacy_names=False)


@pytest.mark.airflow
def test_alert_dag_emits_metrics_from_its_task(
    tmp_path: Path,
    airflow_db: Path,
    airflow_statsd: None,
    statsd: StatsdReceiver,
    webhook: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = airflow_db  # dag.test() runs the DAGs serialized from the dags folder
    (folder / "metrics_alerts.yaml").write_text(
        "alerts:\n"
        "  - name: metrics_paid\n"
        "    severity: critical\n"
        '    schedule: "@hourly"\n'
        "    conn_id: wh\n"
        "    query: SELECT 'ALERT' AS status\n"
        f'    notify: [{{channel: webhook, url: "http://127.0.0.1:{webhook}/hook"}}]\n'
    )
    (folder / "sqlsentinel_metrics.py").write_text(DAG_FILE)
    wh = tmp_path / "wh.db"
    sqlite3.connect(wh).close()
    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(wh)}))
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", f"sqlite:///{tmp_path / 'state.db'}")
    try:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(folder))
        assert not bag.import_errors, bag.import_errors
        run = bag.dags["sqlsentinel_metrics_paid"].test()
    finally:  # the folder is the session's: leave it as it was
        (folder / "sqlsentinel_metrics.py").unlink()
        (folder / "metrics_alerts.yaml").unlink()
    assert run.state == "success"
    lines = statsd.ours()
    assert sorted(line for line in lines if line.endswith("|c")) == [
        "airflow.sqlsentinel.alert_states.firing.critical:1|c",
        "airflow.sqlsentinel.evaluations.alert:1|c",
        "airflow.sqlsentinel.notifications.sent.webhook:1|c",
    ]
    assert "airflow.sqlsentinel.instances.firing:1|g" in lines
    assert "airflow.sqlsentinel.outbox.pending:0|g" in lines
    assert "airflow.sqlsentinel.outbox.oldest_pending_age_seconds:0|g" in lines
    assert without_values(lines, "ms") == [
        "airflow.sqlsentinel.evaluation.duration|ms",
        "airflow.sqlsentinel.query.duration|ms",
    ]
    assert_documented(lines)


def assert_documented(lines: list[str]) -> None:
    """Every name received is one of ``METRIC_NAMES`` (the docs table's rows)."""
    for line in lines:
        name = line.split(":")[0].removeprefix("airflow.")
        assert is_metric_name(name), name


@pytest.fixture
def otlp() -> Iterator[tuple[int, list[tuple[str, str, float]]]]:
    """An OTLP/HTTP metrics receiver on loopback: (name, kind, value) of every data point."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    points: list[tuple[str, str, float]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = ExportMetricsServiceRequest.FromString(body)
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind)
                        for point in data.data_points:
                            if "histogram" in kind:
                                value = point.sum
                            else:
                                value = getattr(point, point.WhichOneof("value"))
                            points.append((metric.name, kind, float(value)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), points
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.airflow
def test_cli_run_emits_the_metrics_over_otlp(
    tmp_path: Path, otlp: tuple[int, list[tuple[str, str, float]]], webhook: int
) -> None:
    port, points = otlp
    wh = tmp_path / "wh.db"
    sqlite3.connect(wh).close()
    (tmp_path / "alerts.yaml").write_text(ALERTS.format(ok=webhook, closed=closed_port()))
    env = statsd_env(tmp_path, 0)
    env.update(
        AIRFLOW__METRICS__STATSD_ON="False",
        AIRFLOW__METRICS__OTEL_ON="True",
        AIRFLOW__METRICS__OTEL_HOST="127.0.0.1",
        AIRFLOW__METRICS__OTEL_PORT=str(port),
        AIRFLOW_CONN_WH=json.dumps({"conn_type": "sqlite", "host": str(wh)}),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "sqlsentinel_airflow.cli.main", "run", "alerts.yaml"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    ours = [(n.removeprefix("airflow."), k, v) for n, k, v in points if ".sqlsentinel." in n]
    totals: dict[tuple[str, str], float] = {}
    for name, kind, value in ours:
        if kind == "sum":  # one data point per set of attributes (the alert's name)
            totals[name, kind] = totals.get((name, kind), 0) + value
        elif kind == "gauge":
            totals[name, kind] = value
        else:  # a timer: an exponential histogram, one per alert
            totals[name, kind] = totals.get((name, kind), 0) + 1
    assert totals == {
        ("sqlsentinel.evaluations.alert", "sum"): 3,
        ("sqlsentinel.evaluations.ok", "sum"): 1,
        ("sqlsentinel.evaluations.error", "sum"): 1,
        ("sqlsentinel.alert_states.firing.critical", "sum"): 1,
        ("sqlsentinel.alert_states.firing.warning", "sum"): 2,
        ("sqlsentinel.alert_states.ok.warning", "sum"): 1,
        ("sqlsentinel.alert_states.error.info", "sum"): 1,
        ("sqlsentinel.notifications.sent.webhook", "sum"): 1,
        ("sqlsentinel.notifications.failed.webhook", "sum"): 1,
        ("sqlsentinel.notifications.dead_lettered.webhook", "sum"): 1,
        ("sqlsentinel.evaluation.duration", "exponential_histogram"): 5,
        ("sqlsentinel.query.duration", "exponential_histogram"): 4,
        ("sqlsentinel.instances.ok", "gauge"): 1,
        ("sqlsentinel.instances.pending", "gauge"): 0,
        ("sqlsentinel.instances.firing", "gauge"): 3,
        ("sqlsentinel.instances.error", "gauge"): 1,
        ("sqlsentinel.outbox.pending", "gauge"): 1,
        ("sqlsentinel.outbox.oldest_pending_age_seconds", "gauge"): 0,
    }
    assert all(is_metric_name(name) for name, _ in totals)


@pytest.mark.airflow
def test_config_errors_are_counted(tmp_path: Path, statsd: StatsdReceiver) -> None:
    """What the config-watch task emits when it finds an invalid alerts file."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sqlsentinel_airflow.metrics import emit_config_errors; emit_config_errors(3)",
        ],
        env=statsd_env(tmp_path, statsd.port),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert statsd.ours() == ["airflow.sqlsentinel.config.errors:3|c"]
