"""Secrets audit across every connection kind (docs/reliability.md).

tests/integration/notify/test_notify_secrets.py audits the notification channels in process.
This audit adds what it leaves out: database connections (a PostgreSQL password, a MariaDB
password that is refused, so the error path is covered), a ``database.url`` with a password
written in a standalone file, a state DB URL with a password, and the CLI as users run it: a
subprocess of ``python -m sqlsentinel_airflow.cli.main`` with ``--verbose`` logging. Each
secret is distinctive; the haystack is every output, log, error, XCom-equivalent report,
history/outbox/state row, UI API response body (built by the read model the endpoints
render, ``readmodel``; not over HTTP) and message received by the loopback servers. Zero hits.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from hardening_support import ROOT
from notify_servers import HttpReceiver, smtp_inbox

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.operators.alert import SentinelAlertOperator
from sqlsentinel_airflow.store import StateStore

PG_SECRET = "pgPw-Aud1t-7Hq"
MYSQL_SECRET = "myPw-Aud1t-K2z"
DBURL_SECRET = "dbUrlPw-Aud1t-W9r"
STATE_SECRET = "statePw-Aud1t-F4m"
SMTP_SECRET = "smtpPw-Aud1t-X3c"
SLACK_CONN_TOKEN = "slackConnTok-Aud1t-P8d"
SLACK_URL_TOKEN = "slackUrlTok-Aud1t-J6n"
HTTP_SECRET = "httpPw-Aud1t-B5v"
HMAC_SECRET = "hmacKey-Aud1t-R1t"
QUERY_TOKEN = "queryTok-Aud1t-L0s"
# acknowledgements and escalation (docs/responding.md): a Slack app's bot token, PagerDuty's
# routing key (32 characters, as its API wants), a Teams webhook's signature, and the key
# that signs the email action links
SLACK_BOT_TOKEN = "xoxb-botTok-Aud1t-Q7w"
PD_ROUTING_KEY = "pdRoutingKeyAud1tZ9x0123456789ab"
TEAMS_TOKEN = "teamsSig-Aud1t-V2g"
LINKS_KEY = "linksKey-Aud1t-M4p-0123456789abcdef"
SECRETS = [
    PG_SECRET, MYSQL_SECRET, DBURL_SECRET, STATE_SECRET, SMTP_SECRET, SLACK_CONN_TOKEN,
    SLACK_URL_TOKEN, HTTP_SECRET, HMAC_SECRET, QUERY_TOKEN, SLACK_BOT_TOKEN, PD_ROUTING_KEY,
    TEAMS_TOKEN, LINKS_KEY,
]  # fmt: skip

ALERTS = """\
database:
  url: postgresql://postgres:{dburl_secret}@127.0.0.1:5432/{pg_db}
defaults:
  schedule: "0 * * * *"
  notify_on_error: after 1
  notify:
    - channel: email
      to: [oncall@example.com]
      conn_id: audit_smtp
    - channel: slack
      conn_id: audit_slack
    - channel: slack
      webhook_url: ${{AUDIT_SLACK_URL}}
    - channel: webhook
      url: ${{AUDIT_HOOK_URL}}
      hmac_secret_conn_id: audit_hmac
    - channel: webhook
      conn_id: audit_http
      endpoint: /v1/events
    - channel: slack
      bot_conn_id: audit_slackbot
      slack_channel: C0AUDIT
    - channel: pagerduty
      conn_id: audit_pd
    - channel: teams
      conn_id: audit_teams
action_links:
  conn_id: audit_links
alerts:
  - name: on_postgres
    conn_id: audit_pg
    query: SELECT 'ALERT' AS status, 5 AS actual_value, 1 AS threshold
  - name: on_mariadb
    conn_id: audit_mysql
    query: SELECT 'OK' AS status
  - name: on_sqlite
    conn_id: audit_sqlite
    query: SELECT 'ALERT' AS status, v AS actual_value FROM metric
  - name: on_database_url
    query: SELECT 'ALERT' AS status
