"""The Slack app's buttons: what a message sent with a bot token carries, and what a click means.

One place for both sides of the contract (docs/responding.md, "From Slack"): the sender
(``notify/slack.py``) puts the buttons on a message, the plugin's interaction endpoint
(``ui/slack_interactions.py``) reads them back when Slack reports a click.

- Two interactive buttons, told apart by their ``action_id``: :data:`ACK_ACTION`
  (acknowledge the incident) and :data:`SNOOZE_ACTION` (silence the instance for
  :data:`SNOOZE`). Only a message about one firing incident carries them: a ``firing`` or a
  ``reminder`` (escalation steps included) whose instance is FIRING; never a ``resolved``, an
  ``error`` or a grouped message (those link to the alert's tab, where each instance can be
  acknowledged).
- A button's ``value`` names the incident: the alert's dag_id, the instance key (or, when the
  key is too long for Slack's 2,000 characters, its SHA-256) and ``firing_since``. It is not a
  credential: Slack's request signature authenticates the click, the value only says what was
  clicked, and a click on an incident that is over changes nothing.

Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlsentinel_airflow.core.clock import rfc3339

__all__ = [
    "ACK_ACTION",
    "ACTIONS_BLOCK_ID",
    "SNOOZE",
    "SNOOZE_ACTION",
    "IncidentRef",
    "answered_blocks",
    "button_value",
    "interactive_buttons",
    "is_interactive",
    "key_hash",
    "parse_button_value",
]

ACK_ACTION = "sqlsentinel_ack"
SNOOZE_ACTION = "sqlsentinel_snooze_1h"
SNOOZE = timedelta(hours=1)
ACTIONS_BLOCK_ID = "sqlsentinel_actions"
VALUE_CHARS = 2000  # Slack's limit on a button's value
_VALUE_VERSION = 1


def key_hash(instance_key: str) -> str:
    """The SHA-256 (hex) of an instance key, for a key too long to travel in a button."""
    return hashlib.sha256(instance_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IncidentRef:
    """The incident a button is about: the alert's DAG, the instance, when its firing began."""

    dag_id: str
    firing_since: datetime
    instance_key: str | None = None  # None when only its hash travelled
    instance_hash: str | None = None

    def names(self, instance_key: str) -> bool:
        """Whether this reference is to the instance ``instance_key``."""
        if self.instance_key is not None:
            return self.instance_key == instance_key
        return self.instance_hash == key_hash(instance_key)


def is_interactive(payload: Mapping[str, Any]) -> bool:
    """Whether a message of ``payload`` gets the Acknowledge and Snooze buttons (module doc)."""
    return (
        payload.get("kind") in ("firing", "reminder")
        and payload.get("state") == "FIRING"
        and payload.get("group") is None
        and not payload.get("flapping")
        and bool(payload.get("firing_since"))
        and bool((payload.get("alert") or {}).get("dag_id"))
    )


def button_value(payload: Mapping[str, Any]) -> str:
    """The value both buttons carry (compact JSON), at most Slack's 2,000 characters."""
    firing_since = payload["firing_since"]
    if isinstance(firing_since, datetime):
        firing_since = rfc3339(firing_since)
    key = str((payload.get("instance") or {}).get("key") or "")
    value: dict[str, Any] = {
        "v": _VALUE_VERSION,
        "d": payload["alert"]["dag_id"],
        "f": firing_since,
        "k": key,
    }
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(text) > VALUE_CHARS:
        del value["k"]
        value["h"] = key_hash(key)
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text


def parse_button_value(text: str) -> IncidentRef:
    """The incident a button's value names; ValueError when it is not one of ours."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise ValueError("the button's value is not JSON") from None
    if not isinstance(data, dict) or data.get("v") != _VALUE_VERSION:
        raise ValueError("the button's value is not a SQL Sentinel incident")
    dag_id, since = data.get("d"), data.get("f")
    key, hashed = data.get("k"), data.get("h")
    if not isinstance(dag_id, str) or not isinstance(since, str):
        raise ValueError("the button's value lacks the alert or the incident's start")
    if not isinstance(key, str) and not isinstance(hashed, str):
        raise ValueError("the button's value lacks the instance")
    try:
        firing_since = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("the button's incident start is not a time") from None
    if firing_since.tzinfo is None:
        raise ValueError("the button's incident start has no time zone")
    return IncidentRef(
        dag_id=dag_id,
        firing_since=firing_since,
        instance_key=key if isinstance(key, str) else None,
        instance_hash=None if isinstance(key, str) else str(hashed),
    )


def interactive_buttons(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Acknowledge and Snooze 1h buttons of a message about ``payload``'s incident."""
    value = button_value(payload)
    return [
        {
            "type": "button",
            "action_id": ACK_ACTION,
            "text": {"type": "plain_text", "text": "Acknowledge"},
            "style": "primary",
            "value": value,
        },
        {
            "type": "button",
            "action_id": SNOOZE_ACTION,
            "text": {"type": "plain_text", "text": "Snooze 1h"},
            "value": value,
        },
    ]


def answered_blocks(
    blocks: Sequence[Mapping[str, Any]], line: str, *, drop: Iterable[str]
) -> list[dict[str, Any]]:
    """``blocks`` (the message as Slack returned it) without the buttons whose ``action_id``
    is in ``drop``, with ``line`` (mrkdwn) as a context block where they were.

    An actions block left with no element is removed (Slack refuses an empty one).
    """
    dropped = set(drop)
    out: list[dict[str, Any]] = []
    placed = False
    for block in blocks:
        if block.get("type") != "actions":
            out.append(dict(block))
            continue
        elements = [e for e in block.get("elements") or () if e.get("action_id") not in dropped]
        if elements:
            out.append({**block, "elements": elements})
        if not placed and len(elements) < len(block.get("elements") or ()):
            out.append(_context(line))
            placed = True
    if not placed:  # the buttons were gone already (a second click): say it at the end
        out.append(_context(line))
    return out


def _context(line: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": line[:3000]}]}
