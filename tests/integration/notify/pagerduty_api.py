"""A loopback PagerDuty Events API v2 (``POST /v2/enqueue``) for the notify tests.

It checks every event against the documented shape
(https://developer.pagerduty.com/docs/send-alert-event, "Events API v2"): a 32-character
``routing_key``, ``event_action`` one of trigger / acknowledge / resolve, a ``dedup_key`` of
at most 255 characters (required unless triggering), and for a trigger a ``payload`` with
``summary`` (at most 1024 characters), ``source`` and ``severity`` (critical, error, warning,
info), an ISO 8601 ``timestamp`` if any, an object ``custom_details``, ``links`` of
``{href, text}``. A valid event is answered ``202 {"status": "success", "message": "Event
processed", "dedup_key": ...}``; an invalid one ``400 {"status": "invalid event", "message":
"Event object is invalid", "errors": [...]}``, as PagerDuty does.

Like PagerDuty, it keeps alerts by ``dedup_key``: a trigger opens an alert unless one with
that key is open (then it is deduplicated), acknowledge and resolve act on the open one.
``incidents`` is every alert ever opened, so a test counts incidents, not requests.
``fail_next`` scripts 5xx / 429 answers before the event is looked at.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notify_servers import HttpReceiver, Received

ROUTING_KEY = "R0ut1ngKeyAbCdEf0123456789abcdef"  # 32 characters, like a real integration key
assert len(ROUTING_KEY) == 32
SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")
_TOP_LEVEL = {
    "routing_key",
    "event_action",
    "dedup_key",
    "payload",
    "images",
    "links",
    "client",
    "client_url",
}
_PAYLOAD = {
    "summary",
    "source",
    "severity",
    "timestamp",
    "component",
    "group",
    "class",
    "custom_details",
}


def shape_errors(event: Any) -> list[str]:
    """What is wrong with ``event`` by the Events API v2 documentation (empty: valid)."""
    if not isinstance(event, dict):
        return ["the body is not a JSON object"]
    errors = [f"unknown field {name!r}" for name in sorted(set(event) - _TOP_LEVEL)]
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or not 0 < len(dedup) <= 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and dedup is None:
        errors.append(f"'dedup_key' is required for {action}")
    if action == "trigger":
        errors.extend(_payload_errors(event.get("payload")))
    for link in event.get("links") or []:
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            errors.append("a link needs 'href'")
        elif set(link) - {"href", "text"}:
            errors.append(f"unknown link fields {sorted(set(link) - {'href', 'text'})}")
    for name in ("client", "client_url"):
        if name in event and not isinstance(event[name], str):
            errors.append(f"'{name}' must be a string")
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is required for trigger"]
    errors = [f"unknown payload field {name!r}" for name in sorted(set(payload) - _PAYLOAD)]
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        errors.append("'payload.summary' is required")
    elif len(summary) > 1024:
        errors.append("'payload.summary' is longer than 1024 characters")
    if not isinstance(payload.get("source"), str) or not payload["source"]:
        errors.append("'payload.source' is required")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' must be one of critical, error, warning, info")
    if "timestamp" in payload:
        try:
            datetime.fromisoformat(str(payload["timestamp"]))
        except ValueError:
            errors.append("'payload.timestamp' is not ISO 8601")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        errors.append("'payload.custom_details' must be an object here")
    return errors


@dataclass
class Alert:
    dedup_key: str
    status: str = "triggered"  # triggered | acknowledged | resolved
    events: list[dict[str, Any]] = field(default_factory=list)


class PagerDutyEventsApi:
    """The Events API v2 on a loopback ``HttpReceiver``, keeping alerts by dedup_key."""

    def __init__(self) -> None:
        self.http = HttpReceiver()
        self.incidents: list[Alert] = []  # every alert opened, in order
        self.rejected: list[tuple[dict[str, Any] | None, list[str]]] = []
        self.forced: list[int] = []
        self._lock = threading.Lock()
        self.http.respond = self._answer

    def url(self) -> str:
        return self.http.url("").rstrip("/")

    def fail_next(self, count: int, status: int) -> None:
        with self._lock:
            self.forced.extend([status] * count)

    def open_alert(self, dedup_key: str) -> Alert | None:
        for alert in reversed(self.incidents):
            if alert.dedup_key == dedup_key and alert.status != "resolved":
                return alert
        return None

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event that was processed (202), in order."""
        return [r.json() for r in self.http.requests if r.status == 202]

    def close(self) -> None:
        self.http.close()

    def _answer(self, got: Received) -> tuple[int, bytes]:
        with self._lock:
            if self.forced:
                status = self.forced.pop(0)
                if status == 429:
                    return (
                        429,
                        b'{"status":"throttle event","message":"Requests for this service are arriving too quickly."}',
                    )
                return status, b'{"status":"error","message":"internal error"}'
        if (got.method, got.path) != ("POST", "/v2/enqueue"):
            return 404, b'{"status":"not found"}'
        try:
            event = json.loads(got.body)
        except ValueError:
            event = None
        errors = shape_errors(event)
        if errors:
            self.rejected.append((event, errors))
            body = {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            }
            return 400, json.dumps(body).encode()
        assert isinstance(event, dict)
        key = event.get("dedup_key") or f"generated-{len(self.incidents)}"
        with self._lock:
            alert = self.open_alert(key)
            if event["event_action"] == "trigger":
                if alert is None:
                    alert = Alert(key)
                    self.incidents.append(alert)
            elif alert is not None:
                alert.status = (
                    "acknowledged" if event["event_action"] == "acknowledge" else "resolved"
                )
            if alert is not None:
                alert.events.append(event)
        body = {"status": "success", "message": "Event processed", "dedup_key": key}
        return 202, json.dumps(body).encode()
