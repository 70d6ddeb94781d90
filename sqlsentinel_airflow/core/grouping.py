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

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig
from sqlsentinel_airflow.core.events import channel_id
from sqlsentinel_airflow.core.model import Event

__all__ = ["ChannelPlan", "plan_messages"]


@dataclass(frozen=True)
class ChannelPlan:
    """What one channel gets for one evaluation: ``grouped`` events as one message (none, or
    two instances and more), or each of ``single`` as a message of its own."""

    channel_id: str
    config: ChannelConfig
    grouped: tuple[Event, ...] = ()
    single: tuple[Event, ...] = ()
    max_listed: int = 0  # instances the grouped message lists before "+k more"


def plan_messages(alert: AlertConfig, events: Sequence[Event]) -> list[ChannelPlan]:
    """One plan per channel ``alert`` notifies (``channel_slots`` order) for ``events``, the
    events of one evaluation in the order it decided them."""
    plans: list[ChannelPlan] = []
    several = len({e.instance_key for e in events}) >= 2
    for slot in alert.channel_slots():
        cid = channel_id(slot.position, slot.config, slot.receiver)
        grouping = alert.grouping(slot)
        if alert.key_columns and several and grouping.groups(slot.config.channel):
            plans.append(
                ChannelPlan(cid, slot.config, grouped=tuple(events), max_listed=grouping.max_listed)
            )
        else:
            plans.append(ChannelPlan(cid, slot.config, single=tuple(events)))
    return plans