"""


class RecordingTaskInstance:
    """Keeps what the operator pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def connections(
    pg_db: str, mysql_db: str, warehouse: Path, servers: dict[str, Any]
) -> dict[str, str]:
    receiver: HttpReceiver = servers["receiver"]
    slack: HttpReceiver = servers["slack"]
    conns = {
        "audit_pg": {"conn_type": "postgres", "host": "127.0.0.1", "port": 5432,
                     "login": "postgres", "password": PG_SECRET, "schema": pg_db},
        "audit_mysql": {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306,
                        "login": "root", "password": MYSQL_SECRET, "schema": mysql_db},
        "audit_sqlite": {"conn_type": "sqlite", "host": str(warehouse)},
        "audit_slack": {"conn_type": "slackwebhook", "host": slack.url("/services"),
                        "password": SLACK_CONN_TOKEN},
        "audit_hmac": {"conn_type": "generic", "password": HMAC_SECRET},
        "audit_http": {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port,
                       "login": "sentinel", "password": HTTP_SECRET},
        "audit_slackbot": {"conn_type": "slack", "password": SLACK_BOT_TOKEN,
                           "extra": {"base_url": slack.url("/api/")}},
        "audit_pd": {"conn_type": "pagerduty_events", "host": receiver.url("/pd"),
                     "password": PD_ROUTING_KEY},
        "audit_teams": {"conn_type": "http",
                        "password": receiver.url(f"/teams?sig={TEAMS_TOKEN}")},
        "audit_links": {"conn_type": "generic", "password": LINKS_KEY},
    }  # fmt: skip
    env = {f"AIRFLOW_CONN_{k.upper()}": json.dumps(v) for k, v in conns.items()}
    env["AIRFLOW_CONN_AUDIT_SMTP"] = servers["smtp"].connection_json()
    env["AUDIT_SLACK_URL"] = slack.url(f"/services/TA/BA/{SLACK_URL_TOKEN}")
    env["AUDIT_HOOK_URL"] = receiver.url(f"/hooks?token={QUERY_TOKEN}")
    env["AIRFLOW__API__BASE_URL"] = "http://127.0.0.1:8080"  # so emails carry action links
    return env


