"""Slack through the slack provider's ``SlackWebhookHook``, the alert's own ``webhook_url``, or
a Slack app's bot token (``SlackHook``).

A ``conn_id`` names a ``slackwebhook`` connection and the hook builds the client from it (URL,
timeout and proxy from the connection). A ``webhook_url`` is used as given, for this alert
only (the standalone tool ignored it and posted to a global URL): the same
``slack_sdk.WebhookClient`` the hook wraps posts to it, with the same success rule (HTTP 200).
A ``bot_conn_id`` names a ``slack`` connection (the bot token is its password; its extra may
set ``base_url``, ``timeout``, ``proxy``): the message goes to ``slack_channel`` through
``chat.postMessage``, and a message about one firing incident carries the Acknowledge and
Snooze 1h buttons (``notify/slack_app.py``; Slack reports their clicks to the plugin,
``ui/slack_interactions.py``). Incoming webhooks cannot receive clicks: no such buttons there.

The message is Block Kit: a header with the status, the rendered text (the ``slack``
template), fields for severity, value and threshold, the context as a small table, the
query error, and buttons: the alert's runbook and links, its SQL Sentinel tab, a silence
(the tab with the silence form open), and the task log. ``text`` is set too, as the notification
fallback. Values are escaped (``&``, ``<``, ``>``) so they cannot become links or mentions.

The URL is a secret (Slack's token is in its path): the client gets a redacting logger,
because slack_sdk logs the URL when it retries.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlsentinel_airflow.core.config.models import SlackChannel
from sqlsentinel_airflow.core.redact import redact_url
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import Channel, OutboundEvent, recoverable_status
from sqlsentinel_airflow.notify.slack_app import (
    ACTIONS_BLOCK_ID,
    interactive_buttons,
    is_interactive,
)
from sqlsentinel_airflow.notify.templates import message_context, render_part, slack_escape

__all__ = ["SlackSender", "slack_message"]

log = logging.getLogger(__name__)

_EMOJI = {
    "firing": ":red_circle:",
    "reminder": ":repeat:",
    "resolved": ":large_green_circle:",
    "error": ":warning:",
    "flapping": ":twisted_rightwards_arrows:",
    "escalation": ":sos:",
    "group": ":rotating_light:",
}
_SECTION_CHARS = 2900  # Slack's limit is 3000 per section text
_HEADER_CHARS = 150
_TIMEOUT_SECONDS = 30
_BUTTON_CHARS = 75  # Slack's limit on a button's text
_BUTTONS = 25  # ... and on the elements of an actions block
_BUTTON_URL_CHARS = 3000  # ... and on a button's URL


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _context_table(rows: list[tuple[str, str]], hidden: int) -> str:
    width = min(30, max((len(name) for name, _ in rows), default=0))
    lines = [f"{_clip(name, width):<{width}}  {value}" for name, value in rows]
    if hidden:
        lines.append(f"... and {hidden} more")
    return slack_escape(_clip("\n".join(lines), _SECTION_CHARS - 20))


def _member_lines(group: dict[str, Any]) -> str:
    """The listed members of a grouped message, one line each, then ``+k more``; what does
    not fit in a section is counted with the rest."""
    lines: list[str] = []
    used = 0
    hidden = group["hidden"]
    for i, m in enumerate(group["members"]):
        detail = f": {m['detail']}" if m["detail"] else ""
        line = slack_escape(_clip(f"{m['status']}  {m['label']}{detail}", 300))
        if used + len(line) + 1 > _SECTION_CHARS - 40:
            hidden += len(group["members"]) - i
            break
        lines.append(line)
        used += len(line) + 1
    if hidden:
        lines.append(f"+{hidden} more")
    return "\n".join(lines)


def slack_message(
    config: SlackChannel, event: OutboundEvent, sender: Channel[Any], *, strict: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """The webhook (or ``chat.postMessage``) body (Block Kit) for ``event``, and any template
    problems. Through a Slack app (``bot_conn_id``) a message about one firing incident
    starts its buttons with Acknowledge and Snooze 1h."""
    ctx = message_context(event.payload)
    rendered = render_part(
        "slack", ctx, channel_template=config.text, templates=sender.templates, strict=strict
    )
    kind = ctx["kind"]
    name = ctx["alert"]["name"]
    prefix = "[TEST] " if ctx["test"] else ""
    group = ctx["group"]
    headline = f"{prefix}{ctx['status']}: {name}"
    if group is not None:
        headline = f"{prefix}{ctx['status']}: {group['headline']} — {name}"
    elif ctx["instance"]["label"]:
        headline += f" [{ctx['instance']['label']}]"
    fields = [
        f"*Status*\n{ctx['status']}",
        f"*Severity*\n{slack_escape(ctx['alert']['severity'])}",
    ]
    if group is not None:
        fields.append(f"*Instances*\n{slack_escape(group['headline'])}")
    elif kind != "error":
        label = "Last value" if kind in ("resolved", "flapping") else "Value"
        fields.append(f"*{label}*\n{slack_escape(ctx['actual_value'])}")
        fields.append(f"*Threshold*\n{slack_escape(ctx['threshold'])}")
    since = ctx["since"] + (f" ({ctx['duration']})" if ctx["duration"] and kind != "firing" else "")
    if kind == "flapping":
        fields.append(f"*Flapping since*\n{ctx['occurred_at']}")
    elif group is None:
        fields.append(f"*{'Failing since' if kind == 'error' else 'Firing since'}*\n{since}")
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(f"{_EMOJI.get(kind, '')} {headline}".strip(), _HEADER_CHARS),
                "emoji": True,
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _clip(rendered.text, _SECTION_CHARS)},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _clip(f, 1900)} for f in fields]},
    ]
    if ctx["error"]:
        error = slack_escape(_clip(ctx["error"], _SECTION_CHARS - 40))
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Error*\n```{error}```"}}
        )
    if group is not None and group["members"]:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _member_lines(group)}})
    if ctx["context_rows"]:
        table = _context_table(ctx["context_rows"], ctx["context_hidden"])
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Context*\n```{table}```"}}
        )
    buttons = [
        (text, url)
        for text, url in (
            ("Runbook", ctx["runbook_url"]),
            *((link["title"], link["url"]) for link in ctx["links"]),
            ("Open in SQL Sentinel", ctx["alert_url"]),
            ("Silence…", ctx["silence_url"]),
            ("Open task log", ctx["task_log_url"]),
        )
        if url and len(url) <= _BUTTON_URL_CHARS  # a longer one would refuse the message
    ]
    elements = (
        interactive_buttons(event.payload)
        if config.bot_conn_id and is_interactive(event.payload)
        else []
    )
    elements += [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": _clip(text, _BUTTON_CHARS)},
            "url": url,
            **({"style": "primary"} if text == "Runbook" and not elements else {}),
        }
        for text, url in buttons
    ]
    if elements:
        actions: dict[str, Any] = {"type": "actions", "elements": elements[:_BUTTONS]}
        if config.bot_conn_id:
            actions["block_id"] = ACTIONS_BLOCK_ID
        blocks.append(actions)
    footer = (
        f"SQL Sentinel · event {ctx['event']['short_id']} · {slack_escape(ctx['event']['reason'])}"
    )
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(footer, 300)}]})
    body: dict[str, Any] = {"text": slack_escape(headline), "blocks": blocks}
    # legacy incoming webhooks honour these; Slack-app webhooks ignore them
    for key, value in (
        ("channel", config.slack_channel),
        ("username", config.username),
        ("icon_emoji", config.icon_emoji),
    ):
        if value:
            body[key] = value
    return body, [rendered.problem] if rendered.problem else []


class SlackSender(Channel[SlackChannel]):
    """A ``slack`` channel: a slackwebhook connection, the alert's own ``webhook_url``, or a
    Slack app's bot token (``bot_conn_id``)."""

    kind = "slack"
    config_type = SlackChannel
    required = (("conn_id", "webhook_url", "bot_conn_id"),)

    def describe(self) -> str:
        if self.config.bot_conn_id:
            return (
                f"slack to {self.config.slack_channel} via Slack app connection "
                f"'{self.config.bot_conn_id}'"
            )
        if self.config.conn_id:
            return f"slack via connection '{self.config.conn_id}'"
        return f"slack via webhook_url {redact_url(self.config.webhook_url or '')}"

    def deliver(self, event: OutboundEvent) -> None:
        body, problems = slack_message(self.config, event, self, strict=self.strict_templates)
        for problem in problems:
            log.warning("slack message for alert %s: %s", event.alert_name, self.redactor(problem))
        if self.config.bot_conn_id:
            self._post_as_app(body)
            return
        response = self._client().send_dict(body)
        status = int(response.status_code)
        if status != 200:
            answer = " ".join(str(response.body or "").split())[:200]
            raise DeliveryError(
                f"Slack answered HTTP {status}: {answer or 'no body'}",
                recoverable=recoverable_status(status),
            )

    def _post_as_app(self, body: dict[str, Any]) -> None:
        """``chat.postMessage`` with the bot token; Slack's ``ok: false`` is a DeliveryError
        naming Slack's error code (``channel_not_found``, ``not_in_channel``...)."""
        from slack_sdk.errors import SlackApiError

        client = slack_app_client(self, self.config.bot_conn_id or "")
        try:
            client.chat_postMessage(**{**body, "channel": self.config.slack_channel})
        except SlackApiError as exc:
            status = int(getattr(exc.response, "status_code", 0) or 0)
            code = str((getattr(exc.response, "data", None) or {}).get("error") or "no error code")
            raise DeliveryError(
                f"Slack API chat.postMessage answered HTTP {status}: {code}"
                + _API_HINTS.get(code, ""),
                recoverable=recoverable_status(status) or code in _API_RETRYABLE,
            ) from None

    def _client(self) -> Any:
        if self.config.conn_id:
            from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

            self.connection(self.config.conn_id, purpose="slackwebhook")
            hook = SlackWebhookHook(
                slack_webhook_conn_id=self.config.conn_id, logger=self.provider_logger()
            )
            return hook.client
        from slack_sdk import WebhookClient

        return WebhookClient(
            url=self.config.webhook_url or "",
            timeout=_TIMEOUT_SECONDS,
            logger=self.provider_logger(),  # type: ignore[arg-type]
        )

    def is_recoverable(self, exc: BaseException) -> bool:
        # "does not contain password" (connection) or "Invalid URL detected": fix the config
        return type(exc).__name__ not in {"AirflowNotFoundException", "SlackRequestError"}


