"""The grouping stage (core/grouping.py) and the grouped payload (core/payload.py): which
channel gets one message for an evaluation's events, and what that message says it carries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig, slugify
from sqlsentinel_airflow.core.grouping import plan_messages
from sqlsentinel_airflow.core.model import Event, EventKind, Reason, State
from sqlsentinel_airflow.core.payload import event_payload, group_payload

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
CHANNELS = [
    {"channel": "email", "to": ["oncall@example.com"]},
    {"channel": "slack", "conn_id": "slack_alerts"},
    {"channel": "webhook", "conn_id": "pager"},
]


def alert(**settings: Any) -> AlertConfig:
    name = settings.pop("name", "orders_by_region")
    return AlertConfig.model_validate(
        {
            "name": name,
            "slug": slugify(name),
            "dag_id": f"sqlsentinel_{slugify(name)}",
            "query": "SELECT 1",
            "schedule": "@daily",
            "notify": CHANNELS,
            **settings,
        }
    )


def event(region: str, kind: EventKind = EventKind.FIRING, **fields: Any) -> Event:
    key_values = {"region": region} if region else {}
    state = {EventKind.RESOLVED: State.OK, EventKind.ERROR: State.ERROR}.get(kind, State.FIRING)
    return Event(
        kind=kind,
        alert_name="orders_by_region",
        instance_key=json.dumps(key_values) if region else "",
        reason=fields.pop("reason", Reason.FIRST_FIRING),
        occurred_at=NOW,
        state=fields.pop("state", state),
        actual_value=fields.pop("actual_value", 130),
        threshold=100,
        key_values=key_values,
        firing_since=fields.pop("firing_since", NOW - timedelta(hours=1)),
        **fields,
    )


def grouped(a: AlertConfig, events: list[Event]) -> list[tuple[str, int, int]]:
    """(channel, events grouped, events single) per channel."""
    return [(p.config.channel, len(p.grouped), len(p.single)) for p in plan_messages(a, events)]


TWO = [event("eu"), event("us")]


def test_by_default_people_get_one_message_and_webhooks_one_per_event() -> None:
    a = alert(key_columns=["region"])
    assert grouped(a, TWO) == [("email", 2, 0), ("slack", 2, 0), ("webhook", 0, 2)]
    assert [p.max_listed for p in plan_messages(a, TWO)][:2] == [20, 20]


@pytest.mark.parametrize(
    ("settings", "events", "expected"),
    [
        ({}, TWO, [("email", 0, 2), ("slack", 0, 2), ("webhook", 0, 2)]),  # not keyed
        ({"key_columns": ["region"]}, [event("eu")], [("email", 0, 1)] * 1),
        (
            {"key_columns": ["region"]},
            [event("eu"), event("eu", EventKind.RESOLVED, reason=Reason.RECOVERED_FROM_ERROR)],
            [("email", 0, 2)],  # two events of ONE instance: still single messages
        ),
        (
            {"key_columns": ["region"], "group": {"by_evaluation": False}},
            TWO,
            [("email", 0, 2), ("slack", 0, 2), ("webhook", 0, 2)],
        ),
        (
            {"key_columns": ["region"], "group": {"by_evaluation": True}},
            TWO,
            [("email", 2, 0), ("slack", 2, 0), ("webhook", 2, 0)],
        ),
    ],
)
def test_when_a_channel_gets_a_grouped_message(
    settings: dict[str, Any], events: list[Event], expected: list[tuple[str, int, int]]
) -> None:
    assert grouped(alert(**settings), events)[: len(expected)] == expected


def test_a_receiver_group_replaces_the_alerts_for_its_channels() -> None:
    loaded = load_config_text(
        """
defaults: {conn_id: wh, schedule: "@daily", group: {by_evaluation: true, max_listed: 5}}
receivers:
  - name: chat
    group: {max_listed: 7}
    notify: [{channel: webhook, conn_id: chat_hook}, {channel: slack, conn_id: chat}]
routes: {receiver: chat}
alerts:
  - name: orders_by_region
    key_columns: [region]
    group: false
    notify: [{channel: email, to: [a@example.com]}]
    query: SELECT region, 'OK' AS status FROM t
""",
        "alerts.yaml",
    )
    assert loaded.config is not None, [e.format() for e in loaded.errors]
    (a,) = loaded.config.alerts
    assert (a.group.by_evaluation, a.group.max_listed) == (False, 5)  # key by key over defaults
    plans = plan_messages(a, TWO)
    assert [(p.channel_id.split(":")[0], len(p.grouped), p.max_listed) for p in plans] == [
        ("0", 0, 0),  # the alert's own email: group false
        ("chat/0", 0, 0),  # the receiver's webhook: unset by_evaluation, so not a webhook
        ("chat/1", 2, 7),  # the receiver's Slack: grouped, its own max_listed
    ]


def test_group_settings_are_checked_where_they_are_written() -> None:
    loaded = load_config_text(
        """
defaults: {conn_id: wh, schedule: "@daily"}
alerts:
  - name: a
    group: {max_listed: 0, by_evaluatoin: true}
    query: SELECT 'OK' AS status
""",
        "alerts.yaml",
    )
    messages = [e.format() for e in loaded.errors]
    assert any("alerts[0].group.max_listed" in m for m in messages), messages
    assert any("did you mean `by_evaluation`" in m for m in messages), messages


def test_the_grouped_payload_is_its_most_urgent_member_and_lists_them_all() -> None:
    a = alert(key_columns=["region"], severity="critical")
    members = [
        event_payload(e, a, event_id=f"id-{i}", run_id="r1", evaluated_at=NOW)
        for i, e in enumerate(
            [
                event("eu", EventKind.RESOLVED, reason=Reason.RESOLVED, state=State.OK),
                event("us", EventKind.REMINDER, reason=Reason.REMINDER_DUE),
                event("ap", EventKind.FIRING, firing_since=NOW - timedelta(minutes=5)),
            ]
        )
    ]
    payload = group_payload(
        members, a, event_id="g", run_id="r1", evaluated_at=NOW, instances=9, max_listed=2
    )
    body = payload.to_json()
    assert (body["kind"], body["state"], body["reason_code"]) == ("firing", "FIRING", "grouped")
    assert body["instance"] == {"key": "", "key_values": {}}
    assert body["firing_since"] == "2026-12-06T08:00:00+00:00"  # the earliest member's
    group: Any = body["group"]
    assert group["counts"] == {"firing": 1, "reminder": 1, "resolved": 1, "error": 0, "flapping": 0}
    assert (group["size"], group["instances"], group["max_listed"]) == (3, 9, 2)
    assert [m["event_id"] for m in group["members"]] == ["id-0", "id-1", "id-2"]
    assert "group" not in members[0].to_json()  # a single event's document is unchanged
    only_resolved = group_payload(
        members[:1], a, event_id="g2", run_id="r1", evaluated_at=NOW, instances=9, max_listed=2
    )
    assert (only_resolved.kind.value, only_resolved.state.value) == ("resolved", "OK")
    with pytest.raises(ValueError, match="at least one member"):
        group_payload(
            [], a, event_id="g3", run_id=None, evaluated_at=NOW, instances=0, max_listed=1
        )
