"""PagerDuty Events API v2 through the pagerduty provider (docs/notifications.md, "PagerDuty").

The routing (integration) key is the password of a ``pagerduty_events`` connection, read by
the provider's ``PagerdutyEventsHook``, never a value in alerts.yaml. The event goes out with
the ``pagerduty.EventsApiV2Client`` the hook uses; ``PagerdutyEventsHook.send_event`` itself
is not called because it cannot set the API's base URL (the EU service region, a loopback
receiver in tests: the connection's ``host``), nor ``client`` / ``client_url``, and its client
retries a 429 without limit inside the task. Here a send is ONE request: a retry is the
outbox's (docs/adr/0004-delivery-guarantees.md), like every other channel's.

Mapping (pure, :func:`pagerduty_events`):
- ``dedup_key`` names the incident of one instance: ``sqlsentinel/<dag_id>/<sha256 of the
  instance key, 16 hex>``, so firing, reminders, escalations, the acknowledgement and the
  resolve of one incident share it, and a re-sent event never opens a second PagerDuty
  incident. PagerDuty opens a new incident for a trigger whose key's incident is resolved,
  so the next incident of the instance is a new PagerDuty incident. Query errors
  (``kind: error``, the config watch's too) have their own key, ``.../error``, resolved by
  the recovery event.
- firing, reminder, escalation, flapping -> ``trigger``; resolved -> ``resolve``; the
  acknowledged event (``reason_code: acknowledged``, enqueued by ``acks.acknowledge`` because
  this sender has ``SENDS_ACKNOWLEDGEMENTS``) -> ``acknowledge``. Unacknowledging sends
  nothing: PagerDuty has no such action.
- A grouped payload (which the plan never makes for PagerDuty, ``UNGROUPED_CHANNELS``) is
  sent as one event per member: PagerDuty deduplicates per incident.
- A ``notify-test`` sample triggers and at once resolves an incident of its own key.

2xx is delivered. 400 (an invalid event) and other 4xx are not recoverable; 429 and 5xx and
network errors are. The routing key is in the request body only; it is redacted from every
error text and the client's log lines.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlsentinel_airflow.core.config.models import PagerDutyChannel
from sqlsentinel_airflow.core.model import Reason
from sqlsentinel_airflow.core.payload import CONFIG_VALID_REASON
from sqlsentinel_airflow.core.redact import url_origin
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import Channel, OutboundEvent, recoverable_status
from sqlsentinel_airflow.notify.templates import display, link_url, message_context, render_part

__all__ = ["EVENTS_API_URL", "PagerDutySender", "dedup_key", "pagerduty_events"]

log = logging.getLogger(__name__)

EVENTS_API_URL = "https://events.pagerduty.com"
CLIENT = "SQL Sentinel"
_TIMEOUT_SECONDS = 30
_MAX_DEDUP_KEY = 255  # PagerDuty's limit
_MAX_FIELD = 255  # source, component, group, class
# the resolved events that end a query error streak (or an invalid alerts file), not a firing
_RESOLVES_ERROR = frozenset({Reason.RECOVERED_FROM_ERROR.code, CONFIG_VALID_REASON[0]})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def dedup_key(dag_id: str, instance_key: str, *, error: bool = False) -> str:
    """The incident's key: ``sqlsentinel/<dag_id>/<16 hex of the instance key>[/error]``."""
    instance = hashlib.sha256(instance_key.encode("utf-8")).hexdigest()[:16]
    suffix = "/error" if error else ""
    key = f"sqlsentinel/{dag_id}/{instance}{suffix}"
    if len(key) > _MAX_DEDUP_KEY:  # a dag_id may be 250 characters long
        digest = hashlib.sha256(dag_id.encode("utf-8")).hexdigest()[:32]
        key = f"sqlsentinel/{digest}/{instance}{suffix}"
    return key


def _action(payload: Mapping[str, Any]) -> tuple[str, bool]:
    """(event_action, whether the event is about the query error streak)."""
    kind = str(payload.get("kind") or "firing")
    code = str(payload.get("reason_code") or "")
    if kind == "error":
        return "trigger", True
    if kind == "resolved":
        return "resolve", code in _RESOLVES_ERROR
    if code == Reason.ACKNOWLEDGED.code:  # sqlsentinel_airflow/acks.py enqueues it
        return "acknowledge", False
    return "trigger", False


