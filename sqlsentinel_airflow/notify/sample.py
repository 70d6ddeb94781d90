"""Sample messages through every channel of an alert, so people can check the wiring.

``sqlsentinel notify-test FILE --alert NAME`` uses this: it builds a made-up event (marked
``test``, shown as ``[TEST]``) for the alert, renders it with the alert's own templates
*strictly* (a broken custom template is reported, not replaced by the default) and sends it
through each configured channel directly, without the outbox and without touching state.

The loader uses the same sample events to refuse a template that exceeds a rendering limit
(:func:`template_problem`): a template is checked once per text, before the alert it belongs
to is known, so it is rendered for :data:`SAMPLE_ALERT`.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from jinja2.exceptions import SecurityError, TemplateSyntaxError

from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.events import alert_channels
from sqlsentinel_airflow.core.model import Event, EventKind, JsonValue, Reason, State
from sqlsentinel_airflow.core.payload import (
    EventPayload,
    PayloadEscalation,
    escalation_summary,
    event_payload,
    group_payload,
)
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import DeliveryResult, OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.templates import (
    TemplateLimitError,
    message_context,
    render_template,
)

__all__ = [
    "SAMPLE_ALERT",
    "SampleResult",
    "sample_event",
    "sample_group",
    "sample_payload",
    "send_samples",
    "template_problem",
]

SAMPLE_ALERT = AlertConfig.model_validate(
    {
        "name": "Example alert",
        "slug": "example_alert",
        "dag_id": "sqlsentinel_example_alert",
        "description": "An example alert, to check a template",
        "query": "SELECT 1",
        "schedule": "@daily",
        "key_columns": ("region",),
        "tags": ("example",),
        "runbook_url": "https://wiki.example.com/runbooks/example",
        "links": ({"title": "Dashboard", "url": "https://grafana.example.com/d/example"},),
    }
)
"""The alert a template is rendered for when it is checked on its own (see template_problem)."""
SAMPLE_UI_BASE_URL = "https://airflow.example.com"
"""Its Airflow, so a template's links (``alert_url``, ``silence_url``) are checked too."""


@dataclass(frozen=True)
class SampleResult:
    """The outcome of one sample message: which channel, where it went, what happened."""

    index: int
    channel: str
    channel_id: str
    destination: str
    result: DeliveryResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "channel": self.channel,
            "channel_id": self.channel_id,
            "destination": self.destination,
            "delivered": self.result.delivered,
            "recoverable": self.result.recoverable,
            "error": self.result.error,
        }


def sample_payload(
    alert: AlertConfig,
    kind: EventKind = EventKind.FIRING,
    *,
    now: datetime | None = None,
    ui_base_url: str | None = None,
) -> dict[str, JsonValue]:
    """A made-up event payload for ``alert`` with example values, marked ``test``; with the
    links to the alert's tab and a silence under ``ui_base_url`` (Airflow's, when known)."""
    return sample_event(alert, kind, now=now, ui_base_url=ui_base_url).to_json()


def sample_event(
    alert: AlertConfig,
    kind: EventKind = EventKind.FIRING,
    *,
    now: datetime | None = None,
    ui_base_url: str | None = None,
) -> EventPayload:
    """The typed form of :func:`sample_payload` (``EventPayload.as_test``)."""
    now = now or utcnow()
    key_values = {column: f"example_{column}" for column in alert.key_columns}
    event = Event(
        kind=kind,
        alert_name=alert.name,
        instance_key=json.dumps(key_values, sort_keys=True) if key_values else "",
        reason=Reason.FIRST_FIRING,
        occurred_at=now,
        state=State.ERROR if kind is EventKind.ERROR else State.FIRING,
        actual_value=None if kind is EventKind.ERROR else 42,
        threshold=None if kind is EventKind.ERROR else 10,
        context={} if kind is EventKind.ERROR else {"example_column": "example value"},
        key_values=key_values,
        firing_since=now - timedelta(hours=1),
        error="example query error" if kind is EventKind.ERROR else None,
    )
    payload = event_payload(
        event,
        alert,
        event_id=str(uuid.uuid4()),
        run_id=None,
        evaluated_at=now,
        ui_base_url=ui_base_url,
    )
    if kind is EventKind.ESCALATION:  # the alert's first step, or a made-up one
        first = alert.escalation[0] if alert.escalation else None
        after = first.after.total_seconds() if first is not None else 900.0
        steps = len(alert.escalation) or 2
        payload = payload.model_copy(
            update={
                "escalation": PayloadEscalation(
                    step=1,
                    steps=steps,
                    after_seconds=after,
                    receiver=first.receiver if first is not None else "oncall",
                    summary=escalation_summary(1, steps, after),
                )
            }
        )
    return payload.as_test()


