"""The JSON the UI's pages read, built from stored state: pure functions, no I/O, no Airflow.

An alert's *status* is the one word its badge shows: ``silenced`` while a silence mutes it,
else the most urgent state among its instances (``firing`` > ``error`` > ``pending`` >
``ok``), or ``unknown`` before its first evaluation. ``state`` keeps the state under a
silence, so a silenced alert still says whether it is firing.

Values are JSON-able as stored (the query layer makes them so); times are ISO 8601 in UTC.
Error texts go through :func:`redact_text` once more: what reaches a browser must not hold a
URL's secrets even if some message upstream forgot to redact one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.config.models import FileSilence
from sqlsentinel_airflow.core.model import InstanceState, Silence, State
from sqlsentinel_airflow.core.redact import redact_text
from sqlsentinel_airflow.store.records import HistoryEntry, OutboxEntry
from sqlsentinel_airflow.ui.catalog import AlertEntry
from sqlsentinel_airflow.ui.definitions import AlertDocs

__all__ = [
    "SPARK_POINTS",
    "STATUS_ORDER",
    "alert_status",
    "alert_summary",
    "docs_json",
    "history_json",
    "instance_json",
    "outbox_json",
    "redact_text",
    "silence_json",
    "silences_for",
    "spark_points",
    "worst_instance",
]

SPARK_POINTS = 30
STATUS_ORDER = ("silenced", "firing", "error", "pending", "ok", "unknown")
_MAX_INSTANCES_IN_LIST = 25


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def worst_instance(states: Sequence[InstanceState]) -> InstanceState | None:
    """The instance whose state is most urgent (the first one on ties)."""
    if not states:
        return None
    return max(states, key=lambda s: s.state.urgency)


def alert_status(states: Sequence[InstanceState], silenced: bool) -> tuple[str, str]:
    """``(status, state)``: the badge word and the alerting state beneath any silence."""
    worst = worst_instance(states)
    state = worst.state.value.lower() if worst is not None else "unknown"
    return ("silenced" if silenced else state), state


def instance_json(state: InstanceState) -> dict[str, Any]:
    return {
        "instance_key": state.instance_key,
        "key_values": state.key_values,
        "state": state.state.value.lower(),
        "last_good_state": state.last_good_state.value.lower(),
        "since": _iso(state.state_since),
        "firing_since": _iso(state.firing_since),
        "last_evaluated_at": _iso(state.last_evaluated_at),
        "last_outcome": state.last_outcome.value if state.last_outcome else None,
        "last_value": state.last_value,
        "last_threshold": state.last_threshold,
        "last_context": state.last_context,
        "last_error": redact_text(state.last_error),
        "last_notified_at": _iso(state.last_notified_at),
    }


def silence_json(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.id,
        "match": silence.match,
        "starts_at": _iso(silence.starts_at),
        "ends_at": _iso(silence.ends_at),
        "ended_at": _iso(silence.ended_at),
        "created_at": _iso(silence.created_at),
        "reason": silence.reason,
        "author": silence.author,
        "source": silence.source,
        "status": silence_rules.silence_status(silence, now).value,
        "can_end": silence.id is not None,  # file silences end when the file says so
    }


def silences_for(
    entry: AlertEntry,
    stored: Iterable[Silence],
    declared: Iterable[FileSilence],
    now: datetime,
) -> list[Silence]:
    """The unexpired silences (stored and declared in its file) that match the alert."""
    found = [s for s in stored if silence_rules.matches(s, entry.name, entry.dag_id)]
    for item in declared:
        try:
            silence = silence_rules.from_file(item, now)
        except ValueError:  # invalid in the file: validation reports it, nothing to show
            continue
        if silence_rules.matches(silence, entry.name, entry.dag_id):
            found.append(silence)
    return [
        s
        for s in found
        if silence_rules.silence_status(s, now) is not silence_rules.SilenceStatus.EXPIRED
    ]


def _number(value: Any) -> float | None:
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


def spark_points(history: Sequence[HistoryEntry]) -> list[dict[str, Any]]:
    """Recent evaluations, oldest first: time, numeric value (or None), outcome, threshold."""
    return [
        {
            "at": _iso(h.evaluated_at),
            "value": _number(h.actual_value),
            "threshold": _number(h.threshold),
            "outcome": h.outcome.value,
        }
        for h in reversed(history)
    ]


def alert_summary(
    entry: AlertEntry,
    *,
    states: Sequence[InstanceState],
    silences: Sequence[Silence],
    pending: int,
    dead: int,
    spark: Sequence[HistoryEntry],
    now: datetime,
    all_instances: bool = False,
) -> dict[str, Any]:
    """One alert as the dashboard shows it (``all_instances`` for the alert's own page)."""
    active = [s for s in silences if silence_rules.is_active(s, now)]
    status, state = alert_status(states, bool(active))
    worst = worst_instance(states)
    evaluated = [s.last_evaluated_at for s in states if s.last_evaluated_at is not None]
    ordered = sorted(states, key=lambda s: (-s.state.urgency, s.instance_key))
    shown = ordered if all_instances else ordered[:_MAX_INSTANCES_IN_LIST]
    return {
        "dag_id": entry.dag_id,
        "name": entry.name,
        "description": entry.description,
        "severity": entry.severity,
        "owner": entry.owner,
        "tags": list(entry.tags),
        "paused": entry.paused,
        "stale": entry.stale,
        "status": status,
        "state": state,
        "since": _iso(worst.state_since) if worst else None,
        "firing_since": _iso(worst.firing_since) if worst else None,
        "last_value": worst.last_value if worst else None,
        "threshold": worst.last_threshold if worst else None,
        "last_error": redact_text(worst.last_error) if worst else None,
        "last_evaluated_at": _iso(max(evaluated)) if evaluated else None,
        "instance_count": len(states),
        "instances": [instance_json(s) for s in shown],
        "firing_instances": sum(1 for s in states if s.state is State.FIRING),
        "pending_deliveries": pending,
        "dead_deliveries": dead,
        "silenced": bool(active),
        "silences": [silence_json(s, now) for s in silences],
        "spark": spark_points(spark),
        "spark_instance": worst.instance_key if worst else None,
    }


def history_json(entry: HistoryEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "evaluated_at": _iso(entry.evaluated_at),
        "instance_key": entry.instance_key,
        "key_values": entry.key_values,
        "outcome": entry.outcome.value,
        "state": entry.state.value.lower(),
        "reason": entry.reason,
        "actual_value": entry.actual_value,
        "threshold": entry.threshold,
        "context": entry.context,
        "error": redact_text(entry.error),
        "run_type": entry.run_type.value,
        "run_id": entry.run_id,
        "duration_ms": entry.duration_ms,
        "events": [e.value for e in entry.events],
    }


def outbox_json(entry: OutboxEntry) -> dict[str, Any]:
    """An undelivered notification, without its payload."""
    return {
        "id": entry.id,
        "kind": entry.kind.value,
        "channel": entry.channel_kind,
        "channel_id": entry.channel_id,
        "instance_key": entry.instance_key,
        "status": entry.status.value,
        "attempts": entry.attempts,
        "last_error": redact_text(entry.last_error),
        "created_at": _iso(entry.created_at),
        "last_attempt_at": _iso(entry.last_attempt_at),
    }


def docs_json(docs: AlertDocs) -> dict[str, Any]:
    return {
        "description": docs.description,
        "facts": [{"label": label, "text": text} for label, text in docs.facts],
        "query": docs.query,
        "channels": list(docs.channels),
        "banner": docs.banner,
    }
