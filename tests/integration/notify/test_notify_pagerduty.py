"""PagerDuty Events API v2 through the outbox, against a loopback Events API that checks every
event's shape and keeps alerts by dedup_key (pagerduty_api.py)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta

import pytest
from notify_engine import T0, evaluate, keyed, make_alert, result
from pagerduty_api import ROUTING_KEY, PagerDutyEventsApi

from sqlsentinel_airflow.acks import acknowledge, unacknowledge
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import OutboxStatus, StateStore

PD = {"channel": "pagerduty", "conn_id": "pagerduty_oncall"}


def pagerduty_connection(
    monkeypatch: pytest.MonkeyPatch, api: PagerDutyEventsApi, key: str = ROUTING_KEY
) -> None:
    conn = {"conn_type": "pagerduty_events", "host": api.url(), "password": key}
    monkeypatch.setenv("AIRFLOW_CONN_PAGERDUTY_ONCALL", json.dumps(conn))


def incident_key(dag_id: str, instance_key: str = "", suffix: str = "") -> str:
    return f"sqlsentinel/{dag_id}/{hashlib.sha256(instance_key.encode()).hexdigest()[:16]}{suffix}"


def test_trigger_reminder_resolve_are_one_incident_with_one_dedup_key(
    monkeypatch: pytest.MonkeyPatch, pagerduty_api: PagerDutyEventsApi, store: StateStore
) -> None:
    pagerduty_connection(monkeypatch, pagerduty_api)
    alert = make_alert(
        "stock",
        [PD],
        severity="critical",
        renotify_after=timedelta(minutes=30),
        runbook_url="https://wiki.example.com/stock",
    )
    outcomes = {0: ("ALERT", 26), 30: ("ALERT", 27), 35: ("OK", 3)}
    for minute, (status, value) in outcomes.items():
        outcome = result(status, value, 10, warehouse="Berlin")
        evaluate(alert, store, outcome, minute=minute, ui_base_url="http://airflow.example.com")
        assert deliver_pending(alert, store).complete

    assert pagerduty_api.rejected == []
    trigger, reminder, resolve = pagerduty_api.events
    key = incident_key("sqlsentinel_stock")
    assert [(e["event_action"], e["dedup_key"]) for e in pagerduty_api.events] == [
        ("trigger", key),
        ("trigger", key),
        ("resolve", key),
    ]
    assert [(a.dedup_key, a.status, len(a.events)) for a in pagerduty_api.incidents] == [
        (key, "resolved", 3)
    ]
    assert trigger["routing_key"] == ROUTING_KEY
    payload = trigger["payload"]
    assert payload["summary"] == "[CRITICAL] stock is firing: 26 (threshold 10)"
    assert reminder["payload"]["summary"].startswith("[CRITICAL] stock is still firing (30m")
    assert (payload["source"], payload["severity"], payload["component"]) == (
        "sqlsentinel_stock",
        "critical",
        "stock",
    )
    assert datetime.fromisoformat(payload["timestamp"]) == T0
    details = payload["custom_details"]
    assert (details["value"], details["threshold"], details["context"]) == (
        26,
        10,
        {"warehouse": "Berlin"},
    )
    assert datetime.fromisoformat(details["firing_since"]) == T0
    texts = [link["text"] for link in trigger["links"]]
    assert texts == ["Runbook", "Open in SQL Sentinel", "Silence…", "Open task log"]
    assert trigger["client"] == "SQL Sentinel"
    assert trigger["client_url"].startswith("http://airflow.example.com/")
    assert set(resolve) == {"routing_key", "event_action", "dedup_key"}

    # the next incident of the instance is a new PagerDuty incident under the same key
    evaluate(alert, store, result("ALERT", 30, 10, warehouse="Berlin"), minute=60)
    assert deliver_pending(alert, store).complete
    assert [(a.dedup_key, a.status) for a in pagerduty_api.incidents] == [
        (key, "resolved"),
        (key, "triggered"),
    ]


def test_each_instance_is_its_own_incident_and_never_grouped(
    monkeypatch: pytest.MonkeyPatch, pagerduty_api: PagerDutyEventsApi, store: StateStore
) -> None:
    pagerduty_connection(monkeypatch, pagerduty_api)
    alert = make_alert(
        "fresh", [PD], key_columns=["table_name"], max_rows=100, group={"by_evaluation": True}
    )
    evaluate(alert, store, keyed(("orders", "ALERT", 26), ("users", "ALERT", 30)), minute=0)

    assert deliver_pending(alert, store).complete

    rows = store.outbox(alert_name="fresh")
    assert len(rows) == 2  # one row per event, not one grouped message
    assert sorted(a.dedup_key for a in pagerduty_api.incidents) == sorted(
        incident_key("sqlsentinel_fresh", row.instance_key) for row in rows
    )
    assert len({row.instance_key for row in rows}) == 2


def test_retry_after_5xx_or_a_resend_never_opens_a_second_incident(
    monkeypatch: pytest.MonkeyPatch, pagerduty_api: PagerDutyEventsApi, store: StateStore
) -> None:
    pagerduty_connection(monkeypatch, pagerduty_api)
    alert = make_alert("stock", [PD])
    evaluate(alert, store, result("ALERT", 26), minute=0)
    pagerduty_api.fail_next(1, 503)

    (failed,) = deliver_pending(alert, store).failed
    assert failed.recoverable is True
    assert failed.error == "PagerDuty answered HTTP 503: internal error"
    assert deliver_pending(alert, store).complete
    (row,) = store.outbox(alert_name="stock")
    assert (row.status, row.attempts) == (OutboxStatus.DELIVERED, 2)

    # a crash after the send and before the mark resends the row: PagerDuty deduplicates it
    sender = build_channel(alert.notify[0])
    assert sender.send(OutboundEvent(row.payload, row.idempotency_key)).delivered

    requests = [r.json() for r in pagerduty_api.http.requests]
    assert len(requests) == 3 and len({r["dedup_key"] for r in requests}) == 1
    (incident,) = pagerduty_api.incidents
    assert (incident.status, len(incident.events)) == ("triggered", 2)


def test_rate_limit_429_is_retried_by_the_outbox(
    monkeypatch: pytest.MonkeyPatch, pagerduty_api: PagerDutyEventsApi, store: StateStore
) -> None:
    pagerduty_connection(monkeypatch, pagerduty_api)
    alert = make_alert("stock", [PD])
    evaluate(alert, store, result("ALERT", 26), minute=0)
    pagerduty_api.fail_next(1, 429)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is True
    assert failed.error == (
        "PagerDuty answered HTTP 429: Requests for this service are arriving too quickly."
    )
    assert len(pagerduty_api.http.requests) == 1  # one attempt per pass: no sleeping in the task
    assert deliver_pending(alert, store).complete
    assert len(pagerduty_api.incidents) == 1


def test_invalid_event_400_is_not_recoverable_and_dead_lettered(
    monkeypatch: pytest.MonkeyPatch, pagerduty_api: PagerDutyEventsApi, store: StateStore
) -> None:
    short_key = ROUTING_KEY[:31]  # the API refuses a routing key that is not 32 characters
    pagerduty_connection(monkeypatch, pagerduty_api, key=short_key)
    alert = make_alert("stock", [PD], delivery_attempts=1)
    evaluate(alert, store, result("ALERT", 26), minute=0)

    report = deliver_pending(alert, store)

    (dead,) = report.dead
    assert dead.recoverable is False
    assert dead.error == (
        "PagerDuty answered HTTP 400: Event object is invalid: "
        "Length of 'routing_key' is incorrect (should be 32 characters)"
    )
    (row,) = store.outbox(alert_name="stock")
    assert row.status is OutboxStatus.DEAD
    assert pagerduty_api.incidents == []
    assert short_key not in (row.last_error or "")


def test_query_error_has_its_own_key_resolved_by_the_recovery(
    monkeypatch: pytest.MonkeyPatch, pagerduty_api: PagerDutyEventsApi, store: StateStore
) -> None:
    pagerduty_connection(monkeypatch, pagerduty_api)
    alert = make_alert("stock", [PD], notify_on_error=1)
    evaluate(alert, store, "relation metric does not exist", minute=0)
    evaluate(alert, store, result("OK", 1), minute=5)

    assert deliver_pending(alert, store).complete

    key = incident_key("sqlsentinel_stock", suffix="/error")
    assert [(e["event_action"], e["dedup_key"]) for e in pagerduty_api.events] == [
        ("trigger", key),
        ("resolve", key),
    ]
    payload = pagerduty_api.events[0]["payload"]
    assert payload["summary"] == (
        "[WARNING] stock: the alert query failed: relation metric does not exist"
    )
    assert payload["class"] == "query error"
    assert "value" not in payload["custom_details"]


def test_an_acknowledgement_acknowledges_the_incident_and_unacknowledging_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, pagerduty_api: PagerDutyEventsApi, store: StateStore
) -> None:
    pagerduty_connection(monkeypatch, pagerduty_api)
    alert = make_alert("stock", [PD, {"channel": "webhook", "url": "http://127.0.0.1:9/x"}])
    evaluate(alert, store, result("ALERT", 26), minute=0)
    assert type(build_channel(alert.notify[0])).SENDS_ACKNOWLEDGEMENTS is True

    acknowledge(store, alert, None, by="ada", source="ui", comment="on it", now=T0)
    unacknowledge(store, alert, None, by="ada", source="ui", now=T0)
    acknowledge(store, alert, None, by="bob", source="cli", now=T0)
    deliver_pending(alert, store)  # the webhook's rows fail: only PagerDuty's matter here

    rows = store.outbox(alert_name="stock")
    assert [r.channel_kind for r in rows].count("webhook") == 1  # no acknowledgement for it
    acks = [r for r in rows if r.channel_kind == "pagerduty"]
    assert sorted(getattr(r.kind, "value", r.kind) for r in acks) == [
        "acknowledged",
        "acknowledged",
        "firing",
    ]
    key = incident_key("sqlsentinel_stock")
    assert [(e["event_action"], e["dedup_key"]) for e in pagerduty_api.events] == [
        ("trigger", key),
        ("acknowledge", key),
        ("acknowledge", key),
    ]
    assert set(pagerduty_api.events[1]) == {"routing_key", "event_action", "dedup_key"}
    (incident,) = pagerduty_api.incidents
    assert incident.status == "acknowledged"


def test_missing_or_empty_connection_is_not_recoverable(
    monkeypatch: pytest.MonkeyPatch, store: StateStore
) -> None:
    alert = make_alert("stock", [PD])
    evaluate(alert, store, result("ALERT", 26), minute=0)

    (missing,) = deliver_pending(alert, store).failed
    assert missing.recoverable is False
    assert "'pagerduty_oncall' is not defined" in (missing.error or "")

    monkeypatch.setenv(
        "AIRFLOW_CONN_PAGERDUTY_ONCALL", json.dumps({"conn_type": "pagerduty_events"})
    )
    (empty,) = deliver_pending(alert, store).failed
    assert empty.recoverable is False
    assert "has no password; put the integration key" in (empty.error or "")


def test_unreachable_api_is_recoverable_and_the_key_is_never_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, store: StateStore
) -> None:
    from notify_servers import free_port

    caplog.set_level(logging.DEBUG)
    conn = {
        "conn_type": "pagerduty_events",
        "host": f"http://127.0.0.1:{free_port()}",
        "password": ROUTING_KEY,
    }
    monkeypatch.setenv("AIRFLOW_CONN_PAGERDUTY_ONCALL", json.dumps(conn))
    alert = make_alert("stock", [PD])
    evaluate(alert, store, result("ALERT", 26), minute=0)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is True
    assert (failed.error or "").startswith(
        "PagerDuty at http://127.0.0.1:"
    ) and "could not be reached or answered unexpectedly (ConnectError)" in (failed.error or "")
    assert ROUTING_KEY not in caplog.text
    assert ROUTING_KEY not in repr(store.outbox(alert_name="stock"))


def test_plain_http_is_refused_except_on_loopback(
    monkeypatch: pytest.MonkeyPatch, store: StateStore
) -> None:
    conn = {
        "conn_type": "pagerduty_events",
        "host": "http://events.example.com",
        "password": ROUTING_KEY,
    }
    monkeypatch.setenv("AIRFLOW_CONN_PAGERDUTY_ONCALL", json.dumps(conn))
    alert = make_alert("stock", [PD])
    evaluate(alert, store, result("ALERT", 26), minute=0)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is False
    assert "must be https" in (failed.error or "")
