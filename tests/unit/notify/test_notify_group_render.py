"""A grouped message renders as one: counts and a headline, the first ``max_listed`` members,
then ``+k more``; a template written for one instance is not used for it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlsentinel_airflow.core.config.models import MessageTemplates, SlackChannel
from sqlsentinel_airflow.core.model import Event, EventKind, Reason, State
from sqlsentinel_airflow.core.payload import event_payload, group_payload
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT
from sqlsentinel_airflow.notify.slack import slack_message
from sqlsentinel_airflow.notify.templates import message_context, render_part

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)


def grouped(
    kinds: list[EventKind], *, max_listed: int = 20, label: str = "r", instances: int = 0
) -> dict[str, Any]:
    members = []
    for i, kind in enumerate(kinds):
        key_values = {"region": f"{label}{i:03d}"}
        resolved = kind is EventKind.RESOLVED
        e = Event(
            kind=kind,
            alert_name=SAMPLE_ALERT.name,
            instance_key=json.dumps(key_values),
            reason=Reason.RESOLVED if resolved else Reason.FIRST_FIRING,
            occurred_at=NOW,
            state=State.OK if resolved else State.FIRING,
            actual_value=100 + i,
            threshold=10,
            key_values=key_values,
        )
        members.append(
            event_payload(e, SAMPLE_ALERT, event_id=f"e{i}", run_id=None, evaluated_at=NOW)
        )
    return group_payload(
        members,
        SAMPLE_ALERT,
        event_id="g",
        run_id=None,
        evaluated_at=NOW,
        instances=instances or len(kinds),
        max_listed=max_listed,
    ).to_json()


def test_one_kind_reads_n_of_m_and_the_rest_is_counted() -> None:
    ctx = message_context(grouped([EventKind.FIRING] * 50, instances=60))
    assert (ctx["kind"], ctx["status"]) == ("group", "FIRING")
    assert ctx["group"]["headline"] == "50 of 60 instances"
    assert (len(ctx["group"]["members"]), ctx["group"]["hidden"]) == (20, 30)
    subject = render_part("subject", ctx).text
    assert subject == "[WARNING] FIRING: 50 of 60 instances — Example alert"
    text = render_part("text", ctx).text
    assert "  FIRING  region=r000: 100 (threshold 10)\n" in text
    assert "region=r019" in text and "region=r020" not in text and "  +30 more\n" in text
    html = render_part("html", ctx).text
    assert "<td>region=r019</td>" in html and "+30 more" in html


def test_mixed_kinds_are_counted_and_resolved_alone_is_resolved() -> None:
    mixed = message_context(grouped([EventKind.RESOLVED, EventKind.FIRING, EventKind.REMINDER]))
    assert mixed["group"]["summary"] == "1 firing, 1 still firing, 1 resolved"
    assert render_part("subject", mixed).text == (
        "[WARNING] FIRING: 1 firing, 1 still firing, 1 resolved (of 3 instances) — Example alert"
    )
    resolved = message_context(grouped([EventKind.RESOLVED] * 2))
    assert render_part("subject", resolved).text == "[RESOLVED] 2 of 2 instances — Example alert"


def test_only_a_template_written_for_group_is_used_for_one() -> None:
    ctx = message_context(grouped([EventKind.FIRING] * 3))
    one_text = MessageTemplates(subject="{{ alert.name }} = {{ actual_value }}")
    assert render_part("subject", ctx, templates=one_text).origin == "default"
    per_kind = MessageTemplates(
        subject={"firing": "x", "group": "{{ group.size }} in {{ alert.name }}"}
    )
    rendered = render_part("subject", ctx, templates=per_kind)
    assert (rendered.text, rendered.origin) == ("3 in Example alert", "templates")


def test_slack_lists_what_fits_in_a_section_and_counts_the_rest() -> None:
    payload = grouped([EventKind.FIRING] * 300, max_listed=300, label="r" * 150)
    config = SlackChannel(channel="slack", conn_id="slack_alerts")
    body, problems = slack_message(config, OutboundEvent(payload, "k"), build_channel(config))
    assert problems == []
    (listed,) = [
        b["text"]["text"] for b in body["blocks"] if "more" in b.get("text", {}).get("text", "")
    ]
    assert len(listed) <= 2900
    shown = listed.count("region=")
    assert 0 < shown < 300 and listed.endswith(f"+{300 - shown} more")
    assert body["blocks"][0]["text"]["text"].endswith(
        "FIRING: 300 of 300 instances — Example alert"
    )
