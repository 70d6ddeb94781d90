"""Instances of a keyed alert in the CLI: printed as ``table_name=customers`` (never as JSON),
and ``sqlsentinel silence ALERT --instance table_name=customers`` mutes that one instance.

Subprocesses on a real SQLite warehouse and state database, mail to a real SMTP inbox.
"""

from __future__ import annotations

import json
import sqlite3
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
    query: |
      SELECT table_name,
             CASE WHEN age_hours > 6 THEN 'ALERT' ELSE 'OK' END AS status,
             age_hours AS actual_value, 6 AS threshold, loaded_by
      FROM freshness
  - name: orders_exist
    schedule: "*/5 * * * *"
    query: SELECT 'OK' AS status
"""


@pytest.fixture
def setup(tmp_path: Path, inbox: Inbox) -> tuple[Path, dict[str, str], Path]:
    wh = tmp_path / "warehouse.db"
    with sqlite3.connect(wh) as conn:
        conn.execute("CREATE TABLE freshness (table_name TEXT, age_hours REAL, loaded_by TEXT)")
        conn.executemany(
            "INSERT INTO freshness VALUES (?, ?, ?)",
            [("customers", 17.5, "nightly"), ("orders", 8, "hourly"), ("users", 1, "hourly")],
        )
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    env = base_env(tmp_path)
    env["AIRFLOW_CONN_WH"] = json.dumps({"conn_type": "sqlite", "host": str(wh)})
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = inbox.connection_json()
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{tmp_path / 'state.db'}"
    return tmp_path, env, wh


def _fail(args: list[str], env: dict[str, str], cwd: Path) -> str:
    proc = sqlsentinel(args, env, cwd)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def test_instances_print_as_labels_and_one_instance_is_silenced(
    setup: tuple[Path, dict[str, str], Path], inbox: Inbox
) -> None:
    cwd, env, wh = setup
    run_json(["run", "alerts.yaml"], env, cwd)
    # customers and orders fire in one run: one grouped email (docs/notifications.md)
    (grouped,) = inbox.messages
    subject = str(make_header(decode_header(grouped["Subject"])))
    assert subject == "[WARNING] FIRING: 2 of 3 instances — table_freshness"

    status = sqlsentinel(["status", "alerts.yaml"], env, cwd)
    assert "table_name=customers" in status.stdout and "table_name=users" in status.stdout
    assert '{"table_name"' not in status.stdout
    history = sqlsentinel(["history", "--alert", "table_freshness"], env, cwd)
    assert "table_name=orders" in history.stdout and '{"table_name"' not in history.stdout
    data = run_json(["status", "alerts.yaml"], env, cwd)
    fresh = next(a for a in data["alerts"] if a["name"] == "table_freshness")
    assert fresh["firing_instance_labels"] == ["table_name=customers", "table_name=orders"]
    assert fresh["instances"][0]["label"] == "table_name=customers"
    assert fresh["instances"][0]["last_context"] == {"loaded_by": "nightly"}

    # the human form, checked against the key columns the state database knows
    made = run_json(
        [
            "silence",
            "table_freshness",
            "--instance",
            "table_name=customers",
            "--for",
            "2h",
            "--reason",
            "reload",
        ],
        env,
        cwd,
    )
    assert made["silence"]["instance_key"] == '{"table_name":"customers"}'
    assert made["silence"]["instance_label"] == "table_name=customers"
    listed = sqlsentinel(["silences"], env, cwd)
    assert "INSTANCE" in listed.stdout.splitlines()[0]
    assert "table_name=customers" in listed.stdout

    data = run_json(["status", "alerts.yaml"], env, cwd)
    fresh = next(a for a in data["alerts"] if a["name"] == "table_freshness")
    assert (fresh["status"], fresh["silenced"]) == ("firing", False)  # orders still fires
    assert {i["label"]: i["silenced"] for i in fresh["instances"]} == {
        "table_name=customers": True,
        "table_name=orders": False,
        "table_name=users": False,
    }
    text = sqlsentinel(["status", "alerts.yaml"], env, cwd).stdout
    customers = next(line for line in text.splitlines() if "table_name=customers" in line)
    orders = next(line for line in text.splitlines() if "table_name=orders" in line)
    assert "(silenced)" in customers and "(silenced)" not in orders

    # users starts firing: it notifies; customers recovers under its silence: nothing
    with sqlite3.connect(wh) as conn:
        conn.execute("UPDATE freshness SET age_hours = 9 WHERE table_name = 'users'")
        conn.execute("UPDATE freshness SET age_hours = 1 WHERE table_name = 'customers'")
    report = run_json(["run", "alerts.yaml"], env, cwd)
    fresh_run = next(e for e in report["evaluations"] if e["alert_name"] == "table_freshness")
    assert [(e["kind"], json.loads(e["instance_key"])) for e in fresh_run["events"]] == [
        ("firing", {"table_name": "users"})
    ]
    assert {
        json.loads(i["instance_key"])["table_name"]: i["silenced"] for i in fresh_run["instances"]
    } == {
        "customers": True,
        "orders": False,
        "users": False,
    }
    assert len(inbox.messages) == 2  # users alone: a single message
    text_run = sqlsentinel(["run", "alerts.yaml", "--dry-run"], env, cwd)
    assert '{"table_name"' not in text_run.stdout

    ended = sqlsentinel(["unsilence", "table_freshness"], env, cwd)
    assert "instance table_name=customers" in ended.stdout


def test_instance_errors_say_what_to_write(setup: tuple[Path, dict[str, str], Path]) -> None:
    cwd, env, _ = setup
    base = ["--for", "1h", "--reason", "r"]
    # nothing known yet: the file gives the key columns
    err = _fail(["silence", "table_freshness", "--instance", "table_name=x", *base], env, cwd)
    assert "knows no instances of 'table_freshness'; give its alerts file with --file" in err
    made = run_json(
        [
            "silence",
            "table_freshness",
            "--instance",
            '{"table_name": "new"}',
            "--file",
            "alerts.yaml",
            *base,
        ],
        env,
        cwd,
    )
    assert made["silence"]["instance_key"] == '{"table_name":"new"}'
    err = _fail(
        ["silence", "table_freshness", "--instance", "tabel=x", "--file", "alerts.yaml", *base],
        env,
        cwd,
    )
    assert "names 'tabel', which is not a key column of this alert" in err
    assert "write table_name=..." in err
    err = _fail(
        ["silence", "orders_exist", "--instance", "a=1", "--file", "alerts.yaml", *base], env, cwd
    )
    assert "alert 'orders_exist' has no key_columns, so it has a single instance" in err
    err = _fail(["silence", "table_*", "--instance", "table_name=x", *base], env, cwd)
    assert "give the alert's name, not the glob 'table_*'" in err
    err = _fail(["silence", "nope", "--instance", "a=1", "--file", "alerts.yaml", *base], env, cwd)
    assert "alerts.yaml: no alert named 'nope' (its alerts: table_freshness, orders_exist)" in err
    err = _fail(["silence", "table_freshness", "--file", "alerts.yaml", *base], env, cwd)
    assert "give --instance too" in err

    run_json(["run", "alerts.yaml"], env, cwd)  # now the state database knows the instances
    err = _fail(["silence", "table_freshness", "--instance", "customers", *base], env, cwd)
    assert "'customers' is not key=value; write it as table_name=..." in err


def test_a_silence_of_one_instance_declared_in_the_file(
    setup: tuple[Path, dict[str, str], Path], inbox: Inbox
) -> None:
    cwd, env, _ = setup
    (cwd / "alerts.yaml").write_text(
        ALERTS
        + "silences:\n"
        + "  - match: table_freshness\n"
        + "    instance: table_name=customers\n"
        + "    until: 2099-01-01T00:00:00Z\n"
        + "    reason: CRM export delayed\n"
    )
    report = run_json(["run", "alerts.yaml"], env, cwd)
    fresh = next(e for e in report["evaluations"] if e["alert_name"] == "table_freshness")
    assert [json.loads(e["instance_key"]) for e in fresh["events"]] == [{"table_name": "orders"}]
    assert len(inbox.messages) == 1 and "table_name=orders" in inbox.messages[0]["Subject"]
    status = run_json(["status", "alerts.yaml"], env, cwd)
    alert = next(a for a in status["alerts"] if a["name"] == "table_freshness")
    (declared,) = alert["silences"]
    assert (declared["source"], declared["instance_label"]) == ("config", "table_name=customers")
    assert {i["label"]: i["silenced"] for i in alert["instances"]} == {
        "table_name=customers": True,
        "table_name=orders": False,
        "table_name=users": False,
    }
