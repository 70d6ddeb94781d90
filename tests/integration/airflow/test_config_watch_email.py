"""The config watch's emails, sent by the real DAG (``dag.test()``) to a real SMTP server.

An invalid alerts file sends one email listing each error on its own line (a list item in
HTML) with a link to the SQL Sentinel page; the run that finds the file fixed sends one
"valid again" email; later valid runs send nothing. A webhook in ``defaults.notify`` gets
the same two events. The inbox is the notify tests' loopback SMTP server (aiosmtpd, with
login), the webhook their loopback HTTP receiver.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))
from notify_servers import SMTP_LOGIN, SMTP_PASSWORD, HttpReceiver, SmtpInbox, smtp_inbox

pytestmark = pytest.mark.airflow

WATCH = "cwm_config_watch"
BASE_URL = "http://airflow.example.test:8080/"
DAG_FILE = """\
# airflow dag file for the config watch email tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("cwm_alerts.yaml", globals(), dag_id_prefix="cwm_")
"""
ALERTS = """\
defaults:
  conn_id: wh
  notify:
    - channel: email
      to: [ops@example.com]
    - channel: webhook
      url: {hook}
alerts:
  - name: first
    schedule: "{first}"
    query: "SELECT 'OK' AS status"
  - name: second
    schedule: "0 1 * * *"
    query: "SELECT 'OK' AS status"
    fire_after: {fire_after}
"""


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    yield server
    server.close()


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpInbox]:
    with smtp_inbox(SMTP_LOGIN, SMTP_PASSWORD) as smtp:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp.connection_json())
        yield smtp


def test_an_invalid_file_mails_each_error_and_the_fix_mails_valid_again_once(
    airflow_db: Path, monkeypatch: pytest.MonkeyPatch, inbox: SmtpInbox, hook: HttpReceiver
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": ":memory:"}))
    monkeypatch.delenv("AIRFLOW_CONN_SQLSENTINEL_AIRFLOW_API", raising=False)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
    alerts = airflow_db / "cwm_alerts.yaml"
    alerts.write_text(ALERTS.format(hook=hook.url("/watch"), first="0 * * * *", fire_after=1))
    (airflow_db / "cwm_dags.py").write_text(DAG_FILE)

    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.variable import Variable

    from sqlsentinel_airflow.core.config import load_config_text

    Variable.delete(f"{WATCH}__baseline")
    bag = DagBag(dag_folder=str(airflow_db / "cwm_dags.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[WATCH]

    # 1. Valid from the start: a baseline, no email (nothing was broken).
    assert dag.test().state == "success"
    assert inbox.mails == []

    # 2. Two errors: one email, each error on a line of its own, and the page's link.
    alerts.write_text(ALERTS.format(hook=hook.url("/watch"), first="every hour", fire_after=0))
    expected = [
        e.format()
        for e in load_config_text(alerts.read_text(), "cwm_alerts.yaml", base_dir=airflow_db).errors
    ]
    assert len(expected) == 2, expected
    assert dag.test().state == "failed"
    (broken,) = inbox.mails
    assert broken.message["Subject"] == "[ERROR] SQL Sentinel: the alerts configuration is invalid"
    text = broken.part("text/plain")
    lines = text.splitlines()
    for message in expected:
        assert f"  - {message}" in lines, text
    assert f"SQL Sentinel page: {BASE_URL}plugin/sqlsentinel" in lines
    html = broken.part("text/html")
    assert html.count("<li>") == 2
    for message in expected:
        assert f"<li><code>{message.replace(chr(39), '&#39;')}</code></li>" in html, html
    assert f'<a href="{BASE_URL}plugin/sqlsentinel">' in html

    # 3. Fixed: one "valid again" email to the same recipients.
    alerts.write_text(ALERTS.format(hook=hook.url("/watch"), first="0 * * * *", fire_after=2))
    assert dag.test().state == "success"
    assert len(inbox.mails) == 2
    fixed = inbox.mails[1]
    assert fixed.rcpt_tos == ["ops@example.com"]
    assert fixed.message["Subject"] == (
        "[RESOLVED] SQL Sentinel: the alerts configuration is valid again"
    )
    assert "is valid again" in fixed.part("text/plain")
    assert f"SQL Sentinel page: {BASE_URL}plugin/sqlsentinel" in fixed.part("text/plain")

    # 4. Another valid edit: no second "valid again".
    alerts.write_text(ALERTS.format(hook=hook.url("/watch"), first="0 * * * *", fire_after=3))
    assert dag.test().state == "success"
    assert len(inbox.mails) == 2

    # The webhook got the same two events, the page's link in links.dashboard.
    error, valid = [r.json() for r in hook.requests]
    assert (error["kind"], error["reason_code"]) == ("error", "invalid_config")
    assert error["error"] == "\n".join(expected)
    assert (valid["kind"], valid["reason_code"], valid["state"]) == (
        "resolved",
        "config_valid_again",
        "OK",
    )
    assert valid["error"] is None
    for event in (error, valid):
        assert event["links"]["dashboard"] == f"{BASE_URL}plugin/sqlsentinel"
