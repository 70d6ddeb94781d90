"""``sqlsentinel ack`` / ``unack``: an acknowledged instance stops reminding, the others go
on; taking it back brings its reminders back. Subprocesses on a real SQLite warehouse and
state database, mail to a real SMTP inbox.
"""

from __future__ import annotations

import json
import sqlite3
import time
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from cli_smtp import Inbox
from test_cli_end_to_end import base_env, run_json, sqlsentinel

ALERTS = """\
defaults:
  conn_id: wh
  notify:
    - channel: email
      to: [oncall@example.com]
alerts:
  - name: table_freshness
    schedule: "*/5 * * * *"
    key_columns: [table_name]
    renotify_after: 1s
    group: {by_evaluation: false}
    query: |
      SELECT table_name,
             CASE WHEN age_hours > 6 THEN 'ALERT' ELSE 'OK' END AS status,
             age_hours AS actual_value, 6 AS threshold
      FROM freshness
"""


@pytest.fixture
def setup(tmp_path: Path, inbox: Inbox) -> tuple[Path, dict[str, str]]:
    wh = tmp_path / "warehouse.db"
    with sqlite3.connect(wh) as conn:
        conn.execute("CREATE TABLE freshness (table_name TEXT, age_hours REAL)")
        conn.executemany(
            "INSERT INTO freshness VALUES (?, ?)", [("customers", 17.5), ("orders", 8)]
        )
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    env = base_env(tmp_path)
    env["AIRFLOW_CONN_WH"] = json.dumps({"conn_type": "sqlite", "host": str(wh)})
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = inbox.connection_json()
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{tmp_path / 'state.db'}"
    return tmp_path, env


def _subjects(inbox: Inbox) -> list[str]:
    return [str(make_header(decode_header(m["Subject"]))) for m in inbox.messages]


def test_ack_stops_one_instance_reminding_and_unack_brings_it_back(
    setup: tuple[Path, dict[str, str]], inbox: Inbox
) -> None:
    cwd, env = setup
    run_json(["run", "alerts.yaml"], env, cwd)
    assert len(inbox.messages) == 2  # one firing per table
    done = run_json(
        [
            "ack",
            "table_freshness",
            "--instance",
            "table_name=customers",
            "--comment",
            "reloading",
            "--by",
            "ana",
            "--file",
            "alerts.yaml",
        ],
        env,
        cwd,
    )
    (one,) = done["instances"]
    assert one["changed"] is True
    assert (one["ack"]["by"], one["ack"]["comment"], one["ack"]["source"]) == (
        "ana",
        "reloading",
        "cli",
    )
    status = run_json(["status", "alerts.yaml"], env, cwd)
    (fresh,) = status["alerts"]
    assert fresh["acknowledged_instances"] == 1
    assert {i["label"]: (i["ack"] or {}).get("by") for i in fresh["instances"]} == {
        "table_name=customers": "ana",
        "table_name=orders": None,
    }
    text = sqlsentinel(["status", "alerts.yaml"], env, cwd).stdout
    customers = next(line for line in text.splitlines() if "table_name=customers" in line)
    assert "FIRING (acked by ana)" in customers
    time.sleep(1.1)
    run_json(["run", "alerts.yaml"], env, cwd)
    reminders = _subjects(inbox)[2:]
    assert len(reminders) == 1 and "orders" in reminders[0], reminders

    text = sqlsentinel(
        ["unack", "table_freshness", "--instance", "table_name=customers", "--file", "alerts.yaml"],
        env,
        cwd,
    )
    assert text.returncode == 0, text.stderr
    assert "table_freshness [table_name=customers]" in text.stdout
    assert "acknowledgement taken back" in text.stdout
    time.sleep(1.1)
    run_json(["run", "alerts.yaml"], env, cwd)
    latest = _subjects(inbox)[3:]
    assert sorted("customers" in s for s in latest) == [False, True], latest


def test_refusals(setup: tuple[Path, dict[str, str]]) -> None:
    cwd, env = setup
    run_json(["run", "alerts.yaml"], env, cwd)
    with sqlite3.connect(cwd / "warehouse.db") as conn:
        conn.execute("UPDATE freshness SET age_hours = 1")
    run_json(["run", "alerts.yaml"], env, cwd)
    calm = sqlsentinel(["ack", "table_freshness", "--file", "alerts.yaml"], env, cwd)
    assert calm.returncode == 1
    assert "alert 'table_freshness' has no firing instance" in calm.stderr
    # no file, and no manifests on this machine: say where to look
    lost = sqlsentinel(["ack", "table_freshness"], env, cwd)
    assert lost.returncode == 2
    assert "give its alerts file with --file FILE" in lost.stderr
    wrong = sqlsentinel(
        ["ack", "table_freshness", "--instance", "colour=blue", "--file", "alerts.yaml"], env, cwd
    )
    assert wrong.returncode == 2 and "--instance 'colour=blue'" in wrong.stderr
    assert "Traceback" not in calm.stderr + lost.stderr + wrong.stderr
