"""The runbook, the links and the alert-tab / silence URLs in delivered messages.

Email to a real SMTP server on loopback, Slack to the local HTTP server speaking Slack's
webhook API, the webhook body validated against the published schema: every message of an
alert with ``runbook_url`` and ``links`` carries them, and the links to the alert's SQL
Sentinel tab and to a one-click silence when Airflow's ``[api] base_url`` is known; without
it, messages leave those two out rather than show a wrong address.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from notify_engine import evaluate, keyed, make_alert, result
from notify_servers import HttpReceiver, SmtpInbox

from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.notify.webhook import PAYLOAD_SCHEMA
from sqlsentinel_airflow.store import StateStore

BASE = "https://airflow.example.com/team-a"
RUNBOOK = "https://wiki.example.com/runbooks/stock?section=1&x=<2>"
LINKS = [
    {"title": "Stock dashboard", "url": "https://grafana.example.com/d/stock"},
    {"title": "Escalation <policy>", "url": "https://wiki.example.com/escalation"},
]
TAB = f"{BASE}/dags/sqlsentinel_stock/plugin/sqlsentinel-alert"
EMAIL = {"channel": "email", "to": ["oncall@example.com"]}


def _alert(notify: list[dict[str, object]], **settings: object):  # type: ignore[no-untyped-def]
    return make_alert("stock", notify, runbook_url=RUNBOOK, links=LINKS, **settings)


def slack_connection(monkeypatch: pytest.MonkeyPatch, api: HttpReceiver) -> None:
    conn = {"conn_type": "slackwebhook", "host": api.url("/services"), "password": "T0/B0/tok"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ALERTS", json.dumps(conn))


def test_email_carries_runbook_links_tab_and_silence(smtp: SmtpInbox, store: StateStore) -> None:
    alert = _alert([EMAIL], severity="critical")
    evaluate(alert, store, result("ALERT", 3, 10), minute=0, ui_base_url=BASE + "/")
    evaluate(alert, store, result("OK", 30, 10), minute=5, ui_base_url=BASE)
    assert deliver_pending(alert, store).complete

    firing, resolved = smtp.mails
    assert firing.message["Subject"] == "[CRITICAL] FIRING: stock"
    text = firing.part("text/plain")
    assert f"Runbook: {RUNBOOK}\n" in text
    assert "Stock dashboard: https://grafana.example.com/d/stock\n" in text
    assert "Escalation <policy>: https://wiki.example.com/escalation\n" in text
    assert f"Open in SQL Sentinel: {TAB}\n" in text
    assert f"Silence (opens the silence form to confirm): {TAB}?silence=open\n" in text
    html = firing.part("text/html")
    assert '<a href="https://wiki.example.com/runbooks/stock?section=1&amp;x=&lt;2&gt;"' in html
    assert '<a href="https://grafana.example.com/d/stock">Stock dashboard</a>' in html
    assert "Escalation &lt;policy&gt;</a>" in html
    assert f'<a href="{TAB}">Open in SQL Sentinel</a>' in html
    assert f'<a href="{TAB}?silence=open">Silence…</a>' in html

    assert resolved.message["Subject"] == "[RESOLVED] stock"
    text = resolved.part("text/plain")
    assert f"Runbook: {RUNBOOK}\n" in text and f"Open in SQL Sentinel: {TAB}\n" in text
    assert "silence=open" not in text  # nothing to silence once it resolved
    assert "silence=open" not in resolved.part("text/html")


def test_without_a_base_url_the_tab_and_silence_links_are_left_out(
    smtp: SmtpInbox, store: StateStore
) -> None:
    alert = _alert([EMAIL])
    evaluate(alert, store, result("ALERT", 3, 10), minute=0, ui_base_url=None)
    assert deliver_pending(alert, store).complete

    (mail,) = smtp.mails
    for part in (mail.part("text/plain"), mail.part("text/html")):
        assert "plugin/sqlsentinel-alert" not in part
        assert "SQL Sentinel:" not in part.replace("-- SQL Sentinel,", "")
        assert "Silence" not in part
        assert "https://grafana.example.com/d/stock" in part  # the alert's own links stay
        assert "https://wiki.example.com/runbooks/stock" in part


def test_an_alert_without_links_gets_none(smtp: SmtpInbox, store: StateStore) -> None:
    alert = make_alert("plain", [EMAIL])
    evaluate(alert, store, result("ALERT", 3, 10), minute=0)
    assert deliver_pending(alert, store).complete
    text = smtp.mails[0].part("text/plain")
    assert "Runbook" not in text and "plugin/sqlsentinel-alert" not in text


def test_slack_has_a_button_for_each_link_and_the_instance_in_the_silence_url(
    monkeypatch: pytest.MonkeyPatch, slack_api: HttpReceiver, store: StateStore
) -> None:
    slack_connection(monkeypatch, slack_api)
    alert = _alert([{"channel": "slack", "conn_id": "slack_alerts"}], key_columns=["table_name"])
    evaluate(alert, store, keyed(("customers", "ALERT", 30)), minute=0, ui_base_url=BASE)
    assert deliver_pending(alert, store).complete

    (request,) = slack_api.requests
    blocks = request.json()["blocks"]
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    buttons = [(e["text"]["text"], e["url"]) for e in actions["elements"]]
    instance = "%7B%22table_name%22%3A%22customers%22%7D"  # the stored key, encoded
    assert buttons == [
        ("Runbook", RUNBOOK),
        ("Stock dashboard", "https://grafana.example.com/d/stock"),
        ("Escalation <policy>", "https://wiki.example.com/escalation"),
        ("Open in SQL Sentinel", TAB),
        ("Silence…", f"{TAB}?silence=open&instance_key={instance}"),
        (
            "Open task log",
            "http://localhost:8080/dags/sqlsentinel_stock/runs/m0/tasks/evaluate",
        ),
    ]
    assert actions["elements"][0]["style"] == "primary"  # the runbook stands out


def test_slack_without_a_base_url_keeps_the_runbook_and_the_task_log(
    monkeypatch: pytest.MonkeyPatch, slack_api: HttpReceiver, store: StateStore
) -> None:
    slack_connection(monkeypatch, slack_api)
    alert = _alert([{"channel": "slack", "conn_id": "slack_alerts"}])
    evaluate(alert, store, result("ALERT", 3, 10), minute=0)
    assert deliver_pending(alert, store).complete
    (actions,) = [b for b in slack_api.requests[0].json()["blocks"] if b["type"] == "actions"]
    assert [e["text"]["text"] for e in actions["elements"]] == [
        "Runbook",
        "Stock dashboard",
        "Escalation <policy>",
        "Open task log",
    ]


def test_webhook_body_carries_them_and_validates_against_the_schema(
    receiver: HttpReceiver, store: StateStore
) -> None:
    alert = _alert([{"channel": "webhook", "url": receiver.url("/hook")}])
    evaluate(alert, store, result("ALERT", 3, 10), minute=0, ui_base_url=BASE)
    evaluate(alert, store, result("OK", 30, 10), minute=5)  # a worker without base_url
    assert deliver_pending(alert, store).complete

    firing, resolved = (r.json() for r in receiver.requests)
    validator = jsonschema.Draft202012Validator(
        PAYLOAD_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for body in (firing, resolved):
        validator.validate(body)
        assert body["alert"]["runbook_url"] == RUNBOOK
        assert body["alert"]["links"] == LINKS
    assert firing["links"]["alert"] == TAB
    assert firing["links"]["silence"] == f"{TAB}?silence=open"
    assert (resolved["links"]["alert"], resolved["links"]["silence"]) == (None, None)
    # a body stored by an earlier release (without the new fields) is still valid
    old = json.loads(json.dumps(firing))
    del old["alert"]["runbook_url"], old["alert"]["links"]
    del old["links"]["alert"], old["links"]["silence"]
    validator.validate(old)
