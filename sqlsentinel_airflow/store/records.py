"""Rows of the history and outbox tables as immutable records.

``InstanceState`` and ``Silence`` are domain types (``core.model``) and are stored as they are;
these two records exist only because of the store: one evaluation of one instance as it is
kept for the UI and the CLI (:class:`HistoryEntry`), and one notification to one channel
waiting for, or done with, delivery (:class:`OutboxEntry`).

JSON-typed fields hold values that ``json.dumps`` accepts; the query layer makes them so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NamedTuple

from sqlsentinel_airflow.core.model import EventKind, JsonValue, Outcome, Reason, RunType, State

__all__ = [
    "GroupClaim",
    "HistoryEntry",
    "IncidentAction",
    "OutboxEntry",
    "OutboxMember",
    "OutboxStatus",
    "RecentValue",
    "Sample",
]


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"  # not delivered yet; retried by the task retry and the next run
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up after max_attempts; kept for inspection until purged


class Sample(NamedTuple):
    """An evaluation folded into the history row before it (a quiet run, schema v8:
    ``store/compaction.py``): what it did not share with that row."""

    evaluated_at: datetime
    actual_value: JsonValue
    duration_ms: int | None


@dataclass(frozen=True)
class HistoryEntry:
    """One evaluation of one alert instance.

    ``reason`` is a ``core.model.Reason``, stored by its code (``first_firing``) and read back
    as one; a name this version does not know is kept as the raw string. ``events`` are the
    kinds of the events this evaluation enqueued.
    """

    alert_name: str
    evaluated_at: datetime
    outcome: Outcome
    state: State
    instance_key: str = ""
    run_type: RunType = RunType.SCHEDULED
    run_id: str | None = None
    dag_id: str | None = None
    reason: Reason | str | None = None
    actual_value: JsonValue = None
    threshold: JsonValue = None
    context: dict[str, JsonValue] = field(default_factory=dict)
    key_values: dict[str, JsonValue] = field(default_factory=dict)
    error: str | None = None
    duration_ms: int | None = None
    events: tuple[EventKind, ...] = ()
    # False until the evaluating task confirms it saw the commit; None when nobody will.
    commit_confirmed: bool | None = None
    id: int | None = None  # set by the store
    # a quiet run: the evaluations after this one that changed nothing, folded into it
    # (store/compaction.py); empty for a row that stands for itself alone
    samples: tuple[Sample, ...] = ()
    # the parent alerts (``depends_on``) firing or failing when it was evaluated
    inhibited_by: tuple[str, ...] = ()

    @property
    def repeats(self) -> int:
        """How many evaluations after this one the row stands for."""
        return len(self.samples)

    @property
    def last_evaluated_at(self) -> datetime:
        """The time of the last evaluation the row stands for."""
        return self.samples[-1].evaluated_at if self.samples else self.evaluated_at


class RecentValue(NamedTuple):
    """What a sparkline draws of one evaluation: the :class:`HistoryEntry` fields of these
    names, read without the rest of the row (``StateStore.recent_values``). A named tuple,
    not a frozen dataclass: the SQL Sentinel page makes 30,000, and a frozen dataclass's
    ``__init__`` cost five times as much."""

    evaluated_at: datetime
    outcome: Outcome
    actual_value: JsonValue = None
    threshold: JsonValue = None


class OutboxMember(NamedTuple):
    """One event a grouped outbox row carries (schema v10, docs/adr/0013-grouped-messages.md)."""

    instance_key: str
    kind: EventKind
    event_id: str


@dataclass(frozen=True)
class OutboxEntry:
    """One event for one channel. ``idempotency_key`` is unique across the outbox.

    Webhook payloads carry the idempotency key so a receiver can drop a re-delivery; the
    store's part is that one event is enqueued for a channel at most once.
    """

    event_id: str  # uuid4 text of the event; shared by the rows of its channels
    alert_name: str
    kind: EventKind
    channel_id: str
    channel_kind: str
    payload: dict[str, JsonValue]
    idempotency_key: str
    created_at: datetime
    instance_key: str = ""
    run_id: str | None = None
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    # where it goes, without secrets (``public_destination()`` of the channel config); None
    # on rows from before schema v6
    destination: str | None = None
    # a grouped message: the events it carries, in evaluation order (``kind`` is then the
    # most urgent of theirs and ``instance_key`` is ''); empty for one event
    members: tuple[OutboxMember, ...] = ()
    # grouped across alerts (docs/adr/0016-groups-across-alerts.md): its group, and the
    # message (batch) that carries it once a deliverer claimed the group; None otherwise
    group_key: str | None = None
    batch_id: str | None = None
    id: int | None = None  # set by the store

    @property
    def instance_keys(self) -> tuple[str, ...]:
        """The instances the row speaks for: its members', or its own."""
        if self.members:
            return tuple(dict.fromkeys(m.instance_key for m in self.members))
        return (self.instance_key,)


@dataclass(frozen=True)
class GroupClaim:
    """What ``StateStore.claim_group`` found for a group across alerts: ``claimed`` (``rows``
    are this deliverer's to send as message ``batch_id``), ``waiting`` (its group_wait ends
    at ``due_at``), ``in_flight`` (another deliverer holds the batch) or ``none`` pending."""

    status: Literal["claimed", "waiting", "in_flight", "none"]
    rows: tuple[OutboxEntry, ...] = ()
    batch_id: str | None = None
    due_at: datetime | None = None


@dataclass(frozen=True)
class IncidentAction:
    """What a person or the escalation ladder did to an incident (schema v12): one line of
    its timeline beside the evaluations. ``action``: acknowledged, unacknowledged, rearmed
    (the value got worse than when acknowledged), escalated; ``source``: ui, cli, slack,
    email, or sentinel (the evaluation did it); ``detail``: e.g. the escalation step
    (``{"step": 1, "steps": 2, "receiver": "oncall"}``)."""

    alert_name: str
    instance_key: str
    firing_since: datetime | None
    action: str
    actor: str
    source: str
    at: datetime
    comment: str | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)
    id: int | None = None
