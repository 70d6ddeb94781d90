"""Metrics on this release: ``sqlsentinel run`` with Airflow's ``[metrics]`` set to StatsD
sends the documented series to a UDP server on loopback (on 3.1 they go through
``airflow.stats.Stats``, on 3.2 through the Task SDK's ``Stats`` class, on 3.3 through its
stats module; ``metrics._stats``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import SENTINEL, Env, run

ALERTS = """\
defaults:
  conn_id: warehouse
  schedule: "@hourly"
alerts:
  - name: metrics_firing
    severity: critical
    query: SELECT 'ALERT' AS status, 12.5 AS actual_value
    notify:
      - channel: webhook
        url: http://127.0.0.1:{port}/hook
  - name: metrics_quiet
    query: SELECT 'OK' AS status
"""


class StatsdReceiver:
    """A UDP StatsD server on loopback keeping every line it is sent."""

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
        time.sleep(0.3)  # the last datagrams
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


def test_run_sends_the_documented_metrics_over_statsd(env: Env, statsd: StatsdReceiver) -> None:
    alerts = env.home / "metrics-alerts.yaml"
    alerts.write_text(ALERTS.format(port=env.receiver.port))
    done = run(
        [SENTINEL, "run", str(alerts)],
        AIRFLOW__METRICS__STATSD_ON="True",
        AIRFLOW__METRICS__STATSD_HOST="127.0.0.1",
        AIRFLOW__METRICS__STATSD_PORT=str(statsd.port),
        # its own state database: the other tests count the shared one's history
        SQLSENTINEL_STATE_DB_URL=f"sqlite:///{env.home / 'metrics-state.db'}",
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-4000:]
    assert done.returncode == 0, done.stderr[-4000:]
    lines = statsd.ours()

    assert sorted(line for line in lines if line.endswith("|c")) == [
        "airflow.sqlsentinel.alert_states.firing.critical:1|c",
        "airflow.sqlsentinel.alert_states.ok.warning:1|c",
        "airflow.sqlsentinel.evaluations.alert:1|c",
        "airflow.sqlsentinel.evaluations.ok:1|c",
        "airflow.sqlsentinel.notifications.sent.webhook:1|c",
    ]
    timers = sorted(line.split(":")[0] for line in lines if line.endswith("|ms"))
    assert timers == [
        "airflow.sqlsentinel.evaluation.duration",
        "airflow.sqlsentinel.evaluation.duration",
        "airflow.sqlsentinel.query.duration",
        "airflow.sqlsentinel.query.duration",
    ]
    gauges = sorted(line for line in lines if line.endswith("|g"))
    assert gauges == [
        "airflow.sqlsentinel.instances.error:0|g",
        "airflow.sqlsentinel.instances.firing:1|g",
        "airflow.sqlsentinel.instances.ok:1|g",
        "airflow.sqlsentinel.instances.pending:0|g",
        "airflow.sqlsentinel.outbox.oldest_pending_age_seconds:0|g",  # 0 when none is pending
        "airflow.sqlsentinel.outbox.pending:0|g",
    ], lines
    fired = [e for e in env.receiver.received if e["alert"]["name"] == "metrics_firing"]
    assert [e["kind"] for e in fired] == ["firing"]
