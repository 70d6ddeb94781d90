"""The rule-test file (``alerts.test.yaml``): typed, frozen, the one definition of the format.

The loader (``loader.py``) validates files against these models and locates every error;
the JSON Schema editors use (docs/reference/rule-test.schema.json) is generated from them
(``json_schema``), and so is the format reference in docs/rule-tests.md. Times must carry an
offset (``Z`` for UTC): a test must mean the same thing on every machine.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "SCHEMA_ID",
    "Expect",
    "ExpectedEvent",
    "ExpectedInstance",
    "RuleTest",
    "RuleTestFile",
    "Step",
    "StepSilence",
    "Table",
    "json_schema",
]

SCHEMA_ID = "https://sqlsentinel-airflow.dev/schemas/rule-test-v1.json"

StateName = Literal["ok", "pending", "firing", "error", "flapping"]
EventKindName = Literal["firing", "reminder", "resolved", "error", "flapping"]
Cell = str | int | float | bool | datetime | date | None
"""One fixture value, or one expected value (YAML scalars: text, numbers, booleans, times)."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Table(_Strict):
    """A fixture table: its columns with their types, and rows inline or from a CSV file."""

    columns: dict[str, str] = Field(
        min_length=1,
        description=(
            "column name -> SQL type (INTEGER, BIGINT, DOUBLE, DECIMAL(12,2), VARCHAR, "
            "BOOLEAN, DATE, TIMESTAMP, TIMESTAMPTZ), in the order of the rows' values"
        ),
    )
    rows: tuple[tuple[Cell, ...] | dict[str, Cell], ...] = Field(
        default=(),
        description="rows as lists (in column order) or as mappings (absent columns are NULL)",
    )
    csv: str | None = Field(
        default=None,
        description=(
            "a CSV file with a header row naming the columns, relative to the test file; "
            "an empty field is NULL"
        ),
    )

    @model_validator(mode="after")
    def _one_source(self) -> Table:
        if self.csv is not None and self.rows:
            raise ValueError("give `rows` or `csv`, not both")
        return self


class StepSilence(_Strict):
    """A silence in force at this step (of the alert, or of one of its instances)."""

    instance: str | None = Field(
        default=None,
        description="only this instance, e.g. `table_name=customers`; omitted: the whole alert",
    )
    reason: str = ""


class ExpectedEvent(_Strict):
    """One event the evaluation enqueues."""

    kind: EventKindName
    instance: str | None = Field(
        default=None, description="the instance it is about (`key=value`); omitted: not checked"
    )
    channels: tuple[str, ...] | None = Field(
        default=None, description="the channel kinds it goes to (`email`, `slack`, `webhook`)"
    )


class ExpectedInstance(_Strict):
    """What one instance should look like after the step; a key left out is not checked."""

    state: StateName | None = Field(default=None, description="state after the evaluation")
    value: Cell = Field(default=None, description="actual_value (numbers compared to 1e-9)")
    threshold: Cell = Field(default=None, description="threshold")
    events: tuple[EventKindName, ...] | None = Field(
        default=None, description="kinds of the events enqueued for it; [] for none"
    )
    silenced: bool | None = Field(default=None, description="a silence muted its events")

    def checked(self) -> dict[str, Any]:
        """The expectations written (an explicit ``value: null`` included), by field."""
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name in self.model_fields_set
        }


class Expect(ExpectedInstance):
    """The evaluation's outcome: ``state`` is the most urgent instance state, ``value`` the
    single instance's value; ``instances`` lists every instance, keyed by ``key=value``."""

    events: tuple[EventKindName | ExpectedEvent, ...] | None = Field(  # type: ignore[assignment]
        default=None, description="every event enqueued: kinds, or {kind, instance, channels}"
    )
    channels: tuple[str, ...] | None = Field(
        default=None, description="the channel kinds the events go to; [] when none is sent"
    )
    error: str | None = Field(default=None, description="text the query error contains")
    instances: dict[str, ExpectedInstance] | None = Field(
        default=None,
        description='every instance, by key (`table_name=orders`; `""` for alert-level errors)',
    )


class Step(_Strict):
    """One evaluation at a frozen time."""

    at: datetime = Field(description="the evaluation time, with an offset (`Z` for UTC)")
    name: str = ""
    fixtures: dict[str, Table] = Field(
        default_factory=dict, description="tables for this step only (replace same-named ones)"
    )
    silences: tuple[StepSilence, ...] = ()
    expect: Expect


class RuleTest(_Strict):
    """One test: an alert evaluated step by step, from no state, on its fixtures."""

    name: str = Field(min_length=1)
    alert: str = Field(min_length=1, description="the alert's name in the alerts file")
    fixtures: dict[str, Table] = Field(
        default_factory=dict, description="tables for this test (replace same-named ones)"
    )
    # "at least one" is checked by the loader: pydantic's own check would also fire, as a
    # second error, whenever an item is invalid
    steps: tuple[Step, ...] = Field(json_schema_extra={"minItems": 1})


class RuleTestFile(_Strict):
    """A rule-test file: the alerts file it tests, shared fixtures, and the tests."""

    version: Literal[1] = 1
    alerts: str = Field(description="the alerts file, relative to this file")
    dialect: str | None = Field(
        default=None,
        description=(
            "the SQL dialect the queries are written in (sqlite, postgres, mysql, snowflake, "
            "bigquery, tsql, ...); default: the one of each alert's connection"
        ),
    )
    fixtures: dict[str, Table] = Field(default_factory=dict, description="tables of every test")
    tests: tuple[RuleTest, ...] = Field(json_schema_extra={"minItems": 1})


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a rule-test file; a fresh copy each call."""
    import copy

    return copy.deepcopy(_schema())


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    body = RuleTestFile.model_json_schema(mode="validation")
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "SQL Sentinel rule tests (alerts.test.yaml)",
        "description": (
            "Unit tests for alert rules, run by `sqlsentinel test`: fixture tables, and steps "
            "at frozen times with the expected state, value and events (docs/rule-tests.md)."
        ),
    }
    schema.update({k: v for k, v in body.items() if k not in ("title", "description")})
    return schema
