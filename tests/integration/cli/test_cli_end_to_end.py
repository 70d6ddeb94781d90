"""``sqlsentinel`` end to end, as a user runs it: subprocesses, real databases, real files.

The warehouse and the state DB are real SQLite files, or PostgreSQL through an
``AIRFLOW_CONN_*`` connection; nothing is mocked.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cli_smtp import Inbox

ALERTS = """\
defaults:
  conn_id: wh
  timezone: Europe/Berlin
  notify:
    - channel: email
      to: [oncall@example.com]
alerts:
  - name: revenue_drop
    description: Revenue below 10k
    schedule: "0 9 * * *"
    query: |
      SELECT CASE WHEN SUM(amount) < 10000 THEN 'ALERT' ELSE 'OK' END AS status,
             SUM(amount) AS actual_value, 10000 AS threshold, COUNT(*) AS orders
      FROM orders
  - name: orders_exist
    schedule: "*/5 * * * *"
    query: SELECT CASE WHEN COUNT(*) > 0 THEN 'OK' ELSE 'ALERT' END AS status FROM orders
"""


def sqlsentinel(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlsentinel_airflow.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env.pop("SQLSENTINEL_STATE_DB_URL", None)
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow-home")
    return env


@pytest.fixture
def sqlite_setup(tmp_path: Path, inbox: Inbox) -> tuple[Path, dict[str, str], Path]:
    wh = tmp_path / "warehouse.db"
    with sqlite3.connect(wh) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, amount NUMERIC)")
        conn.executemany("INSERT INTO orders (amount) VALUES (?)", [(100,), (250,), (80,)])
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    env = base_env(tmp_path)
    env["AIRFLOW_CONN_WH"] = json.dumps({"conn_type": "sqlite", "host": str(wh)})
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = inbox.connection_json()
    state = tmp_path / "state.db"
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{state}"
    return tmp_path, env, state


def run_json(args: list[str], env: dict[str, str], cwd: Path, code: int = 0) -> Any:
    proc = sqlsentinel([*args, "--format", "json"], env, cwd)
    assert proc.returncode == code, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def test_validate_text_and_json(sqlite_setup: tuple[Path, dict[str, str], Path]) -> None:
    cwd, env, _ = sqlite_setup
    proc = sqlsentinel(["validate", "alerts.yaml"], env, cwd)
    assert proc.returncode == 0, proc.stderr
    assert "alerts.yaml: OK, 2 alerts" in proc.stdout
    data = run_json(["validate", "alerts.yaml"], env, cwd)
    assert data["valid"] is True and data["files"][0]["alerts"] == 2


def test_run_keeps_sql_verdicts_in_the_cache_dir_and_validate_checks_afresh(
    sqlite_setup: tuple[Path, dict[str, str], Path],
) -> None:
    cwd, env, _ = sqlite_setup
    env["SQLSENTINEL_CACHE_DIR"] = str(cwd / "cache")
    run_json(["validate", "alerts.yaml"], env, cwd)
    assert not (cwd / "cache").exists(), "validate is the full check: it keeps nothing"

    run_json(["run", "alerts.yaml", "--dry-run"], env, cwd)
    (kept,) = (cwd / "cache").glob("verdicts-*.json")
    assert len(json.loads(kept.read_text())["accepted"]) == 2  # both queries
    assert kept.stat().st_mode & 0o777 == 0o600

    # An edit that makes a query write is refused on the next run, kept verdicts or not.
    text = (cwd / "alerts.yaml").read_text()
    (cwd / "alerts.yaml").write_text(
        text.replace(
            "FROM orders\n  - name: orders_exist",
            "FROM orders; DELETE FROM orders\n  - name: orders_exist",
        )
    )
    proc = sqlsentinel(["run", "alerts.yaml", "--dry-run"], env, cwd)
    assert "2 statements (SELECT, DELETE)" in proc.stderr, proc.stderr


def test_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    from sqlsentinel_airflow.cli.commands import cache_dir

    assert cache_dir({"SQLSENTINEL_CACHE_DIR": "/x/y"}) == Path("/x/y")
    assert cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/sqlsentinel")
    assert cache_dir({}) == Path.home() / ".cache" / "sqlsentinel"


def test_run_without_a_home_directory_runs_without_the_cache(
    sqlite_setup: tuple[Path, dict[str, str], Path],
) -> None:
    cwd, env, _ = sqlite_setup
    for name in ("HOME", "XDG_CACHE_HOME", "SQLSENTINEL_CACHE_DIR"):
        env.pop(name, None)
    # Path.home() falls back to the passwd entry; a UID without one has no home at all.
    script = (
        "import os, pathlib, sys\n"
        "def no_home(cls=None): raise RuntimeError('Could not determine home directory.')\n"
        "pathlib.Path.home = classmethod(no_home)\n"
        "from sqlsentinel_airflow.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "run", "alerts.yaml", "--dry-run"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "revenue_drop" in proc.stdout and "Traceback" not in proc.stderr


def test_validate_invalid_reports_location_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        textwrap.dedent(
            """\
            alerts:
              - name: a
                schedule: "0 25 * * *"
                query: SELECT 'OK' AS status
                renotify_aftr: 4h
                conn_id: wh
            """
        )
    )
    env = base_env(tmp_path)
    proc = sqlsentinel(["validate", "bad.yaml"], env, tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.yaml:3:" in proc.stderr and "hour" in proc.stderr
    assert "bad.yaml:5:" in proc.stderr and "renotify_after" in proc.stderr
    data = run_json(["validate", "bad.yaml"], env, tmp_path, code=2)
    assert data["valid"] is False and len(data["files"][0]["errors"]) == 2


def test_validate_standalone_format(tmp_path: Path) -> None:
    (tmp_path / "standalone.yaml").write_text(
        textwrap.dedent(
            """\
            database:
              url: ${DATABASE_URL}
            alerts:
              - name: daily_revenue_check
                description: Alert when daily revenue falls below $10,000
                query: SELECT CASE WHEN 1 < 2 THEN 'ALERT' ELSE 'OK' END as status
                schedule: "0 9 * * *"
                enabled: true
                notify:
                  - channel: email
                    recipients: [team@company.com]
                    subject: "Revenue alert: {alert_name}"
                  - channel: slack
                    webhook_url: https://hooks.slack.com/services/T000/B000/XXXX
                    username: SQL Sentinel
            """
        )
    )
    env = base_env(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    proc = sqlsentinel(["validate", "standalone.yaml"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "hooks.slack.com" not in proc.stdout + proc.stderr


def test_run_status_history_silence_cycle(
    sqlite_setup: tuple[Path, dict[str, str], Path], inbox: Inbox
) -> None:
    cwd, env, state = sqlite_setup

    dry = run_json(["run", "alerts.yaml", "--dry-run"], env, cwd)
    assert dry["dry_run"] is True
    by_name = {e["alert_name"]: e for e in dry["evaluations"]}
    assert by_name["revenue_drop"]["outcome"] == "alert"
    assert [e["kind"] for e in by_name["revenue_drop"]["events"]] == ["firing"]
    assert not state.exists(), "a dry run must not create the state database"

    first = run_json(["run", "alerts.yaml"], env, cwd)
    rev = {e["alert_name"]: e for e in first["evaluations"]}["revenue_drop"]
    assert rev["state"] == "firing" and rev["actual_value"] == 430
    assert [e["kind"] for e in rev["events"]] == ["firing"]
    assert state.exists()
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "oncall@example.com" and "revenue_drop" in mail["Subject"]

    second = run_json(["run", "alerts.yaml"], env, cwd)
    rev2 = {e["alert_name"]: e for e in second["evaluations"]}["revenue_drop"]
    assert rev2["state"] == "firing" and rev2["events"] == []
    assert len(inbox.messages) == 1, "a still-firing alert must not notify again"

    status = run_json(["status", "alerts.yaml"], env, cwd)
    st = {a["name"]: a for a in status["alerts"]}
    assert st["revenue_drop"]["instances"][0]["state"] == "firing"
    assert (st["revenue_drop"]["status"], st["orders_exist"]["status"]) == ("firing", "ok")
    assert st["revenue_drop"]["deliveries"] == []
    assert st["revenue_drop"]["pending_deliveries"] == st["revenue_drop"]["dead_deliveries"] == 0
    assert st["orders_exist"]["instances"][0]["state"] == "ok"
    text = sqlsentinel(["status", "alerts.yaml"], env, cwd)
    assert text.returncode == 0 and "FIRING" in text.stdout

    hist = run_json(["history", "--alert", "revenue_drop"], env, cwd)
    assert [h["state"] for h in hist["history"]] == ["firing", "firing"]
    assert hist["history"][1]["events"] == ["firing"]
    assert hist["history"][1]["reason"] == "first firing"
    assert hist["history"][1]["reason_code"] == "first_firing"

    assert sqlsentinel(["run", "alerts.yaml", "--fail-on-alert"], env, cwd).returncode == 3

    sil = run_json(["silence", "revenue_*", "--for", "2h", "--reason", "known gap"], env, cwd)
    assert sil["silence"]["status"] == "active" and sil["silence"]["match"] == "revenue_*"
    assert sil["silence"]["can_end"] is True
    listed = run_json(["silences"], env, cwd)
    assert [s["match"] for s in listed["silences"]] == ["revenue_*"]
    status = run_json(["status", "alerts.yaml"], env, cwd)
    assert {a["name"]: a["silenced"] for a in status["alerts"]} == {
        "revenue_drop": True,
        "orders_exist": False,
    }
    ended = run_json(["unsilence", "revenue_*"], env, cwd)
    assert len(ended["ended"]) == 1
    assert run_json(["silences"], env, cwd)["silences"] == []
    again = sqlsentinel(["unsilence", "revenue_*"], env, cwd)
    assert again.returncode == 2 and "no active silence" in again.stderr

    purged = run_json(["purge", "--older-than", "90d"], env, cwd)
    assert purged["purged"]["history"] == 0
    # Without --older-than: [sqlsentinel] history_retention from Airflow's config (docs/operations.md).
    history_rows = len(run_json(["history", "--alert", "revenue_drop"], env, cwd)["history"])
    assert history_rows >= 3
    bad = sqlsentinel(["purge"], {**env, "AIRFLOW__SQLSENTINEL__HISTORY_RETENTION": "soon"}, cwd)
    assert bad.returncode == 2 and "[sqlsentinel] history_retention" in bad.stderr, bad.stderr
    assert run_json(["purge"], env, cwd)["purged"]["history"] == 0  # default 90d keeps them
    time.sleep(1.2)
    short = {**env, "AIRFLOW__SQLSENTINEL__HISTORY_RETENTION": "1s"}
    purged = run_json(["purge"], short, cwd)
    assert purged["purged"]["history"] >= history_rows
    assert run_json(["history", "--alert", "revenue_drop"], env, cwd)["history"] == []


def test_query_failure_exits_1_without_traceback(
    sqlite_setup: tuple[Path, dict[str, str], Path],
) -> None:
    cwd, env, _ = sqlite_setup
    (cwd / "broken.yaml").write_text(
        "alerts:\n  - name: broken\n    conn_id: wh\n    schedule: '* * * * *'\n"
        "    query: SELECT status FROM no_such_table\n"
    )
    proc = sqlsentinel(["run", "broken.yaml"], env, cwd)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no_such_table" in proc.stdout
    proc = sqlsentinel(["run", "broken.yaml", "--alert", "nope"], env, cwd)
    assert proc.returncode == 2 and "no alert matches nope" in proc.stderr


def test_status_honours_the_silences_declared_in_the_file(
    sqlite_setup: tuple[Path, dict[str, str], Path],
) -> None:
    """Evaluation and the UI mute an alert matched by the file's ``silences:``; so does status."""
    cwd, env, _ = sqlite_setup
    (cwd / "alerts.yaml").write_text(
        ALERTS
        + "silences:\n"
        + "  - match: revenue_*\n"
        + "    starts: 2026-01-01T00:00:00Z\n"
        + "    until: 2099-01-01T00:00:00Z\n"
        + "    reason: migration\n"
        + "  - match: orders_exist\n"
        + "    until: 2020-01-01T00:00:00Z\n"
        + "    reason: long over\n"
    )
    run_json(["run", "alerts.yaml"], env, cwd)

    status = {a["name"]: a for a in run_json(["status", "alerts.yaml"], env, cwd)["alerts"]}

    revenue, orders = status["revenue_drop"], status["orders_exist"]
    assert (revenue["silenced"], revenue["status"], revenue["state"]) == (
        True,
        "silenced",
        "firing",
    )
    (declared,) = revenue["silences"]
    assert declared == {
        "id": None,
        "match": "revenue_*",
        "starts_at": "2026-01-01T00:00:00+00:00",
        "ends_at": "2099-01-01T00:00:00+00:00",
        "ended_at": None,
        "created_at": None,
        "reason": "migration",
        "author": "",
        "source": "config",
        "status": "active",
        "can_end": False,
        "instance_key": None,
        "instance_label": None,
    }
    assert (orders["silenced"], orders["status"], orders["silences"]) == (False, "ok", [])
    text = sqlsentinel(["status", "alerts.yaml"], env, cwd)
    assert text.returncode == 0, text.stderr
    assert "FIRING (silenced)" in text.stdout
    # what `run` decided agrees: the firing went out to nobody
    (first,) = run_json(["history", "--alert", "revenue_drop"], env, cwd)["history"][-1:]
    assert (first["events"], first["reason_code"]) == ([], "silenced")