def send_samples(
    alert: AlertConfig,
    kind: EventKind | Literal["group"] = EventKind.FIRING,
    *,
    ui_base_url: str | None = None,
) -> list[SampleResult]:
    """Send one sample of ``kind`` through each channel of ``alert``; one result per channel
    (``group``: a grouped message, sent to every channel whatever its ``group`` setting)."""
    if kind == "group":
        payload = sample_group(alert, ui_base_url=ui_base_url).to_json()
    else:
        payload = sample_payload(alert, EventKind(kind), ui_base_url=ui_base_url)
    results = []
    for index, (cid, config) in enumerate(alert_channels(alert)):
        try:
            sender = build_channel(config, templates=alert.templates, strict_templates=True)
        except DeliveryError as exc:
            results.append(
                SampleResult(
                    index,
                    config.channel,
                    cid,
                    config.channel,
                    DeliveryResult.failed(str(exc), recoverable=exc.recoverable),
                )
            )
            continue
        event = OutboundEvent(payload, f"test:{payload['event_id']}:{cid}")
        results.append(
            SampleResult(index, config.channel, cid, sender.describe(), sender.send(event))
        )
    return results


@functools.lru_cache(maxsize=1024)
def template_problem(source: str) -> str | None:
    """Why ``source`` cannot render on a sample event of every kind within the limits, or None.

    Only a limit (``notify.sandbox``) or a sandbox refusal is a problem here: both come from
    the template itself. Any other failure may come from the sample's made-up values (a
    context column the sample lacks), so it is left to ``notify-test`` and, at delivery, to
    the fallback to the default template. A syntax error is raised (TemplateSyntaxError):
    the caller says where. Cached per text: alerts often share templates.
    """
    for kind, payload in _sample_payloads():
        context = message_context(payload)  # fresh per render: a template may mutate a list
        try:
            render_template("text", source, context)
        except TemplateLimitError as exc:
            return f"template exceeds a limit on a sample `{kind}` event: {exc}"
        except SecurityError as exc:
            return f"template is refused by the sandbox on a sample `{kind}` event: {exc}"
        except TemplateSyntaxError:
            raise
        except Exception:  # it may depend on the sample's made-up values, see above
            continue
    return None


def sample_group(
    alert: AlertConfig, *, now: datetime | None = None, ui_base_url: str | None = None
) -> EventPayload:
    """A made-up grouped message for ``alert`` (one member of each kind but error), marked
    ``test``: what a template written for the `group` kind is checked on."""
    now = now or utcnow()
    members = [
        sample_event(alert, kind, now=now)
        for kind in (EventKind.FIRING, EventKind.REMINDER, EventKind.RESOLVED, EventKind.FLAPPING)
    ]
    return group_payload(
        members,
        alert,
        event_id=str(uuid.uuid4()),
        run_id=None,
        evaluated_at=now,
        instances=len(members) + 1,
        max_listed=alert.group.max_listed,
        ui_base_url=ui_base_url,
    ).as_test()


@functools.lru_cache(maxsize=1)
def _sample_payloads() -> tuple[tuple[str, dict[str, JsonValue]], ...]:
    return (
        *(
            (kind.value, sample_payload(SAMPLE_ALERT, kind, ui_base_url=SAMPLE_UI_BASE_URL))
            for kind in EventKind
        ),
        ("group", sample_group(SAMPLE_ALERT, ui_base_url=SAMPLE_UI_BASE_URL).to_json()),
    )
