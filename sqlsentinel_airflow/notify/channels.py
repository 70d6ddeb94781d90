"""Which class sends for which ``channel:`` value of alerts.yaml."""

from __future__ import annotations

from typing import Any

from sqlsentinel_airflow.core.config.models import ChannelConfig, MessageTemplates
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import Channel
from sqlsentinel_airflow.notify.email import EmailSender
from sqlsentinel_airflow.notify.pagerduty import PagerDutySender
from sqlsentinel_airflow.notify.slack import SlackSender
from sqlsentinel_airflow.notify.teams import TeamsSender
from sqlsentinel_airflow.notify.webhook import WebhookSender

__all__ = ["CHANNEL_TYPES", "build_channel"]

CHANNEL_TYPES: dict[str, type[Channel[Any]]] = {
    "email": EmailSender,
    "slack": SlackSender,
    "webhook": WebhookSender,
    "pagerduty": PagerDutySender,
    "teams": TeamsSender,
}


def build_channel(
    config: ChannelConfig,
    *,
    templates: MessageTemplates | None = None,
    strict_templates: bool = False,
) -> Channel[Any]:
    """The sender for one configured channel; DeliveryError (not recoverable) if it cannot work."""
    sender = CHANNEL_TYPES.get(config.channel)
    if sender is None:  # pragma: no cover - the config model admits only known channels
        raise DeliveryError(f"unknown channel {config.channel!r}", recoverable=False)
    return sender(config, templates=templates, strict_templates=strict_templates)
