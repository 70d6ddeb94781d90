"""Turning decisions into outbox material: channel identities and task links.

The event payload itself is a type in ``core.payload``. It never holds a secret: the alert's
channels are referred to by ``channel_id`` and resolved from the current config at delivery.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig

__all__ = ["alert_channels", "channel_id", "task_log_url"]

# How a message looks, not where it goes: editing a template keeps the channel's identity,
# so notifications still owed to it are delivered with the new text, not dead-lettered.
_PRESENTATION_FIELDS = frozenset({"subject", "text", "html"})


def channel_id(index: int, channel: ChannelConfig, receiver: str | None = None) -> str:
    """A stable identity for the ``index``-th channel of an alert: ``0:email:1a2b3c4d``, or
    of the ``index``-th channel of the receiver it reaches: ``oncall/0:slack:5e6f7a8b``.

    The hash covers the channel's config except its templates (so a channel whose
    destination is edited is a new channel), and is truncated and one-way, so a webhook URL
    inside it cannot be read back. A receiver's channel is named by the receiver, not by the
    route that reached it nor by the receiver's position, so reordering routes or receivers
    leaves the ids of pending outbox rows unchanged (docs/notifications.md).
    """
    identity = channel.model_dump(mode="json", exclude=set(_PRESENTATION_FIELDS))
    canonical = json.dumps(identity, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    where = f"{receiver}/{index}" if receiver is not None else str(index)
    return f"{where}:{channel.channel}:{digest}"


def alert_channels(alert: AlertConfig) -> tuple[tuple[str, ChannelConfig], ...]:
    """``(channel_id, config)`` of every channel ``alert`` notifies: ``channel_slots``, then
    the channels of its escalation receivers (``escalation_slots``) not among them. A
    receiver's channel has one id whether routes reach it or a ladder names it."""
    found: dict[str, ChannelConfig] = {}
    for slot in (*alert.channel_slots(), *alert.escalation_slots()):
        found.setdefault(channel_id(slot.position, slot.config, slot.receiver), slot.config)
    return tuple(found.items())


def task_log_url(base_url: str, dag_id: str, run_id: str, task_id: str) -> str:
    """The Airflow 3 UI page of a task in a run (its logs), as Airflow itself builds it."""
    return (
        f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
        f"/tasks/{quote(task_id, safe='')}"
    )
