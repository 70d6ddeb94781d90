"""Receivers reached through routes keep every delivery guarantee: one outbox row per channel,
no duplicate on a re-evaluation or a retry, and pending rows still delivered after routes
and receivers are reordered (the engine, the loader and the store are real; the receivers
are HTTP servers on loopback behind Airflow http connections)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from notify_engine import evaluate, result
from notify_servers import HttpReceiver

from sqlsentinel_airflow.core.config import AlertConfig, load_config_text
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

RECEIVERS = """\
receivers:
  - name: oncall
    notify:
      - {channel: webhook, conn_id: sink, endpoint: /oncall}
  - name: finance
    notify:
      - {channel: webhook, conn_id: sink, endpoint: /finance}
      - {channel: webhook, conn_id: sink, endpoint: /finance-audit}
"""
ROUTES = """\
routes:
  routes:
    - match: {severity: critical}
      receiver: oncall
      continue: true
    - match: {tags: finance}
      receiver: finance
"""
REORDERED = """\
routes:
  routes:
    - match: {alert: 'other_*'}
      receiver: oncall
    - match: {tags: finance}
      receiver: finance
      continue: true
    - match: {severity: critical}
      receiver: oncall
"""
ALERTS = """\
alerts:
  - name: revenue
    conn_id: wh
    schedule: "*/5 * * * *"
    severity: critical
    tags: [finance]
    query: SELECT 'OK' AS status
"""


def routed_alert(receivers: str, routes: str) -> AlertConfig:
    loaded = load_config_text(receivers + routes + ALERTS, "alerts.yaml")
    assert loaded.ok, [e.format() for e in loaded.errors]
    assert loaded.config is not None
    return loaded.config.alert("revenue")


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch, receiver: HttpReceiver) -> HttpReceiver:
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": receiver.port, "schema": "http"}
    monkeypatch.setenv("AIRFLOW_CONN_SINK", json.dumps(conn))
    return receiver


def test_two_receivers_one_row_per_channel_and_no_duplicate(
    sink: HttpReceiver, store: StateStore
) -> None:
    alert = routed_alert(RECEIVERS, ROUTES)
    evaluate(alert, store, result("ALERT", 12), minute=0)

    rows = store.pending_outbox("revenue")
    assert sorted(r.channel_id.split(":")[0] for r in rows) == [
        "finance/0",
        "finance/1",
        "oncall/0",
    ]
    assert len({r.event_id for r in rows}) == 1
    assert len({r.idempotency_key for r in rows}) == 3

    sink.fail_next(1, 503)  # the first send fails: a retry re-sends only what is pending
    first = deliver_pending(alert, store)
    assert Counter(r.status for r in first.rows) == {"failed": 1, "delivered": 2}
    evaluate(alert, store, result("ALERT", 13), minute=5)  # still firing: nothing new
    assert len(store.pending_outbox("revenue")) == 1
    assert deliver_pending(alert, store).complete

    paths = Counter(r.path for r in sink.delivered)
    assert paths == {"/oncall": 1, "/finance": 1, "/finance-audit": 1}
    assert not deliver_pending(alert, store).rows  # nothing left, nothing sent twice


def test_pending_rows_survive_reordered_routes_and_receivers(
    sink: HttpReceiver, store: StateStore
) -> None:
    before = routed_alert(RECEIVERS, ROUTES)
    evaluate(before, store, result("ALERT", 12), minute=0)
    oncall, finance = RECEIVERS.split("  - name: ")[1:]
    after = routed_alert("receivers:\n  - name: " + finance + "  - name: " + oncall, REORDERED)
    assert [r.name for r in after.routing.receivers] == ["finance", "oncall"]  # type: ignore[union-attr]

    report = deliver_pending(after, store)  # the deliverer reads the new config

    assert [r.status for r in report.rows] == ["delivered"] * 3
    assert Counter(r.path for r in sink.delivered) == {
        "/oncall": 1,
        "/finance": 1,
        "/finance-audit": 1,
    }


def test_a_receiver_no_longer_reached_dead_letters_its_pending_row(
    sink: HttpReceiver, store: StateStore
) -> None:
    """The converse: routing away from a receiver is a removed channel (docs/adr/0004)."""
    before = routed_alert(RECEIVERS, ROUTES)
    evaluate(before, store, result("ALERT", 12), minute=0)
    after = routed_alert(RECEIVERS, ROUTES.replace("      continue: true\n", ""))

    report = deliver_pending(after, store)

    assert Counter(r.status for r in report.rows) == {"delivered": 1, "dead": 2}
    assert [r.path for r in sink.delivered] == ["/oncall"]
