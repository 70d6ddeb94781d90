"""The JSON Schema of alerts.yaml validates real files and catches typos, for editors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from sqlsentinel_airflow.core.config import json_schema
from sqlsentinel_airflow.core.config.yamlpos import parse_yaml

FIXTURES = Path(__file__).parents[3] / "fixtures" / "config"


def as_written(name: str) -> Any:
    """The file's data as an editor sees it (the standalone duplicate `channel` resolved)."""
    doc, problems = parse_yaml((FIXTURES / name).read_text())
    assert problems == [] and doc is not None
    return json.loads(json.dumps(doc.value, default=str))


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_draft_2020_12_with_descriptions() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {
        "version",
        "dag_id_prefix",
        "state_db",
        "database",
        "defaults",
        "alerts",
        "silences",
        "receivers",
        "routes",
        "mute_windows",
        "action_links",
    }
    alert = schema["$defs"]["RawAlert"]
    assert alert["required"] == ["name"]
    assert "renotify_after" in alert["properties"]
    assert alert["properties"]["schedule"]["description"].startswith("Five-field cron")
    json.dumps(schema)  # serialisable as is, for `sqlsentinel schema`


def test_each_call_returns_an_independent_copy() -> None:
    first = json_schema()
    first["title"] = "changed"
    assert json_schema()["title"] != "changed"


@pytest.mark.parametrize("name", ["example.yaml", "standalone.yaml"])
def test_schema_accepts_the_example_files(
    validator: jsonschema.protocols.Validator, name: str
) -> None:
    assert list(validator.iter_errors(as_written(name))) == []


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (
            "alerts: [{name: a, query: x, renotfy_after: 4h}]",
            "Additional properties are not allowed",
        ),
        ("alerts: [{name: a, query: x, severity: critcal}]", "'critcal' is not one of"),
        (
            "alerts: [{name: a, query: x, notify: [{channel: pager}]}]",
            "is not valid under any of the given schemas",
        ),
        ("alerts: [{name: a}]", "is not valid under any of the given schemas"),
        ("alerts: [{name: a, query: x, query_file: y}]", "is valid under each of"),
        ("alerts: [{query: x}]", "'name' is a required property"),
        ("version: 2\nalerts: []", "1 was expected"),
        ("alerts: []\nmute_windows: [{name: w, intervals: []}]", "should be non-empty"),
        (
            "alerts: []\nmute_windows: [{name: w, intervals: [{dayz: [1]}]}]",
            "'dayz' was unexpected",
        ),
    ],
)
def test_schema_rejects_mistakes(
    validator: jsonschema.protocols.Validator, text: str, complaint: str
) -> None:
    messages = all_messages(validator.iter_errors(yaml.safe_load(text)))
    assert any(complaint in m for m in messages), messages


def all_messages(errors: Iterable[jsonschema.ValidationError]) -> list[str]:
    """Messages of the errors and of the alternatives inside them (anyOf / oneOf)."""
    out: list[str] = []
    for error in errors:
        out.append(error.message)
        out.extend(all_messages(error.context or []))
    return out


def test_variables_are_accepted_where_values_are_typed(
    validator: jsonschema.protocols.Validator,
) -> None:
    defaults = {"retries": "${RETRIES}", "timeout": "${TIMEOUT:-5m}", "enabled": "${ON}"}
    data: dict[str, Any] = {
        "defaults": defaults,
        "alerts": [
            {
                "name": "a",
                "query": "SELECT 1",
                "notify": [{"channel": "slack", "webhook_url": "${SLACK_URL}"}],
            }
        ],
    }
    assert list(validator.iter_errors(data)) == []
    defaults["retries"] = "three"
    assert list(validator.iter_errors(data)) != []


def test_x_keys_are_allowed_for_anchors(validator: jsonschema.protocols.Validator) -> None:
    assert list(validator.iter_errors({"x-common": {"a": 1}, "alerts": []})) == []


def test_mute_windows_validate(validator: jsonschema.protocols.Validator) -> None:
    data = yaml.safe_load(
        """
alerts: []
mute_windows:
  - name: weekends
    timezone: Europe/Berlin
    match: {tags: batch}
    intervals:
      - weekdays: saturday:sunday
      - weekdays: ["sunday#1"]
        times: [{start_time: "02:00", end_time: "24:00"}]
        days_of_month: [1, "-7:-1"]
        months: december
        years: 2027
"""
    )
    assert list(validator.iter_errors(data)) == []
