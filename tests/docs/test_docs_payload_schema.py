"""docs/reference/event-payload.schema.json cannot drift: it is what
scripts/gen_event_payload_schema.py generates from the payload type right now, it is the
schema the webhook module exports, and it keeps every promise of version 1 as first published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from docs_snippets import REPO, load_script

from sqlsentinel_airflow.core.model import Reason
from sqlsentinel_airflow.core.payload import ADDED_IN_VERSION_1, PAYLOAD_REASON_CODES
from sqlsentinel_airflow.notify.webhook import PAYLOAD_SCHEMA

SCHEMA_FILE = REPO / "docs" / "reference" / "event-payload.schema.json"
V1_AS_PUBLISHED = REPO / "tests" / "fixtures" / "payload" / "webhook-v1-as-published.schema.json"


GEN = load_script("gen_event_payload_schema")


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` followed (the generated schema keeps nested types in $defs)."""
    ref = node.get("$ref")
    if ref is None:
        return node
    name = str(ref).removeprefix("#/$defs/")
    return {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}


def test_committed_schema_is_a_fresh_generation() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == GEN.generate(), (
        "docs/reference/event-payload.schema.json is stale: run "
        ".venv/bin/python scripts/gen_event_payload_schema.py"
    )
    assert GEN.main(["--check"]) == 0


def test_the_published_file_is_the_schema_the_code_exports() -> None:
    published = _load(SCHEMA_FILE)
    assert published == PAYLOAD_SCHEMA
    jsonschema.Draft202012Validator.check_schema(published)
    assert published["title"] == "SQL Sentinel webhook event, version 1"


def test_version_1_promises_are_kept() -> None:
    """Every field of version 1 as first published is still there, still required, with the
    same values; new fields are optional (old outbox rows lack them) and nothing is closed."""
    old = _load(V1_AS_PUBLISHED)
    new = _load(SCHEMA_FILE)
    assert set(old["required"]) == set(new["required"])
    assert not set(ADDED_IN_VERSION_1) & set(new["required"])
    assert set(old["properties"]) | set(ADDED_IN_VERSION_1) == set(new["properties"])
    assert '"additionalProperties": false' not in json.dumps(new)  # open to additions
    for name in ("kind", "state"):
        assert _resolve(new, new["properties"][name])["enum"] == old["properties"][name]["enum"]
    alert = _resolve(new, new["properties"]["alert"])
    assert set(alert["required"]) == set(old["properties"]["alert"]["required"])
    severity = alert["properties"]["severity"]["enum"]
    assert severity == old["properties"]["alert"]["properties"]["severity"]["enum"]
    assert _resolve(new, new["properties"]["version"])["const"] == 1


def test_reason_code_lists_every_reason_and_the_payload_only_ones() -> None:
    codes = _load(SCHEMA_FILE)["properties"]["reason_code"]["enum"]
    assert codes == list(PAYLOAD_REASON_CODES)
    assert codes == [r.code for r in Reason] + [
        "invalid_config",
        "config_valid_again",
        "test",
        "grouped",
    ]
