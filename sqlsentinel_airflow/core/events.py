"""Turning decisions into outbox material: channel identities and the versioned event payload.

The payload is the one document every channel renders from, and the body of the generic
webhook (``version`` 1). It holds query values as data and never a secret: the alert's
channels are referred to by ``channel_id`` and resolved from the current config at delivery.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig
from sqlsentinel_airflow.core.model import Event

__all__ = ["PAYLOAD_VERSION", "channel_id", "event_payload", "task_log_url"]

PAYLOAD_VERSION = 1

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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def event_payload(
    event: Event,
    alert: AlertConfig,
    *,
    event_id: str,
    run_id: str | None,
    evaluated_at: datetime,
    task_log_url: str | None = None,
) -> dict[str, Any]:
    """The versioned JSON document describing one event (no secrets, values as data).

    ``links.task_log`` is the Airflow page of the task that evaluated it (None outside Airflow).
    """
    return {
        "version": PAYLOAD_VERSION,
        "event_id": event_id,
        "kind": event.kind.value,
        "reason": event.reason.value,
        "state": event.state.value,
        "alert": {
            "name": alert.name,
            "description": alert.description,
            "severity": alert.severity,
            "dag_id": alert.dag_id,
            "owner": alert.owner,
            "tags": list(alert.tags),
        },
        "instance": {"key": event.instance_key, "key_values": dict(event.key_values)},
        "actual_value": event.actual_value,
        "threshold": event.threshold,
        "context": dict(event.context),
        "firing_since": _iso(event.firing_since),
        "occurred_at": _iso(event.occurred_at),
        "evaluated_at": _iso(evaluated_at),
        "error": event.error,
        "run_id": run_id,
        "links": {"task_log": task_log_url},
    }
