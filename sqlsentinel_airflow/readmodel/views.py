"""The read model's views: frozen, typed, written as JSON by one method (``View.to_json``).

The JSON keys are the field names; the ``Annotated`` text beside each field is its meaning
on docs/reference/read-model.md (``scripts/gen_docs_read_model.py`` reads it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated

from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.model import EventKind, JsonValue, Outcome, RunType, State
from sqlsentinel_airflow.core.silences import SilenceStatus
from sqlsentinel_airflow.store.records import OutboxStatus

__all__ = [
    "DELIVERIES_SHOWN",
    "INSTANCES_IN_LIST",
    "SPARK_POINTS",
    "UNDELIVERED",
    "VIEWS",
    "AlertStatus",
    "AlertSummary",
    "DeliveryView",
    "DocsFact",
    "DocsView",
    "EvaluationView",
    "InstanceView",
    "SilenceView",
    "SparkPoint",
    "View",
]

SPARK_POINTS = 30  # recent values an alert summary carries
INSTANCES_IN_LIST = 25  # instances an alert summary carries unless all are asked for
DELIVERIES_SHOWN = 200  # undelivered notifications an alert summary lists (newest first)
UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.DEAD)  # what a summary counts and lists


class AlertStatus(str, enum.Enum):
    """The one word an alert's badge shows, most urgent first."""

    SILENCED = "silenced"
    FIRING = "firing"
    ERROR = "error"
    PENDING = "pending"
    OK = "ok"
    UNKNOWN = "unknown"  # never evaluated


@dataclass(frozen=True)
class View:
    """A view: frozen, and written as JSON field by field (the keys are the field names)."""

    def to_json(self) -> dict[str, JsonValue]:
        return {name: _json(getattr(self, name)) for name in _field_names(type(self))}


# A view's field names, looked up once per class: dataclasses.fields() per call was a third
# of serialising the SQL Sentinel page's 1,000 alert summaries (30 spark points each).
_FIELD_NAMES: dict[type[View], tuple[str, ...]] = {}