def test_no_secret_of_any_connection_kind_appears_anywhere(
    tmp_path: Path,
    pg_url: str,
    mysql_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    pg_db = str(sa.engine.make_url(pg_url).database)
    mysql_db = str(sa.engine.make_url(mysql_url).database)
    warehouse = tmp_path / "wh.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE metric (v INTEGER)")
        conn.execute("INSERT INTO metric VALUES (25)")
    conn.close()
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS.format(dburl_secret=DBURL_SECRET, pg_db=pg_db))
    state = f"postgresql://postgres:{STATE_SECRET}@127.0.0.1:5432/{pg_db}"
    receiver, slack = HttpReceiver(), HttpReceiver()
    seen: list[str] = []
    try:
        with smtp_inbox("mailer", SMTP_SECRET) as smtp:
            servers = {"receiver": receiver, "slack": slack, "smtp": smtp}
            env = connections(pg_db, mysql_db, warehouse, servers)
            for name, value in env.items():
                monkeypatch.setenv(name, value)
            receiver.fail_next(1, 500)  # an error path for the signed webhook too

            def cli(*args: str) -> int:
                done = subprocess.run(
                    [sys.executable, "-m", "sqlsentinel_airflow.cli.main", "--verbose", *args],
                    env=dict(os.environ),
                    capture_output=True,
                    text=True,
                    timeout=120,
                    cwd=ROOT,
                )
                seen.extend([done.stdout, done.stderr])
                return done.returncode

            codes = [
                cli("validate", str(alerts)),
                cli("validate", str(alerts), "--format", "json", "--check-connections"),
                cli("run", str(alerts), "--state-db", state),
                cli("run", str(alerts), "--state-db", state, "--format", "json"),
                cli("status", str(alerts), "--state-db", state),
                cli("history", "--state-db", state, "--format", "json"),
                cli("outbox", "--state-db", state),
                cli("run", str(alerts), "--state-db", "postgresql://nobody:x@127.0.0.1:1/no"),
            ]
            config = load_config(str(alerts)).config
            assert config is not None
            reports = []
            for alert in config.alerts:
                task = SentinelAlertOperator(
                    task_id="evaluate", alert=alert, state_db=StateDbConfig(url=state)
                )
                ti = RecordingTaskInstance()
                dag_run = SimpleNamespace(run_id=f"audit-{alert.name}", run_type="manual")
                try:
                    task.execute({"params": {}, "dag_run": dag_run, "ti": ti})
                except Exception as exc:  # the MariaDB alert's refused login
                    seen.append(f"{type(exc).__name__}: {exc}")
                reports.append(ti.pushed)
            seen.append(json.dumps(reports, default=str))
            # the raw message and its parts decoded (bodies travel base64-encoded)
            mails = [
                "\n".join(
                    [
                        mail.message.as_string(),
                        *(
                            part.get_payload(decode=True).decode("utf-8", "replace")
                            for part in mail.message.walk()
                            if not part.is_multipart()
                        ),
                    ]
                )
                for mail in smtp.mails
            ]
    finally:
        receiver.close()
        slack.close()

    with StateStore.connect(state) as store:
        seen.extend(repr(entry) for entry in store.outbox(limit=1000))
        seen.extend(repr(entry) for entry in store.history(limit=1000))
        seen.extend(repr(entry) for entry in store.list_states())
        history = store.history(limit=1000)
        # the UI API's responses, built by the same functions its endpoints call
        ui_json = {
            "history": [readmodel.evaluation_view(entry).to_json() for entry in history],
            "deliveries": [
                readmodel.delivery_view(entry).to_json() for entry in store.outbox(limit=1000)
            ],
            "instances": [
                readmodel.instance_view(state, None).to_json() for state in store.list_states()
            ],
        }
    seen.append(json.dumps(ui_json, default=str))
    seen.extend(mails)
    # what the receivers got, except PagerDuty's events: the routing key belongs in their body
    seen.extend(
        request.body.decode()
        for request in (*receiver.requests, *slack.requests)
        if not request.path.startswith("/pd")
    )
    seen.append(caplog.text)
    seen.append("\n".join(str(record.args) for record in caplog.records))
    seen.extend(capfd.readouterr())

    haystack = "\n".join(seen)
    assert [secret for secret in SECRETS if secret in haystack] == []
    # the audit really went through the paths it claims to cover
    # validate ok; --check-connections finds the refused MariaDB login (2); run: a query
    # failed (1); status/history/outbox ok; an unreachable state DB fails
    assert codes[:7] == [0, 2, 1, 1, 0, 0, 0] and codes[7] != 0, codes
    errors = " ".join(entry.error or "" for entry in history)
    assert "audit_mysql" in errors, errors  # the refused MariaDB login was recorded
    # the new channels were really used: PagerDuty and Teams through the receiver, the bot
    # through the Slack stand-in, and the emails carried a signed Acknowledge link
    paths = [request.path for request in receiver.requests]
    assert any(p.startswith("/pd") for p in paths) and any(p.startswith("/teams") for p in paths)
    assert any(r.path.startswith("/api/chat.postMessage") for r in slack.requests)
    assert any("/sqlsentinel/ui/action#t=" in mail for mail in mails)
    assert {entry.alert_name for entry in history} >= {"on_postgres", "on_sqlite"}
    assert all(ui_json.values()), {k: len(v) for k, v in ui_json.items()}
    assert len(mails) >= 3 and len(slack.requests) >= 6 and len(receiver.requests) >= 6
