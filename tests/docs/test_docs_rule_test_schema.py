"""docs/reference/rule-test.schema.json cannot drift: it is what scripts/gen_rule_test_schema.py
generates from the rule-test models now, and the example test file validates against it."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from docs_snippets import REPO, load_script

SCHEMA_FILE = REPO / "docs" / "reference" / "rule-test.schema.json"
GEN = load_script("gen_rule_test_schema")


def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def test_committed_schema_is_a_fresh_generation() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == GEN.generate(), (
        "docs/reference/rule-test.schema.json is stale: run "
        ".venv/bin/python scripts/gen_rule_test_schema.py"
    )


def test_the_example_test_file_validates_against_it() -> None:
    data = yaml.safe_load((REPO / "dags" / "alerts.test.yaml").read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data, default=str))
    jsonschema.Draft202012Validator(_schema()).validate(data)


def test_it_refuses_what_the_loader_refuses() -> None:
    validator = jsonschema.Draft202012Validator(_schema())
    bad = {
        "alerts": "alerts.yaml",
        "tests": [{"name": "t", "alert": "a", "steps": [{"at": "x", "expct": {}}]}],
    }
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert "'expect' is a required property" in messages
    assert any("'expct' was unexpected" in m for m in messages)
    with pytest.raises(jsonschema.ValidationError, match=r"\[\] should be non-empty"):
        validator.validate({"alerts": "alerts.yaml", "tests": []})
