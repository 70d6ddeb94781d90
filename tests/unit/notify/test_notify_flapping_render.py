"""A flapping notice renders as one: it travels as ``kind: firing`` with ``flapping: true``
(payload version 1), and every default message part says FLAPPING, not FIRING."""

from __future__ import annotations

import json

from sqlsentinel_airflow.core.config.models import SlackChannel
from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT, sample_payload
from sqlsentinel_airflow.notify.slack import slack_message
from sqlsentinel_airflow.notify.templates import message_context, render_part


def test_every_default_part_of_a_flapping_notice_says_flapping() -> None:
    payload = sample_payload(SAMPLE_ALERT, EventKind.FLAPPING)
    assert (payload["kind"], payload["flapping"]) == ("firing", True)
    ctx = message_context(payload)
    assert (ctx["kind"], ctx["status"]) == ("flapping", "FLAPPING")
    subject = render_part("subject", ctx).text
    assert "FLAPPING: Example alert" in subject and "FIRING" not in subject
    text = render_part("text", ctx).text
    assert "Example alert is flapping between OK and FIRING" in text
    assert "Status:         FLAPPING" in text
    assert "Next message:   when it has been stable long enough" in text
    assert "is flapping between OK and FIRING" in render_part("html", ctx).text
    config = SlackChannel(channel="slack", conn_id="slack_alerts")
    body, problems = slack_message(config, OutboundEvent(payload, "k"), build_channel(config))
    assert problems == []
    slack = json.dumps(body)
    assert "is flapping between OK and FIRING" in slack and "Flapping since" in slack
    assert "Firing since" not in slack


def test_an_ordinary_firing_is_not_taken_for_a_flapping_one() -> None:
    payload = sample_payload(SAMPLE_ALERT, EventKind.FIRING)
    assert payload["flapping"] is False
    ctx = message_context(payload)
    assert (ctx["kind"], ctx["status"]) == ("firing", "FIRING")
    assert "FLAPPING" not in render_part("subject", ctx).text
