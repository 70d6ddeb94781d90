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

from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig
from sqlsentinel_airflow.core.model import Event

__all__ = ["PAYLOAD_VERSION", "channel_id", "event_payload"]

PAYLOAD_VERSION = 1


def channel_id(index: int, channel: ChannelConfig) -> str:
    """A stable identity for the ``index``-th channel of an alert: ``0:email:1a2b3c4d``.

    The hash covers the channel's whole config (so an edited channel is a new channel), but
    is truncated and one-way, so a webhook URL inside it cannot be read back.
    """
    canonical = json.dumps(channel.model_dump(mode="json"), sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    return f"{index}:{channel.channel}:{digest}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def event_payload(
    event: Event,
    alert: AlertConfig,
    *,
    event_id: str,
    run_id: str | None,
    evaluated_at: datetime,
) -> dict[str, Any]:
    """The versioned JSON document describing one event (no secrets, values as data)."""
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
    }
