"""docs/operations.md, "The monthly report": the output shown is what ``sqlsentinel report``
prints for the state database of tests/integration/report/report_scenario.py, filled by the
real engine with a fixed clock (only the slow query's measured milliseconds vary: masked)."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from docs_snippets import REPO, text

sys.path.insert(0, str(REPO / "tests" / "integration" / "report"))

from report_scenario import HttpReceiver, fill

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.cli.main import build_parser
from sqlsentinel_airflow.cli.report import report_text
from sqlsentinel_airflow.store import StateStore

START = datetime(2026, 11, 2, 0, 0, tzinfo=timezone.utc)
_MS = re.compile(r"p95 query time \d+ ms")


def _masked(output: str) -> str:
    return _MS.sub("p95 query time N ms", output)


def test_the_report_shown_is_the_reports_output(tmp_path: Path) -> None:
    receiver = HttpReceiver()
    try:
        url = f"sqlite:///{tmp_path / 'state.db'}"
        _path, config = fill(url, tmp_path, START, receiver)
    finally:
        receiver.close()
    alerts = [
        readmodel.ReportAlert(readmodel.AlertFacts.of_config(a), config.silences)
        for a in config.alerts
    ]
    store = StateStore.connect(url)
    try:
        report = readmodel.hygiene_report([(store, alerts)], now=START + timedelta(days=1), days=1)
    finally:
        store.dispose()
    shown = text("ops-report-output")
    assert _masked(shown) == _masked(report_text(report) + "\n")
    assert "p95 query time 1" in shown  # the slow query's 150 ms and some


def test_the_report_command_shown_parses(capsys: pytest.CaptureFixture[str]) -> None:
    command = text("ops-report-command").strip().splitlines()
    for line in command:
        argv = line.split()
        assert argv[0] == "sqlsentinel"
        args = build_parser().parse_args(argv[1:])
        assert args.command == "report" and args.file == "alerts.yaml"
    assert {build_parser().parse_args(c.split()[1:]).format for c in command} == {"text", "json"}
