"""Files written for standalone SQL Sentinel 0.1.0, through ``sqlsentinel validate`` and ``run``.

The standalone daemon took the query database from ``DATABASE_URL`` (or ``--database-url``)
and many of its files have no ``database:`` section; ``tests/fixtures/config/standalone_env/``
holds files in that format (names with spaces, ``recipients``, ``enabled``, literal webhook
URLs and headers, a relative SQLite ``database.url``, an invalid file). They run here
unchanged, as subprocesses of the real CLI, on PostgreSQL through a read-only login whose
URL (with its password) is in ``DATABASE_URL``, with a real SMTP server on loopback. The
password never appears in any output, verbose logs included.

The standalone package (sdist and wheel of ``sqlsentinel==0.1.0``) ships no example or
fixture YAML; docs/migrating.md says which of the standalone repository's files were checked.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cli_smtp import Inbox
from test_cli_end_to_end import base_env, sqlsentinel

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "config" / "standalone_env"
FILES = ("revenue.yaml", "metrics.yaml", "file_database.yaml", "invalid.yaml")


@pytest.fixture
def warehouse(pg_url: str, pg_reader_url: str) -> str:
    """The tables the files query, on PostgreSQL; the read-only login's URL."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (date DATE, revenue NUMERIC)"))
        conn.execute(
            sa.text("INSERT INTO orders VALUES (CURRENT_DATE - 1, 4200), (CURRENT_DATE - 1, 1800)")
        )
        conn.execute(sa.text("INSERT INTO orders VALUES (CURRENT_DATE, 50000)"))  # not yesterday
        conn.execute(sa.text("CREATE TABLE daily_metrics (signups INTEGER)"))
        conn.execute(sa.text("INSERT INTO daily_metrics VALUES (250)"))
        conn.execute(sa.text("CREATE TABLE data_quality_metrics (null_count INTEGER)"))
        conn.execute(sa.text("INSERT INTO data_quality_metrics VALUES (3)"))
    engine.dispose()
    return pg_reader_url


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    for name in FILES:
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def _env(workdir: Path, inbox: Inbox, database_url: str | None) -> dict[str, str]:
    env = base_env(workdir)
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = inbox.connection_json()
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{workdir / 'state.db'}"
    return env


def _password(url: str) -> str:
    password = sa.engine.make_url(url).password
    assert password
    return str(password)


def _run(workdir: Path, env: dict[str, str], name: str) -> tuple[dict[str, Any], str]:
    proc = sqlsentinel(["--verbose", "run", name, "--format", "json"], env, workdir)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    return json.loads(proc.stdout), proc.stdout + proc.stderr


def test_validate_accepts_the_files_with_database_url_and_locates_the_invalid_one(
    workdir: Path, inbox: Inbox, warehouse: str
) -> None:
    proc = sqlsentinel(["validate", *FILES], _env(workdir, inbox, warehouse), workdir)

    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [
        "revenue.yaml: OK, 1 alert",
        "metrics.yaml: OK, 2 alerts",
        "file_database.yaml: OK, 2 alerts",
        "invalid.yaml: 3 errors",
    ]
    assert proc.stderr.splitlines() == [
        "invalid.yaml:3:11 alerts[0].name: must not be empty",
        "invalid.yaml:5:15 alerts[0].schedule: 'every day' is not a valid cron expression "
        "(2 fields, not 5) (minute hour day-of-month month day-of-week, e.g. '0 9 * * *')",
        "invalid.yaml:7:18 alerts[0].notify[0].channel: unknown channel `pager` (did you mean "
        "`pagerduty`?)",
    ]
    assert _password(warehouse) not in proc.stdout + proc.stderr


