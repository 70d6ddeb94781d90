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

A channel of a receiver with ``group_by`` is grouped across alerts instead
(docs/adr/0016-groups-across-alerts.md): each event gets a row of its own carrying the
channel's *group key* (the channel and the alert's values of ``group_by``), and delivery
sends the pending rows of one key together once ``group_wait`` has passed. Such a channel is
not also grouped per evaluation, so a message never nests groups.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig, ChannelSlot
from sqlsentinel_airflow.core.events import channel_id
from sqlsentinel_airflow.core.model import Event

__all__ = ["ChannelPlan", "group_key", "plan_messages"]


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
    if receiver is None or not receiver.group_by:
        return None
    values = {"owner": alert.owner, "severity": alert.severity, "alert": alert.name}
    chosen = {field: values[field] for field in receiver.group_by}
    digest = hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:16]
    return f"{cid}|{digest}"


def plan_messages(alert: AlertConfig, events: Sequence[Event]) -> list[ChannelPlan]:
    """One plan per channel ``alert`` notifies (``channel_slots`` order) for ``events``, the
    events of one evaluation in the order it decided them."""
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
    return plans
