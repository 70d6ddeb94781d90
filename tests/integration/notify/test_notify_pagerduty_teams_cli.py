"""PagerDuty and Teams through the CLI: ``run`` delivers, ``notify-test`` checks the wiring,
and neither the routing key nor the Teams webhook URL shows in any output, log or row."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest
from notify_servers import HttpReceiver
from pagerduty_api import ROUTING_KEY, PagerDutyEventsApi

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.store import StateStore

TEAMS_SIG = "teamsSigKp4Wv8"
ALERTS = """\
defaults:
  conn_id: wh
  schedule: "*/5 * * * *"
alerts:
  - name: revenue
    severity: critical
    query: SELECT CASE WHEN v > 10 THEN 'ALERT' ELSE 'OK' END AS status, v AS actual_value, 10 AS threshold FROM metric
    notify:
      - channel: pagerduty
        conn_id: pagerduty_oncall
      - channel: teams
        conn_id: teams_alerts
      - channel: teams
        webhook_url: ${TEAMS_URL}
"""


def test_run_and_notify_test_deliver_and_never_show_the_secrets(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    pagerduty_api: PagerDutyEventsApi,
    receiver: HttpReceiver,
) -> None:
    caplog.set_level(logging.INFO)
    warehouse = tmp_path / "wh.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE metric (v INTEGER)")
        conn.execute("INSERT INTO metric VALUES (25)")
    teams_url = receiver.url(f"/workflows/w1/triggers/manual/paths/invoke?sig={TEAMS_SIG}")
    env = {
        "AIRFLOW_CONN_WH": json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
        "AIRFLOW_CONN_PAGERDUTY_ONCALL": json.dumps(
            {"conn_type": "pagerduty_events", "host": pagerduty_api.url(), "password": ROUTING_KEY}
        ),
        "AIRFLOW_CONN_TEAMS_ALERTS": json.dumps({"conn_type": "http", "password": teams_url}),
        "TEAMS_URL": teams_url + "&inline=1",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    receiver.default_status = 202  # what a Workflows webhook answers
    seen: list[str] = []

    def cli(*args: str) -> int:
        code = int(main(list(args)))
        captured = capsys.readouterr()
        seen.extend([captured.out, captured.err])
        return code

    assert cli("validate", str(alerts)) == 0
    pagerduty_api.fail_next(1, 500)  # an error path too
    assert cli("run", str(alerts), "--state-db", state) == 1
    assert cli("run", str(alerts), "--state-db", state) == 0
    assert cli("outbox", "--state-db", state, "--format", "json") == 0
    assert cli("status", str(alerts), "--state-db", state) == 0
    assert cli("notify-test", str(alerts), "--alert", "revenue") == 0
    notify_test = seen[-2]

    with StateStore.connect(state) as store:
        rows = store.outbox(limit=100)
    seen.extend(repr(row) for row in rows)
    seen.append(caplog.text)
    seen.append("\n".join(str(r.args) for r in caplog.records))
    haystack = "\n".join(seen)
    assert ROUTING_KEY not in haystack
    assert TEAMS_SIG not in haystack and "/workflows/w1" not in haystack

    # what the audit claims to have covered: a failed and a delivered send, the samples
    assert any(row.attempts == 2 and row.channel_kind == "pagerduty" for row in rows)
    assert {row.destination for row in rows} == {
        "PagerDuty connection pagerduty_oncall",
        "Teams connection teams_alerts",
        "Teams webhook",
    }
    assert "pagerduty via connection 'pagerduty_oncall'" in notify_test
    assert "teams via webhook_url (hidden)" in notify_test
    sample_trigger, sample_resolve = pagerduty_api.events[-2:]
    assert sample_trigger["dedup_key"] == sample_resolve["dedup_key"]
    assert sample_trigger["dedup_key"].startswith("sqlsentinel/test/")
    assert sample_trigger["payload"]["summary"].startswith("[TEST] [CRITICAL] revenue is firing")
    assert sample_resolve["event_action"] == "resolve"
    assert [a.status for a in pagerduty_api.incidents] == ["triggered", "resolved"]
    teams_cards = [r.json() for r in receiver.requests]
    assert len(teams_cards) == 4  # the firing and the sample, on both Teams channels
    assert teams_cards[-1]["attachments"][0]["content"]["body"][0]["text"].startswith(
        "\\[TEST\\] FIRING: revenue"
    )