def test_validate_without_database_url_says_which_fallbacks_exist(
    workdir: Path, inbox: Inbox
) -> None:
    proc = sqlsentinel(
        ["validate", "revenue.yaml", "metrics.yaml"], _env(workdir, inbox, None), workdir
    )

    assert proc.returncode == 2
    hint = (
        "no connection for this alert's query (set `conn_id` here or in `defaults`, a top-level "
        "`database: {url: ...}`, or the DATABASE_URL environment variable)"
    )
    assert proc.stderr.splitlines() == [
        f"revenue.yaml:5:5 alerts[0].conn_id: {hint}",
        f"metrics.yaml:4:5 alerts[0].conn_id: {hint}",
        f"metrics.yaml:20:5 alerts[1].conn_id: {hint}",
    ]
    assert proc.stdout.splitlines() == ["revenue.yaml: 1 error", "metrics.yaml: 2 errors"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("postgresql//analyst:{pw}@warehouse/analytics", "DATABASE_URL is not a SQLAlchemy URL"),
        ("bigquery://analyst:{pw}@project/dataset", "DATABASE_URL uses 'bigquery'"),
    ],
)
def test_malformed_database_url_is_a_located_error_without_its_value(
    workdir: Path, inbox: Inbox, value: str, message: str
) -> None:
    secret = "malformedPw-9Zt"
    env = _env(workdir, inbox, value.format(pw=secret))

    proc = sqlsentinel(["validate", "revenue.yaml", "file_database.yaml"], env, workdir)

    assert proc.returncode == 2
    (error,) = proc.stderr.splitlines()
    assert error.startswith(f"revenue.yaml:5:5 alerts[0].conn_id: {message}"), error
    assert "this alert's query runs there (it has no `conn_id`, the file no `database:`)" in error
    assert proc.stdout.splitlines() == ["revenue.yaml: 1 error", "file_database.yaml: OK, 2 alerts"]
    assert secret not in proc.stdout + proc.stderr


def test_run_evaluates_on_database_url_and_delivers_the_legacy_subject(
    workdir: Path, inbox: Inbox, warehouse: str
) -> None:
    env = _env(workdir, inbox, warehouse)

    report, output = _run(workdir, env, "revenue.yaml")

    (evaluation,) = report["evaluations"]
    assert evaluation["alert_name"] == "Low Daily Revenue"
    assert evaluation["dag_id"] == "sqlsentinel_low_daily_revenue"
    assert (evaluation["outcome"], evaluation["state"], evaluation["error"]) == (
        "alert",
        "firing",
        None,
    )
    assert (float(evaluation["actual_value"]), evaluation["threshold"]) == (6000.0, 10000)
    (delivery,) = report["deliveries"]
    assert (delivery["alert_name"], delivery["delivered"], delivery["complete"]) == (
        "Low Daily Revenue",
        1,
        True,
    )
    (mail,) = inbox.messages
    assert mail["Subject"] == "Revenue Alert: Low Daily Revenue"
    assert mail["To"] == "finance@example.com"
    assert _password(warehouse) not in output

    report, output = _run(workdir, env, "metrics.yaml")  # `enabled: false` is not run
    outcomes = {e["alert_name"]: (e["outcome"], e["actual_value"]) for e in report["evaluations"]}
    assert outcomes == {"Signup Volume": ("ok", 250)}
    assert len(inbox.messages) == 1
    assert _password(warehouse) not in output

    proc = sqlsentinel(  # unless named; its webhook is not called in a dry run
        ["run", "metrics.yaml", "--alert", "Null Emails", "--dry-run", "--format", "json"],
        env,
        workdir,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    (evaluation,) = json.loads(proc.stdout)["evaluations"]
    assert (evaluation["outcome"], evaluation["actual_value"]) == ("alert", 3)


def test_check_connections_names_the_variable_not_the_url(
    workdir: Path, inbox: Inbox, warehouse: str
) -> None:
    env = _env(workdir, inbox, warehouse)

    proc = sqlsentinel(
        ["validate", "metrics.yaml", "--check-connections", "--format", "json"], env, workdir
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout + proc.stderr
    checks = [c for f in json.loads(proc.stdout)["files"] for c in f["connection_checks"]]
    assert {(c["alert"], c["conn_id"], c["ok"]) for c in checks} == {
        ("Signup Volume", "DATABASE_URL", True),
        ("Null Emails", "DATABASE_URL", True),
    }
    assert _password(warehouse) not in text


def test_the_files_own_database_url_wins_over_database_url(
    workdir: Path, inbox: Inbox, warehouse: str
) -> None:
    """``sqlite:///file_warehouse.db`` is relative to the working directory, as the standalone
    tool read it; DATABASE_URL (PostgreSQL, without the table) is not used."""
    with sqlite3.connect(workdir / "file_warehouse.db") as conn:
        conn.execute("CREATE TABLE file_only (id INTEGER)")
        conn.executemany("INSERT INTO file_only VALUES (?)", [(1,), (2,)])

    report, output = _run(workdir, _env(workdir, inbox, warehouse), "file_database.yaml")

    outcomes = {
        e["alert_name"]: (e["outcome"], e["actual_value"], e["error"])
        for e in report["evaluations"]
    }
    assert outcomes == {
        "Always OK": ("ok", None, None),
        "Rows In File Warehouse": ("alert", 2, None),
    }
    assert _password(warehouse) not in output
