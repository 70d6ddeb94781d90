"""Grouped messages: which events of one evaluation reach a channel as one message.

A stage between the decision and the outbox, like Alertmanager's grouping, not a branch in
delivery: it decides, per channel, whether the events one evaluation of an alert produced go
out one message per event (as they always did) or as ONE grouped message carrying them all.
Delivery then sends each outbox row the same way, grouped or not: one row, one claim, one
send, one mark (docs/adr/0013-grouped-messages.md).

A channel gets one grouped message when all of these hold:
- the alert is keyed (``key_columns``): an unkeyed alert has one instance, so nothing to group;
- its grouping (the receiver's ``group``, else the alert's) groups that kind of channel
  (``MessageGrouping.groups``: email and Slack by default, webhooks when asked);
- the events concern two or more instances: a single instance's event stays a single
  message, with the payload it always had.

An escalation step (``EventKind.ESCALATION``, docs/responding.md) goes to the channels of
that step's receiver only, never to the alert's own or routed channels, and never grouped:
one message per (step, instance, channel), so each step is told once and on its own.

A channel of a receiver with ``group_by`` is grouped across alerts instead
(docs/adr/0016-groups-across-alerts.md): each event gets a row of its own carrying the
channel's *group key* (the channel and the alert's values of ``group_by``), and delivery
sends the pending rows of one key together once ``group_wait`` has passed. Such a channel is
not also grouped per evaluation, so a message never nests groups.

PagerDuty (``UNGROUPED_CHANNELS``) is never grouped either way: it deduplicates per incident
(``dedup_key``), so each event of each instance is its own PagerDuty event.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlsentinel_airflow.core.config.models import (
    UNGROUPED_CHANNELS,
    AlertConfig,
    ChannelConfig,
    ChannelSlot,
)
from sqlsentinel_airflow.core.events import channel_id
from sqlsentinel_airflow.core.model import Event, EventKind

__all__ = [
    "GROUP_CLAIM_MARGIN",
    "ChannelPlan",
    "escalated_channels",
    "group_key",
    "group_wait_allowance",
    "plan_messages",
]

GROUP_CLAIM_MARGIN = timedelta(minutes=1)
"""Beyond ``group_wait``, how long a task may wait for a group another deliverer claimed:
that deliverer's claim lease (55 s, ``notify.delivery.CLAIM_LEASE``) and a poll."""


@dataclass(frozen=True)
class ChannelPlan:
    """What one channel gets for one evaluation: ``grouped`` events as one message (none, or
    two instances and more), or each of ``single`` as a message of its own."""

    channel_id: str
    config: ChannelConfig
    grouped: tuple[Event, ...] = ()
    single: tuple[Event, ...] = ()
    max_listed: int = 0  # instances the grouped message lists before "+k more"
    group_key: str | None = None  # grouped across alerts: the rows' group (``group_key``)


def group_key(alert: AlertConfig, slot: ChannelSlot, cid: str) -> str | None:
    """The group of ``alert``'s messages to ``slot`` (channel id ``cid``) when its receiver
    groups across alerts: ``<channel id>|<digest of the group_by values>``; else None.

    The channel id names the receiver and the channel, not the alert, so every alert that
    reaches the receiver and shares the values lands in one group. Digested so that a long
    owner still fits the column; the values are in every member's payload."""
    receiver = alert.receiver_of(slot)
    if receiver is None or not receiver.group_by or slot.config.channel in UNGROUPED_CHANNELS:
        return None
    values = {"owner": alert.owner, "severity": alert.severity, "alert": alert.name}
    chosen = {field: values[field] for field in receiver.group_by}
    digest = hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]
    return f"{cid}|{digest}"


def group_wait_allowance(alert: AlertConfig) -> timedelta:
    """How long ``alert``'s task may spend waiting for its groups across alerts: the longest
    ``group_wait`` of the receivers it reaches that group, plus :data:`GROUP_CLAIM_MARGIN`;
    zero when none groups. The DAG adds it to the task's ``execution_timeout``, and
    ``notify.delivery.deliver_after_group_wait`` never waits longer."""
    waits = [
        receiver.group_wait
        for slot in alert.channel_slots()
        if (receiver := alert.receiver_of(slot)) is not None
        and receiver.group_by
        and slot.config.channel not in UNGROUPED_CHANNELS
    ]
    return max(waits) + GROUP_CLAIM_MARGIN if waits else timedelta(0)


def plan_messages(alert: AlertConfig, events: Sequence[Event]) -> list[ChannelPlan]:
    """One plan per channel ``alert`` notifies (``channel_slots`` order) for ``events``, the
    events of one evaluation in the order it decided them; then one plan per escalation
    event and channel of its step's receiver."""
    escalations = [e for e in events if e.kind is EventKind.ESCALATION]
    events = [e for e in events if e.kind is not EventKind.ESCALATION]
    plans: list[ChannelPlan] = []
    several = len({e.instance_key for e in events}) >= 2
    for slot in alert.channel_slots():
        cid = channel_id(slot.position, slot.config, slot.receiver)
        grouping = alert.grouping(slot)
        across = group_key(alert, slot, cid)
        if across is not None:
            plans.append(ChannelPlan(cid, slot.config, single=tuple(events), group_key=across))
        elif alert.key_columns and several and grouping.groups(slot.config.channel):
            plans.append(
                ChannelPlan(cid, slot.config, grouped=tuple(events), max_listed=grouping.max_listed)
            )
        else:
            plans.append(ChannelPlan(cid, slot.config, single=tuple(events)))
    for event in escalations:
        if event.escalation_step is None or event.escalation_step >= len(alert.escalation):
            continue  # decided by a ladder the config no longer has
        for slot in alert.escalation_slots(event.escalation_step):
            cid = channel_id(slot.position, slot.config, slot.receiver)
            plans.append(ChannelPlan(cid, slot.config, single=(event,)))
    # an incident an escalation step reached ends there too: its resolved goes to those
    # steps' receivers (each channel once, and not twice to a channel the alert notifies)
    told = {plan.channel_id for plan in plans}
    for event in events:
        if event.kind is not EventKind.RESOLVED or not event.escalated_steps:
            continue
        for cid, config in escalated_channels(alert, event.escalated_steps):
            if cid not in told:
                plans.append(ChannelPlan(cid, config, single=(event,)))
    return plans


def escalated_channels(alert: AlertConfig, steps: int) -> list[tuple[str, ChannelConfig]]:
    """``(channel_id, config)`` of the receivers the first ``steps`` escalation steps reached
    (as far as the current ladder still has them), each channel once."""
    found: dict[str, ChannelConfig] = {}
    for step in range(min(steps, len(alert.escalation))):
        for slot in alert.escalation_slots(step):
            found.setdefault(channel_id(slot.position, slot.config, slot.receiver), slot.config)
    return list(found.items())
