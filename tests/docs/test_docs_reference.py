"""docs/reference/alerts-yaml.md cannot drift: it is what scripts/gen_docs_reference.py makes
from the JSON Schema right now, and every example on it loads through the real loader."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from docs_snippets import REPO, load_script

from sqlsentinel_airflow.core.config import json_schema, load_config_text

PAGE = REPO / "docs" / "reference" / "alerts-yaml.md"
ENV = {
    "DATABASE_URL": "postgresql://sentinel@db.internal:5432/shop",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXX",
    "TEAMS_WEBHOOK_URL": "https://prod-1.westeurope.logic.azure.com/workflows/x?sig=XXXX",
}
ALERT = {
    "name": "example",
    "schedule": "0 9 * * *",
    "conn_id": "warehouse",
    "query": "SELECT 'OK' AS status",
}
CHANNEL_BASE = {
    "email": {"channel": "email", "to": ["team@example.com"]},
    "slack": {"channel": "slack", "conn_id": "slack_alerts", "slack_channel": "#data-alerts"},
    "webhook": {"channel": "webhook", "url": "https://example.internal/hooks/alerts"},
    "pagerduty": {"channel": "pagerduty", "conn_id": "pagerduty_oncall"},
    "teams": {"channel": "teams", "conn_id": "teams_data_alerts"},
}
# keys that replace one of the base's (the two are mutually exclusive)
REPLACES = {
    ("email", "recipients"): "to",
    ("slack", "webhook_url"): "conn_id",
    ("slack", "bot_conn_id"): "conn_id",
    ("webhook", "conn_id"): "url",
    ("webhook", "endpoint"): "url",
    ("webhook", "hmac_secret_conn_id"): None,
    ("teams", "webhook_url"): "conn_id",
    ("alert", "query_file"): "query",
    ("alert", "freshness"): "query",
}


GEN = load_script("gen_docs_reference")


def test_committed_page_is_a_fresh_generation() -> None:
    assert PAGE.read_text(encoding="utf-8") == GEN.generate(), (
        "docs/reference/alerts-yaml.md is stale: run .venv/bin/python scripts/gen_docs_reference.py"
    )


def test_every_key_of_the_schema_has_a_row() -> None:
    schema = json_schema()
    page = PAGE.read_text(encoding="utf-8")
    sections = re.split(r"^## ", page, flags=re.M)[1:]
    by_title = {s.splitlines()[0]: s for s in sections}
    for _section, title, def_name, _where in GEN.SECTIONS:
        keys = (schema["$defs"][def_name] if def_name else schema)["properties"]
        for key in keys:
            assert f"\n| `{key}` |" in by_title[title], f"{title}: no row for {key}"


def _receivers(*names: str) -> list[dict[str, Any]]:
    return [
        {"name": n, "notify": [{"channel": "email", "to": [f"{n}@example.com"]}]} for n in names
    ]


def _document(section: str, key: str, value: Any) -> dict[str, Any]:
    alert = copy.deepcopy(ALERT)
    doc: dict[str, Any] = {"alerts": [alert]}
    replaced = REPLACES.get((section, key))
    if section == "file":
        doc[key] = value
        if key == "routes":  # the receiver it names
            doc["receivers"] = [
                {"name": "data-team", "notify": [{"channel": "email", "to": ["team@example.com"]}]}
            ]
    elif section == "alert":
        if replaced:
            alert.pop(replaced)
        alert[key] = value
        if key == "mute_windows":  # the window it names
            doc["mute_windows"] = [{"name": "weekends", "intervals": [{"weekdays": "saturday"}]}]
        if key == "escalation":  # the receivers its steps name
            doc["receivers"] = _receivers("oncall", "leads")
        if key == "depends_on":  # the alert it names, first in the file
            doc["alerts"].insert(0, {**copy.deepcopy(ALERT), "name": "orders_loaded"})
    elif section == "escalation_step":
        alert["escalation"] = [{"after": "15m", "receiver": "oncall", key: value}]
        doc["receivers"] = _receivers("oncall")
    elif section == "ack":
        alert["ack"] = {key: value}
    elif section == "freshness":
        alert.pop("query")
        fresh = {"table": "orders", "column": "loaded_at", "within": "1h"}
        if key == "asset":
            fresh = {"within": "1h"}
        alert["freshness"] = {**fresh, key: value}
    elif section in CHANNEL_BASE:
        channel = dict(CHANNEL_BASE[section])
        if section == "webhook" and key in ("endpoint", "hmac_secret_conn_id"):
            channel = {"channel": "webhook", "conn_id": "alerts_api"}
        elif replaced:
            channel.pop(replaced)
        channel[key] = value
        alert["notify"] = [channel]
    elif section == "templates":
        alert["templates"] = {key: value}
    elif section == "link":
        link = {"title": "Dashboard", "url": "https://bi.example.com/d/1", key: value}
        alert["links"] = [link]
    elif section == "flap_detection":
        flap = {"changes": 4, "window": "30m", "stable_for": "15m", key: value}
        alert["flap_detection"] = flap
    elif section == "group":
        alert["group"] = {key: value}
    elif section == "state_db":
        doc["state_db"] = {key: value}
    elif section == "database":
        doc["database"] = {key: value}
        alert.pop("conn_id")
    elif section == "silence":
        silence = {"match": "example", "until": "2030-01-01T06:00:00Z", key: value}
        if key == "instance":  # one instance of one keyed alert
            alert["key_columns"] = ["table_name"]
            silence["match"] = alert["name"]
        doc["silences"] = [silence]
    elif section in ("receiver", "routes", "route", "match"):
        doc["receivers"] = [
            {"name": "data-team", "notify": [{"channel": "email", "to": ["team@example.com"]}]},
            {"name": "oncall", "notify": [{"channel": "slack", "conn_id": "slack_oncall"}]},
        ]
        root: dict[str, Any] = {"receiver": "data-team", "routes": [{"receiver": "oncall"}]}
        if section == "receiver":
            doc["receivers"][0][key] = value
            root["receiver"] = doc["receivers"][0]["name"]
        elif section == "routes":
            root[key] = value
        elif section == "route":
            root["routes"][0][key] = value
        else:
            root["routes"][0]["match"] = {key: value}
        doc["routes"] = root
    elif section in ("mute_window", "interval", "times"):
        times = {"start_time": "22:00", "end_time": "24:00"}
        interval: dict[str, Any] = {"weekdays": ["saturday"]}
        window: dict[str, Any] = {"name": "weekends", "intervals": [interval]}
        if section == "mute_window":
            window[key] = value
        elif section == "interval":
            interval[key] = value
        else:
            interval["times"] = [{**times, key: value}]
        doc["mute_windows"] = [window]
    elif section == "action_links":
        doc["action_links"] = {"conn_id": "sqlsentinel_action_links", key: value}
    else:  # pragma: no cover
        raise AssertionError(section)
    return doc


@pytest.mark.parametrize(("section", "key"), sorted(GEN.EXAMPLES))
def test_example_loads(section: str, key: str, tmp_path: Path) -> None:
    (tmp_path / "sql").mkdir()
    for name in ("revenue.sql", "stuck.sql"):
        (tmp_path / "sql" / name).write_text("SELECT 'OK' AS status\n", encoding="utf-8")
    written = yaml.safe_load(f"{key}: {GEN.EXAMPLES[(section, key)]}")
    document = _document(section, key, written[key])
    result = load_config_text(
        yaml.safe_dump(document, sort_keys=False), "alerts.yaml", base_dir=tmp_path, env=ENV
    )
    assert result.ok, [e.format() for e in result.errors]
    assert result.config is not None
    assert len(result.config.alerts) == (2 if key == "depends_on" else 1)


def test_a_wrong_example_would_fail() -> None:
    """The check above can fail: a misplaced or mistyped key does not load."""
    document = _document("alert", "severity", "urgent")
    result = load_config_text(yaml.safe_dump(document), "alerts.yaml", env=ENV)
    assert not result.ok
    document = _document("email", "slack_channel", "#x")
    result = load_config_text(yaml.safe_dump(document), "alerts.yaml", env=ENV)
    assert not result.ok