def _links(ctx: Mapping[str, Any]) -> list[dict[str, str]]:
    """The incident's links: the runbook, the alert's own links, its tab, silence, task log."""
    candidates = [
        ("Runbook", ctx["runbook_url"]),
        *((link["title"], link["url"]) for link in ctx["links"]),
        ("Open in SQL Sentinel", ctx["alert_url"]),
        ("Silence…", ctx["silence_url"]),
        ("Open task log", link_url(ctx["task_log_url"])),
    ]
    return [{"href": url, "text": text} for text, url in candidates if url]


def _details(payload: Mapping[str, Any], ctx: Mapping[str, Any]) -> dict[str, Any]:
    """``custom_details``: what PagerDuty shows as the alert's table (JSON values as is)."""
    details: dict[str, Any] = {
        "alert": ctx["alert"]["name"],
        "status": ctx["status"],
        "reason": ctx["event"]["reason"],
    }
    if ctx["instance"]["key_values"]:
        details["instance"] = ctx["instance"]["key_values"]
    if payload.get("kind") != "error":
        details["value"] = payload.get("actual_value")
        details["threshold"] = payload.get("threshold")
    if payload.get("context"):
        details["context"] = payload["context"]
    if ctx["error"]:
        details["error"] = ctx["error"]
    details["firing_since"] = payload.get("firing_since")
    for optional in ("escalation", "acknowledgement"):
        if payload.get(optional):
            details[optional] = payload[optional]
    if ctx["alert"]["description"]:
        details["description"] = ctx["alert"]["description"]
    if ctx["alert"]["owner"]:
        details["owner"] = ctx["alert"]["owner"]
    details["event_id"] = ctx["event"]["id"]
    return details


def _members(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The single events a payload stands for: itself, or each member of a grouped one."""
    group = payload.get("group")
    if not isinstance(group, Mapping):
        return [payload]
    envelope = {k: v for k, v in payload.items() if k != "group"}
    return [{**envelope, **member} for member in group.get("members") or ()]


def pagerduty_events(
    config: PagerDutyChannel, event: OutboundEvent, sender: Channel[Any], *, strict: bool = False
) -> tuple[list[dict[str, Any]], list[str]]:
    """The Events API v2 events (without ``routing_key``) for ``event``, and any template
    problems. One event, or one per member of a grouped payload, or a sample's trigger and
    resolve."""
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    for payload in _members(event.payload):
        ctx = message_context(payload)
        alert = ctx["alert"]
        action, about_error = _action(payload)
        key = dedup_key(alert["dag_id"] or alert["name"], ctx["instance"]["key"], error=about_error)
        if ctx["test"]:
            key = f"sqlsentinel/test/{ctx['event']['id']}"
        body: dict[str, Any] = {"event_action": action, "dedup_key": key}
        if action == "trigger":
            rendered = render_part(
                "pagerduty",
                ctx,
                channel_template=config.summary,
                templates=sender.templates,
                strict=strict,
            )
            if rendered.problem:
                problems.append(rendered.problem)
            summary = rendered.text or display(alert["name"], 1024)
            if ctx["test"] and not summary.startswith("[TEST]"):  # a custom template's too
                summary = ("[TEST] " + summary)[:1024]
            body["payload"] = {
                "summary": summary,
                "source": (config.source or alert["dag_id"] or CLIENT)[:_MAX_FIELD],
                "severity": alert["severity"],
                "timestamp": payload.get("occurred_at"),
                "component": alert["name"][:_MAX_FIELD],
                "class": "query error" if about_error else "sql alert",
                "custom_details": _details(payload, ctx),
            }
            if alert["owner"]:
                body["payload"]["group"] = alert["owner"][:_MAX_FIELD]
            body["links"] = _links(ctx)
            body["client"] = CLIENT
            if ctx["alert_url"]:
                body["client_url"] = ctx["alert_url"]
        events.append(body)
        if ctx["test"] and action == "trigger":
            events.append({"event_action": "resolve", "dedup_key": key})
    return events, problems


class _Answered(Exception):
    """A non-2xx answer of the Events API, raised before the client's own retry loop."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.text = text


def _events_client(routing_key: str, base_url: str, logger: Any) -> Any:
    """An ``EventsApiV2Client`` that makes one attempt and accepts plain http on loopback."""
    import pagerduty

    class OneAttemptClient(pagerduty.EventsApiV2Client):  # type: ignore[misc]
        max_network_attempts = 0  # a network error is raised at once, not slept on

        def postprocess(self, response: Any) -> None:
            status = int(response.status_code)
            if not 200 <= status < 300:  # before the client's own 429 / 5xx retry loop
                raise _Answered(status, str(response.text or ""))

        @property
        def url(self) -> str:
            return str(self._url)

        @url.setter
        def url(self, value: str) -> None:
            parts = urlsplit(value)
            loopback = parts.scheme == "http" and parts.hostname in _LOOPBACK
            if parts.scheme != "https" and not loopback:
                raise DeliveryError(
                    "the PagerDuty API URL (the connection's host) must be https "
                    "(http only to localhost)",
                    recoverable=False,
                )
            self._url = value.rstrip("/")

    client = OneAttemptClient(routing_key)
    client.url = base_url  # after construction: pagerduty 6.0 takes no base_url argument
    setattr(client, "timeout", _TIMEOUT_SECONDS)  # noqa: B010 (the client's own seconds)
    client.log = logger
    return client


def _answer_text(text: str) -> str:
    """PagerDuty's error body: ``{"status", "message", "errors": [...]}``, shortened."""
    import json

    try:
        body = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:200] or "no body"
    if not isinstance(body, dict):
        return " ".join(text.split())[:200]
    errors = body.get("errors") or []
    detail = "; ".join(str(e) for e in errors) if isinstance(errors, list) else str(errors)
    message = str(body.get("message") or body.get("status") or "")
    text = f"{message}: {detail}" if detail else message
    return " ".join(text.split())[:300] or "no body"


