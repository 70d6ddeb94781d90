"""docs/notifications.md, "Mute windows": the example file loads, editors accept it, each
window applies to the alerts the page says, and ``sqlsentinel mute-windows`` prints exactly
the output the page shows."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from docs_snippets import text

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import json_schema, load_config_text


def test_the_example_loads_and_each_window_mutes_what_the_page_says() -> None:
    loaded = load_config_text(text("notif-mute-windows-yaml"), "alerts.yaml")
    assert loaded.ok and loaded.warnings == [], [e.format() for e in loaded.errors]
    assert loaded.config is not None
    muted = {a.name: [w.name for w in a.mute_windows] for a in loaded.config.alerts}
    assert muted == {
        "nightly_load": ["weekends", "nightly-maintenance", "first-sunday-upgrade"],
        "revenue": ["nightly-maintenance", "first-sunday-upgrade"],
    }
    assert not loaded.config.mute_windows[2].notify_firing_at_end
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(text("notif-mute-windows-yaml")))) == []


def test_the_mute_windows_command_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "alerts.yaml").write_text(text("notif-mute-windows-yaml"), encoding="utf-8")
    command, *shown = text("notif-mute-windows-output").splitlines()
    args = command.removeprefix("$ sqlsentinel ").split()
    monkeypatch.chdir(tmp_path)
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == shown
