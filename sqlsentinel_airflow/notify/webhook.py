"""A generic JSON webhook through the http provider's ``HttpHook``: versioned, idempotent, signed.

Destination: an ``http`` connection (``conn_id``, plus an optional ``endpoint`` path) or a
``url``; the URL is treated as a secret (tokens live in webhook paths), so it is handed to
the hook as an in-memory connection and never printed whole.

The body is the stored event payload (``core.payload.WebhookBody``, ``version`` 1,
:data:`PAYLOAD_SCHEMA`) plus its ``idempotency_key``, serialised once to bytes with sorted
keys. The same bytes are sent on every attempt, so the ``X-SQLSentinel-Signature: sha256=<hex>`` header (HMAC-SHA256 over
those exact bytes, keyed with the password of ``hmac_secret_conn_id``) is stable too, and a
receiver drops a re-delivery by its ``Idempotency-Key`` header. ``GET`` sends no body (the
headers still identify the event; the signature covers the empty body).

2xx is delivered; 5xx, 408, 425 and 429 and network errors are recoverable; other statuses
are not (a retry would get the same answer until someone fixes the receiver or the config).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.core.config.models import WebhookChannel
from sqlsentinel_airflow.core.model import JsonValue
from sqlsentinel_airflow.core.payload import payload_schema
from sqlsentinel_airflow.core.redact import redact_url
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import Channel, OutboundEvent, recoverable_status

__all__ = [
    "IDEMPOTENCY_HEADER",
    "PAYLOAD_SCHEMA",
    "SIGNATURE_HEADER",
    "WebhookSender",
    "sign_body",
    "url_hook",
    "webhook_body",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_HEADER = "X-SQLSentinel-Signature"
URL_CONN_ID = "sqlsentinel_webhook_url"

PAYLOAD_SCHEMA: dict[str, JsonValue] = payload_schema()
"""JSON Schema of the webhook body, generated from ``core.payload.WebhookBody`` and published
as docs/reference/event-payload.schema.json (additive changes keep ``version`` 1)."""


def webhook_body(event: OutboundEvent) -> bytes:
    """The exact bytes sent (and signed): the payload plus the idempotency key, keys sorted."""
    body = {**event.payload, "idempotency_key": event.idempotency_key}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def url_hook(url: str, method: str, logger: Any) -> Any:
    """An ``HttpHook`` that calls ``url`` (a secret: it is in no secrets backend, so the hook
    gets it as an in-memory connection) and logs through ``logger`` (a redacting one: HttpHook
    logs the URL it calls on connection errors)."""
    from airflow.providers.http.hooks.http import HttpHook
    from airflow.sdk import Connection

    pinned = Connection(conn_id=URL_CONN_ID, conn_type="http", host=url)
    hook = HttpHook(method=method, http_conn_id=URL_CONN_ID)

    def pinned_connection(conn_id: str) -> Connection:
        return pinned

    setattr(hook, "get_connection", pinned_connection)  # noqa: B010
    setattr(hook, "_log", logger)  # noqa: B010
    return hook


def sign_body(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``body`` keyed with ``secret`` (as GitHub signs)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookSender(Channel[WebhookChannel]):
    """A ``webhook`` channel: HttpHook over an http connection, or a URL."""

    kind = "webhook"
    config_type = WebhookChannel
    required = (("url", "conn_id"),)

    def describe(self) -> str:
        if self.config.conn_id:
            endpoint = f" endpoint {self.config.endpoint}" if self.config.endpoint else ""
            return f"webhook {self.config.method} via connection '{self.config.conn_id}'{endpoint}"
        return f"webhook {self.config.method} {redact_url(self.config.url or '')}"

    def deliver(self, event: OutboundEvent) -> None:
        body = b"" if self.config.method == "GET" else webhook_body(event)
        headers = {
            **self.config.headers,
            "Content-Type": "application/json",
            "User-Agent": f"sqlsentinel-airflow/{__version__}",
            IDEMPOTENCY_HEADER: event.idempotency_key,
            "X-SQLSentinel-Event": event.kind,
            "X-SQLSentinel-Event-Id": event.event_id,
        }
        if self.config.hmac_secret_conn_id:
            headers[SIGNATURE_HEADER] = sign_body(body, self._hmac_secret())
        hook = self._hook()
        response = hook.run(
            endpoint=self.config.endpoint if self.config.conn_id else None,
            data=body or None,
            headers=headers,
            extra_options={
                "timeout": self.config.timeout.total_seconds(),
                "check_response": False,
                "allow_redirects": False,
            },
        )
        status = int(response.status_code)
        if not 200 <= status < 300:
            reason = str(getattr(response, "reason", "") or "")
            raise DeliveryError(
                f"the receiver answered HTTP {status} {reason}".rstrip(),
                recoverable=recoverable_status(status),
            )

    def _hmac_secret(self) -> str:
        conn_id = self.config.hmac_secret_conn_id or ""
        secret = self.connection(conn_id, purpose="HMAC secret").password
        if not secret:
            raise DeliveryError(
                f"HMAC secret connection '{conn_id}' has no password; put the signing key there",
                recoverable=False,
            )
        return str(secret)

    def _hook(self) -> Any:
        if self.config.conn_id:
            from airflow.providers.http.hooks.http import HttpHook

            self.connection(self.config.conn_id, purpose="http")
            hook = HttpHook(method=self.config.method, http_conn_id=self.config.conn_id)
            # HttpHook logs the URL it calls on connection errors; its lines are redacted
            setattr(hook, "_log", self.provider_logger())  # noqa: B010
            return hook
        return url_hook(self.config.url or "", self.config.method, self.provider_logger())

    def is_recoverable(self, exc: BaseException) -> bool:
        return type(exc).__name__ not in {
            "AirflowNotFoundException",
            "InvalidURL",
            "InvalidSchema",
            "MissingSchema",
            "HttpMethodException",
        }
