"""The generic webhook through HttpHook: payload schema, idempotency key, HMAC, failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jsonschema
import pytest
from notify_engine import evaluate, keyed, make_alert, result
from notify_servers import HttpReceiver

from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.notify.webhook import PAYLOAD_SCHEMA
from sqlsentinel_airflow.store import StateStore

HMAC_KEY = "hmac-key-Lw93Rt"


def hmac_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {"conn_type": "generic", "password": HMAC_KEY}
    monkeypatch.setenv("AIRFLOW_CONN_WEBHOOK_SIGNING", json.dumps(conn))


def test_url_webhook_body_matches_schema_with_idempotency_key_and_signature(
    monkeypatch: pytest.MonkeyPatch, receiver: HttpReceiver, store: StateStore
) -> None:
    hmac_connection(monkeypatch)
    channel = {
        "channel": "webhook",
        "url": receiver.url("/hooks/incoming?source=sentinel"),
        "method": "PUT",
        "headers": {"X-Team": "data"},
        "hmac_secret_conn_id": "webhook_signing",
    }
    alert = make_alert("tables_fresh", [channel], key_columns=["table_name"], max_rows=100)
    evaluate(alert, store, keyed(("orders", "ALERT", 26), ("users", "OK", 1)), minute=0)

    assert deliver_pending(alert, store).complete

    (request,) = receiver.requests
    assert (request.method, request.path) == ("PUT", "/hooks/incoming?source=sentinel")
    body = request.json()
    jsonschema.validate(body, PAYLOAD_SCHEMA)
    (row,) = store.outbox(alert_name="tables_fresh")
    assert body["idempotency_key"] == row.idempotency_key == request.headers["Idempotency-Key"]
    assert body["event_id"] == row.event_id == request.headers["X-SQLSentinel-Event-Id"]
    assert (body["kind"], body["state"], body["actual_value"]) == ("firing", "FIRING", 26)
    assert body["instance"]["key_values"] == {"table_name": "orders"}
    assert body["links"]["task_log"].endswith("/runs/m0/tasks/evaluate")
    assert request.headers["X-Team"] == "data"
    assert request.headers["Content-Type"] == "application/json"
    expected = hmac.new(HMAC_KEY.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-SQLSentinel-Signature"] == f"sha256={expected}"


def test_connection_webhook_uses_host_endpoint_and_basic_auth(
    monkeypatch: pytest.MonkeyPatch, receiver: HttpReceiver, store: StateStore
) -> None:
    conn = {
        "conn_type": "http",
        "host": "127.0.0.1",
        "port": receiver.port,
        "schema": "http",
        "login": "sentinel",
        "password": "http-pw-93jd",
    }
    monkeypatch.setenv("AIRFLOW_CONN_ALERT_SINK", json.dumps(conn))
    channel = {"channel": "webhook", "conn_id": "alert_sink", "endpoint": "/v1/events"}
    alert = make_alert("a1", [channel])
    evaluate(alert, store, result("ALERT", 12), minute=0)
    evaluate(alert, store, result("OK", 2), minute=5)

    assert deliver_pending(alert, store).complete

    assert [r.path for r in receiver.requests] == ["/v1/events", "/v1/events"]
    assert [r.json()["kind"] for r in receiver.requests] == ["firing", "resolved"]
    token = base64.b64encode(b"sentinel:http-pw-93jd").decode()
    assert receiver.requests[0].headers["Authorization"] == f"Basic {token}"


def test_same_event_goes_out_with_the_same_bytes_and_key_on_every_attempt(
    receiver: HttpReceiver, store: StateStore
) -> None:
    alert = make_alert("a1", [{"channel": "webhook", "url": receiver.url("/h")}])
    evaluate(alert, store, result("ALERT", 12), minute=0)
    receiver.fail_next(2, 503)

    for _ in range(3):
        deliver_pending(alert, store)

    first, second, third = receiver.requests
    assert [r.status for r in receiver.requests] == [503, 503, 200]
    assert first.body == second.body == third.body
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 1


def test_client_error_is_not_recoverable(receiver: HttpReceiver, store: StateStore) -> None:
    alert = make_alert("a1", [{"channel": "webhook", "url": receiver.url("/h")}])
    evaluate(alert, store, result("ALERT", 12), minute=0)
    receiver.fail_next(1, 400)

    (failed,) = deliver_pending(alert, store).failed

    assert (failed.recoverable, failed.error) == (
        False,
        "the receiver answered HTTP 400 Bad Request",
    )


def test_slow_receiver_times_out_recoverably(receiver: HttpReceiver, store: StateStore) -> None:
    channel = {"channel": "webhook", "url": receiver.url("/slow/tok3n"), "timeout": 0.3}
    alert = make_alert("a1", [channel])
    evaluate(alert, store, result("ALERT", 12), minute=0)
    receiver.delay_seconds = 1.0

    (failed,) = deliver_pending(alert, store).failed

    assert failed.recoverable is True
    assert "ReadTimeout" in (failed.error or "")
    assert "tok3n" not in (failed.error or "")


def test_signing_connection_without_password_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, receiver: HttpReceiver, store: StateStore
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_EMPTY_KEY", json.dumps({"conn_type": "generic"}))
    channel = {"channel": "webhook", "url": receiver.url("/h"), "hmac_secret_conn_id": "empty_key"}
    alert = make_alert("a1", [channel])
    evaluate(alert, store, result("ALERT", 12), minute=0)

    (failed,) = deliver_pending(alert, store).failed

    assert failed.error == (
        "HMAC secret connection 'empty_key' has no password; put the signing key there"
    )
    assert receiver.requests == []


def test_get_webhook_sends_headers_and_no_body(receiver: HttpReceiver, store: StateStore) -> None:
    alert = make_alert(
        "a1", [{"channel": "webhook", "url": receiver.url("/ping"), "method": "GET"}]
    )
    evaluate(alert, store, result("ALERT", 12), minute=0)

    assert deliver_pending(alert, store).complete

    (request,) = receiver.requests
    assert (request.method, request.path, request.body) == ("GET", "/ping", b"")
    assert request.headers["X-SQLSentinel-Event"] == "firing"
