"""Email through SmtpHook to a real SMTP server (aiosmtpd on loopback, AUTH required)."""

from __future__ import annotations

import json

import pytest
from notify_engine import evaluate, make_alert, result
from notify_servers import SMTP_PASSWORD, SmtpInbox, free_port

from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import OutboxStatus, StateStore

EMAIL = {
    "channel": "email",
    "to": ["oncall@example.com", "lead@example.com"],
    "cc": ["cc@example.com"],
    "bcc": ["audit@example.com"],
}


def test_email_has_headers_recipients_subject_both_parts_and_escaped_html(
    smtp: SmtpInbox, store: StateStore
) -> None:
    alert = make_alert("revenue <check>", [EMAIL], severity="critical")
    evaluate(alert, store, result("ALERT", 9120, 10000, note="<b>big</b> & {{ 7*7 }}"), minute=0)

    report = deliver_pending(alert, store)

    assert report.complete and len(report.delivered) == 1
    assert [ok for _, ok in smtp.auth_attempts] == [True]
    (mail,) = smtp.mails
    assert mail.mail_from == "sentinel@example.com"
    assert mail.rcpt_tos == [
        "oncall@example.com",
        "lead@example.com",
        "cc@example.com",
        "audit@example.com",
    ]
    msg = mail.message
    assert msg["Subject"] == "[CRITICAL] FIRING: revenue <check>"
    assert msg["To"] == "oncall@example.com, lead@example.com"
    assert msg["CC"] == "cc@example.com"
    assert "audit@example.com" not in str(msg)  # bcc is an envelope recipient only
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    (row,) = store.outbox(alert_name=alert.name)
    assert msg["X-SQLSentinel-Idempotency-Key"] == row.idempotency_key
    assert msg["X-SQLSentinel-Event"] == "firing"
    assert msg["Message-ID"].endswith("@sqlsentinel>")

    text = mail.part("text/plain")
    assert text.startswith("revenue <check> is firing")
    assert "Value:          9120 (threshold 10000)" in text
    assert "note: <b>big</b> & {{ 7*7 }}" in text
    assert "Task log: http://localhost:8080/dags/sqlsentinel_revenue_check/runs/m0/tasks/" in text
    html = mail.part("text/html")
    assert "revenue &lt;check&gt; is firing" in html
    assert "&lt;b&gt;big&lt;/b&gt; &amp; {{ 7*7 }}" in html
    assert "<b>big</b>" not in html
    assert row.status is OutboxStatus.DELIVERED
    assert row.attempts == 1 and row.delivered_at is not None and row.last_error is None


def test_templates_from_the_channel_and_the_alert_are_used(
    smtp: SmtpInbox, store: StateStore
) -> None:
    channel = {**EMAIL, "subject": "Alert: {alert_name} is {status} ({actual_value})"}
    alert = make_alert(
        "orders_late",
        [channel],
        templates={
            "text": {"firing": "{{ alert.name }}: {{ actual_value }} > {{ threshold }}"},
            "html": "<p>{{ alert.name }} {{ context.source }}</p>",
        },
    )
    evaluate(alert, store, result("ALERT", 12, 10, source="<erp>"), minute=0)
    evaluate(alert, store, result("OK", 3, 10, source="<erp>"), minute=5)

    assert deliver_pending(alert, store).complete

    firing, resolved = smtp.mails
    assert firing.message["Subject"] == "Alert: orders_late is ALERT (12)"
    assert firing.part("text/plain").strip() == "orders_late: 12 > 10"
    assert firing.part("text/html").strip() == "<p>orders_late &lt;erp&gt;</p>"
    assert resolved.message["Subject"] == "Alert: orders_late is OK (3)"
    assert resolved.part("text/plain").startswith("orders_late has resolved")  # default for kind


def test_unreachable_smtp_server_is_a_recoverable_failure(
    monkeypatch: pytest.MonkeyPatch, store: StateStore
) -> None:
    closed = json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": free_port(),
            "login": "mailer",
            "password": SMTP_PASSWORD,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "s@example.com"},
        }
    )
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", closed)
    alert = make_alert("a1", [EMAIL])
    evaluate(alert, store, result("ALERT", 12), minute=0)

    report = deliver_pending(alert, store)

    (row,) = report.failed
    assert row.recoverable is True
    assert "ConnectionRefusedError" in (row.error or "")
    (stored,) = store.outbox(alert_name="a1")
    assert (stored.status, stored.attempts) == (OutboxStatus.PENDING, 1)
    assert SMTP_PASSWORD not in (stored.last_error or "")


def test_wrong_smtp_password_is_not_recoverable_and_not_shown(
    smtp: SmtpInbox, monkeypatch: pytest.MonkeyPatch, store: StateStore
) -> None:
    wrong = json.loads(smtp.connection_json())
    wrong["password"] = "wrong-pw-77Hq"
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(wrong))
    alert = make_alert("a1", [EMAIL])
    evaluate(alert, store, result("ALERT", 12), minute=0)

    (row,) = deliver_pending(alert, store).failed

    assert row.recoverable is False
    assert (row.error or "").startswith("SMTP server replied 535")
    assert "wrong-pw-77Hq" not in (row.error or "")
    assert smtp.mails == []


def test_missing_smtp_connection_says_how_to_create_it(store: StateStore) -> None:
    alert = make_alert("a1", [{**EMAIL, "conn_id": "smtp_missing"}])
    evaluate(alert, store, result("ALERT", 12), minute=0)

    (row,) = deliver_pending(alert, store).failed

    assert row.recoverable is False
    assert row.error == (
        "SMTP connection 'smtp_missing' is not defined; create it in Admin > Connections "
        "or set AIRFLOW_CONN_SMTP_MISSING"
    )
