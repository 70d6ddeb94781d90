"""The JSON Schema of alerts.yaml, for editors and ``sqlsentinel schema``.

Generated from the raw models (``raw.py``), the same models that validate the file, so the
schema cannot drift from the loader. It describes the shape, types and allowed keys; checks
that need code (cron fields, timezone names, SQL safety, unique names) are the loader's.

Editors validate the file *as written*, before ``${VAR}`` is expanded, so wherever a value
has a type or a pattern (``retries: ${RETRIES}``, ``webhook_url: ${SLACK_URL}``) the schema
also accepts a variable reference. Point yaml-language-server at it with a first line like
``# yaml-language-server: $schema=./alerts.schema.json``.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from sqlsentinel_airflow.core.config.raw import RawFile

__all__ = ["SCHEMA_DIALECT", "SCHEMA_ID", "json_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://sqlsentinel-airflow.dev/schemas/alerts-v1.json"

_VARIABLE = "VariableReference"
_VARIABLE_SCHEMA = {
    "type": "string",
    "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}",
    "description": "${VAR} or ${VAR:-default}, expanded from the environment when loaded.",
}
_LITERAL_KEYS = frozenset({"channel", "query"})
"""Never interpolated (``query``) or needed as written to pick the model (``channel``)."""
_ANNOTATIONS = ("title", "description", "default", "examples")


def json_schema() -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) for a whole alerts.yaml; a fresh copy each call."""
    return copy.deepcopy(_schema())


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    body = RawFile.model_json_schema(mode="validation")
    definitions: dict[str, Any] = body.setdefault("$defs", {})
    for model in [body, *definitions.values()]:
        _allow_variables(model)
    definitions[_VARIABLE] = _VARIABLE_SCHEMA
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "SQL Sentinel alerts file (alerts.yaml)",
        "description": (
            "SQL alerts for Apache Airflow: each alert is a read-only SQL query returning a "
            "`status` column ('ALERT' or 'OK'), run on a cron schedule as its own DAG."
        ),
    }
    schema.update({k: v for k, v in body.items() if k not in ("title", "description")})
    return schema


def _allow_variables(model: dict[str, Any]) -> None:
    """Let every typed property of one model also be written as a ``${VAR}`` reference."""
    properties: dict[str, Any] = model.get("properties", {})
    for name, prop in properties.items():
        _hoist_description(prop)
        if name in _LITERAL_KEYS or _accepts_any_string(prop):
            continue
        wrapped: dict[str, Any] = {k: prop.pop(k) for k in _ANNOTATIONS if k in prop}
        wrapped["anyOf"] = [prop, {"$ref": f"#/$defs/{_VARIABLE}"}]
        properties[name] = wrapped


def _hoist_description(prop: dict[str, Any]) -> None:
    """Editors show a property's own description; pydantic may leave it on an anyOf member."""
    if "description" in prop:
        return
    for option in prop.get("anyOf", []):
        if "description" in option:
            prop["description"] = option.pop("description")
            return


def _accepts_any_string(prop: dict[str, Any]) -> bool:
    if prop.get("type") == "string":
        return not any(k in prop for k in ("pattern", "enum", "const", "format", "minLength"))
    return any(_accepts_any_string(option) for option in prop.get("anyOf", []))
