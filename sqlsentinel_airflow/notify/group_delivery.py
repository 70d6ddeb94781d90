"""Groups across alerts: claiming a receiver's group of outbox rows and sending it as one.

A receiver with ``group_by`` (docs/adr/0016-groups-across-alerts.md) gives each event its own
outbox row carrying a group key; :func:`deliver_group` is what delivery does with such a row.
The store claims the group's pending rows in one transaction and writes the batch (the
message) on each (``StateStore.claim_group``); this module builds that message from the
rows' payloads (``core.payload.receiver_group_payload``), sends it once and marks the batch.
The message's event id is the batch id, so its idempotency key is the same on every resend,
and its bytes are too (its time is the newest member's creation, not the clock). A batch of
one row is sent as that row's own message, with its own key, as if nothing were grouped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlsentinel_airflow.core.config.models import DEFAULT_GROUP_WAIT, AlertConfig
from sqlsentinel_airflow.core.events import channel_id
from sqlsentinel_airflow.core.payload import EventPayload, receiver_group_payload
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import Channel, DeliveryResult, OutboundEvent
from sqlsentinel_airflow.store.records import GroupClaim, OutboxEntry, OutboxStatus

__all__ = ["GroupSend", "GroupStore", "deliver_group", "group_message", "group_settings"]


class GroupStore(Protocol):
    """The part of ``StateStore`` a group's delivery uses."""

    def claim_group(
        self, group_key: str, token: str, now: datetime, lease: timedelta, wait: timedelta
    ) -> GroupClaim: ...
    def mark_batch_delivered(self, batch_id: str, now: datetime) -> None: ...
    def mark_batch_failed(
        self, batch_id: str, error: str, now: datetime, max_attempts: int
    ) -> OutboxStatus: ...


@dataclass(frozen=True)
class GroupSend:
    """One claim of a group and, when claimed, how its message went: ``status`` is the batch's
    afterwards (pending after a failed send, dead when its attempts ran out)."""

    claim: GroupClaim
    result: DeliveryResult | None = None
    status: OutboxStatus | None = None


def group_settings(alert: AlertConfig, cid: str) -> tuple[tuple[str, ...], timedelta, int]:
    """``(group_by, group_wait, max_listed)`` of the receiver channel ``cid`` of ``alert``
    (its current config); ``((), default wait, max_listed)`` when it no longer groups."""
    for slot in alert.channel_slots():
        if channel_id(slot.position, slot.config, slot.receiver) == cid:
            receiver = alert.receiver_of(slot)
            max_listed = alert.grouping(slot).max_listed
            if receiver is not None:
                return receiver.group_by, receiver.group_wait, max_listed
            return (), DEFAULT_GROUP_WAIT, max_listed
    return (), DEFAULT_GROUP_WAIT, alert.group.max_listed


def deliver_group(
    alert: AlertConfig,
    entry: OutboxEntry,
    sender: Channel[Any] | DeliveryError,
    store: GroupStore,
    *,
    token: str,
    clock: Callable[[], datetime],
    lease: timedelta,
) -> GroupSend:
    """Claim ``entry``'s group and, if this deliverer got it, send it as one message.

    ``entry`` has a ``group_key``. A group still gathering (``waiting``) or held by another
    deliverer (``in_flight``) is left alone. A message that fails is recorded on every row of
    the batch, which keeps its ``batch_id``: the retry sends the same set again."""
    assert entry.group_key is not None
    group_by, wait, max_listed = group_settings(alert, entry.channel_id)
    claim = store.claim_group(entry.group_key, token, clock(), lease, wait)
    if claim.status != "claimed" or claim.batch_id is None:
        return GroupSend(claim)
    if len(claim.rows) == 1:  # alone in its group: the event's own message, as always
        (row,) = claim.rows
        outbound = OutboundEvent(row.payload, row.idempotency_key)
    else:
        message = group_message(claim.rows, claim.batch_id, group_by, max_listed)
        outbound = OutboundEvent(message, f"{claim.batch_id}:{entry.channel_id}")
    if isinstance(sender, DeliveryError):
        result = DeliveryResult.failed(str(sender), recoverable=sender.recoverable)
    else:
        result = sender.send(outbound)
    if result.delivered:
        store.mark_batch_delivered(claim.batch_id, clock())
        return GroupSend(claim, result, OutboxStatus.DELIVERED)
    error = result.error or "unknown error"
    status = store.mark_batch_failed(claim.batch_id, error, clock(), alert.delivery_attempts)
    return GroupSend(claim, result, status)


def group_message(
    rows: tuple[OutboxEntry, ...], batch_id: str, group_by: tuple[str, ...], max_listed: int
) -> dict[str, Any]:
    """The payload of the message carrying ``rows`` (oldest first): the same document for
    the same batch, whoever builds it and whenever."""
    members = [EventPayload.model_validate(row.payload) for row in rows]
    first = members[0].alert
    values = {"owner": first.owner, "severity": first.severity, "alert": first.name}
    payload = receiver_group_payload(
        members,
        event_id=batch_id,
        group_by={field: values[field] for field in group_by if field in values},
        evaluated_at=max(row.created_at for row in rows),
        max_listed=max_listed,
    )
    return dict(payload.to_json())