def _field_names(view: type[View]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(view)
    if names is None:
        names = _FIELD_NAMES[view] = tuple(f.name for f in fields(view))
    return names


def _json(value: object) -> JsonValue:
    if isinstance(value, View):
        return value.to_json()
    if isinstance(value, enum.Enum):  # before str: the package's enums are str enums
        return str(value.value).lower()
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value


# --- the views --------------------------------------------------------------------------------

AlertName = Annotated[str, "the alert's name (`name:` in alerts.yaml)"]
DagId = Annotated[str | None, "the alert's DAG id (null on rows written before it was stored)"]
InstanceKey = Annotated[
    str, 'the instance: "" for a single-row alert, else the key columns\' values as JSON'
]


@dataclass(frozen=True)
class InstanceView(View):
    """The state of one instance of an alert: ``(alert, instance_key)`` names it."""

    alert: AlertName
    dag_id: Annotated[str | None, "the alert's DAG id"]
    instance_key: InstanceKey
    key_values: Annotated[dict[str, JsonValue], "the key columns and their values ({} if none)"]
    state: Annotated[State, "the alerting state"]
    last_good_state: Annotated[State, "the state before the query started failing"]
    since: Annotated[datetime | None, "when it entered its state"]
    firing_since: Annotated[datetime | None, "when the current incident began"]
    last_evaluated_at: Annotated[datetime | None, "the last evaluation"]
    last_outcome: Annotated[Outcome | None, "what the last evaluation observed"]
    last_value: Annotated[JsonValue, "`actual_value` of the last evaluation"]
    last_threshold: Annotated[JsonValue, "`threshold` of the last evaluation"]
    last_context: Annotated[dict[str, JsonValue], "the other columns of the last evaluation"]
    last_error: Annotated[str | None, "the last query error (redacted)"]
    last_notified_at: Annotated[datetime | None, "when a firing or reminder last went out"]


@dataclass(frozen=True)
class EvaluationView(View):
    """One evaluation of one instance (a row of the history)."""

    id: Annotated[int | None, "the history row's id (page with `before_id`)"]
    alert: AlertName
    dag_id: DagId
    instance_key: InstanceKey
    key_values: Annotated[dict[str, JsonValue], "the key columns and their values"]
    evaluated_at: Annotated[datetime, "when it was evaluated"]
    run_type: Annotated[RunType, "what ran it"]
    run_id: Annotated[str | None, "the Airflow run (or CLI run) id"]
    outcome: Annotated[Outcome, "what the query said"]
    state: Annotated[State, "the state after it"]
    reason: Annotated[str | None, "why the notify decision came out so, in English"]
    reason_code: Annotated[str | None, "the same reason's stable name (`first_firing`)"]
    actual_value: Annotated[JsonValue, "the `actual_value` column"]
    threshold: Annotated[JsonValue, "the `threshold` column"]
    context: Annotated[dict[str, JsonValue], "the other columns"]
    error: Annotated[str | None, "the query error (redacted)"]
    duration_ms: Annotated[int | None, "how long the query took"]
    events: Annotated[tuple[EventKind, ...], "the notifications it enqueued"]


@dataclass(frozen=True)
class DeliveryView(View):
    """One notification of one event to one channel (a row of the outbox), without payload."""

    id: Annotated[int | None, "the outbox row's id"]
    alert: AlertName
    instance_key: InstanceKey
    kind: Annotated[EventKind, "the event"]
    channel: Annotated[str, "the channel type"]
    channel_id: Annotated[str, "the channel: its position, type and a hash of its settings"]
    status: Annotated[OutboxStatus, "`dead`: gave up after `delivery_attempts` failures"]
    attempts: Annotated[int, "sends tried so far"]
    last_error: Annotated[str | None, "why the last send failed (redacted)"]
    created_at: Annotated[datetime, "when the event was enqueued"]
    last_attempt_at: Annotated[datetime | None, "the last send"]
    delivered_at: Annotated[datetime | None, "when it was delivered"]
    idempotency_key: Annotated[str, "the key a receiver can drop a re-delivery by"]


@dataclass(frozen=True)
class SilenceView(View):
    """A silence, stored (CLI, UI) or declared in the alerts file (`source: config`)."""

    id: Annotated[int | None, "its id (null for a silence declared in the file)"]
    match: Annotated[str, "the glob matched against alert names and DAG ids"]
    starts_at: Annotated[datetime, "start"]
    ends_at: Annotated[datetime, "planned end"]
    ended_at: Annotated[datetime | None, "when someone ended it early"]
    created_at: Annotated[datetime | None, "when it was stored"]
    reason: Annotated[str, "why, as its author wrote it"]
    author: Annotated[str, "who (the alerts file for a declared silence)"]
    source: Annotated[str, "`cli`, `ui` or `config`"]
    status: Annotated[SilenceStatus, "at the time of the answer"]
    can_end: Annotated[bool, "whether it can be ended early (a declared one ends with the file)"]


@dataclass(frozen=True)
class SparkPoint(View):
    """One recent evaluation of the alert's worst instance, for a sparkline."""

    at: Annotated[datetime, "when it was evaluated"]
    value: Annotated[float | None, "`actual_value` as a number (null if not numeric)"]
    threshold: Annotated[float | None, "`threshold` as a number (null if not numeric)"]
    outcome: Annotated[Outcome, "what the query said"]


@dataclass(frozen=True)
class DocsFact(View):
    """One line of the DAG's documentation: ``Schedule`` = ``0 9 * * * in UTC``."""

    label: Annotated[str, "what it is"]
    text: Annotated[str, "its value, as Markdown"]


@dataclass(frozen=True)
class DocsView(View):
    """The alert's definition as its DAG documents it, without secrets."""

    description: Annotated[str, "the alert's description"]
    facts: Annotated[tuple[DocsFact, ...], "schedule, policy and the other settings"]
    query: Annotated[str | None, "the SQL"]
    channels: Annotated[tuple[str, ...], "where notifications go, one line per channel"]
    banner: Annotated[str, "the warning on a DAG that runs a stale version (or empty)"]


@dataclass(frozen=True)
class AlertSummary(View):
    """One alert as the dashboard and ``sqlsentinel status`` show it.

    ``status`` is ``silenced`` while a silence mutes it, else the most urgent state among
    its instances (or ``unknown`` before its first evaluation); ``state`` is that state
    beneath any silence.
    """

    dag_id: Annotated[str, "the alert's DAG id"]
    name: AlertName
    description: Annotated[str, "its description"]
    severity: Annotated[str, "`critical`, `warning` or `info`"]
    owner: Annotated[str, "its owner"]
    tags: Annotated[tuple[str, ...], "its tags"]
    enabled: Annotated[bool | None, "`enabled:` in its file (null: not known, the UI)"]
    paused: Annotated[bool | None, "whether its DAG is paused (null: not known, the CLI)"]
    stale: Annotated[bool | None, "its DAG runs the last valid version (null: the CLI)"]
    status: Annotated[AlertStatus, "the badge"]
    state: Annotated[AlertStatus, "the state beneath a silence (never `silenced`)"]
    since: Annotated[datetime | None, "when the worst instance entered its state"]
    firing_since: Annotated[datetime | None, "when the worst instance's incident began"]
    last_value: Annotated[JsonValue, "the worst instance's last `actual_value`"]
    threshold: Annotated[JsonValue, "the worst instance's last `threshold`"]
    last_error: Annotated[str | None, "the worst instance's last query error (redacted)"]
    last_evaluated_at: Annotated[datetime | None, "the latest evaluation of any instance"]
    instance_count: Annotated[int, "instances known"]
    firing_instances: Annotated[int, "instances firing"]
    instances: Annotated[
        tuple[InstanceView, ...], f"most urgent first (the first {INSTANCES_IN_LIST} in lists)"
    ]
    pending_deliveries: Annotated[int, "notifications waiting for a retry"]
    dead_deliveries: Annotated[int, "notifications given up on"]
    deliveries: Annotated[
        tuple[DeliveryView, ...] | None,
        f"the pending and dead ones, newest first, at most {DELIVERIES_SHOWN} "
        "(null in the UI's list of alerts)",
    ]
    silenced: Annotated[bool, "a silence mutes it now"]
    silences: Annotated[tuple[SilenceView, ...], "active and upcoming silences that match it"]
    spark_instance: Annotated[str | None, "the instance the recent values are of"]
    spark: Annotated[
        tuple[SparkPoint, ...] | None,
        f"its last {SPARK_POINTS} values, oldest first (null: not asked for, the CLI)",
    ]
    docs: Annotated[DocsView | None, "its definition (the UI's alert page only)"]
    can_edit: Annotated[bool | None, "the user may silence it (the UI only)"]


VIEWS: tuple[type[View], ...] = (
    AlertSummary,
    InstanceView,
    EvaluationView,
    DeliveryView,
    SilenceView,
    SparkPoint,
    DocsView,
    DocsFact,
)
"""Every view, in the order the reference page documents them."""
