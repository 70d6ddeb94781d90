"""``sqlsentinel run`` delivers (exit 1 while something is undelivered); ``notify-test`` sends
a sample through each channel. In-process ``main()`` with real servers and databases."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest
from notify_servers import HttpReceiver, SmtpInbox

from sqlsentinel_airflow.cli.main import main

ALERTS = """\
defaults:
  conn_id: wh
  schedule: "*/5 * * * *"
alerts:
  - name: load_check
    description: Load above 10
    query: SELECT CASE WHEN v > 10 THEN 'ALERT' ELSE 'OK' END AS status, v AS actual_value, 10 AS threshold FROM metric
    notify:
      - channel: webhook
        url: {hook}
      - channel: email
        to: [oncall@example.com]
        subject: "{{{{ alert.name }}}}: {{{{ status }}}}"
  - name: templated
    query: SELECT 'OK' AS status
    templates:
      slack: "{{{{ raw.actual_value / 0 }}}}"
    notify:
      - channel: slack
        webhook_url: {slack}
      - channel: webhook
        conn_id: missing_sink
"""


@pytest.fixture
def alerts_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: HttpReceiver,
    slack_api: HttpReceiver,
    smtp: SmtpInbox,
) -> Path:
    warehouse = tmp_path / "wh.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE metric (v INTEGER)")
        conn.execute("INSERT INTO metric VALUES (25)")
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
    path = tmp_path / "alerts.yaml"
    path.write_text(
        ALERTS.format(hook=receiver.url("/events"), slack=slack_api.url("/services/T/B/x"))
    )
    return path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_delivers_and_exits_1_while_something_is_undelivered(
    alerts_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    receiver: HttpReceiver,
    smtp: SmtpInbox,
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    receiver.fail_next(1, 500)

    code, out, _ = cli(
        capsys, "run", str(alerts_file), "--alert", "load_check", "--state-db", state
    )

    assert code == 1
    assert (
        "load_check: notifications: 1 delivered, 1 failed (firing to webhook: the receiver answered HTTP 500 Internal Server Error)"
        in out
    )
    assert [m.message["Subject"] for m in smtp.mails] == ["load_check: FIRING"]

    code, out, _ = cli(capsys, "status", str(alerts_file), "--state-db", state, "--format", "json")
    (load_check,) = [a for a in json.loads(out)["alerts"] if a["name"] == "load_check"]
    (pending,) = load_check["deliveries"]
    assert (pending["status"], load_check["pending_deliveries"]) == ("pending", 1)
    assert (pending["channel"], pending["attempts"]) == ("webhook", 1)

    code, out, _ = cli(
        capsys,
        "run",
        str(alerts_file),
        "--alert",
        "load_check",
        "--state-db",
        state,
        "--format",
        "json",
    )

    assert code == 0
    (delivery,) = json.loads(out)["deliveries"]
    assert (delivery["complete"], delivery["delivered"]) == (True, 1)
    assert [r.json()["kind"] for r in receiver.delivered] == ["firing"]
    assert len(smtp.mails) == 1  # the email went out once, in the first run


def test_notify_test_sends_a_sample_through_each_channel(
    alerts_file: Path,
    capsys: pytest.CaptureFixture[str],
    receiver: HttpReceiver,
    smtp: SmtpInbox,
) -> None:
    code, out, _ = cli(capsys, "notify-test", str(alerts_file), "--alert", "load_check")

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["#", "CHANNEL", "DESTINATION", "RESULT"]
    assert lines[1].split()[:2] == ["0", "webhook"] and lines[1].endswith("sent")
    assert "webhook POST http://127.0.0.1:" in lines[1] and "/events" not in lines[1]
    assert lines[2].split()[:2] == ["1", "email"] and lines[2].endswith("sent")
    (request,) = receiver.requests
    assert (
        request.json()["reason"] == "test message from `sqlsentinel notify-test`, not a real alert"
    )
    assert request.json()["test"] is True
    assert smtp.mails[0].message["Subject"] == "load_check: FIRING"
    assert smtp.mails[0].part("text/plain").startswith("[TEST] load_check is firing")


def test_notify_test_reports_broken_templates_and_connections(
    alerts_file: Path, capsys: pytest.CaptureFixture[str], slack_api: HttpReceiver
) -> None:
    code, out, _ = cli(
        capsys, "notify-test", str(alerts_file), "--alert", "templated", "--format", "json"
    )

    assert code == 1
    slack, sink = json.loads(out)["results"]
    assert slack["delivered"] is False
    assert slack["error"].startswith(
        "the alert's `templates` slack template for 'firing' failed (ZeroDivisionError: division by zero)"
    )
    assert sink["error"] == (
        "http connection 'missing_sink' is not defined; create it in Admin > Connections "
        "or set AIRFLOW_CONN_MISSING_SINK"
    )
    assert slack_api.requests == []


def test_notify_test_names_the_alerts_when_the_name_is_wrong(
    alerts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "notify-test", str(alerts_file), "--alert", "nope")

    assert code == 2
    assert err.strip() == (
        "sqlsentinel: error: no valid alert named 'nope' (alerts: load_check, templated)"
    )


def test_alerts_file_fixture_is_valid(
    alerts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "validate", str(alerts_file))
    assert (code, out.strip()) == (0, f"{alerts_file}: OK, 2 alerts"), textwrap.shorten(out, 500)
