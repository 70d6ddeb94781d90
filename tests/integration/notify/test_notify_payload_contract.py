"""Every event payload the code can produce validates against the published JSON Schema.

The schema is read from the committed file (docs/reference/event-payload.schema.json, what
receivers download), and every body is also checked against the version 1 schema as it was
first published (tests/fixtures/payload/), so receivers written against it keep working.

Producers, each through its real path: evaluations (the real engine, a SQLite state store,
delivered by the real outbox to a webhook on loopback) for every (event kind, reason) pair the
state machine can give, keyed and unkeyed, errors, silence ends, reminders and backfill;
``notify-test`` samples sent to the same receiver; the samples templates are checked on; the
config watch's event through the operator's ``_notify``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from notify_engine import T0, Rows, evaluate, keyed, make_alert, result
from notify_servers import HttpReceiver

from sqlsentinel_airflow.core.config.models import AlertConfig, WebhookChannel
from sqlsentinel_airflow.core.model import (
    EscalationStep,
    Event,
    EventKind,
    FlapPolicy,
    Observation,
    Outcome,
    Policy,
    Reason,
    RunType,
    Silence,
    State,
)
from sqlsentinel_airflow.core.payload import (
    CONFIG_ERROR_REASON,
    PAYLOAD_REASON_CODES,
    TEST_REASON,
    config_error_payload,
    event_payload,
)
from sqlsentinel_airflow.core.state_machine import decide, initial_state
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT, _sample_payloads, send_samples
from sqlsentinel_airflow.notify.webhook import webhook_body
from sqlsentinel_airflow.store import StateStore

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = json.loads(
    (REPO / "docs" / "reference" / "event-payload.schema.json").read_text(encoding="utf-8")
)
V1_AS_PUBLISHED = json.loads(
    (REPO / "tests" / "fixtures" / "payload" / "webhook-v1-as-published.schema.json").read_text(
        encoding="utf-8"
    )
)

# jsonschema checks "date-time" only with an optional package; this is RFC 3339 itself.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # a format constrains strings only; null is the type's business
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))  # a real date and time, too
    return True


def check(body: dict[str, Any]) -> dict[str, Any]:
    """Validate one webhook body against the published and the first-published schema."""
    for schema in (PUBLISHED, V1_AS_PUBLISHED):
        jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(body)
    return body


def bodies(receiver: HttpReceiver) -> list[dict[str, Any]]:
    return [check(r.json()) for r in receiver.requests]


def pairs(received: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(str(b["kind"]), str(b["reason_code"])) for b in received}


def wire(kind: EventKind) -> str:
    """The ``kind`` a payload carries: version 1's kinds only, so a flapping notice is sent
    as ``firing`` (with ``flapping: true``)."""
    on_wire_as_firing = (EventKind.FLAPPING, EventKind.ESCALATION, EventKind.ACKNOWLEDGED)
    return EventKind.FIRING.value if kind in on_wire_as_firing else kind.value


def webhook(receiver: HttpReceiver, path: str = "/h") -> dict[str, str]:
    return {"channel": "webhook", "url": receiver.url(path)}


# --- what the state machine can give -------------------------------------------------------


LADDER = (
    EscalationStep(timedelta(minutes=30), "oncall"),
    EscalationStep(timedelta(hours=2), "leads"),
)


def explored_events(walks: int = 600, steps: int = 30) -> set[tuple[EventKind, Reason, State]]:
    """(kind, reason, state) of every event ``decide`` gave on seeded random walks over every
    outcome, policies and silences: what an evaluation can put into a payload."""
    rng = random.Random(17)
    found: set[tuple[EventKind, Reason, State]] = set()
    for _ in range(walks):
        policy = Policy(
            fire_after=rng.choice([1, 2]),
            resolve_after=rng.choice([1, 2]),
            renotify_after=rng.choice([None, timedelta(minutes=30)]),
            notify_on_recovery=rng.choice([True, False]),
            notify_on_error=rng.choice([None, 1, 2]),
            flap=rng.choice([None, FlapPolicy(2, timedelta(minutes=60), timedelta(minutes=30))]),
            escalation=rng.choice([(), LADDER]),
        )
        state, now = initial_state("walk"), T0
        for _ in range(steps):
            now += timedelta(minutes=rng.choice([5, 40]))
            outcome = rng.choice(list(Outcome))
            error = "boom" if outcome is Outcome.ERROR else None
            decision = decide(
                state,
                Observation(outcome, actual_value=3, threshold=1, error=error),
                now=now,
                policy=policy,
                silenced=rng.random() < 0.2,
            )
            found.update((e.kind, e.reason, e.state) for e in decision.events)
            state = decision.state
    return found


EXPLORED = explored_events()
EVENT_PAIRS = {(wire(kind), reason.code) for kind, reason, _state in EXPLORED}


def test_the_exploration_reaches_every_kind_and_the_known_reasons() -> None:
    # an acknowledgement's event is made by acks.py when someone acknowledges, not by decide
    assert {kind for kind, _r, _s in EXPLORED} == set(EventKind) - {EventKind.ACKNOWLEDGED}
    assert {
        ("firing", "first_firing"),
        ("firing", "firing_after_silence"),
        ("reminder", "reminder_due"),
        ("resolved", "resolved"),
        ("resolved", "recovered_from_error"),
        ("error", "error_notified"),
        ("firing", "flapping_started"),
        ("firing", "flapping_after_silence"),
        ("firing", "settled_firing"),
        ("resolved", "settled_ok"),
        ("firing", "escalated"),
    } <= EVENT_PAIRS
    assert {code for _k, code in EVENT_PAIRS} <= set(PAYLOAD_REASON_CODES)


@pytest.mark.parametrize("key_columns", [(), ("region",)], ids=["unkeyed", "keyed"])
def test_every_event_decide_can_give_builds_a_valid_payload(key_columns: tuple[str, ...]) -> None:
    ladder = [{"after": step.after, "receiver": step.receiver} for step in LADDER]
    alert = make_alert("explored", [], key_columns=list(key_columns), tags=["t"], escalation=ladder)
    key_values = {c: f"v_{c}" for c in key_columns}
    for kind, reason, state in sorted(EXPLORED):
        event = Event(
            kind=kind,
            alert_name=alert.name,
            instance_key=json.dumps(key_values) if key_values else "",
            reason=reason,
            occurred_at=T0,
            state=state,
            actual_value={"nested": [1, 2.5, None]},
            threshold="10",
            context={"when": "2026-01-01"},
            key_values=key_values,
            firing_since=None if kind is EventKind.ERROR else T0 - timedelta(hours=1),
            error="boom" if kind is EventKind.ERROR else None,
            escalation_step=1 if kind is EventKind.ESCALATION else None,
        )
        payload = event_payload(event, alert, event_id="e1", run_id=None, evaluated_at=T0)
        body = check(json.loads(webhook_body(OutboundEvent(payload.to_json(), "e1:c"))))
        assert (body["kind"], body["reason"], body["reason_code"], body["state"]) == (
            wire(kind),
            reason.value,
            reason.code,
            state.value,
        )
        assert body["flapping"] is (kind is EventKind.FLAPPING)
        if kind is EventKind.ESCALATION:
            assert body["escalation"]["summary"] == (
                "Escalated (step 2 of 2): not acknowledged for 2h"
            )
        else:
            assert "escalation" not in body


# --- evaluations, stored and delivered ----------------------------------------------------


def test_every_payload_an_evaluation_enqueues_reaches_the_webhook_valid(
    receiver: HttpReceiver, store: StateStore
) -> None:
    plain = make_alert(
        "plain",
        [webhook(receiver)],
        renotify_after=timedelta(minutes=30),
        notify_on_error=2,
        severity="critical",
    )
    silence = Silence(
        match="plain", starts_at=T0 + timedelta(minutes=66), ends_at=T0 + timedelta(minutes=80)
    )
    script: list[tuple[int, Rows | str]] = [
        (0, result("ALERT", 12)),  # firing, first_firing
        (40, result("ALERT", 13)),  # reminder, reminder_due
        (45, result("OK", 1)),  # resolved, resolved
        (50, "connection refused"),  # below notify_on_error
        (55, "connection refused"),  # error, error_notified
        (60, result("ALERT", 14)),  # resolved (recovered_from_error), then firing
        (70, result("ALERT", 15)),  # silenced
        (85, result("ALERT", 16)),  # firing, firing_after_silence
        (90, result("OK", 2, note="fine")),  # resolved
    ]
    for minute, outcome in script:
        evaluate(plain, store, outcome, minute=minute, file_silences=[silence])

    tables = make_alert(
        "tables", [webhook(receiver)], key_columns=["table_name"], max_rows=10, notify_on_error=1
    )
    evaluate(tables, store, keyed(("orders", "ALERT", 5), ("users", "ALERT", 7)), minute=0)
    evaluate(tables, store, keyed(("orders", "ALERT", 5)), minute=5)  # users is gone: resolved
    evaluate(tables, store, "timeout", minute=10)  # one error for the whole alert
    evaluate(tables, store, keyed(("orders", "OK", 0)), minute=15)  # recovered, resolved

    flap = FlapPolicy(2, timedelta(minutes=30), timedelta(minutes=10))
    wobbly = make_alert("wobbly", [webhook(receiver)], flap_detection=flap)
    muted = Silence(
        match="wobbly", starts_at=T0 + timedelta(minutes=3), ends_at=T0 + timedelta(minutes=6)
    )
    flapping: list[tuple[int, Rows]] = [
        (0, result("ALERT", 12)),  # firing, first_firing
        (2, result("OK", 1)),  # the 2nd change: flapping (sent as firing), flapping_started
        (4, result("ALERT", 12)),  # silenced: announced again after the silence
        (7, result("ALERT", 12)),  # flapping, flapping_after_silence
        (20, result("ALERT", 12)),  # 16 minutes without a change: firing, settled_firing
        (22, result("OK", 1)),  # resolved, resolved
        (23, result("ALERT", 12)),  # flapping again
        (24, result("OK", 1)),  # held back
        (40, result("OK", 1)),  # resolved, settled_ok
    ]
    for minute, outcome in flapping:
        evaluate(wobbly, store, outcome, minute=minute, file_silences=[muted])

    laddered = make_alert(
        "laddered",
        [webhook(receiver)],
        escalation=[{"after": timedelta(minutes=15), "receiver": "oncall"}],
        escalation_receivers=[{"name": "oncall", "notify": [webhook(receiver, "/oncall")]}],
    )
    evaluate(laddered, store, result("ALERT", 12), minute=0)  # firing, first_firing
    evaluate(laddered, store, result("ALERT", 12), minute=20)  # to oncall: firing, escalated

    names = ("plain", "tables", "wobbly", "laddered")
    queued = sum(len(store.pending_outbox(name)) for name in names)
    backfill = evaluate_alert(
        plain,
        fetch=lambda: result("ALERT", 99),
        store=store,
        run_type=RunType.BACKFILL,
        run_id="backfill__1",
        clock=lambda: T0 + timedelta(minutes=95),
    )
    # backfill never notifies: it enqueues no payload
    assert backfill.events == () and backfill.instances[0].events == ()
    assert sum(len(store.pending_outbox(name)) for name in names) == queued

    for alert in (plain, tables, wobbly, laddered):
        assert deliver_pending(alert, store).complete
    received = bodies(receiver)

    assert len(received) == queued
    assert pairs(received) == EVENT_PAIRS  # every pair the state machine can give
    by_alert = {str(b["alert"]["name"]) for b in received}
    assert by_alert == {"plain", "tables", "wobbly", "laddered"}
    # the step went to its receiver's channel only
    (step,) = [r for r in receiver.requests if r.json()["reason_code"] == "escalated"]
    assert step.path == "/oncall"
    keyed_bodies = [b for b in received if b["instance"]["key_values"]]
    assert {b["instance"]["key_values"]["table_name"] for b in keyed_bodies} == {
        "orders",
        "users",
    }
    for body in received:
        assert body["links"]["task_log"].startswith("http://localhost:8080/dags/")
        assert body["test"] is False
        assert body["reason"] == Reason.from_code(str(body["reason_code"])).value


# --- samples and the config watch -------------------------------------------------------------


@pytest.mark.parametrize("key_columns", [(), ("region", "day")], ids=["unkeyed", "keyed"])
def test_notify_test_samples_of_every_kind_are_valid(
    receiver: HttpReceiver, key_columns: tuple[str, ...]
) -> None:
    alert = make_alert("sampled", [webhook(receiver)], key_columns=list(key_columns))
    for kind in EventKind:
        (sent,) = send_samples(alert, kind)
        assert sent.result.delivered, sent.result.error
    received = bodies(receiver)
    assert [b["kind"] for b in received] == [wire(k) for k in EventKind]
    for body in received:
        assert (body["reason_code"], body["reason"], body["test"]) == (*TEST_REASON, True)


def test_the_samples_templates_are_checked_on_are_valid() -> None:
    samples = _sample_payloads()
    assert [kind for kind, _p in samples] == [k.value for k in EventKind] + ["group"]
    for kind, payload in samples:
        body = check(json.loads(webhook_body(OutboundEvent(payload, "sample:c"))))
        assert body["alert"]["name"] == SAMPLE_ALERT.name
        if kind == "group":  # a grouped message: sent as its most urgent member's kind
            assert body["kind"] == "firing" and body["group"]["size"] == 4
            assert [m["kind"] for m in body["group"]["members"]] == [
                "firing",
                "reminder",
                "resolved",
                "firing",
            ]
            continue
        assert body["kind"] == wire(EventKind(kind))
        assert body["flapping"] is (kind == EventKind.FLAPPING.value)
        assert "group" not in body


def test_the_config_watch_event_reaches_the_webhook_valid(receiver: HttpReceiver) -> None:
    from sqlsentinel_airflow.operators.config_watch import ValidateAlertsConfigOperator

    operator = ValidateAlertsConfigOperator(
        task_id="validate_config",
        path_or_glob="/srv/alerts/*.yaml",
        baseline_variable="watch__baseline",
    )
    channel = WebhookChannel.model_validate(webhook(receiver, "/watch"))
    messages = ["alerts.yaml:3: schedule: 'every day' is not a cron expression", "second"]

    operator._notify([channel], messages, {"run_id": "manual__1"}, "digest-1")

    (body,) = bodies(receiver)
    code, text = CONFIG_ERROR_REASON
    assert (body["kind"], body["state"], body["reason_code"], body["reason"]) == (
        "error",
        "ERROR",
        code,
        text,
    )
    assert body["error"] == "\n".join(messages) and body["run_id"] == "manual__1"
    assert body["idempotency_key"] == f"{operator.dag_id}:digest-1"
    assert body["links"]["task_log"].endswith("/runs/manual__1/tasks/validate_config")


def test_the_config_watch_builder_without_a_run_is_valid(receiver: HttpReceiver) -> None:
    payload = config_error_payload(
        event_id="e",
        source="alerts.yaml",
        messages=["bad"],
        dag_id="watch",
        owner="airflow",
        run_id=None,
        occurred_at=T0,
    )
    sender = build_channel(WebhookChannel.model_validate(webhook(receiver)))
    assert sender.send(OutboundEvent(payload.to_json(), "watch:d")).delivered
    (body,) = bodies(receiver)
    assert body["links"] == {"task_log": None, "alert": None, "silence": None, "dashboard": None}
    assert body["firing_since"] is None


# --- the checker itself can fail ------------------------------------------------------------


def _valid_body() -> dict[str, Any]:
    alert: AlertConfig = make_alert("x", [])
    payload = config_error_payload(
        event_id="e",
        source="a.yaml",
        messages=["m"],
        dag_id=alert.dag_id,
        owner="o",
        run_id=None,
        occurred_at=T0,
    )
    return check(json.loads(webhook_body(OutboundEvent(payload.to_json(), "k"))))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("occurred_at", "2026-03-01 08:00:00", "is not a 'date-time'"),
        ("state", "error", "'error' is not one of"),
        ("kind", "ERROR", "'ERROR' is not one of"),
        ("reason_code", "invalid alerts configuration", "is not one of"),
        ("links", None, "None is not of type 'object'"),
    ],
)
def test_a_body_that_breaks_the_contract_is_refused(
    field: str, value: object, message: str
) -> None:
    body = {**_valid_body(), field: value}
    with pytest.raises(jsonschema.ValidationError, match=re.escape(message)):
        check(body)


def test_a_body_without_links_is_refused_as_the_config_watch_used_to_send_it() -> None:
    body = _valid_body()
    del body["links"]
    with pytest.raises(jsonschema.ValidationError, match="'links' is a required property"):
        check(body)