class PagerDutySender(Channel[PagerDutyChannel]):
    """A ``pagerduty`` channel: Events API v2 with the key of a pagerduty_events connection."""

    kind = "pagerduty"
    config_type = PagerDutyChannel
    required = (("conn_id",),)
    SENDS_ACKNOWLEDGEMENTS = True

    def describe(self) -> str:
        return f"pagerduty via connection '{self.config.conn_id}'"

    def deliver(self, event: OutboundEvent) -> None:
        events, problems = pagerduty_events(self.config, event, self, strict=self.strict_templates)
        for problem in problems:
            log.warning("pagerduty event of alert %s: %s", event.alert_name, self.redactor(problem))
        routing_key, base_url = self._routing()
        client = _events_client(routing_key, base_url, self.provider_logger())
        for body in events:
            action = body.pop("event_action")
            key = body.pop("dedup_key")
            try:
                client.send_event(action, dedup_key=key, **body)
            except _Answered as exc:
                raise DeliveryError(
                    f"PagerDuty answered HTTP {exc.status}: {_answer_text(exc.text)}",
                    recoverable=recoverable_status(exc.status),
                ) from None
            except DeliveryError:
                raise
            except Exception as exc:  # pagerduty.Error: network, or an answer without dedup_key
                cause = exc.__cause__ or exc
                raise DeliveryError(
                    f"PagerDuty at {url_origin(base_url)} could not be reached or answered "
                    f"unexpectedly ({type(cause).__name__})",
                    recoverable=True,
                ) from None

    def _routing(self) -> tuple[str, str]:
        """The routing key (through the provider's hook) and the API's base URL."""
        from airflow.providers.pagerduty.hooks.pagerduty_events import PagerdutyEventsHook

        conn_id = self.config.conn_id
        conn = self.connection(conn_id, purpose="pagerduty_events")
        if not conn.password:
            raise DeliveryError(
                f"pagerduty_events connection '{conn_id}' has no password; put the "
                "integration key (routing key) of the service's Events API v2 integration there",
                recoverable=False,
            )
        key = str(PagerdutyEventsHook(pagerduty_events_conn_id=conn_id).integration_key)
        return key, _base_url(conn.host, conn.port)

    def is_recoverable(self, exc: BaseException) -> bool:
        return type(exc).__name__ not in {"AirflowNotFoundException", "AirflowException"}


def _base_url(host: str | None, port: int | None) -> str:
    """The connection's host as the API's base URL (default https://events.pagerduty.com)."""
    if not host:
        return EVENTS_API_URL
    url = host if "://" in host else f"https://{host}"
    if port and urlsplit(url).port is None:
        url = f"{url.rstrip('/')}:{port}"
    return url
