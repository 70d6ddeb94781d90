"""docs/responding.md: the shell session prints what the page shows."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
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
  - name: table_freshness
    conn_id: warehouse
    schedule: "*/5 * * * *"
    key_columns: [table_name]
    query: SELECT 1
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def test_the_ack_session_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    config = load_config(str(tmp_path / "alerts.yaml")).config
    assert config is not None
    store = StateStore.connect(url)
    try:
        evaluate_alert(
            config.alert("table_freshness"),
            fetch=lambda: _Rows(
                ["table_name", "status", "actual_value"], [["orders", "ALERT", 30]]
            ),
            store=store,
            run_type=RunType.SCHEDULED,
            clock=lambda: datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc),
        )
    finally:
        store.dispose()
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", url)
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    lines = text("responding-cli-ack").splitlines()
    for command, shown in zip(lines[::2], lines[1::2], strict=True):
        args = shlex.split(command.removeprefix("$ sqlsentinel "))
        assert main(args) == 0
        assert capsys.readouterr().out.splitlines() == [shown]
