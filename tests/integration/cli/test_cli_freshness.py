"""``sqlsentinel`` on freshness checks (docs/freshness.md): ``run`` (and ``--dry-run``) on a
SQLite warehouse, an asset-only check outside Airflow, and an as-of backtest refused."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.cli.main import main

ALERTS = """\
database: {{url: "sqlite:///{warehouse}"}}
alerts:
  - name: orders_fresh
    schedule: "*/15 * * * *"
    freshness: {{table: orders, column: loaded_at, within: 2h, asset: s3://warehouse/orders}}
  - name: events_fresh
    schedule: "*/15 * * * *"
    freshness: {{asset: {{name: events}}, within: 2h}}
"""


@pytest.fixture
def alerts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    warehouse = tmp_path / "warehouse.db"
    old = datetime.now(timezone.utc) - timedelta(hours=5)
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, loaded_at TEXT)")
        conn.execute("INSERT INTO orders VALUES (1, ?)", (old.isoformat(),))
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS.format(warehouse=warehouse))
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", f"sqlite:///{tmp_path / 'state.db'}")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["run", *args, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    return code, {a["alert_name"]: a for a in out["evaluations"]}


def test_run_checks_the_table_and_says_what_an_asset_only_check_needs(
    alerts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dry_code, dry = _run(capsys, str(alerts), "--dry-run", "--alert", "orders_fresh")
    code, runs = _run(capsys, str(alerts))

    assert dry_code == 0 and dry["orders_fresh"]["dry_run"] is True
    assert dry["orders_fresh"]["instances"][0]["state"] == "firing"
    assert code == 1  # the asset-only check cannot run outside Airflow: a failed query
    orders = runs["orders_fresh"]["instances"][0]
    assert (
        orders["outcome"] == "alert" and orders["previous_state"] == "ok"
    )  # dry run wrote nothing
    assert orders["context"]["source"] == "query" and orders["context"]["age"].startswith("5h")
    assert runs["events_fresh"]["verdict"] == "query_failed"
    assert runs["events_fresh"]["error"] == (
        "freshness of asset {name: events} is read from its Airflow asset events, which exist "
        "only inside Airflow (not in `sqlsentinel run` or a rule test); to check it there "
        "too, add `table` and `column` to the alert's `freshness:`"
    )


def test_an_as_of_backtest_is_refused_and_points_at_replay(
    alerts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["backtest", str(alerts), "--alert", "orders_fresh", "--source", "as-of", "--from", "1d"]
    )
    captured = capsys.readouterr()
    assert code != 0
    assert (
        "alert 'orders_fresh' is a freshness check: its MAX(column) query cannot be run as of "
        "a past tick" in captured.out + captured.err
    ), captured.out + captured.err


def test_check_connections_runs_the_max_query_and_skips_an_asset_only_check(
    alerts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(alerts), "--check-connections", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0, out
    checks = {c["alert"]: c for c in json.loads(out)["files"][0]["connection_checks"]}
    assert checks["orders_fresh"]["ok"] is True
    assert checks["orders_fresh"]["columns"] == ["last_updated_at"]
    assert checks["events_fresh"]["message"] == (
        "ok (a freshness check of an asset's events only: no query to check)"
    )
