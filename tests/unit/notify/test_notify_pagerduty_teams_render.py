"""PagerDuty events and Teams cards rendered from payloads, without sending: the action and
dedup_key mapping, the summary limit, templates, escaping, groups and samples."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from sqlsentinel_airflow.core.config.models import (
    MessageTemplates,
    PagerDutyChannel,
    TeamsChannel,
)
from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.pagerduty import dedup_key, pagerduty_events
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT, sample_group, sample_payload
from sqlsentinel_airflow.notify.teams import teams_message

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)
PD = PagerDutyChannel(channel="pagerduty", conn_id="pd")
TEAMS = TeamsChannel(channel="teams", conn_id="teams")


def payload(kind: EventKind = EventKind.FIRING, **changes: Any) -> dict[str, Any]:
    """A real (not ``test``) payload of the sample alert."""
    made = dict(sample_payload(SAMPLE_ALERT, kind, now=NOW, ui_base_url="https://af.example"))
    made["test"] = False
    made.update(changes)
    return made


def pd_events(data: dict[str, Any], config: PagerDutyChannel = PD, **kw: Any) -> list[Any]:
    sender = build_channel(config, **kw)
    events, problems = pagerduty_events(config, OutboundEvent(data, "k"), sender)
    assert problems == []
    return events


def test_actions_map_one_to_one_onto_one_dedup_key() -> None:
    key = dedup_key("sqlsentinel_example_alert", payload()["instance"]["key"])
    cases = {
        "firing": payload(),
        "reminder": payload(EventKind.REMINDER),
        "flapping": payload(EventKind.FLAPPING),
        "escalation": payload(
            reason_code="escalated",
            escalation={"step": 1, "steps": 2, "after": 1800, "receiver": "oncall"},
        ),
        "acknowledged": payload(
            reason_code="acknowledged",
            acknowledgement={
                "by": "ada",
                "at": "2026-03-01T08:03:00Z",
                "comment": "",
                "source": "ui",
            },
        ),
        "resolved": payload(EventKind.RESOLVED),
    }
    actions = {name: pd_events(data) for name, data in cases.items()}

    assert {
        name: [(e["event_action"], e["dedup_key"]) for e in got] for name, got in actions.items()
    } == {
        "firing": [("trigger", key)],
        "reminder": [("trigger", key)],
        "flapping": [("trigger", key)],
        "escalation": [("trigger", key)],
        "acknowledged": [("acknowledge", key)],
        "resolved": [("resolve", key)],
    }
    assert key.startswith("sqlsentinel/sqlsentinel_example_alert/") and len(key.split("/")[2]) == 16
    assert (
        actions["escalation"][0]["payload"]["custom_details"]["escalation"]["receiver"] == "oncall"
    )
    assert "payload" not in actions["acknowledged"][0]


def test_query_errors_and_their_recovery_use_the_error_key() -> None:
    error_key = dedup_key("sqlsentinel_example_alert", payload()["instance"]["key"], error=True)
    (trigger,) = pd_events(payload(EventKind.ERROR))
    (resolve,) = pd_events(payload(EventKind.RESOLVED, reason_code="recovered_from_error"))
    assert (trigger["event_action"], trigger["dedup_key"]) == ("trigger", error_key)
    assert (resolve["event_action"], resolve["dedup_key"]) == ("resolve", error_key)
    assert error_key.endswith("/error")


def test_summary_is_one_line_of_at_most_1024_characters() -> None:
    (event,) = pd_events(payload(EventKind.ERROR, error="line one\n" + "x" * 5000))
    summary = event["payload"]["summary"]
    assert len(summary) == 1024 and "\n" not in summary and summary.endswith("…")
    assert summary.startswith(
        "[WARNING] Example alert: the alert query failed [region=example_region]: line one x"
    )


def test_dedup_key_of_a_long_dag_id_fits_in_255_characters() -> None:
    key = dedup_key("d" * 250, "k")
    assert len(key) <= 255 and key.startswith("sqlsentinel/") and key != dedup_key("e" * 250, "k")


@pytest.mark.parametrize("where", ["channel", "templates"])
def test_summary_template_of_the_channel_or_the_alert_applies(where: str) -> None:
    source = "{{ alert.name }} at {{ actual_value }}"
    if where == "channel":
        events = pd_events(payload(), PD.model_copy(update={"summary": source}))
    else:
        events = pd_events(payload(), templates=MessageTemplates(pagerduty=source))
    assert events[0]["payload"]["summary"] == f"Example alert at {payload()['actual_value']}"


def test_a_broken_summary_template_is_refused_strictly_and_replaced_otherwise() -> None:
    broken = PD.model_copy(update={"summary": "{{ nope() }}"})
    sender = build_channel(broken, strict_templates=True)
    with pytest.raises(DeliveryError, match="pagerduty template for 'firing' failed"):
        pagerduty_events(broken, OutboundEvent(payload(), "k"), sender, strict=True)
    events, problems = pagerduty_events(
        broken, OutboundEvent(payload(), "k"), build_channel(broken)
    )
    assert events[0]["payload"]["summary"].startswith("[WARNING] Example alert is firing")
    assert problems and "the default was used" in problems[0]


def test_a_grouped_payload_is_one_event_per_member() -> None:
    group = dict(sample_group(SAMPLE_ALERT, now=NOW).to_json())
    group["test"] = False
    events = pd_events(group)
    members = group["group"]["members"]
    assert len(events) == len(members) >= 2
    assert [e["event_action"] for e in events] == [
        "resolve" if m["kind"] == "resolved" else "trigger" for m in members
    ]


def test_a_sample_opens_and_resolves_its_own_incident() -> None:
    data = dict(sample_payload(SAMPLE_ALERT, EventKind.FIRING, now=NOW))
    trigger, resolve = pd_events(data)
    assert trigger["dedup_key"] == resolve["dedup_key"] == f"sqlsentinel/test/{data['event_id']}"
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["payload"]["summary"].startswith("[TEST] [WARNING] Example alert is firing")


def test_teams_template_applies_and_values_are_escaped() -> None:
    sender = build_channel(
        TEAMS, templates=MessageTemplates(teams="**{{ alert.name }}**: {{ context.note }}")
    )
    data = payload(context={"note": "[x](https://evil.example.com) _hi_"})
    card, problems = teams_message(TEAMS, OutboundEvent(data, "k"), sender)
    assert problems == []
    text = card["attachments"][0]["content"]["body"][1]["text"]
    assert text == r"**Example alert**: \[x\](https://evil.example.com) \_hi\_"


def test_teams_card_of_a_group_caps_the_listed_members() -> None:
    group = dict(sample_group(SAMPLE_ALERT, now=NOW).to_json())
    group["group"] = {**group["group"], "members": group["group"]["members"] * 30, "size": 120}
    group["group"]["max_listed"] = 1000
    card, _ = teams_message(TEAMS, OutboundEvent(group, "k"), build_channel(TEAMS))
    body = card["attachments"][0]["content"]["body"]
    (members,) = [b for b in body if b["type"] == "FactSet" and len(b["facts"]) > 10]
    assert len(members["facts"]) == 50
    assert any(b.get("text") == "+70 more" for b in body)


def test_the_largest_teams_card_fits_in_a_teams_message() -> None:
    """Teams refuses a message over about 28 KB: the worst case of every part stays under."""
    import json

    worst = "*_[<" * 1000  # every character escaped: twice as long
    group = dict(sample_group(SAMPLE_ALERT, now=NOW).to_json())
    member = {**group["group"]["members"][0], "error": worst, "kind": "error"}
    member["instance"] = {"key": "k", "key_values": {f"c{i}": worst for i in range(10)}}
    group["group"] = {**group["group"], "members": [member] * 1000, "max_listed": 1000}
    group["error"] = worst
    group["context"] = {f"column_{i}_{worst[:40]}": worst for i in range(40)}
    source = "{{ error }}" * 20
    sender = build_channel(TEAMS, templates=MessageTemplates(teams={"group": source}))
    card, problems = teams_message(TEAMS, OutboundEvent(group, "k"), sender)
    assert problems == []
    assert len(json.dumps(card, ensure_ascii=False).encode()) < 28_000
    body = card["attachments"][0]["content"]["body"]
    (members,) = [b for b in body if b["type"] == "FactSet" and b["facts"][0]["title"] != "Status"][
        :1
    ]
    assert 0 < len(members["facts"]) < 50  # cut to fit, the rest counted
    assert any(b.get("text", "").startswith("+") and b["text"].endswith(" more") for b in body)


def test_a_dry_run_previews_both_without_secrets() -> None:
    from sqlsentinel_airflow.core.events import alert_channels
    from sqlsentinel_airflow.notify.preview import previews

    url = "https://prod.example.com/workflows/w/invoke?sig=sigPreviewX7"
    alert = SAMPLE_ALERT.model_copy(
        update={"notify": (PD, TeamsChannel(channel="teams", webhook_url=url))}
    )
    messages = [(cid, payload()) for cid, _ in alert_channels(alert)]

    pagerduty, teams = previews(alert, messages)

    assert (pagerduty.channel, pagerduty.destination) == ("pagerduty", "PagerDuty connection pd")
    key = dedup_key("sqlsentinel_example_alert", payload()["instance"]["key"])
    assert pagerduty.subject == (
        f"trigger {key}: [WARNING] Example alert is firing [region=example_region]: 42 "
        "(threshold 10)"
    )
    assert (teams.channel, teams.destination) == ("teams", "Teams webhook")
    assert teams.subject.startswith("FIRING: Example alert")
    assert teams.lines == ("**Example alert is firing**", "An example alert, to check a template")
    assert "sigPreviewX7" not in repr((pagerduty, teams))
