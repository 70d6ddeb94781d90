"""A flapping alert in the CLI: ``status`` and ``history`` say FLAPPING (text and JSON).

Two evaluations through the real engine into a SQLite state database (the value flips), then
the CLI in-process (``cli.main.main``) reads it, as ``sqlsentinel`` would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

ALERTS = """\
alerts:
  - name: wobbly
    conn_id: wh
    schedule: "*/5 * * * *"
    flap_detection: {changes: 2, window: 1h, stable_for: 30m}
    query: SELECT 'OK' AS status
"""
T0 = datetime(2026, 12, 6, 7, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def test_status_and_history_show_flapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS)
    config = load_config(str(alerts)).config
    assert config is not None
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore.connect(url)
    try:
        for minute, status in enumerate(("ALERT", "OK")):  # two changes: it flaps
            report = evaluate_alert(
                config.alert("wobbly"),
                fetch=lambda s=status: _Rows(["status", "actual_value"], [[s, 11]]),
                store=store,
                run_type=RunType.CLI,
                run_id=f"cli_{minute}",
                clock=lambda m=minute: T0.replace(minute=m),
            )
    finally:
        store.dispose()
    ran = report.to_dict()  # what `sqlsentinel run --format json` prints for it
    assert (ran["state"], ran["instances"][0]["reason_code"]) == ("flapping", "flapping_started")

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow-home"))
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", url)

    def cli(*args: str) -> str:
        capsys.readouterr()
        assert main(list(args)) == 0
        return capsys.readouterr().out

    (row,) = [line for line in cli("status", str(alerts)).splitlines() if "wobbly" in line]
    assert "FLAPPING" in row.split()
    (alert,) = json.loads(cli("status", str(alerts), "--format", "json"))["alerts"]
    assert (alert["status"], alert["instances"][0]["state"]) == ("flapping", "flapping")
    assert alert["instances"][0]["flapping_since"] == "2026-12-06T07:01:00+00:00"

    newest = cli("history", "--alert", "wobbly").splitlines()[1]  # under the header
    assert "FLAPPING" in newest.split() and "flapping" in newest.split()
    (shown, _first) = json.loads(cli("history", "--alert", "wobbly", "--format", "json"))["history"]
    assert (shown["state"], shown["reason_code"], shown["events"]) == (
        "flapping",
        "flapping_started",
        ["flapping"],
    )
