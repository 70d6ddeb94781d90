"""An escalation step delivered for real: its receiver's webhook (an Airflow http connection,
on loopback) and email (a loopback SMTP server) each get one message that says which step and
why; the alert's own and routed channels get none (docs/responding.md, "Escalation")."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from notify_engine import evaluate, result
from notify_servers import HttpReceiver, SmtpInbox

from sqlsentinel_airflow.core.config import AlertConfig, load_config_text
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

ALERTS = """\
receivers:
  - name: team
    notify:
      - {channel: webhook, conn_id: sink, endpoint: /team}
  - name: oncall
    notify:
      - {channel: webhook, conn_id: sink, endpoint: /oncall}
      - {channel: email, to: [oncall@example.com]}
routes:
  receiver: team
  routes:
    - match: {severity: critical}
      escalation:
        - {after: 15m, receiver: oncall}
alerts:
  - name: revenue
    conn_id: wh
    schedule: "*/5 * * * *"
    severity: critical
    renotify_after: 10m
    notify:
      - {channel: webhook, conn_id: sink, endpoint: /own}
    query: SELECT 'OK' AS status
"""


def _alert(text: str = ALERTS) -> AlertConfig:
    loaded = load_config_text(text, "alerts.yaml")
    assert loaded.ok, [e.format() for e in loaded.errors]
    assert loaded.config is not None
    return loaded.config.alert("revenue")


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch, receiver: HttpReceiver) -> HttpReceiver:
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port, "schema": "http"}
    monkeypatch.setenv("AIRFLOW_CONN_SINK", json.dumps(conn))
    return receiver


def test_the_step_receiver_gets_one_message_each_channel_and_nobody_else(
    sink: HttpReceiver, smtp: SmtpInbox, store: StateStore
) -> None:
    alert = _alert()
    for minute in (0, 5, 10, 15, 20, 25, 30):  # fires throughout; reminders every 10m
        evaluate(alert, store, result("ALERT", 12), minute=minute)
        assert deliver_pending(alert, store).complete

    paths = Counter(r.path for r in sink.delivered)
    kinds = Counter((r.path, r.json()["reason_code"]) for r in sink.delivered)
    assert paths == {"/own": 4, "/team": 4, "/oncall": 1}  # firing + 3 reminders each
    (step,) = [r.json() for r in sink.delivered if r.path == "/oncall"]
    assert kinds[("/oncall", "escalated")] == 1
    assert (step["kind"], step["escalation"]["summary"]) == (
        "firing",
        "Escalated (step 1 of 1): not acknowledged for 15m",
    )
    assert step["escalation"]["receiver"] == "oncall"
    (mail,) = smtp.mails
    assert mail.rcpt_tos == ["oncall@example.com"]
    subject = str(mail.message["Subject"])
    assert subject == ("[CRITICAL] Escalated (step 1 of 1): not acknowledged for 15m — revenue"), (
        subject
    )
    text = mail.part("text/plain")
    assert "revenue: Escalated (step 1 of 1): not acknowledged for 15m" in text
    assert "Status:         ESCALATED" in text
    assert "Escalation:     step 1 of 1, to oncall" in text
    assert "acknowledging it stops" not in text  # the last step: nothing left to stop


def test_a_pending_step_is_dead_lettered_when_its_receiver_leaves_the_ladder(
    sink: HttpReceiver, store: StateStore
) -> None:
    """Delivery resolves a row's channel from the current config: a step whose receiver the
    ladder no longer names has nowhere to go (docs/adr/0004-delivery-guarantees.md)."""
    alert = _alert()
    evaluate(alert, store, result("ALERT", 12), minute=0)
    assert deliver_pending(alert, store).complete
    evaluate(alert, store, result("ALERT", 12), minute=15)
    after = _alert(
        ALERTS.replace("      escalation:\n        - {after: 15m, receiver: oncall}\n", "")
    )
    assert after.escalation == ()
    report = deliver_pending(after, store)
    assert Counter((r.kind, r.status) for r in report.rows) == {
        ("escalation", "dead"): 2,
        ("reminder", "delivered"): 2,  # the alert's own and routed channels: still there
    }
    assert not [r for r in sink.requests if r.path == "/oncall"]
