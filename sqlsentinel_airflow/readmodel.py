"""The read model: what people and programs are shown about alerts, one typed view per record.

The CLI (``--format json`` and its tables) and the UI's JSON API render these views and
nothing else, so one record reads the same everywhere. The shapes are published in
docs/reference/read-model.md, generated from these types (``scripts/gen_docs_read_model.py``).

Each view is built from the store's records by one function and written as JSON by one
method, ``to_json()``, with one set of rules:

- enum values in lower case (``"firing"``, ``"alert"``, ``"scheduled"``);
- times as RFC 3339 in UTC (``core.clock.rfc3339``);
- a reason as ``reason`` (the English) and ``reason_code`` (its stable name);
- every error text redacted once, when the view is built (``core.redact.redact_text``).

Facts only Airflow knows (paused, stale, the DAG's docs, who may edit) and the recent values
are optional inputs of :func:`alert_summary`: null in the JSON of a caller that does not know
them (the CLI). Nothing here imports Airflow.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence
from sqlsentinel_airflow.core.model import (
    EventKind,
    InstanceState,
    JsonValue,
    Outcome,
    Reason,
    RunType,
    Silence,
    State,
)
from sqlsentinel_airflow.core.redact import redact_text
from sqlsentinel_airflow.store.records import HistoryEntry, OutboxEntry, OutboxStatus

__all__ = [
    "DELIVERIES_SHOWN",
    "INSTANCES_IN_LIST",
    "SPARK_POINTS",
    "UNDELIVERED",
    "VIEWS",
    "AlertFacts",
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
    "alert_status",
    "alert_summary",
    "delivery_view",
    "evaluation_view",
    "instance_view",
    "reason_fields",
    "silence_view",
    "silences_for",
    "spark_points",
    "worst_instance",
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
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}


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
    status: Annotated[silence_rules.SilenceStatus, "at the time of the answer"]
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


# --- building them ----------------------------------------------------------------------------

_REASON_BY_TEXT = {r.value: r for r in Reason}


def reason_fields(reason: Reason | str | None) -> tuple[str | None, str | None]:
    """``(reason, reason_code)`` of a stored reason: a Reason, its English, or its code.

    Text naming no known reason (written by a newer version) is shown as is, without code.
    """
    if reason is None:
        return None, None
    known = reason if isinstance(reason, Reason) else _REASON_BY_TEXT.get(reason)
    if known is None:
        try:
            known = Reason.from_code(reason)
        except ValueError:
            return reason, None
    return known.value, known.code


def instance_view(state: InstanceState, dag_id: str | None) -> InstanceView:
    return InstanceView(
        alert=state.alert_name,
        dag_id=dag_id,
        instance_key=state.instance_key,
        key_values=state.key_values,
        state=state.state,
        last_good_state=state.last_good_state,
        since=state.state_since,
        firing_since=state.firing_since,
        last_evaluated_at=state.last_evaluated_at,
        last_outcome=state.last_outcome,
        last_value=state.last_value,
        last_threshold=state.last_threshold,
        last_context=state.last_context,
        last_error=redact_text(state.last_error),
        last_notified_at=state.last_notified_at,
    )


def evaluation_view(entry: HistoryEntry) -> EvaluationView:
    reason, code = reason_fields(entry.reason)
    return EvaluationView(
        id=entry.id,
        alert=entry.alert_name,
        dag_id=entry.dag_id,
        instance_key=entry.instance_key,
        key_values=entry.key_values,
        evaluated_at=entry.evaluated_at,
        run_type=RunType(entry.run_type),
        run_id=entry.run_id,
        outcome=Outcome(entry.outcome),
        state=State(entry.state),
        reason=reason,
        reason_code=code,
        actual_value=entry.actual_value,
        threshold=entry.threshold,
        context=entry.context,
        error=redact_text(entry.error),
        duration_ms=entry.duration_ms,
        events=tuple(EventKind(k) for k in entry.events),
    )


def delivery_view(entry: OutboxEntry) -> DeliveryView:
    return DeliveryView(
        id=entry.id,
        alert=entry.alert_name,
        instance_key=entry.instance_key,
        kind=EventKind(entry.kind),
        channel=entry.channel_kind,
        channel_id=entry.channel_id,
        status=OutboxStatus(entry.status),
        attempts=entry.attempts,
        last_error=redact_text(entry.last_error),
        created_at=entry.created_at,
        last_attempt_at=entry.last_attempt_at,
        delivered_at=entry.delivered_at,
        idempotency_key=entry.idempotency_key,
    )


def silence_view(silence: Silence, now: datetime) -> SilenceView:
    return SilenceView(
        id=silence.id,
        match=silence.match,
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        ended_at=silence.ended_at,
        created_at=silence.created_at,
        reason=silence.reason,
        author=silence.author,
        source=silence.source,
        status=silence_rules.silence_status(silence, now),
        can_end=silence.id is not None,  # a declared silence ends when the file says so
    )


def silences_for(
    alert_name: str,
    dag_id: str | None,
    stored: Iterable[Silence],
    declared: Iterable[FileSilence],
    now: datetime,
) -> list[Silence]:
    """The unexpired silences, stored and declared in the alert's file, that match the alert."""
    found = [s for s in stored if silence_rules.matches(s, alert_name, dag_id)]
    for item in declared:
        try:
            silence = silence_rules.from_file(item, now)
        except ValueError:  # invalid in the file: validation reports it, nothing to show
            continue
        if silence_rules.matches(silence, alert_name, dag_id):
            found.append(silence)
    return [
        s
        for s in found
        if silence_rules.silence_status(s, now) is not silence_rules.SilenceStatus.EXPIRED
    ]


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value.strip()))
        except (InvalidOperation, ValueError):
            return None
    return None


