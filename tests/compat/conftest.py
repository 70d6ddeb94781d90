"""The compatibility suite: the package as installed from its wheel, on one Airflow release.

``scripts/matrix`` runs it in a fresh venv per Airflow release (the wheel installed, not this
repository): it must never import the package from the source tree, and it asserts so. What
a user does is done with the installed ``airflow`` and ``sqlsentinel`` commands, on a private
AIRFLOW_HOME with a SQLite metadata DB, a SQLite warehouse and a webhook receiver on loopback.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Before anything imports airflow: never touch ~/airflow, never load Airflow's examples.
_HOME = Path(tempfile.mkdtemp(prefix="sqlsentinel-compat-"))
os.environ["AIRFLOW_HOME"] = str(_HOME / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_HOME / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow' / 'airflow.db'}"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
os.environ["SQLSENTINEL_CACHE_DIR"] = str(_HOME / "cli-cache")
os.environ["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{_HOME / 'state.db'}"
os.environ["AIRFLOW_CONN_WAREHOUSE"] = json.dumps(
    {"conn_type": "sqlite", "host": str(_HOME / "warehouse.db")}
)
(_HOME / "airflow").mkdir()
(_HOME / "dags").mkdir()

import pytest  # noqa: E402

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
SENTINEL = str(BIN / "sqlsentinel")
REPO = Path(__file__).resolve().parents[2]
FIRING = "compat_error_rate"
OK = "compat_daily_revenue"
CHANNELS = "compat_channels"
WATCH = "sqlsentinel_config_watch"

DAG_FILE = """\
# airflow dag file: the README's three lines
from sqlsentinel_airflow import load_alert_dags

load_alert_dags("alerts.yaml", globals())
"""

ALERTS = """\
dag_id_prefix: compat_
defaults:
  conn_id: warehouse
  timezone: UTC
  notify:
    - channel: webhook
      url: http://127.0.0.1:{port}/hook
alerts:
  - name: error_rate
    schedule: "*/5 * * * *"
    retries: 0
    query: |
      SELECT CASE WHEN 100.0 * SUM(failed) / COUNT(*) > 5 THEN 'ALERT' ELSE 'OK' END AS status,
             ROUND(100.0 * SUM(failed) / COUNT(*), 2) AS actual_value, 5 AS threshold
      FROM api_requests
  - name: daily_revenue
    schedule: "0 9 * * *"
    retries: 0
    query: SELECT 'OK' AS status, 15230.5 AS actual_value, 10000 AS threshold
  - name: channels
    enabled: false
    schedule: "0 9 * * *"
    query: SELECT 'OK' AS status
    notify:
      - channel: email
        to: [oncall@example.com]
      - channel: slack
        conn_id: slack_alerts
"""


@dataclass
class Receiver:
    """Loopback receivers: webhook JSON bodies, Slack JSON bodies (``/services/...``), mails."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    slack: list[dict[str, Any]] = field(default_factory=list)
    mails: list[Message] = field(default_factory=list)


@dataclass
class Env:
    home: Path
    dags: Path
    alerts: Path
    receiver: Receiver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], *, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """A command of the venv, outside the repository (its source must not be importable)."""
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=_HOME,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
    )


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args}:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


def pytest_unconfigure() -> None:
    """The private home goes with the session (``SQLSENTINEL_COMPAT_KEEP=1`` keeps it)."""
    if not os.environ.get("SQLSENTINEL_COMPAT_KEEP"):
        shutil.rmtree(_HOME, ignore_errors=True)


def pytest_report_header() -> list[str]:
    from importlib.metadata import version

    names = ["apache-airflow", "apache-airflow-task-sdk", "sqlsentinel-airflow", "sqlalchemy"]
    return ["compat: " + ", ".join(f"{n} {version(n)}" for n in names)]


@pytest.fixture(scope="session", autouse=True)
def installed_not_source() -> None:
    import sqlsentinel_airflow

    where = Path(sqlsentinel_airflow.__file__).resolve()
    source = REPO / "sqlsentinel_airflow"
    assert source not in where.parents, f"the package comes from the source tree: {where}"
    assert "site-packages" in where.parts, where


@pytest.fixture(scope="session")
def env() -> Iterator[Env]:
    received: list[dict[str, Any]] = []
    slack: list[dict[str, Any]] = []
    mails: list[Message] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            (slack if self.path.startswith("/services/") else received).append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = int(server.server_address[1])

    class Collect:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            mails.append(email.message_from_bytes(envelope.content))
            return "250 OK"

    from aiosmtpd.controller import Controller

    smtp_port = free_port()
    smtp = Controller(Collect(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    extra = {"disable_ssl": True, "disable_tls": True, "from_email": "sqlsentinel@localhost"}
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(
        {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port, "extra": extra}
    )
    os.environ["AIRFLOW_CONN_SLACK_ALERTS"] = json.dumps(
        {
            "conn_type": "slackwebhook",
            "host": f"http://127.0.0.1:{port}/services",
            "password": "T000/B000/compat-token",
        }
    )
    with sqlite3.connect(_HOME / "warehouse.db") as db:
        db.execute("CREATE TABLE api_requests (id INTEGER, failed INTEGER)")
        db.executemany(
            "INSERT INTO api_requests VALUES (?, ?)", [(i, int(i % 8 == 0)) for i in range(100)]
        )
    dags = _HOME / "dags"
    (dags / "sqlsentinel_alerts.py").write_text(DAG_FILE)
    alerts = dags / "alerts.yaml"
    alerts.write_text(ALERTS.format(port=port))
    ok(run([AIRFLOW, "db", "migrate"]))
    ok(run([AIRFLOW, "dags", "reserialize"]))
    try:
        yield Env(_HOME, dags, alerts, Receiver(port, received, slack, mails))
    finally:
        smtp.stop()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def fired(env: Env) -> subprocess.CompletedProcess[str]:
    """``airflow dags test`` of the firing alert, once per session (the UI shows its state)."""
    started = time.monotonic()
    done = ok(run([AIRFLOW, "dags", "test", FIRING]))
    done.stdout += f"\n(took {time.monotonic() - started:.1f} s)"
    return done