def test_commands_without_file_find_state_db_from_env_alone(
    sqlite_setup: tuple[Path, dict[str, str], Path],
) -> None:
    cwd, env, _ = sqlite_setup
    run_json(["run", "alerts.yaml"], env, cwd)
    elsewhere = cwd / "elsewhere"
    elsewhere.mkdir()
    hist = run_json(["history", "--limit", "5"], env, elsewhere)
    assert {h["alert"] for h in hist["history"]} == {"revenue_drop", "orders_exist"}
    outbox = run_json(["outbox", "--status", "delivered"], env, elsewhere)
    assert [(o["kind"], o["channel"]) for o in outbox["outbox"]] == [("firing", "email")]


def test_run_on_postgres_through_airflow_conn(tmp_path: Path, pg_url: str, inbox: Inbox) -> None:
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (id serial PRIMARY KEY, amount numeric)"))
        conn.execute(sa.text("INSERT INTO orders (amount) VALUES (100), (250), (80)"))
    engine.dispose()
    url = sa.engine.make_url(pg_url)
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    env = base_env(tmp_path)
    env["AIRFLOW_CONN_WH"] = json.dumps(
        {
            "conn_type": "postgres",
            "host": url.host,
            "port": url.port,
            "login": url.username,
            "password": "S3cret-pg-PW",
            "schema": url.database,
        }
    )
    env["SQLSENTINEL_STATE_DB_URL"] = pg_url
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = inbox.connection_json()
    first = run_json(["run", "alerts.yaml"], env, tmp_path)
    rev = {e["alert_name"]: e for e in first["evaluations"]}["revenue_drop"]
    assert rev["state"] == "firing" and float(rev["actual_value"]) == 430.0
    second = run_json(["run", "alerts.yaml"], env, tmp_path)
    assert {e["alert_name"]: e for e in second["evaluations"]}["revenue_drop"]["events"] == []
    check = sa.create_engine(pg_url)
    with check.connect() as conn:
        firing = conn.execute(
            sa.text("SELECT count(*) FROM sqlsentinel_outbox WHERE kind = 'firing'")
        ).scalar_one()
    check.dispose()
    assert firing == 1
    assert len(inbox.messages) == 1
    proc = sqlsentinel(["status", "alerts.yaml"], env, tmp_path)
    assert "S3cret-pg-PW" not in proc.stdout + proc.stderr


