"""Turning decisions into outbox material: channel identities and task links.

The event payload itself is a type in ``core.payload``. It never holds a secret: the alert's
channels are referred to by ``channel_id`` and resolved from the current config at delivery.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from sqlsentinel_airflow.core.config.models import ChannelConfig

__all__ = ["channel_id", "task_log_url"]

# How a message looks, not where it goes: editing a template keeps the channel's identity,
# so notifications still owed to it are delivered with the new text, not dead-lettered.
_PRESENTATION_FIELDS = frozenset({"subject", "text", "html"})


def channel_id(index: int, channel: ChannelConfig) -> str:
    """A stable identity for the ``index``-th channel of an alert: ``0:email:1a2b3c4d``.

    The hash covers the channel's config except its templates (so a channel whose
    destination is edited is a new channel), and is truncated and one-way, so a webhook URL
    inside it cannot be read back.
    """
    identity = channel.model_dump(mode="json", exclude=set(_PRESENTATION_FIELDS))
    canonical = json.dumps(identity, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    return f"{index}:{channel.channel}:{digest}"


def task_log_url(base_url: str, dag_id: str, run_id: str, task_id: str) -> str:
    """The Airflow 3 UI page of a task in a run (its logs), as Airflow itself builds it."""
    return (
        f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
        f"/tasks/{quote(task_id, safe='')}"
    )
