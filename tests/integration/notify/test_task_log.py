"""What the alert task's log says, in the order it happened.

``SentinelAlertOperator.execute`` in-process on a real SQLite warehouse, the real state store
and loopback receivers (as test_notify_operator.py). The log must read well: the decision
first (no ``instance -:`` for a one-instance alert, keyed instances by their label), then the
delivery; a dry run says per channel what it would have sent and where, without a secret.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from notify_engine import METRIC_QUERY, make_alert
from notify_servers import HttpReceiver, SmtpInbox

from sqlsentinel_airflow.core.config.models import AlertConfig, StateDbConfig
from sqlsentinel_airflow.operators.alert import SentinelAlertOperator

SLACK_TOKEN = "T000/B000/slacksecrettoken123456"  # in the webhook URL's path: a secret


def run(
    alert: AlertConfig, sqlite_url: str, caplog: pytest.LogCaptureFixture, *, dry: bool = False
) -> list[str]:
    task = SentinelAlertOperator(
        task_id="evaluate", alert=alert, state_db=StateDbConfig(url=sqlite_url)
    )
    dag_run = SimpleNamespace(run_id="manual__01", run_type="manual")
    context = {"params": {"dry_run": dry}, "dag_run": dag_run, "run_id": "manual__01", "ti": None}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sqlsentinel_airflow"):
        task.execute(context)
    # the package's lines, without the query's own (timings vary)
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("sqlsentinel_airflow")
        and r.name != "sqlsentinel_airflow.execution.query"
    ]


def test_decision_comes_before_delivery_and_reads_without_instance_dash(
    warehouse: Callable[[int], None],
    sqlite_url: str,
    receiver: HttpReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alert = make_alert(
        "load_check",
        [{"channel": "webhook", "url": receiver.url("/events")}],
        conn_id="wh",
        query=METRIC_QUERY,
    )
    warehouse(25)
    lines = run(alert, sqlite_url, caplog)
    text = "\n".join(lines)
    assert "instance -" not in text and "instance :" not in text
    headline = lines.index("alert load_check: FIRING 25 (threshold 10)")
    change = next(i for i, line in enumerate(lines) if line.startswith("  OK -> FIRING"))
    delivered = next(i for i, line in enumerate(lines) if "delivered firing event" in line)
    assert headline < change < delivered, text
    assert "events: firing" in lines[change]
    assert len(receiver.delivered) == 1

    warehouse(25)  # the next run: still firing, nothing changed: one line says it all
    lines = run(alert, sqlite_url, caplog)
    assert lines[0] == "alert load_check: FIRING 25 (threshold 10)"
    assert not any(line.startswith("  ") for line in lines), lines


def test_keyed_alert_names_its_instances(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "keyed.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE loads (table_name TEXT, hours REAL)")
        conn.executemany("INSERT INTO loads VALUES (?, ?)", [("customers", 17.99), ("orders", 1.5)])
    monkeypatch.setenv("AIRFLOW_CONN_KEYED", f'{{"conn_type": "sqlite", "host": "{path}"}}')
    alert = make_alert(
        "freshness",
        [],
        conn_id="keyed",
        key_columns=["table_name"],
        max_rows=100,
        query=(
            "SELECT table_name, CASE WHEN hours > 5 THEN 'ALERT' ELSE 'OK' END AS status, "
            "hours AS actual_value, 5 AS threshold FROM loads"
        ),
    )
    lines = run(alert, sqlite_url, caplog)
    assert lines[0] == (
        "alert freshness: FIRING 1 of 2 instances: table_name=customers 17.99 (threshold 5)"
    )
    assert any(line.startswith("  table_name=customers: OK -> FIRING") for line in lines)
    assert any(line.startswith("  table_name=orders: OK -> OK") for line in lines)
    assert "{" not in "\n".join(lines)  # labels, not JSON keys


def test_dry_run_says_what_it_would_send_where_without_secrets(
    warehouse: Callable[[int], None],
    sqlite_url: str,
    slack_api: HttpReceiver,
    receiver: HttpReceiver,
    smtp: SmtpInbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slack_url = slack_api.url(f"/services/{SLACK_TOKEN}")
    alert = make_alert(
        "load_check",
        [
            {"channel": "email", "to": ["oncall@example.com"]},
            {"channel": "slack", "webhook_url": slack_url},
            {"channel": "webhook", "url": receiver.url("/hooks/webhooksecretpath987654")},
        ],
        conn_id="wh",
        query=METRIC_QUERY,
        severity="critical",
    )
    warehouse(25)
    lines = run(alert, sqlite_url, caplog, dry=True)
    text = "\n".join(lines)
    assert lines[0] == "alert load_check: DRY RUN: FIRING 25 (threshold 10)"
    email = next(line for line in lines if line.startswith("DRY RUN: would send firing to email"))
    assert email.startswith("DRY RUN: would send firing to email oncall@example.com: ")
    assert email.endswith(": [CRITICAL] FIRING: load_check")
    slack = next(line for line in lines if line.startswith("DRY RUN: would send firing to slack"))
    assert "load_check" in slack
    body_lines = [line for line in lines if line.startswith("    | ")]
    assert body_lines, text  # the first lines of each message
    webhook = next(
        line for line in lines if line.startswith("DRY RUN: would send firing to webhook")
    )
    assert webhook.endswith("POST the JSON event payload (version 1, firing)")
    assert SLACK_TOKEN not in text and "slacksecrettoken" not in text
    assert "webhooksecretpath" not in text
    assert lines[-1] == "DRY RUN: nothing was sent, nothing was written to the state database"
    assert slack_api.delivered == [] and receiver.delivered == [] and smtp.mails == []


def test_dry_run_of_an_alert_without_an_event_says_so(
    warehouse: Callable[[int], None],
    sqlite_url: str,
    receiver: HttpReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    alert = make_alert(
        "load_check",
        [{"channel": "webhook", "url": receiver.url("/events")}],
        conn_id="wh",
        query=METRIC_QUERY,
    )
    warehouse(3)
    lines = run(alert, sqlite_url, caplog, dry=True)
    assert lines[0] == "alert load_check: DRY RUN: OK 3 (threshold 10)"
    assert "DRY RUN: alert load_check: nothing would be sent (no event)" in lines
    assert receiver.delivered == []


def test_dry_run_of_a_keyed_alert_previews_the_grouped_message_it_would_send(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    receiver: HttpReceiver,
    smtp: SmtpInbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "keyed.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE loads (table_name TEXT, hours REAL)")
        conn.executemany(
            "INSERT INTO loads VALUES (?, ?)", [("customers", 17.99), ("orders", 8), ("users", 9)]
        )
    monkeypatch.setenv("AIRFLOW_CONN_KEYED", f'{{"conn_type": "sqlite", "host": "{path}"}}')
    alert = make_alert(
        "freshness",
        [
            {"channel": "email", "to": ["oncall@example.com"]},
            {"channel": "webhook", "url": receiver.url("/events")},
        ],
        conn_id="keyed",
        key_columns=["table_name"],
        max_rows=100,
        query=(
            "SELECT table_name, CASE WHEN hours > 5 THEN 'ALERT' ELSE 'OK' END AS status, "
            "hours AS actual_value, 5 AS threshold FROM loads"
        ),
    )
    lines = run(alert, sqlite_url, caplog, dry=True)
    sends = [line for line in lines if line.startswith("DRY RUN: would send")]
    emails = [line for line in sends if " to email " in line]
    assert len(emails) == 1 and emails[0].endswith(
        ": [WARNING] FIRING: 3 of 3 instances — freshness"
    )
    assert len([line for line in sends if " to webhook " in line]) == 3  # one per event
    assert receiver.delivered == [] and smtp.mails == []
