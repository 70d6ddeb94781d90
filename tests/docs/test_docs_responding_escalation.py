"""docs/responding.md, "Escalation": the example file loads and climbs its ladder as the page
says (the real loader, engine and a SQLite state DB), and ``sqlsentinel routes`` prints
exactly the output the page shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from docs_snippets import text

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import json_schema, load_config_text
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def test_the_example_climbs_its_ladder_as_described(sqlite_url: str) -> None:
    loaded = load_config_text(text("escalation-yaml"), "alerts.yaml")
    assert loaded.ok and loaded.warnings == [], [e.format() for e in loaded.errors]
    assert loaded.config is not None
    alert = loaded.config.alert("orders_backlog")
    assert alert.ack_rearm_factor == 2
    sent: list[tuple[int, str, str]] = []  # (minute, kind, receiver)
    with StateStore.connect(sqlite_url) as store:
        for minute in range(0, 125, 5):  # its */5 schedule, two hours of firing
            before = {e.id for e in store.outbox()}
            evaluate_alert(
                alert,
                fetch=lambda: _Rows(["status"], [["ALERT"]]),
                store=store,
                run_type=RunType.SCHEDULED,
                clock=lambda m=minute: T0 + timedelta(minutes=m),  # type: ignore[misc]
            )
            for row in store.outbox():
                if row.id not in before:
                    summary = (row.payload.get("escalation") or {}).get("summary")
                    sent.append((minute, str(summary or row.kind.value), row.channel_id))
    receivers = [(m, what, cid.split("/")[0]) for m, what, cid in sent]
    assert receivers[0] == (0, "firing", "data-team")
    reminders = [m for m, what, _r in receivers if what == "reminder"]
    assert reminders == [30, 60, 90, 120]
    steps = [(m, what, r) for m, what, r in receivers if what.startswith("Escalated")]
    assert steps == [
        (15, "Escalated (step 1 of 2): not acknowledged for 15m", "oncall"),
        (15, "Escalated (step 1 of 2): not acknowledged for 15m", "oncall"),
        (60, "Escalated (step 2 of 2): not acknowledged for 1h", "data-leads"),
    ]


def test_the_example_is_valid_for_editors_too() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(text("escalation-yaml")))) == []


def test_the_routes_command_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "alerts.yaml").write_text(text("escalation-yaml"), encoding="utf-8")
    command, *shown = text("escalation-routes-output").splitlines()
    args = command.removeprefix("$ sqlsentinel ").split()
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == shown
