"""docs/ui.md, "Incidents": the documented commands run against a state database the real
engine filled, and answer what the page says they answer."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from docs_snippets import text

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

ALERTS = """\
alerts:
  - name: api_error_rate
    conn_id: warehouse
    schedule: "0 * * * *"
    query: SELECT 'OK' AS status
  - name: table_freshness
    conn_id: warehouse
    schedule: "0 * * * *"
    key_columns: [table_name]
    query: SELECT 'OK' AS status
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def _fill(tmp_path: Path, url: str) -> None:
    """api_error_rate: an incident 20 days ago (closed) and one since yesterday (open);
    table_freshness: customers late for two hours, three days ago."""
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS)
    config = load_config(str(path)).config
    assert config is not None
    now = datetime.now(timezone.utc)
    store = StateStore.connect(url)

    def run(name: str, hours_ago: float, columns: list[str], rows: list[list[Any]]) -> None:
        evaluate_alert(
            config.alert(name),
            fetch=lambda: _Rows(columns, rows),
            store=store,
            run_type=RunType.SCHEDULED,
            clock=lambda: now - timedelta(hours=hours_ago),
        )

    for hours_ago, rate in ((481, 1), (480, 9), (479, 2), (25, 1), (24, 8), (1, 12)):
        status = "ALERT" if rate > 5 else "OK"
        run(
            "api_error_rate",
            hours_ago,
            ["status", "actual_value", "threshold"],
            [[status, rate, 5]],
        )
    for hours_ago, age in ((74, 3), (73, 30), (72, 31), (71, 2)):
        rows = [["customers", "ALERT" if age > 24 else "OK", age, 24], ["orders", "OK", 1, 24]]
        run(
            "table_freshness",
            hours_ago,
            ["table_name", "status", "actual_value", "threshold"],
            rows,
        )
    store.dispose()


def test_the_documented_incident_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(tmp_path, url)
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    answers = []
    for line in text("ui-incidents-cli").splitlines():
        words = shlex.split(line.split("  #", 1)[0])
        assert words[:2] == ["sqlsentinel", "incidents"], line
        capsys.readouterr()
        assert main([*words[1:], "--state-db", url, "--format", "json"]) == 0
        answers.append(json.loads(capsys.readouterr().out)["incidents"])
    last_50, last_week, customers = answers
    assert [(i["ongoing"], i["peak_value"]) for i in last_50] == [(True, 12), (False, 9)]
    assert [i["id"] for i in last_week] == [last_50[0]["id"]]
    (late,) = customers
    assert late["key_values"] == {"table_name": "customers"} and late["evaluations"] == 2
    assert (late["peak_value"], late["peak_threshold"], late["duration_seconds"]) == (31, 24, 7200)
