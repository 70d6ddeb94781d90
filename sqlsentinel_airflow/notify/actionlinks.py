"""The Acknowledge link an email carries: minted when the email is sent, never stored.

The outbox keeps the event as it was decided; the link is made by the worker that sends the
email (it has the ``action_links.conn_id`` connection), at that moment, so a token is never
in the state database, the outbox payload or a log (docs/responding.md, "Links in emails").

An event gets a link when the file sets ``action_links``, Airflow's ``[api] base_url`` is
known, and the event is about a firing incident of one instance that someone may
acknowledge: ``firing`` (an escalation step is one), ``reminder``. Not ``resolved`` or
``error``, not a flapping notice, not a grouped message (several incidents), not a test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlsentinel_airflow.airflow_contract import action_page_url
from sqlsentinel_airflow.core.actionlinks import mint_action_token
from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.config.models import ActionLinks

__all__ = ["ActionLinkMinter", "ack_link_wanted", "minter_for"]

_ACKNOWLEDGEABLE = ("firing", "reminder")


def ack_link_wanted(payload: Mapping[str, Any]) -> bool:
    """Whether a message about ``payload`` offers an Acknowledge link."""
    if payload.get("test") or payload.get("group") or payload.get("flapping"):
        return False
    if payload.get("acknowledgement"):
        return False
    if str(payload.get("kind") or "") not in _ACKNOWLEDGEABLE:
        return False
    alert = payload.get("alert") or {}
    instance = payload.get("instance") or {}
    return bool(
        isinstance(alert, Mapping)
        and alert.get("dag_id")
        and isinstance(instance, Mapping)
        and isinstance(instance.get("key"), str)
        and _since(payload) is not None
    )


@dataclass(frozen=True)
class ActionLinkMinter:
    """Makes the links of one alert's messages: its ``action_links`` and the UI's address."""

    settings: ActionLinks
    base_url: str
    clock: Callable[[], datetime] = utcnow

    def ack_url(self, payload: Mapping[str, Any], *, key: bytes, recipients: str) -> str | None:
        """The Acknowledge link for ``payload`` (None when it gets none)."""
        if not ack_link_wanted(payload):
            return None
        since = _since(payload)
        assert since is not None  # ack_link_wanted checked it
        token = mint_action_token(
            key,
            dag_id=str(payload["alert"]["dag_id"]),
            instance_key=str(payload["instance"]["key"]),
            firing_since=since,
            now=self.clock(),
            expire_after=self.settings.expire_after,
            recipients=recipients,
        )
        return action_page_url(self.base_url, token)


def minter_for(settings: ActionLinks | None, base_url: str | None) -> ActionLinkMinter | None:
    """The alert's minter; None without ``action_links`` or without ``[api] base_url``."""
    if settings is None or not base_url:
        return None
    return ActionLinkMinter(settings, base_url)


def _since(payload: Mapping[str, Any]) -> datetime | None:
    value = payload.get("firing_since")
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