# Slack Web API errors a later attempt may pass (https://api.slack.com/methods/chat.postMessage)
_API_RETRYABLE = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_API_HINTS = {
    "not_in_channel": " (invite the app to the channel: /invite @your-app)",
    "channel_not_found": " (check slack_channel; a private channel needs the app invited)",
    "invalid_auth": " (the connection's password is not a valid bot token)",
    "not_authed": " (the connection has no bot token in its password)",
    "missing_scope": " (add the bot scope chat:write to the Slack app and reinstall it)",
}


def slack_app_client(
    channel: Channel[Any], conn_id: str, *, timeout: int | None = None, retries: bool = True
) -> Any:
    """The ``slack_sdk.WebClient`` of the ``slack`` connection ``conn_id`` (a bot token), with
    the token among ``channel``'s secrets and its logger redacting; SlackHook builds it, so the
    connection's extra ``base_url``, ``timeout`` and ``proxy`` apply. ``retries=False``: no
    retry of a failed connection (slack_sdk retries once by default)."""
    from airflow.providers.slack.hooks.slack import SlackHook

    channel.connection(conn_id, purpose="slack (Slack API)")
    hook = SlackHook(
        slack_conn_id=conn_id,
        logger=channel.provider_logger(),
        timeout=timeout,
        retry_handlers=None if retries else [],
    )
    return hook.client
