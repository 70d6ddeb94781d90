"""docs/notifications.md, "Receivers and routes": the example file loads and routes as the
page says, and ``sqlsentinel routes`` prints exactly the output the page shows."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from docs_snippets import text

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import json_schema, load_config_text
from sqlsentinel_airflow.core.events import alert_channels


def test_the_example_routes_as_described() -> None:
    loaded = load_config_text(text("notif-routes-yaml"), "alerts.yaml")
    assert loaded.ok and loaded.warnings == [], [e.format() for e in loaded.errors]
    assert loaded.config is not None
    dashboard = loaded.config.alert("stale_dashboard")
    assert [cid.split(":")[0] for cid, _ in alert_channels(dashboard)] == ["0", "data-team/0"]
    assert (
        dashboard.renotify_after is not None
        and dashboard.renotify_after.total_seconds() == 12 * 3600
    )


def test_the_example_is_valid_for_editors_too() -> None:
    """The JSON Schema editors use (`sqlsentinel schema`) accepts it as the loader does."""
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(text("notif-routes-yaml")))) == []


def test_the_routes_command_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "alerts.yaml").write_text(text("notif-routes-yaml"), encoding="utf-8")
    command, *shown = text("notif-routes-output").splitlines()
    args = command.removeprefix("$ sqlsentinel ").split()
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == shown
