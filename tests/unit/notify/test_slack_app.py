"""The Slack app's contract: which messages get buttons, what a button's value says, how a
message reads after a click, and how a request from Slack is verified (docs/responding.md, "From Slack").
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from sqlsentinel_airflow.core.config.models import SlackChannel
from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT, sample_payload
from sqlsentinel_airflow.notify.slack import slack_message
from sqlsentinel_airflow.notify.slack_app import (
    ACK_ACTION,
    SNOOZE_ACTION,
    VALUE_CHARS,
    answered_blocks,
    button_value,
    is_interactive,
    key_hash,
    parse_button_value,
)
from sqlsentinel_airflow.ui.slack_interactions import (
    SeenSignatures,
    SlackAppSettings,
    signature_problem,
    slack_signature,
)

BASE = "https://airflow.example.com"
BOT = SlackChannel(channel="slack", bot_conn_id="slack_bot", slack_channel="C0ALERTS")
WEBHOOK = SlackChannel(channel="slack", conn_id="slack_alerts")


def _payload(kind: EventKind = EventKind.FIRING) -> dict[str, Any]:
    return dict(sample_payload(SAMPLE_ALERT, kind, ui_base_url=BASE))


def _elements(config: SlackChannel, payload: dict[str, Any]) -> list[dict[str, Any]]:
    body, _problems = slack_message(config, OutboundEvent(payload, "k"), build_channel(config))
    return [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_only_a_slack_app_message_about_one_firing_incident_has_the_buttons() -> None:
    firing = _payload()
    assert [e.get("action_id") for e in _elements(BOT, firing)][:2] == [ACK_ACTION, SNOOZE_ACTION]
    assert [e["text"]["text"] for e in _elements(BOT, firing)][:2] == ["Acknowledge", "Snooze 1h"]
    assert all("action_id" not in e for e in _elements(WEBHOOK, firing))  # no clicks arrive
    assert [e["text"]["text"] for e in _elements(WEBHOOK, firing)] == [
        e["text"]["text"] for e in _elements(BOT, firing)[2:]
    ]
    for kind in (EventKind.RESOLVED, EventKind.ERROR):
        assert all("action_id" not in e for e in _elements(BOT, _payload(kind)))
    assert is_interactive(_payload(EventKind.REMINDER))
    assert not is_interactive({**firing, "group": {"size": 2}})
    assert not is_interactive({**firing, "flapping": True})


def test_a_button_value_names_the_incident_and_survives_slack() -> None:
    payload = _payload()
    ref = parse_button_value(button_value(payload))
    assert ref.dag_id == payload["alert"]["dag_id"]
    assert ref.firing_since == datetime.fromisoformat(str(payload["firing_since"]))
    assert ref.names(str(payload["instance"]["key"]))
    assert not ref.names('{"region":"elsewhere"}')


def test_a_key_too_long_for_slack_travels_as_its_hash() -> None:
    key = json.dumps({"table_name": "x" * 3000})
    payload = {**_payload(), "instance": {"key": key, "key_values": {}}}
    text = button_value(payload)
    assert len(text) <= VALUE_CHARS
    ref = parse_button_value(text)
    assert (ref.instance_key, ref.instance_hash) == (None, key_hash(key))
    assert ref.names(key) and not ref.names(key + " ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"v":2,"d":"x","f":"2026-01-01T00:00:00Z","k":""}', "not a SQL Sentinel incident"),
        ('{"v":1,"f":"2026-01-01T00:00:00Z","k":""}', "lacks the alert"),
        ('{"v":1,"d":"x","f":"2026-01-01T00:00:00Z"}', "lacks the instance"),
        ('{"v":1,"d":"x","f":"yesterday","k":""}', "not a time"),
        ('{"v":1,"d":"x","f":"2026-01-01T00:00:00","k":""}', "no time zone"),
    ],
)
def test_a_value_that_is_not_ours_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_button_value(text)


def test_the_answered_message_replaces_the_clicked_buttons_with_a_line() -> None:
    buttons = [
        {"type": "button", "action_id": ACK_ACTION},
        {"type": "button", "action_id": SNOOZE_ACTION},
        {"type": "button", "url": "https://runbook"},
    ]
    blocks = [{"type": "header"}, {"type": "actions", "elements": buttons}, {"type": "context"}]

    after_snooze = answered_blocks(blocks, "snoozed", drop=[SNOOZE_ACTION])
    after_ack = answered_blocks(after_snooze, "acked", drop=[ACK_ACTION, SNOOZE_ACTION])

    assert [b["type"] for b in after_snooze] == ["header", "actions", "context", "context"]
    assert after_snooze[1]["elements"] == [buttons[0], buttons[2]]
    assert after_snooze[2]["elements"][0]["text"] == "snoozed"
    assert after_ack[1]["elements"] == [buttons[2]]
    assert after_ack[2]["elements"][0]["text"] == "acked"
    only_ours = [{"type": "actions", "elements": buttons[:2]}]
    assert answered_blocks(only_ours, "acked", drop=[ACK_ACTION, SNOOZE_ACTION]) == [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "acked"}]}
    ]  # Slack refuses an empty actions block


# --- verifying Slack's requests ------------------------------------------------------------

# Slack's worked example ("Verifying requests from Slack", api.slack.com/authentication)
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_TIMESTAMP = "1531420618"
SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
    b"0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2"
    b"c447fce8b6703c"
)
SLACK_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_the_signature_is_computed_as_slack_documents_it() -> None:
    assert slack_signature(SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY) == SLACK_SIGNATURE


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "offset", "problem"),
    [
        (SLACK_TIMESTAMP, SLACK_SIGNATURE, SLACK_BODY, 0, None),
        (SLACK_TIMESTAMP, SLACK_SIGNATURE, SLACK_BODY, 300, None),
        (SLACK_TIMESTAMP, SLACK_SIGNATURE, SLACK_BODY, -300, None),
        (SLACK_TIMESTAMP, SLACK_SIGNATURE, SLACK_BODY, 301, "outside the 5-minute window"),
        (SLACK_TIMESTAMP, SLACK_SIGNATURE, SLACK_BODY, -301, "outside the 5-minute window"),
        (SLACK_TIMESTAMP, SLACK_SIGNATURE, SLACK_BODY + b"&x=1", 0, "does not match"),
        (SLACK_TIMESTAMP, SLACK_SIGNATURE.upper(), SLACK_BODY, 0, "does not match"),
        (SLACK_TIMESTAMP, "v1=" + SLACK_SIGNATURE[3:], SLACK_BODY, 0, "does not match"),
        (SLACK_TIMESTAMP, "v0=é", SLACK_BODY, 0, "does not match"),
        (None, SLACK_SIGNATURE, SLACK_BODY, 0, "no X-Slack-Signature"),
        (SLACK_TIMESTAMP, "", SLACK_BODY, 0, "no X-Slack-Signature"),
        ("soon", SLACK_SIGNATURE, SLACK_BODY, 0, "not a number"),
    ],
)
def test_a_request_is_slack_s_only_when_signed_recently(
    timestamp: str | None, signature: str, body: bytes, offset: int, problem: str | None
) -> None:
    now = int(SLACK_TIMESTAMP) + offset
    found = signature_problem(SLACK_SECRET, timestamp, signature, body, now)
    assert found == problem if problem is None else problem in (found or "")


def test_a_signature_is_accepted_once_per_window() -> None:
    seen = SeenSignatures(timedelta(minutes=5))
    assert seen.first_time("a", 1000.0)
    assert not seen.first_time("a", 1200.0)
    assert seen.first_time("b", 1200.0)
    assert seen.first_time("a", 1000.0 + 601)  # long past any timestamp Slack may still send


def test_the_allow_lists_leave_out_who_is_not_on_them() -> None:
    anyone = SlackAppSettings(conn_id="c", signing_secret="sekritSigning")
    team = SlackAppSettings(conn_id="c", signing_secret="s", allowed_team_ids=frozenset({"T1"}))
    users = SlackAppSettings(conn_id="c", signing_secret="s", allowed_user_ids=frozenset({"U1"}))
    assert not anyone.refuses("U9", "T9")
    assert (team.refuses("U9", "T1"), team.refuses("U1", "T9")) == (False, True)
    assert (users.refuses("U1", "T9"), users.refuses("U9", "T1")) == (False, True)
    assert "sekritSigning" not in repr(anyone)