def spark_points(history: Sequence[HistoryEntry]) -> tuple[SparkPoint, ...]:
    """Evaluations (as the store lists them, newest first) as points, oldest first."""
    return tuple(
        SparkPoint(
            at=h.evaluated_at,
            value=_number(h.actual_value),
            threshold=_number(h.threshold),
            outcome=Outcome(h.outcome),
        )
        for h in reversed(history)
    )


def worst_instance(states: Sequence[InstanceState]) -> InstanceState | None:
    """The instance whose state is most urgent (the first one on ties)."""
    return max(states, key=lambda s: s.state.urgency) if states else None


def alert_status(
    states: Sequence[InstanceState], silenced: bool
) -> tuple[AlertStatus, AlertStatus]:
    """``(status, state)``: the badge word and the alerting state beneath any silence."""
    worst = worst_instance(states)
    state = AlertStatus(worst.state.value.lower()) if worst is not None else AlertStatus.UNKNOWN
    return (AlertStatus.SILENCED if silenced else state), state


@dataclass(frozen=True)
class AlertFacts:
    """What the caller knows of an alert besides the state DB (None: does not know)."""

    dag_id: str
    name: str
    description: str = ""
    severity: str = "warning"
    owner: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool | None = None
    paused: bool | None = None
    stale: bool | None = None

    @classmethod
    def of_config(cls, alert: AlertConfig) -> AlertFacts:
        """The facts an alerts file gives (the CLI's)."""
        return cls(
            dag_id=alert.dag_id,
            name=alert.name,
            description=alert.description,
            severity=alert.severity,
            owner=alert.owner,
            tags=tuple(alert.tags),
            enabled=alert.enabled,
        )


def alert_summary(
    facts: AlertFacts,
    *,
    states: Sequence[InstanceState],
    silences: Sequence[Silence],
    outbox_counts: Mapping[OutboxStatus, int],
    now: datetime,
    deliveries: Sequence[OutboxEntry] | None = None,
    spark: Sequence[HistoryEntry] | None = None,
    docs: DocsView | None = None,
    can_edit: bool | None = None,
    all_instances: bool = False,
) -> AlertSummary:
    """One alert from its stored states, the silences that apply (:func:`silences_for`), its
    outbox counts (``StateStore.outbox_counts``) and what else the caller knows."""
    active = [s for s in silences if silence_rules.is_active(s, now)]
    status, state = alert_status(states, bool(active))
    worst = worst_instance(states)
    evaluated = [s.last_evaluated_at for s in states if s.last_evaluated_at is not None]
    ordered = sorted(states, key=lambda s: (-s.state.urgency, s.instance_key))
    shown = ordered if all_instances else ordered[:INSTANCES_IN_LIST]
    return AlertSummary(
        dag_id=facts.dag_id,
        name=facts.name,
        description=facts.description,
        severity=facts.severity,
        owner=facts.owner,
        tags=facts.tags,
        enabled=facts.enabled,
        paused=facts.paused,
        stale=facts.stale,
        status=status,
        state=state,
        since=worst.state_since if worst else None,
        firing_since=worst.firing_since if worst else None,
        last_value=worst.last_value if worst else None,
        threshold=worst.last_threshold if worst else None,
        last_error=redact_text(worst.last_error) if worst else None,
        last_evaluated_at=max(evaluated) if evaluated else None,
        instance_count=len(states),
        firing_instances=sum(1 for s in states if s.state is State.FIRING),
        instances=tuple(instance_view(s, facts.dag_id) for s in shown),
        pending_deliveries=outbox_counts.get(OutboxStatus.PENDING, 0),
        dead_deliveries=outbox_counts.get(OutboxStatus.DEAD, 0),
        deliveries=(
            tuple(delivery_view(d) for d in deliveries[:DELIVERIES_SHOWN])
            if deliveries is not None
            else None
        ),
        silenced=bool(active),
        silences=tuple(silence_view(s, now) for s in silences),
        spark_instance=worst.instance_key if worst else None,
        spark=spark_points(spark) if spark is not None else None,
        docs=docs,
        can_edit=can_edit,
    )
