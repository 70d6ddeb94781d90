"""Notifications: channels over the providers' hooks, message templates, outbox delivery.

Modules, one concept each:

- ``base``       the declarative ``Channel`` base, ``DeliveryResult``, redaction of secrets
- ``templates``  sandboxed Jinja message texts with a default per event kind and part
- ``sandbox``    the bounded Jinja sandbox: output, value, loop, call, integer and time limits
- ``email``      ``EmailSender`` over the smtp provider's ``SmtpHook`` (text + HTML)
- ``slack``      ``SlackSender`` over ``SlackWebhookHook`` or a per-alert ``webhook_url``
- ``webhook``    ``WebhookSender`` over ``HttpHook``: versioned JSON, idempotency key, HMAC
- ``pagerduty``  ``PagerDutySender``: Events API v2, the routing key from a connection
- ``teams``      ``TeamsSender`` over ``HttpHook``: an Adaptive Card to an incoming webhook
- ``channels``   which sender serves which ``channel:`` value
- ``delivery``   ``deliver_pending``: an alert's outbox, oldest first, marked per row
- ``sample``     ``send_samples``: one test message per channel (``sqlsentinel notify-test``)

Airflow and the providers are imported only when something is sent.
"""

from __future__ import annotations

from sqlsentinel_airflow.notify.base import (
    Channel,
    DeliveryResult,
    OutboundEvent,
    recoverable_status,
)
from sqlsentinel_airflow.notify.channels import CHANNEL_TYPES, build_channel
from sqlsentinel_airflow.notify.delivery import (
    DeliveryReport,
    RowDelivery,
    deliver_pending,
    undelivered_rows,
)
from sqlsentinel_airflow.notify.sample import SampleResult, sample_payload, send_samples
from sqlsentinel_airflow.notify.templates import DEFAULT_TEMPLATES, message_context, render_part
from sqlsentinel_airflow.notify.webhook import PAYLOAD_SCHEMA, sign_body, webhook_body

__all__ = [
    "CHANNEL_TYPES",
    "DEFAULT_TEMPLATES",
    "PAYLOAD_SCHEMA",
    "Channel",
    "DeliveryReport",
    "DeliveryResult",
    "OutboundEvent",
    "RowDelivery",
    "SampleResult",
    "build_channel",
    "deliver_pending",
    "message_context",
    "recoverable_status",
    "render_part",
    "sample_payload",
    "send_samples",
    "sign_body",
    "undelivered_rows",
    "webhook_body",
]
