"""Field-by-field mapping between table rows and domain types / records.

Kept apart from the queries so that a new field is one edit here (plus a migration), and so
enum values are parsed back in exactly one place.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.incidents import Evaluated, Incident, IncidentKind, PeakDirection
from sqlsentinel_airflow.core.model import (
    EventKind,
    InstanceState,
    Outcome,
    Reason,
    RunType,
    Silence,
    State,
)
from sqlsentinel_airflow.store.compaction import decode_samples
from sqlsentinel_airflow.store.records import (
    HistoryEntry,
    IncidentAction,
    OutboxEntry,
    OutboxMember,
    OutboxStatus,
)
from sqlsentinel_airflow.store.tables import json_from_text

__all__ = [
    "evaluated",
    "history_from_row",
    "history_to_row",
    "incident_action_from_row",
    "incident_action_to_row",
    "incident_from_row",
    "incident_to_row",
    "key_hash",
    "outbox_from_row",
    "outbox_to_row",
    "reason_from_column",
    "reason_to_column",
    "silence_from_row",
    "silence_to_row",
    "state_from_row",
    "state_to_row",
    "stored_json",
]

Row = RowMapping


def key_hash(instance_key: str) -> str:
    """The fixed-length primary-key part standing for a (possibly long) instance key."""
    return hashlib.sha1(instance_key.encode("utf-8")).hexdigest()


def state_to_row(s: InstanceState) -> dict[str, Any]:
    return {
        "alert_name": s.alert_name,
        "key_hash": key_hash(s.instance_key),
        "instance_key": s.instance_key,
        "state": s.state.value,
        "last_good_state": s.last_good_state.value,
        "consecutive_alerts": s.consecutive_alerts,
        "consecutive_oks": s.consecutive_oks,
        "consecutive_errors": s.consecutive_errors,
        "state_since": s.state_since,
        "firing_since": s.firing_since,
        "firing_notified": s.firing_notified,
        "last_notified_at": s.last_notified_at,
        "error_notified": s.error_notified,
        "last_evaluated_at": s.last_evaluated_at,
        "last_outcome": s.last_outcome.value if s.last_outcome is not None else None,
        "last_value": s.last_value,
        "last_threshold": s.last_threshold,
        "last_context": s.last_context,
        "last_error": s.last_error,
        "key_values": s.key_values,
        "flapping_since": s.flapping_since,
        "flap_changes": [rfc3339(t) for t in s.flap_changes] if s.flap_changes else None,
        "flap_notified": s.flap_notified,
        "acked_at": s.acked_at,
        "acked_by": s.acked_by,
        "ack_comment": s.ack_comment,
        "ack_source": s.ack_source,
        "ack_value": s.ack_value,
        "escalation_steps": s.escalation_steps or None,
        "inhibited_by": list(s.inhibited_by) or None,
    }


def state_from_row(row: Row) -> InstanceState:
    return InstanceState(
        alert_name=row["alert_name"],
        instance_key=row["instance_key"],
        state=STATES.get(row["state"]) or State(row["state"]),
        last_good_state=STATES.get(row["last_good_state"]) or State(row["last_good_state"]),
        consecutive_alerts=row["consecutive_alerts"],
        consecutive_oks=row["consecutive_oks"],
        consecutive_errors=row["consecutive_errors"],
        state_since=row["state_since"],
        firing_since=row["firing_since"],
        firing_notified=bool(row["firing_notified"]),
        last_notified_at=row["last_notified_at"],
        error_notified=bool(row["error_notified"]),
        last_evaluated_at=row["last_evaluated_at"],
        last_outcome=OUTCOMES.get(row["last_outcome"]) or _outcome(row["last_outcome"]),
        last_value=row["last_value"],
        last_threshold=row["last_threshold"],
        last_context=row["last_context"] or {},
        last_error=row["last_error"],
        key_values=row["key_values"] or {},
        flapping_since=row["flapping_since"],
        flap_changes=tuple(datetime.fromisoformat(t) for t in row["flap_changes"] or ()),
        flap_notified=bool(row["flap_notified"]),
        acked_at=row["acked_at"],
        acked_by=row["acked_by"],
        ack_comment=row["ack_comment"],
        ack_source=row["ack_source"],
        ack_value=row["ack_value"],
        escalation_steps=row["escalation_steps"] or 0,
        inhibited_by=tuple(row.get("inhibited_by") or ()),
    )


def history_to_row(e: HistoryEntry) -> dict[str, Any]:
    row = {
        "alert_name": e.alert_name,
        "instance_key": e.instance_key,
        "evaluated_at": e.evaluated_at,
        "run_type": RunType(e.run_type).value,
        "run_id": e.run_id,
        "outcome": Outcome(e.outcome).value,
        "state": State(e.state).value,
        "reason": reason_to_column(e.reason),
        "actual_value": e.actual_value,
        "threshold": e.threshold,
        "context": e.context,
        "key_values": e.key_values,
        "error": e.error,
        "duration_ms": e.duration_ms,
        "events": [EventKind(k).value for k in e.events],
        "dag_id": e.dag_id,
        "commit_confirmed": e.commit_confirmed,
    }
    if e.inhibited_by:  # v13; absent otherwise, so rows written the same way fit older tables
        row["inhibited_by"] = list(e.inhibited_by)
    return row


def reason_to_column(reason: Reason | str | None) -> str | None:
    """How a history reason is stored: by its code (``first_firing``, schema v5).

    A string naming a reason by its English text is stored as the code too; any other
    string is kept as it is.
    """
    if reason is None:
        return None
    known = reason if isinstance(reason, Reason) else Reason.parse(reason)
    return known.code if known is not None else reason


def reason_from_column(value: str | None) -> Reason | str | None:
    """A stored history reason as a ``Reason``: by code, else by English text (a row a worker
    still on the previous release wrote during an upgrade), else the raw string (a name a
    newer release knows and this one does not)."""
    if value is None:
        return None
    return Reason.parse(value) or value


def history_from_row(row: Row) -> HistoryEntry:
    return HistoryEntry(
        id=row["id"],
        alert_name=row["alert_name"],
        instance_key=row["instance_key"],
        evaluated_at=row["evaluated_at"],
        run_type=RunType(row["run_type"]),
        run_id=row["run_id"],
        outcome=Outcome(row["outcome"]),
        state=State(row["state"]),
        reason=reason_from_column(row["reason"]),
        actual_value=row["actual_value"],
        threshold=row["threshold"],
        context=row["context"] or {},
        key_values=row["key_values"] or {},
        error=row["error"],
        duration_ms=row["duration_ms"],
        events=tuple(EventKind(k) for k in row["events"] or ()),
        dag_id=row["dag_id"],
        commit_confirmed=None if row["commit_confirmed"] is None else bool(row["commit_confirmed"]),
        samples=decode_samples(row["evaluated_at"], row.get("samples")),
        inhibited_by=tuple(row.get("inhibited_by") or ()),
    )


OUTCOMES = {o.value: o for o in Outcome}  # stored text -> Outcome, without Outcome()'s lookup
STATES = {s.value: s for s in State}  # the same for State


def _outcome(text: str | None) -> Outcome | None:
    return Outcome(text) if text is not None else None


def stored_json(text: str | None) -> Any:
    """A value ``JsonText`` stored, read back from its text (a reader that skips the column's
    per-row processing: a backtest's replay, ``backtest/replay.py``; the overview's recent
    values, ``StateStore._newest_values``)."""
    return json_from_text(text)


def outbox_to_row(e: OutboxEntry) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "alert_name": e.alert_name,
        "instance_key": e.instance_key,
        "kind": EventKind(e.kind).value,
        "channel_id": e.channel_id,
        "channel_kind": e.channel_kind,
        "payload": e.payload,
        "idempotency_key": e.idempotency_key,
        "status": OutboxStatus(e.status).value,
        "attempts": e.attempts,
        "last_error": e.last_error,
        "created_at": e.created_at,
        "last_attempt_at": e.last_attempt_at,
        "delivered_at": e.delivered_at,
        "run_id": e.run_id,
        "destination": e.destination,
        "members": [
            {
                "instance_key": m.instance_key,
                "kind": EventKind(m.kind).value,
                "event_id": m.event_id,
            }
            for m in e.members
        ]
        or None,
        "group_key": e.group_key,
        "batch_id": e.batch_id,
    }


def outbox_from_row(row: Row) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        event_id=row["event_id"],
        alert_name=row["alert_name"],
        instance_key=row["instance_key"],
        kind=EventKind(row["kind"]),
        channel_id=row["channel_id"],
        channel_kind=row["channel_kind"],
        payload=row["payload"],
        idempotency_key=row["idempotency_key"],
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        last_attempt_at=row["last_attempt_at"],
        delivered_at=row["delivered_at"],
        run_id=row["run_id"],
        destination=row["destination"],
        members=tuple(
            OutboxMember(m["instance_key"], EventKind(m["kind"]), m["event_id"])
            for m in row.get("members") or ()
        ),
        group_key=row.get("group_key"),
        batch_id=row.get("batch_id"),
    )


def silence_to_row(s: Silence) -> dict[str, Any]:
    return {
        "match": s.match,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "reason": s.reason,
        "author": s.author,
        "created_at": s.created_at,
        "ended_at": s.ended_at,
        "source": s.source,
        "instance_key": s.instance_key,
    }


def silence_from_row(row: Row) -> Silence:
    return Silence(
        id=row["id"],
        match=row["match"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        reason=row["reason"],
        author=row["author"],
        created_at=row["created_at"],
        ended_at=row["ended_at"],
        source=row["source"],
        instance_key=row["instance_key"],
    )


def incident_to_row(alert_name: str, i: Incident) -> dict[str, Any]:
    return {
        "alert_name": alert_name,
        "start_id": i.start_id,
        "key_hash": key_hash(i.instance_key),
        "instance_key": i.instance_key,
        "kind": i.kind.value,
        "started_at": i.started_at,
        "start_run_id": i.start_run_id,
        "dag_id": i.dag_id,
        "key_values": i.key_values,
        "end_id": i.end_id,
        "ended_at": i.ended_at,
        "end_run_id": i.end_run_id,
        "evaluations": i.evaluations,
        "silenced": i.silenced,
        "peak_id": i.peak_id,
        "peak_at": i.peak_at,
        "peak_value": i.peak_value,
        "peak_threshold": i.peak_threshold,
        "peak_direction": i.peak_direction.value if i.peak_direction is not None else None,
        "peak_ranked": i.peak_ranked,
        "notifications": i.notifications,
        "error": i.error,
    }


def incident_from_row(row: Row) -> Incident:
    direction = row["peak_direction"]
    return Incident(
        kind=IncidentKind(row["kind"]),
        instance_key=row["instance_key"],
        start_id=int(row["start_id"]),
        started_at=row["started_at"],
        start_run_id=row["start_run_id"],
        dag_id=row["dag_id"],
        key_values=row["key_values"] or {},
        end_id=int(row["end_id"]) if row["end_id"] is not None else None,
        ended_at=row["ended_at"],
        end_run_id=row["end_run_id"],
        evaluations=int(row["evaluations"]),
        silenced=int(row["silenced"]),
        peak_id=int(row["peak_id"]) if row["peak_id"] is not None else None,
        peak_at=row["peak_at"],
        peak_value=row["peak_value"],
        peak_threshold=row["peak_threshold"],
        peak_direction=PeakDirection(direction) if direction is not None else None,
        peak_ranked=bool(row["peak_ranked"]),
        notifications=row["notifications"] or {},
        error=row["error"],
    )


def evaluated(entry: HistoryEntry, history_id: int) -> Evaluated:
    """A history row as the incident fold reads it."""
    return Evaluated(
        id=history_id,
        instance_key=entry.instance_key,
        evaluated_at=entry.evaluated_at,
        state=State(entry.state),
        outcome=entry.outcome,
        reason=None if entry.reason is None else (Reason.parse(entry.reason) or entry.reason),
        actual_value=entry.actual_value,
        threshold=entry.threshold,
        events=tuple(entry.events),
        error=entry.error,
        run_id=entry.run_id,
        dag_id=entry.dag_id,
        key_values=dict(entry.key_values),
    )


def incident_action_to_row(a: IncidentAction) -> dict[str, Any]:
    return {
        "alert_name": a.alert_name,
        "instance_key": a.instance_key,
        "firing_since": a.firing_since,
        "action": a.action,
        "actor": a.actor,
        "source": a.source,
        "comment": a.comment,
        "detail": dict(a.detail) if a.detail else None,
        "at": a.at,
    }


def incident_action_from_row(row: Row) -> IncidentAction:
    return IncidentAction(
        id=int(row["id"]),
        alert_name=row["alert_name"],
        instance_key=row["instance_key"],
        firing_since=row["firing_since"],
        action=row["action"],
        actor=row["actor"],
        source=row["source"],
        comment=row["comment"],
        detail=row["detail"] or {},
        at=row["at"],
    )
