"""Slack through SlackWebhookHook (slackwebhook connection) or a per-alert webhook_url.

A local HTTP server stands in for Slack's incoming-webhook API: it answers ``ok``, or 500 /
429 / 404 when the test says so.
"""

from __future__ import annotations

import json

import pytest
from notify_engine import evaluate, make_alert, result
from notify_servers import HttpReceiver

from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import OutboxStatus, StateStore


def slack_connection(monkeypatch: pytest.MonkeyPatch, api: HttpReceiver, token: str) -> None:
    conn = {"conn_type": "slackwebhook", "host": api.url("/services"), "password": token}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(conn))


def test_message_through_a_slackwebhook_connection_is_block_kit(
    monkeypatch: pytest.MonkeyPatch, slack_api: HttpReceiver, store: StateStore
) -> None:
    slack_connection(monkeypatch, slack_api, "T0AAA/B0BBB/tokenXYZ")
    alert = make_alert("stock", [{"channel": "slack", "conn_id": "slack_alerts"}])
    evaluate(alert, store, result("ALERT", 3, 10, warehouse="<Berlin & co>"), minute=0)

    report = deliver_pending(alert, store)

    assert report.complete
    (request,) = slack_api.requests
    assert (request.method, request.path) == ("POST", "/services/T0AAA/B0BBB/tokenXYZ")
    body = request.json()
    assert body["text"] == "FIRING: stock"
    header, text, fields, context, actions, footer = body["blocks"]
    assert header["text"]["text"] == ":red_circle: FIRING: stock"
    assert text["text"]["text"] == "*stock is firing*\nstock test alert"
    assert [f["text"] for f in fields["fields"]] == [
        "*Status*\nFIRING",
        "*Severity*\nwarning",
        "*Value*\n3",
        "*Threshold*\n10",
        "*Firing since*\n2026-03-01 08:00 UTC",
    ]
    assert "warehouse  &lt;Berlin &amp; co&gt;" in context["text"]["text"]
    assert actions["elements"][0]["url"].endswith("/runs/m0/tasks/evaluate")
    assert footer["type"] == "context"


def test_per_alert_webhook_urls_are_each_used(slack_api: HttpReceiver, store: StateStore) -> None:
    team_a = make_alert("a", [{"channel": "slack", "webhook_url": slack_api.url("/hooks/team-a")}])
    team_b = make_alert("b", [{"channel": "slack", "webhook_url": slack_api.url("/hooks/team-b")}])
    for alert in (team_a, team_b):
        evaluate(alert, store, result("ALERT", 11), minute=0)
        assert deliver_pending(alert, store).complete

    assert [(r.path, r.json()["text"]) for r in slack_api.requests] == [
        ("/hooks/team-a", "FIRING: a"),
        ("/hooks/team-b", "FIRING: b"),
    ]


@pytest.mark.parametrize(("status", "recoverable"), [(500, True), (429, True), (404, False)])
def test_slack_errors_are_classified_and_the_event_waits(
    slack_api: HttpReceiver, store: StateStore, status: int, recoverable: bool
) -> None:
    alert = make_alert(
        "a", [{"channel": "slack", "webhook_url": slack_api.url("/hooks/t/SECRET9")}]
    )
    evaluate(alert, store, result("ALERT", 11), minute=0)
    slack_api.fail_next(1, status)

    first = deliver_pending(alert, store)

    (failed,) = first.failed
    assert failed.recoverable is recoverable
    assert failed.error == f"Slack answered HTTP {status}: error"
    (row,) = store.outbox(alert_name="a")
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.PENDING, 1, failed.error)

    second = deliver_pending(alert, store)

    assert second.complete and len(second.delivered) == 1
    assert [r.status for r in slack_api.requests] == [status, 200]
    (row,) = store.outbox(alert_name="a")
    assert (row.status, row.attempts) == (OutboxStatus.DELIVERED, 2)


def test_unreachable_slack_url_is_recoverable_and_never_shown(store: StateStore) -> None:
    url = "http://127.0.0.1:9/services/T1/B1/sekritToken"
    alert = make_alert("a", [{"channel": "slack", "webhook_url": url}])
    evaluate(alert, store, result("ALERT", 11), minute=0)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is True
    assert "sekritToken" not in (failed.error or "")
    assert "URLError" in (failed.error or "")
