"""docs/notifications.md, "PagerDuty" and "Microsoft Teams": the alert loads, the two forms of
the connections agree, and with the environment-variable form (hosts pointed at loopback
stand-ins) a real run and ``notify-test`` deliver what the page says: the event example has
the real event's shape, the dedup key its documented form."""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from docs_snippets import REPO, text

sys.path.insert(0, str(REPO / "tests" / "integration" / "notify"))
from notify_servers import HttpReceiver
from pagerduty_api import PagerDutyEventsApi

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.notify.pagerduty import dedup_key

pytestmark = [pytest.mark.airflow]


def _added_connections() -> dict[str, dict[str, str]]:
    """``airflow connections add`` of the page, as {conn_id: {type, password, ...}}."""
    source = text("notif-pagerduty-teams-connections").replace("\\\n", " ")
    found: dict[str, dict[str, str]] = {}
    for line in source.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] != ["airflow", "connections", "add"]:
            continue
        conn_id, options = words[3], words[4:]
        found[conn_id] = {
            options[i].removeprefix("--conn-"): options[i + 1] for i in range(0, len(options), 2)
        }
    return found


def _exported() -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The page's ``export AIRFLOW_CONN_*`` values and its notify-test command."""
    env: dict[str, dict[str, Any]] = {}
    command: list[str] = []
    for line in text("notif-pagerduty-teams-env").splitlines():
        words = shlex.split(line)
        if words[0] == "export":
            name, value = words[1].split("=", 1)
            env[name] = json.loads(value)
        else:
            command = words
    return env, command


def test_the_alert_loads_with_both_channels_and_the_template() -> None:
    result = load_config_text(text("notif-pagerduty-teams-yaml"), "alerts.yaml")
    assert result.ok, [e.format() for e in result.errors]
    assert result.config is not None
    (alert,) = result.config.alerts
    assert [c.channel for c in alert.notify] == ["pagerduty", "teams"]
    assert alert.templates.pagerduty is not None


def test_both_forms_of_the_connections_agree() -> None:
    added = _added_connections()
    env, _ = _exported()
    assert set(added) == {"pagerduty_oncall", "teams_data_alerts"}
    for conn_id, options in added.items():
        exported = env[f"AIRFLOW_CONN_{conn_id.upper()}"]
        assert (exported["conn_type"], exported["password"]) == (
            options["type"],
            options["password"],
        )
    assert added["pagerduty_oncall"]["type"] == "pagerduty_events"
    assert len(added["pagerduty_oncall"]["password"]) == 32  # PagerDuty's routing keys are
    assert urlsplit(added["teams_data_alerts"]["password"]).scheme == "https"


def test_the_documented_channels_deliver_the_documented_event(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env, command = _exported()
    api = PagerDutyEventsApi()
    teams = HttpReceiver()
    teams.default_status = 202
    try:
        warehouse = tmp_path / "wh.db"
        with sqlite3.connect(warehouse) as conn:
            conn.execute("CREATE TABLE orders (shipped_at TEXT)")
            conn.executemany("INSERT INTO orders VALUES (NULL)", [()] * 150)
        monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://localhost:8080")
        monkeypatch.setenv(
            "AIRFLOW_CONN_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
        )
        pagerduty = env["AIRFLOW_CONN_PAGERDUTY_ONCALL"]
        pagerduty["host"] = api.url()  # the documented host field, pointed at the stand-in
        webhook = urlsplit(env["AIRFLOW_CONN_TEAMS_DATA_ALERTS"]["password"])
        env["AIRFLOW_CONN_TEAMS_DATA_ALERTS"]["password"] = teams.url(
            f"{webhook.path}?{webhook.query}"
        )
        for name, value in env.items():
            monkeypatch.setenv(name, json.dumps(value))
        alerts = tmp_path / "dags" / "alerts.yaml"
        alerts.parent.mkdir()
        alerts.write_text(text("notif-pagerduty-teams-yaml"))
        monkeypatch.chdir(tmp_path)
        state = f"sqlite:///{tmp_path / 'state.db'}"

        assert main(["run", str(alerts), "--state-db", state]) == 0
        assert command[:2] == ["sqlsentinel", "notify-test"]
        assert main(command[1:]) == 0
        out = capsys.readouterr().out
    finally:
        api.close()
        teams.close()

    assert pagerduty["password"] not in out
    assert api.rejected == []
    trigger, sample, sample_resolve = api.events
    documented = json.loads(text("notif-pagerduty-event"))
    # the run's event (`sqlsentinel run` knows no UI address: no tab links, no client_url)
    for key in ("dedup_key", "event_action", "client", "routing_key"):
        assert trigger[key] == documented[key], key
    for key in ("summary", "source", "severity", "component", "class", "group"):
        assert trigger["payload"][key] == documented["payload"][key], key
    assert sorted(trigger["payload"]) == sorted(documented["payload"])
    assert sorted(trigger["payload"]["custom_details"]) == sorted(
        documented["payload"]["custom_details"]
    )
    assert trigger["dedup_key"] == dedup_key("sqlsentinel_orders_backlog", "")
    # the sample (notify-test reads [api] base_url, as the alert's task does): every field
    assert sorted(sample) == sorted(documented)
    assert sample["client_url"] == documented["client_url"]
    assert sample["links"][:2] == documented["links"]
    assert sample["dedup_key"] == sample_resolve["dedup_key"]
    assert sample["dedup_key"].startswith("sqlsentinel/test/")
    assert sample["payload"]["summary"].startswith("[TEST] ")
    assert (sample_resolve["event_action"], len(api.incidents)) == ("resolve", 2)
    cards = [r.json()["attachments"][0] for r in teams.requests]
    assert [c["contentType"] for c in cards] == ["application/vnd.microsoft.card.adaptive"] * 2
    assert [c["content"]["version"] for c in cards] == ["1.4", "1.4"]
    assert all(r.path.startswith("/workflows/0123abcd/") for r in teams.requests)