def test_schema_prints_the_json_schema(tmp_path: Path) -> None:
    proc = sqlsentinel(["schema"], base_env(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"alerts", "defaults"} <= set(schema["properties"])


def test_validate_check_connections(sqlite_setup: tuple[Path, dict[str, str], Path]) -> None:
    cwd, env, _ = sqlite_setup
    data = run_json(["validate", "alerts.yaml", "--check-connections"], env, cwd)
    checks = {c["alert"]: c for c in data["files"][0]["connection_checks"]}
    assert checks["revenue_drop"]["ok"] is True
    assert [c.lower() for c in checks["revenue_drop"]["columns"]] == [
        "status",
        "actual_value",
        "threshold",
        "orders",
    ]
    (cwd / "wrong.yaml").write_text(
        "alerts:\n"
        "  - name: no_status\n    conn_id: wh\n    schedule: '* * * * *'\n"
        "    query: SELECT COUNT(*) AS n FROM orders\n"
        "  - name: no_conn\n    conn_id: missing_conn\n    schedule: '* * * * *'\n"
        "    query: SELECT 'OK' AS status\n"
    )
    proc = sqlsentinel(["validate", "wrong.yaml", "--check-connections"], env, cwd)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "wrong.yaml:2 alerts[0].query: query result lacks column(s) status" in proc.stderr
    assert "wrong.yaml:6 alerts[1].query: connection check failed" in proc.stderr
    assert "missing_conn" in proc.stderr and "AIRFLOW_CONN_MISSING_CONN" in proc.stderr


def test_validate_check_connections_refuses_a_privileged_login(tmp_path: Path, pg_url: str) -> None:
    url = sa.engine.make_url(pg_url)
    (tmp_path / "alerts.yaml").write_text(
        "alerts:\n"
        "  - name: su\n    conn_id: wh\n    schedule: '* * * * *'\n"
        "    query: \"SELECT 'OK' AS status -- a trailing comment\"\n"
    )
    env = base_env(tmp_path)
    env["AIRFLOW_CONN_WH"] = json.dumps(
        {"conn_type": "postgres", "host": url.host, "login": url.username, "schema": url.database}
    )
    env.pop("AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS", None)
    proc = sqlsentinel(["validate", "alerts.yaml", "--check-connections"], env, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert (
        "alerts.yaml:2 alerts[0].query: connection check failed: connection 'wh' logs in as "
        "'postgres', a privileged login (superuser)"
    ) in proc.stderr
    env["AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS"] = "wh"
    proc = sqlsentinel(["validate", "alerts.yaml", "--check-connections"], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "alerts.yaml: OK, 1 alert (connections checked)" in proc.stdout
