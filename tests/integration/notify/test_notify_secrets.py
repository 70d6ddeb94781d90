"""Secrets audit: recognisable secrets in connections and URLs never reach logs, CLI output,
history, the outbox, XCom, exceptions or the messages themselves.

Everything runs with the production log level (INFO): ``validate``, ``run`` (with a failing
and an unreachable endpoint, so error paths are covered), ``status``, ``outbox``,
``history``, ``notify-test`` and the operator.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException
from notify_servers import SMTP_PASSWORD, HttpReceiver, SmtpInbox, free_port

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.operators.alert import SentinelAlertOperator
from sqlsentinel_airflow.store import StateStore

SLACK_CONN_TOKEN = "T0SECRET/B0SECRET/slackConnTokenQ7w"
SLACK_URL_TOKEN = "perAlertTokenV5k"
HOOK_TOKEN = "whTokenM3xPq"
HOOK_API_KEY = "apiKeyHdr8Zr"
HMAC_KEY = "hmacKeyLw93Rt"
HTTP_PASSWORD = "httpPw93jdKs"
DEAD_TOKEN = "deadTokenP0qW"
BOT_TOKEN = "xoxb-0001-0002-botTokenZ4n"
SECRETS = [
    SMTP_PASSWORD, SLACK_CONN_TOKEN, "slackConnTokenQ7w", SLACK_URL_TOKEN, HOOK_TOKEN,
    HOOK_API_KEY, HMAC_KEY, HTTP_PASSWORD, DEAD_TOKEN, BOT_TOKEN, "botTokenZ4n",
]  # fmt: skip

ALERTS = """\
defaults:
  conn_id: wh
  schedule: "*/5 * * * *"
alerts:
  - name: revenue
    query: SELECT CASE WHEN v > 10 THEN 'ALERT' ELSE 'OK' END AS status, v AS actual_value, 10 AS threshold FROM metric
    notify:
      - channel: email
        to: [oncall@example.com]
      - channel: slack
        conn_id: slack_alerts
      - channel: slack
        webhook_url: ${SLACK_WEBHOOK_URL}
      - channel: slack
        bot_conn_id: slack_bot
        slack_channel: C0ALERTS
      - channel: webhook
        url: ${HOOK_URL}
        hmac_secret_conn_id: webhook_signing
        headers: {X-Api-Key: "${HOOK_API_KEY}"}
      - channel: webhook
        conn_id: alert_sink
        endpoint: /v1/events
      - channel: webhook
        url: ${DEAD_URL}
"""


@pytest.fixture
def bot_api() -> Iterator[HttpReceiver]:
    """Slack's Web API for the Slack app channel: every call answers ``ok``."""
    server = HttpReceiver()
    server.respond = lambda _request: (200, b'{"ok": true, "channel": "C0ALERTS", "ts": "1.2"}')
    yield server
    server.close()


class RecordingTaskInstance:
    """Stands in for Airflow's TI in the context: keeps what the operator pushes to XCom."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def test_no_secret_appears_anywhere(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    receiver: HttpReceiver,
    slack_api: HttpReceiver,
    smtp: SmtpInbox,
    bot_api: HttpReceiver,
) -> None:
    caplog.set_level(logging.INFO)
    warehouse = tmp_path / "wh.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE metric (v INTEGER)")
        conn.execute("INSERT INTO metric VALUES (25)")
    env = {
        "AIRFLOW_CONN_WH": json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
        "AIRFLOW_CONN_SLACK_ALERTS": json.dumps(
            {
                "conn_type": "slackwebhook",
                "host": slack_api.url("/services"),
                "password": SLACK_CONN_TOKEN,
            }
        ),
        "AIRFLOW_CONN_SLACK_BOT": json.dumps(
            {
                "conn_type": "slack",
                "password": BOT_TOKEN,
                "extra": {"base_url": bot_api.url("/api/")},
            }
        ),
        "AIRFLOW_CONN_WEBHOOK_SIGNING": json.dumps({"conn_type": "generic", "password": HMAC_KEY}),
        "AIRFLOW_CONN_ALERT_SINK": json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": receiver.port,
                "login": "s",
                "password": HTTP_PASSWORD,
            }
        ),
        "SLACK_WEBHOOK_URL": slack_api.url(f"/services/TX/BX/{SLACK_URL_TOKEN}"),
        "HOOK_URL": receiver.url(f"/hooks/{HOOK_TOKEN}"),
        "HOOK_API_KEY": HOOK_API_KEY,
        "DEAD_URL": f"http://127.0.0.1:{free_port()}/hooks/{DEAD_TOKEN}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    receiver.fail_next(1, 500)  # an error path for the signed webhook too
    seen: list[str] = []

    def cli(*args: str) -> int:
        code = int(main(list(args)))
        captured = capsys.readouterr()
        seen.extend([captured.out, captured.err])
        return code

    assert cli("validate", str(alerts), "--format", "json") == 0
    assert cli("run", str(alerts), "--state-db", state) == 1  # the dead URL stays undelivered
    assert cli("run", str(alerts), "--state-db", state, "--format", "json") == 1
    assert cli("status", str(alerts), "--state-db", state) == 0
    assert cli("outbox", "--state-db", state, "--format", "json") == 0
    assert cli("outbox", "--state-db", state) == 0
    assert cli("history", "--state-db", state, "--format", "json") == 0
    assert cli("notify-test", str(alerts), "--alert", "revenue") == 1

    loaded = load_config(str(alerts)).config
    assert loaded is not None
    alert = loaded.alert("revenue")
    task = SentinelAlertOperator(task_id="evaluate", alert=alert, state_db=StateDbConfig(url=state))
    ti = RecordingTaskInstance()
    context = {"params": {}, "dag_run": SimpleNamespace(run_id="r1", run_type="manual"), "ti": ti}
    with pytest.raises(AirflowException) as failure:
        task.execute(context)
    seen.append(str(failure.value))
    seen.append(json.dumps(ti.pushed, default=str))

    with StateStore.connect(state) as store:
        outbox = store.outbox(limit=1000)
        seen.extend(repr(entry) for entry in outbox)
        seen.extend(repr(entry) for entry in store.history(limit=1000))
        seen.extend(repr(entry) for entry in store.list_states())
    seen.extend(mail.message.as_string() for mail in smtp.mails)
    seen.extend(request.body.decode() for request in (*receiver.requests, *slack_api.requests))
    seen.extend(request.body.decode() for request in bot_api.requests)
    seen.append(caplog.text)
    seen.append("\n".join(str(r.args) for r in caplog.records))
    captured = capsys.readouterr()
    seen.extend([captured.out, captured.err])

    haystack = "\n".join(seen)
    leaked = [secret for secret in SECRETS if secret in haystack]
    assert leaked == []
    # the audit saw the error paths and the messages it claims to cover
    dead = [e for e in outbox if e.last_error and "ConnectionError" in e.last_error]
    assert dead and "with url: *** (Caused by" in (dead[0].last_error or "")
    assert len(smtp.mails) >= 2 and len(slack_api.requests) >= 4 and len(receiver.requests) >= 4
    assert len(bot_api.delivered) >= 2  # chat.postMessage: the runs' message and notify-test's
    assert all(r.headers["Authorization"] == f"Bearer {BOT_TOKEN}" for r in bot_api.requests)
    assert "notifications undelivered" in str(failure.value)
    assert ti.pushed["evaluation"]["delivery"]["failed"] == 1
