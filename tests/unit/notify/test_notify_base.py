"""The channel base: declared fields validated on construction, redaction, message shapes."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import pytest

from sqlsentinel_airflow.core.config.models import SlackChannel, WebhookChannel
from sqlsentinel_airflow.core.config.yamlpos import CHANNEL_KINDS
from sqlsentinel_airflow.core.redact import Redactor
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.base import OutboundEvent, RedactingLogger, recoverable_status
from sqlsentinel_airflow.notify.channels import CHANNEL_TYPES, build_channel
from sqlsentinel_airflow.notify.slack import slack_message
from sqlsentinel_airflow.notify.webhook import WebhookSender, sign_body, webhook_body

SLACK_URL = "https://hooks.slack.com/services/T000/B000/s3cretTokenValue"


def event(**changes: Any) -> OutboundEvent:
    payload: dict[str, Any] = {
        "version": 1,
        "event_id": "abcdef12-0000-4000-8000-000000000000",
        "kind": "firing",
        "reason": "first firing",
        "state": "FIRING",
        "alert": {"name": "a1", "description": "", "severity": "warning", "dag_id": "d"},
        "instance": {"key": "", "key_values": {}},
        "actual_value": 5,
        "threshold": 3,
        "context": {"table": "<orders>"},
        "firing_since": "2026-03-01T08:00:00+00:00",
        "occurred_at": "2026-03-01T08:00:00+00:00",
        "error": None,
        "links": {"task_log": "http://localhost:8080/dags/d/runs/r/tasks/t"},
    }
    payload.update(changes)
    return OutboundEvent(payload, "abcdef12-0000-4000-8000-000000000000:0:webhook:1234")


def test_channel_types_cover_every_configurable_channel() -> None:
    assert set(CHANNEL_TYPES) == {"email", "slack", "webhook", "pagerduty", "teams"}
    assert set(CHANNEL_KINDS) == set(CHANNEL_TYPES)
    # only PagerDuty gets the acknowledged rows (docs/notifications.md)
    assert {k for k, t in CHANNEL_TYPES.items() if t.SENDS_ACKNOWLEDGEMENTS} == {"pagerduty"}


def test_a_channel_masks_the_secret_fields_its_config_model_declares() -> None:
    hook_url = "https://hooks.example.com/in/hookTokenK2v"
    sender = build_channel(
        WebhookChannel(channel="webhook", url=hook_url, headers={"X-Api-Key": "apiKeyQ9z"})
    )
    assert isinstance(sender, WebhookSender)
    text = sender.redactor(f"POST {hook_url} with X-Api-Key apiKeyQ9z; or /in/hookTokenK2v")
    assert text == "POST *** with X-Api-Key ***; or ***"
    slack = build_channel(SlackChannel(channel="slack", webhook_url=SLACK_URL))
    assert slack.redactor("no_service: T000/B000/s3cretTokenValue") == "no_service: ***"


def test_base_refuses_a_channel_without_its_required_fields() -> None:
    with pytest.raises(
        DeliveryError, match=r"slack channel: set `conn_id` or `webhook_url` or `bot_conn_id`"
    ) as err:
        build_channel(SlackChannel(channel="slack"))
    assert err.value.recoverable is False
    with pytest.raises(DeliveryError, match=r"webhook channel: set `url` or `conn_id`"):
        build_channel(WebhookChannel(channel="webhook"))


def test_describe_never_shows_a_secret_url() -> None:
    sender = build_channel(SlackChannel(channel="slack", webhook_url=SLACK_URL))
    assert sender.describe() == "slack via webhook_url https://hooks.slack.com/***"
    assert "s3cret" not in repr(sender)


def test_redactor_masks_secrets_their_url_paths_and_every_url() -> None:
    redact = Redactor([SLACK_URL, "pw-123456"])
    text = (
        f"POST {SLACK_URL} failed; with url: /services/T000/B000/s3cretTokenValue; "
        "login pw-123456 to https://user:other@host.example/x/y?token=abc"
    )
    cleaned = redact(text)
    assert "s3cretTokenValue" not in cleaned
    assert "pw-123456" not in cleaned
    assert "token=abc" not in cleaned
    assert "other" not in cleaned
    assert "https://user:***@host.example/***?token=***" in cleaned


def test_redacting_logger_redacts_formatted_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="test.notify")
    logger = RedactingLogger(logging.getLogger("test.notify"), Redactor([SLACK_URL]))
    logger.info("Going to retry the same request: %s %s", "POST", SLACK_URL)
    logger.warning("plain message with %d args")
    assert caplog.messages == [
        "Going to retry the same request: POST ***",
        "plain message with %d args",
    ]


@pytest.mark.parametrize(
    ("status", "recoverable"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (404, False), (410, False)],
)
def test_recoverable_statuses(status: int, recoverable: bool) -> None:
    assert recoverable_status(status) is recoverable


def test_webhook_body_is_canonical_and_signature_is_hmac_sha256_over_it() -> None:
    body = webhook_body(event())
    data = json.loads(body)
    assert data["idempotency_key"] == event().idempotency_key
    assert data["version"] == 1
    assert body == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    expected = hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert sign_body(body, "k3y") == f"sha256={expected}"


def test_slack_message_is_block_kit_with_escaped_values() -> None:
    sender = build_channel(SlackChannel(channel="slack", webhook_url=SLACK_URL, username="bot"))
    body, problems = slack_message(sender.config, event(), sender)
    assert problems == []
    assert body["text"] == "FIRING: a1"
    assert body["username"] == "bot"
    types = [b["type"] for b in body["blocks"]]
    assert types == ["header", "section", "section", "section", "actions", "context"]
    fields = [f["text"] for f in body["blocks"][2]["fields"]]
    assert fields[:4] == ["*Status*\nFIRING", "*Severity*\nwarning", "*Value*\n5", "*Threshold*\n3"]
    assert "&lt;orders&gt;" in body["blocks"][3]["text"]["text"]
    assert body["blocks"][4]["elements"][0]["url"] == "http://localhost:8080/dags/d/runs/r/tasks/t"
    assert "event abcdef12" in body["blocks"][5]["elements"][0]["text"]
