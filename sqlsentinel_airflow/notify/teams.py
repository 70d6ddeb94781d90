"""Microsoft Teams through an incoming webhook: one Adaptive Card (docs/notifications.md, "Teams").

The destination is a Workflows webhook ("post to a channel when a webhook request is
received") or a legacy connector URL: the password of the connection ``conn_id`` (Airflow
masks passwords; a URL pasted as a host would be shown), or the alert's own ``webhook_url``.
Either way the URL is a secret (its ``sig`` query parameter is the token): it is handed to
the http provider's ``HttpHook`` as an in-memory connection (``notify.webhook.url_hook``)
and never printed whole.

The body is a message with one Adaptive Card attachment (version 1.4, what Teams renders):
a headline in the status's colour, the rendered text (the ``teams`` template), a FactSet of
status, severity, instance, value and threshold, the context as a second FactSet, the query
error, and Action.OpenUrl buttons: runbook and the alert's links, its SQL Sentinel tab, a
silence (the tab with the form open) and the task log. Values are markdown-escaped
(``templates.teams_escape``) so they cannot become links or emphasis.

Workflows answers 202, legacy connectors 200: any 2xx is delivered, except a connector's 200
whose body says "Webhook message delivery failed with error: ... returned HTTP error N"
(connectors wrap Teams' own status so): that is a failure with status N. 5xx, 408, 425, 429
and network errors are recoverable; other statuses are not.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.airflow_compat import mask_in_task_logs
from sqlsentinel_airflow.core.config.models import TeamsChannel
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import Channel, OutboundEvent, recoverable_status
from sqlsentinel_airflow.notify.templates import (
    link_url,
    message_context,
    render_part,
    teams_escape,
)
from sqlsentinel_airflow.notify.webhook import url_hook

__all__ = ["ADAPTIVE_CARD", "TeamsSender", "teams_message"]

log = logging.getLogger(__name__)

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
_COLOR = {  # Adaptive Card text colours
    "firing": "Attention",
    "reminder": "Warning",
    "resolved": "Good",
    "error": "Attention",
    "flapping": "Warning",
    "escalation": "Attention",
    "group": "Attention",
}
_HEADLINE_CHARS = 200
_BUTTONS = 6  # Teams shows at most six actions on a card
# "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error
# 429 with ContextId ...": what a legacy connector answers, with status 200, when it failed
_WRAPPED_ERROR = re.compile(r"delivery failed with error: .*returned HTTP error (\d{3})")
MAX_MESSAGE_BYTES = 27_000
"""Teams refuses a message over about 28 KB. A card over this is rebuilt with the next,
smaller :data:`_LIMITS`: fewer listed instances and context rows, shorter texts."""


@dataclass(frozen=True)
class _Limits:
    members: int  # listed members of a grouped card
    context_rows: int
    fact_chars: int
    text_chars: int  # the rendered template's text
    error_chars: int


_LIMITS = (
    _Limits(members=50, context_rows=15, fact_chars=500, text_chars=4000, error_chars=1500),
    _Limits(members=20, context_rows=10, fact_chars=200, text_chars=1500, error_chars=800),
    _Limits(members=5, context_rows=5, fact_chars=80, text_chars=400, error_chars=200),
)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def teams_message(
    config: TeamsChannel, event: OutboundEvent, sender: Channel[Any], *, strict: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """The webhook body (a message with one Adaptive Card) for ``event``, and any template
    problems; the card is cut to fit :data:`MAX_MESSAGE_BYTES`."""
    ctx = message_context(event.payload)
    rendered = render_part(
        "teams", ctx, channel_template=config.text, templates=sender.templates, strict=strict
    )
    for limits in _LIMITS:
        message = _message(ctx, rendered.text, limits)
        size = len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())
        if size <= MAX_MESSAGE_BYTES:
            break
    return message, [rendered.problem] if rendered.problem else []


def _message(ctx: Mapping[str, Any], text: str, limits: _Limits) -> dict[str, Any]:
    def fact(title: str, value: str) -> dict[str, str]:
        return {
            "title": teams_escape(_clip(title, 80)),
            "value": teams_escape(_clip(value, limits.fact_chars)),
        }

    kind = ctx["kind"]
    group = ctx["group"]
    prefix = "[TEST] " if ctx["test"] else ""
    headline = f"{prefix}{ctx['status']}: {ctx['alert']['name']}"
    if group is not None:
        headline = f"{prefix}{ctx['status']}: {group['headline']} — {group['title']}"
    elif ctx["instance"]["label"]:
        headline += f" [{ctx['instance']['label']}]"
    facts = [fact("Status", ctx["status"]), fact("Severity", ctx["alert"]["severity"])]
    if group is not None:
        facts.append(fact("Instances", group["headline"]))
    else:
        if ctx["instance"]["label"]:
            facts.append(fact("Instance", ctx["instance"]["label"]))
        if kind != "error":
            label = "Last value" if kind in ("resolved", "flapping") else "Value"
            facts.append(fact(label, ctx["actual_value"]))
            facts.append(fact("Threshold", ctx["threshold"]))
        since = "Failing since" if kind == "error" else "Firing since"
        facts.append(fact(since, ctx["since"]))
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": teams_escape(_clip(headline, _HEADLINE_CHARS)),
            "size": "Large",
            "weight": "Bolder",
            "color": _COLOR.get(kind, "Default"),
            "wrap": True,
        },
        {"type": "TextBlock", "text": _clip(text, limits.text_chars), "wrap": True},
        {"type": "FactSet", "facts": facts},
    ]
    if ctx["error"]:
        body.append(
            {
                "type": "TextBlock",
                "text": teams_escape(_clip(ctx["error"], limits.error_chars)),
                "fontType": "Monospace",
                "color": "Attention",
                "wrap": True,
            }
        )
    if group is not None and group["members"]:
        listed = group["members"][: limits.members]
        members = [
            fact(m["label"], f"{m['status']}" + (f": {m['detail']}" if m["detail"] else ""))
            for m in listed
        ]
        hidden = group["hidden"] + len(group["members"]) - len(listed)
        body.append({"type": "FactSet", "facts": members})
        if hidden:
            body.append({"type": "TextBlock", "text": f"+{hidden} more", "isSubtle": True})
    if ctx["context_rows"]:
        rows = ctx["context_rows"][: limits.context_rows]
        hidden_rows = ctx["context_hidden"] + len(ctx["context_rows"]) - len(rows)
        body.append({"type": "TextBlock", "text": "Context", "weight": "Bolder"})
        body.append({"type": "FactSet", "facts": [fact(n, v) for n, v in rows]})
        if hidden_rows:
            body.append({"type": "TextBlock", "text": f"... and {hidden_rows} more", "wrap": True})
    body.append(
        {
            "type": "TextBlock",
            "text": teams_escape(
                f"SQL Sentinel · event {ctx['event']['short_id']} · {ctx['event']['reason']}"
            ),
            "size": "Small",
            "isSubtle": True,
            "wrap": True,
        }
    )
    buttons = [
        (title, url)
        for title, url in (
            ("Runbook", ctx["runbook_url"]),
            *((link["title"], link["url"]) for link in ctx["links"]),
            ("Open in SQL Sentinel", ctx["alert_url"]),
            ("Silence…", ctx["silence_url"]),
            ("Open task log", link_url(ctx["task_log_url"])),
        )
        if url
    ]
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if buttons:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": _clip(title, 40), "url": url}
            for title, url in buttons[:_BUTTONS]
        ]
    return {
        "type": "message",
        "summary": _clip(headline, _HEADLINE_CHARS),
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


class TeamsSender(Channel[TeamsChannel]):
    """A ``teams`` channel: a webhook URL from a connection's password, or the alert's own."""

    kind = "teams"
    config_type = TeamsChannel
    required = (("conn_id", "webhook_url"),)

    def describe(self) -> str:
        if self.config.conn_id:
            return f"teams via connection '{self.config.conn_id}'"
        return "teams via webhook_url (hidden)"

    def deliver(self, event: OutboundEvent) -> None:
        message, problems = teams_message(self.config, event, self, strict=self.strict_templates)
        for problem in problems:
            log.warning("teams card for alert %s: %s", event.alert_name, self.redactor(problem))
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        url = self._url()
        # urllib3 logs the request line (path and query, where the signature is) at DEBUG
        parts = urlsplit(url)
        self.redactor.add(parts.path, parts.query)
        mask_in_task_logs(parts.path, parts.query)
        hook = url_hook(url, "POST", self.provider_logger())
        response = hook.run(
            endpoint=None,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": f"sqlsentinel-airflow/{__version__}",
            },
            extra_options={
                "timeout": self.config.timeout.total_seconds(),
                "check_response": False,
                "allow_redirects": False,
            },
        )
        status = int(response.status_code)
        answer = " ".join(str(getattr(response, "text", "") or "").split())[:200]
        if not 200 <= status < 300:
            raise DeliveryError(
                f"Teams answered HTTP {status}: {answer or 'no body'}",
                recoverable=recoverable_status(status),
            )
        wrapped = _WRAPPED_ERROR.search(answer)
        if wrapped:  # a legacy connector answers 200 and names Teams' own status in the body
            inner = int(wrapped.group(1))
            raise DeliveryError(
                f"Teams answered HTTP {status} but did not post: {answer}",
                recoverable=recoverable_status(inner),
            )

    def _url(self) -> str:
        if not self.config.conn_id:
            return self.config.webhook_url or ""
        conn = self.connection(self.config.conn_id, purpose="Teams webhook")
        if not conn.password:
            raise DeliveryError(
                f"Teams webhook connection '{self.config.conn_id}' has no password; put the "
                "workflow's webhook URL there",
                recoverable=False,
            )
        return str(conn.password)

    def is_recoverable(self, exc: BaseException) -> bool:
        return type(exc).__name__ not in {
            "AirflowNotFoundException",
            "InvalidURL",
            "InvalidSchema",
            "MissingSchema",
        }
