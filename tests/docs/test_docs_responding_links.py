"""docs/responding.md, "Links in emails": the example ``action_links`` loads with the settings the page
says, editors accept it, and the connection command makes a key the links accept."""

from __future__ import annotations

import shlex
import subprocess
import sys
from datetime import timedelta

import jsonschema
import yaml
from docs_snippets import text

from sqlsentinel_airflow.core.actionlinks import MIN_KEY_CHARS, action_key
from sqlsentinel_airflow.core.config import json_schema, load_config_text

ALERT = "alerts:\n  - {name: orders_late, conn_id: warehouse, schedule: '@hourly', query: \"SELECT 'OK' AS status\"}\n"


def test_the_example_loads_with_the_settings_the_page_says() -> None:
    written = text("responding-links-yaml")
    loaded = load_config_text(written + ALERT, "alerts.yaml")
    assert loaded.ok, [e.format() for e in loaded.errors]
    assert loaded.config is not None
    (alert,) = loaded.config.alerts
    assert alert.action_links is not None
    assert (
        alert.action_links.conn_id,
        alert.action_links.expire_after,
        alert.action_links.require_login,
    ) == ("sqlsentinel_action_links", timedelta(hours=24), True)
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(written + ALERT))) == []
    # "at most 7d"
    longer = load_config_text(written.replace("24h", "8d") + ALERT, "alerts.yaml")
    assert not longer.ok


def test_the_connection_command_names_the_connection_and_makes_a_key_the_links_accept() -> None:
    command = text("responding-links-connection").replace("\\\n", " ")
    args = shlex.split(command.split("--conn-password")[0])
    assert args[:4] == ["airflow", "connections", "add", "sqlsentinel_action_links"]
    assert "sqlsentinel_action_links" in text("responding-links-yaml")
    generator = command.split("$(", 1)[1].rsplit(")", 1)[0]
    code = shlex.split(generator)[2]  # python -c '<code>'
    made = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert len(made) >= MIN_KEY_CHARS
    assert action_key(made, "sqlsentinel_action_links") == made.encode()
