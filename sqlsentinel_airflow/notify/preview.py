"""What a notification would look like, without sending it: a dry run's task log says this.

For each outbox row a dry run would have enqueued (one per event and channel, or one grouped
message per channel, docs/adr/0013-grouped-messages.md), :func:`previews` renders
the message as delivery would (the alert's templates, the channel's own overrides) and
returns the channel, where it would go (the channel config's ``public_destination()``, as
the outbox stores it: no URL path, token or password) and the subject or headline with the
first lines of the text. Every text goes
through the channel's redactor, like an error text. Nothing is sent, no connection is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig
from sqlsentinel_airflow.core.events import alert_channels
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import Channel, OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel

__all__ = ["MessagePreview", "previews"]

PREVIEW_LINES = 3  # lines of the text shown after the subject
_LINE_CHARS = 200


@dataclass(frozen=True)
class MessagePreview:
    """One message a dry run would have sent."""

    event: str  # firing | reminder | resolved | error
    channel: str  # email | slack | webhook | pagerduty | teams
    destination: str  # the config's public_destination(): no secrets
    subject: str  # the email subject, the Slack / Teams headline, the webhook's request line,
    # the PagerDuty action, dedup_key and summary
    lines: tuple[str, ...] = ()  # the first lines of the text
    problem: str | None = None  # why it could not be rendered (a channel that cannot work)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _LINE_CHARS else text[: _LINE_CHARS - 1] + "…"


def _first_lines(text: str) -> tuple[str, ...]:
    lines = [_clip(line) for line in text.splitlines() if line.strip()]
    return tuple(lines[:PREVIEW_LINES])


def _render(sender: Channel[Any], event: OutboundEvent) -> tuple[str, tuple[str, ...]]:
    """(subject, first lines) of ``event`` through ``sender``, as its delivery renders it."""
    from sqlsentinel_airflow.notify.email import EmailSender, render_email
    from sqlsentinel_airflow.notify.pagerduty import PagerDutySender, pagerduty_events
    from sqlsentinel_airflow.notify.slack import SlackSender, slack_message
    from sqlsentinel_airflow.notify.teams import TeamsSender, teams_message
    from sqlsentinel_airflow.notify.webhook import WebhookSender

    if isinstance(sender, EmailSender):
        subject, text, _html, _problems = render_email(sender.config, event, sender)
        return subject, _first_lines(text)
    if isinstance(sender, SlackSender):
        body, _problems = slack_message(sender.config, event, sender)
        section = body["blocks"][1]["text"]["text"] if len(body["blocks"]) > 1 else ""
        return str(body.get("text", "")), _first_lines(str(section))
    if isinstance(sender, WebhookSender):
        shown = {k: event.payload.get(k) for k in ("state", "reason", "actual_value", "threshold")}
        return (
            f"{sender.config.method} the JSON event payload (version "
            f"{event.payload.get('version', '?')}, {event.kind})",
            (_clip(json.dumps(shown, default=str)),),
        )
    if isinstance(sender, PagerDutySender):
        events, _problems = pagerduty_events(sender.config, event, sender)
        return (
            "; ".join(
                f"{e['event_action']} {e['dedup_key']}"
                + (f": {e['payload']['summary']}" if "payload" in e else "")
                for e in events
            ),
            (),
        )
    if isinstance(sender, TeamsSender):
        card, _problems = teams_message(sender.config, event, sender)
        text = card["attachments"][0]["content"]["body"][1]["text"]
        return str(card["summary"]), _first_lines(str(text))
    return event.kind, ()  # pragma: no cover - every channel kind is handled above


def _preview(
    config: ChannelConfig, alert: AlertConfig, payload: Mapping[str, Any], key: str
) -> MessagePreview:
    kind = str(payload.get("kind", "firing"))
    try:
        sender = build_channel(config, templates=alert.templates)
    except DeliveryError as exc:
        return MessagePreview(
            kind, config.channel, config.public_destination(), "", problem=str(exc)
        )
    try:
        subject, lines = _render(sender, OutboundEvent(payload, key))
    except Exception as exc:  # a preview must never fail the dry run it describes
        problem = sender.redactor(f"could not render the message: {type(exc).__name__}: {exc}")
        return MessagePreview(
            kind, config.channel, config.public_destination(), "", problem=problem
        )
    redact = sender.redactor
    return MessagePreview(
        event=kind,
        channel=config.channel,
        destination=config.public_destination(),
        subject=redact(_clip(subject)),
        lines=tuple(redact(line) for line in lines),
    )


def previews(
    alert: AlertConfig, messages: list[tuple[str, Mapping[str, Any]]]
) -> list[MessagePreview]:
    """Every message ``messages`` ((channel_id, event payload v1) of each outbox row a dry run
    would have enqueued, grouped messages included) would become on ``alert``'s channels."""
    configs = dict(alert_channels(alert))
    return [
        _preview(configs[cid], alert, payload, f"dry-run:{payload.get('event_id', '')}:{cid}")
        for cid, payload in messages
        if cid in configs
    ]
