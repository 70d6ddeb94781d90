"""An escalation step renders as one: it travels as ``kind: firing`` with an ``escalation``
field (payload version 1), and every default message part says which step and why
(docs/responding.md, "Escalation"); templates get the ``escalation`` variable."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig, EmailChannel, SlackChannel
from sqlsentinel_airflow.core.model import Event, EventKind, Reason, State
from sqlsentinel_airflow.core.payload import event_payload
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.email import render_email
from sqlsentinel_airflow.notify.slack import slack_message
from sqlsentinel_airflow.notify.templates import message_context, render_part

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
ALERTS = """\
receivers:
  - name: oncall
    notify: [{channel: email, to: [oncall@example.com]}]
  - name: leads
    notify: [{channel: email, to: [leads@example.com]}]
alerts:
  - name: late_tables
    conn_id: wh
    schedule: "*/5 * * * *"
    severity: critical
    key_columns: [table_name]
    escalation:
      - {after: 15m, receiver: oncall}
      - {after: 2h, receiver: leads}
    templates:
      slack:
        escalation: "{{ alert.name }} climbed to {{ escalation.receiver }} after {{ escalation.after }}"
    query: "SELECT 'OK' AS status"
"""


def _alert() -> AlertConfig:
    loaded = load_config_text(ALERTS, "alerts.yaml")
    assert loaded.ok, [e.format() for e in loaded.errors]
    assert loaded.config is not None
    return loaded.config.alert("late_tables")


def _payload(alert: AlertConfig, step: int) -> dict[str, object]:
    event = Event(
        kind=EventKind.ESCALATION,
        alert_name=alert.name,
        instance_key='{"table_name":"orders"}',
        reason=Reason.ESCALATED,
        occurred_at=NOW,
        state=State.FIRING,
        actual_value=42,
        threshold=10,
        key_values={"table_name": "orders"},
        firing_since=NOW - timedelta(minutes=17),
        escalation_step=step,
    )
    return event_payload(event, alert, event_id="e" * 32, run_id=None, evaluated_at=NOW).to_json()


def test_every_default_email_part_says_which_step_and_why() -> None:
    alert = _alert()
    payload = _payload(alert, 0)
    assert payload["kind"] == "firing" and payload["reason_code"] == "escalated"
    ctx = message_context(payload)
    assert (ctx["kind"], ctx["status"]) == ("escalation", "ESCALATED")
    assert ctx["escalation"] == {
        "step": 1,
        "steps": 2,
        "after": "15m",
        "receiver": "oncall",
        "summary": "Escalated (step 1 of 2): not acknowledged for 15m",
        "last": False,
    }
    channel = EmailChannel(channel="email", recipients=("oncall@example.com",))
    subject, text, html, problems = render_email(
        channel, OutboundEvent(payload, "k"), build_channel(channel)
    )
    assert problems == []
    assert subject == (
        "[CRITICAL] Escalated (step 1 of 2): not acknowledged for 15m — late_tables "
        "[table_name=orders]"
    )
    assert "late_tables: Escalated (step 1 of 2): not acknowledged for 15m" in text
    assert "Firing since:   2026-12-06 08:43 UTC (17m)" in text
    assert "Escalation:     step 1 of 2, to oncall; acknowledging it stops the next steps" in text
    assert "Escalated (step 1 of 2): not acknowledged for 15m" in html
    assert "FIRING" not in subject


def test_slack_says_it_and_a_per_kind_template_gets_the_escalation_variable() -> None:
    alert = _alert()
    payload = _payload(alert, 1)
    plain = SlackChannel(channel="slack", conn_id="slack_alerts")
    body, problems = slack_message(plain, OutboundEvent(payload, "k"), build_channel(plain))
    assert problems == []
    header = body["blocks"][0]["text"]["text"]
    assert header == ":sos: ESCALATED: late_tables [table_name=orders]"
    # the alert's `templates.slack.escalation` is used for this kind only
    custom = build_channel(plain, templates=alert.templates)
    body, problems = slack_message(plain, OutboundEvent(payload, "k"), custom)
    assert problems == []
    assert body["blocks"][1]["text"]["text"] == "late_tables climbed to leads after 2h"
    firing = dict(payload, escalation=None, reason_code="first_firing")
    ctx = message_context({k: v for k, v in firing.items() if v is not None})
    assert ctx["kind"] == "firing" and ctx["escalation"] is None
    assert "climbed" not in render_part("slack", ctx, templates=alert.templates).text


def test_the_last_step_does_not_promise_more_steps() -> None:
    ctx = message_context(_payload(_alert(), 1))
    text = render_part("text", ctx).text
    assert "Escalation:     step 2 of 2, to leads\n" in text
    assert "Escalated (step 2 of 2): not acknowledged for 2h" in json.dumps(ctx)
