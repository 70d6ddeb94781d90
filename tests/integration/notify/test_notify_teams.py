"""Microsoft Teams through an incoming webhook: an Adaptive Card, through the outbox.

A loopback HTTP server stands in for a Teams Workflows webhook: it checks that the body is a
message with exactly one Adaptive Card attachment of the shape Teams renders and answers 202
(Workflows' answer), or 400 for anything else; or what the test scripts.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from notify_engine import evaluate, keyed, make_alert, result
from notify_servers import HttpReceiver, Received

from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import OutboxStatus, StateStore

SIG = "sigTeamsQ9zX3"
_ELEMENTS = {"TextBlock", "FactSet"}


def card_errors(message: Any) -> list[str]:
    """What is wrong with ``message`` as a Teams webhook message with one Adaptive Card."""
    if not isinstance(message, dict) or message.get("type") != "message":
        return ["not a message"]
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return ["a message needs exactly one attachment"]
    (attachment,) = attachments
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        return [f"unexpected contentType {attachment.get('contentType')!r}"]
    card = attachment.get("content") or {}
    errors = []
    if card.get("type") != "AdaptiveCard" or card.get("version") != "1.4":
        errors.append("content is not an AdaptiveCard 1.4")
    for element in card.get("body") or []:
        if element.get("type") not in _ELEMENTS:
            errors.append(f"unexpected element {element.get('type')!r}")
        elif element["type"] == "TextBlock" and not isinstance(element.get("text"), str):
            errors.append("a TextBlock needs text")
        elif element["type"] == "FactSet" and not all(
            isinstance(f.get("title"), str) and isinstance(f.get("value"), str)
            for f in element.get("facts") or [None]
        ):
            errors.append("a FactSet needs facts with title and value")
    for action in card.get("actions") or []:
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith(
            ("http://", "https://")
        ):
            errors.append(f"unexpected action {action!r}")
    if not card.get("body"):
        errors.append("the card has no body")
    return errors


class TeamsWebhook:
    """A Workflows webhook on a loopback ``HttpReceiver``: 202 for a valid card, 400 with the
    problems otherwise; statuses scripted with ``fail_next`` come first."""

    def __init__(self, http: HttpReceiver) -> None:
        self.http = http
        self.forced: list[int] = []
        http.respond = self._answer

    def fail_next(self, count: int, status: int) -> None:
        self.forced.extend([status] * count)

    def _answer(self, got: Received) -> tuple[int, bytes]:
        if self.forced:
            return self.forced.pop(0), b"scripted"
        errors = card_errors(json.loads(got.body))
        return (400, json.dumps(errors).encode()) if errors else (202, b"")


@pytest.fixture
def teams(receiver: HttpReceiver) -> TeamsWebhook:
    return TeamsWebhook(receiver)


def cards(teams: TeamsWebhook) -> list[dict[str, Any]]:
    return [r.json()["attachments"][0]["content"] for r in teams.http.requests if r.status == 202]


def teams_connection(monkeypatch: pytest.MonkeyPatch, teams: TeamsWebhook) -> str:
    url = teams.http.url(f"/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig={SIG}")
    conn = {"conn_type": "http", "password": url}
    monkeypatch.setenv("AIRFLOW_CONN_TEAMS_ALERTS", json.dumps(conn))
    return url


def test_card_through_a_connection_has_facts_context_and_buttons(
    monkeypatch: pytest.MonkeyPatch, teams: TeamsWebhook, store: StateStore
) -> None:
    teams_connection(monkeypatch, teams)
    alert = make_alert(
        "stock",
        [{"channel": "teams", "conn_id": "teams_alerts"}],
        runbook_url="https://wiki.example.com/stock",
    )
    evaluate(
        alert,
        store,
        result("ALERT", 26, 10, warehouse="[click](https://evil.example.com) *now*"),
        minute=0,
        ui_base_url="http://airflow.example.com",
    )

    assert deliver_pending(alert, store).complete

    (request,) = teams.http.requests
    assert request.path.startswith("/workflows/abc/") and request.status == 202
    (card,) = cards(teams)
    headline, text, facts, context_title, context, footer = card["body"]
    assert (headline["text"], headline["color"]) == ("FIRING: stock", "Attention")
    assert text["text"] == "**stock is firing**\n\nstock test alert"
    assert [(f["title"], f["value"]) for f in facts["facts"]] == [
        ("Status", "FIRING"),
        ("Severity", "warning"),
        ("Value", "26"),
        ("Threshold", "10"),
        ("Firing since", "2026-03-01 08:00 UTC"),
    ]
    assert context_title["text"] == "Context"
    # a value cannot become a link or emphasis
    assert context["facts"] == [
        {"title": "warehouse", "value": r"\[click\](https://evil.example.com) \*now\*"}
    ]
    assert footer["isSubtle"] is True
    assert [a["title"] for a in card["actions"]] == [
        "Runbook",
        "Open in SQL Sentinel",
        "Silence…",
        "Open task log",
    ]
    assert card["actions"][1]["url"].startswith("http://airflow.example.com/")


def test_inline_webhook_url_and_a_legacy_200_are_delivered(
    receiver: HttpReceiver, store: StateStore
) -> None:
    url = receiver.url(f"/webhookb2/x/IncomingWebhook/y?sig={SIG}")
    alert = make_alert("a", [{"channel": "teams", "webhook_url": url}], notify_on_error=1)
    evaluate(alert, store, "syntax error at or near SELEC", minute=0)

    report = deliver_pending(alert, store)

    assert report.complete and len(report.delivered) == 1
    body = receiver.requests[0].json()
    assert card_errors(body) == []
    card_body = body["attachments"][0]["content"]["body"]
    assert card_body[0]["text"] == "ERROR: a"
    assert "Value" not in [f["title"] for f in card_body[2]["facts"]]
    assert card_body[3]["fontType"] == "Monospace"
    assert card_body[3]["text"] == "syntax error at or near SELEC"


def test_grouped_keyed_alert_is_one_card_listing_members(
    monkeypatch: pytest.MonkeyPatch, teams: TeamsWebhook, store: StateStore
) -> None:
    teams_connection(monkeypatch, teams)
    alert = make_alert(
        "fresh",
        [{"channel": "teams", "conn_id": "teams_alerts"}],
        key_columns=["table_name"],
        max_rows=100,
    )
    evaluate(alert, store, keyed(("orders", "ALERT", 26), ("users", "ALERT", 30)), minute=0)

    assert deliver_pending(alert, store).complete

    (card,) = cards(teams)
    assert card["body"][0]["text"] == "FIRING: 2 of 2 instances — fresh"
    members = card["body"][3]["facts"]
    assert [(m["title"], m["value"]) for m in members] == [
        ("table\\_name=orders", "FIRING: 26 (threshold n/a)"),
        ("table\\_name=users", "FIRING: 30 (threshold n/a)"),
    ]


@pytest.mark.parametrize(("status", "recoverable"), [(500, True), (429, True), (400, False)])
def test_errors_are_classified_and_the_url_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    teams: TeamsWebhook,
    store: StateStore,
    status: int,
    recoverable: bool,
) -> None:
    caplog.set_level(logging.INFO)  # the production level (urllib3 logs the path at DEBUG)
    url = teams_connection(monkeypatch, teams)
    alert = make_alert("a", [{"channel": "teams", "conn_id": "teams_alerts"}])
    evaluate(alert, store, result("ALERT", 11), minute=0)
    teams.fail_next(1, status)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is recoverable
    assert failed.error == f"Teams answered HTTP {status}: scripted"
    assert deliver_pending(alert, store).complete
    (row,) = store.outbox(alert_name="a")
    assert (row.status, row.attempts) == (OutboxStatus.DELIVERED, 2)
    assert SIG not in caplog.text and url not in caplog.text
    assert SIG not in repr(row)


def test_unreachable_webhook_is_recoverable_and_never_shown(
    caplog: pytest.LogCaptureFixture, store: StateStore
) -> None:
    from notify_servers import free_port

    caplog.set_level(logging.INFO)
    url = f"http://127.0.0.1:{free_port()}/workflows/x/invoke?sig={SIG}"
    alert = make_alert("a", [{"channel": "teams", "webhook_url": url}])
    evaluate(alert, store, result("ALERT", 11), minute=0)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is True
    assert "ConnectionError" in (failed.error or "")
    assert SIG not in (failed.error or "") and SIG not in caplog.text


@pytest.mark.parametrize(("inner", "recoverable"), [(429, True), (413, False)])
def test_a_legacy_connector_s_200_with_a_wrapped_error_is_a_failure(
    receiver: HttpReceiver, store: StateStore, inner: int, recoverable: bool
) -> None:
    body = (
        "Webhook message delivery failed with error: Microsoft Teams endpoint returned "
        f"HTTP error {inner} with ContextId tcid=0,server=msgapi-production,cv=x.0.."
    )
    answers = [(200, body.encode()), (200, b"1")]
    receiver.respond = lambda got: answers.pop(0)
    url = receiver.url(f"/webhookb2/x/IncomingWebhook/y/z?sig={SIG}")
    alert = make_alert("a", [{"channel": "teams", "webhook_url": url}])
    evaluate(alert, store, result("ALERT", 11), minute=0)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is recoverable
    assert failed.error == f"Teams answered HTTP 200 but did not post: {body}"
    assert deliver_pending(alert, store).complete  # "1": a connector's success
