"""Escalation ladders through the real loader, engine and state DB, on SQLite, PostgreSQL and
MariaDB (docs/responding.md, "Escalation").

An escalation step goes to the channels of its step's receiver only, one outbox row per
channel, once per step and incident; an acknowledgement (``acks.acknowledge``) or a resolve
cancels the steps not yet sent; each step sent is an ``escalated`` incident action written
with the evaluation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlsentinel_airflow import acks
from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.events import alert_channels
from sqlsentinel_airflow.core.model import EventKind, RunType
from sqlsentinel_airflow.evaluation import EvaluationReport, evaluate_alert
from sqlsentinel_airflow.store import StateStore

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)

ALERTS = """\
receivers:
  - name: team
    notify:
      - {channel: webhook, conn_id: team_hook}
  - name: oncall
    notify:
      - {channel: webhook, conn_id: pager, endpoint: /oncall}
      - {channel: email, to: [oncall@example.com]}
  - name: leads
    notify:
      - {channel: email, to: [leads@example.com]}
routes:
  receiver: team
alerts:
  - name: late_tables
    conn_id: warehouse
    schedule: "*/5 * * * *"
    key_columns: [table_name]
    renotify_after: 30m
    notify:
      - {channel: webhook, url: "http://127.0.0.1:9/own"}
    escalation:
      - {after: 15m, receiver: oncall}
      - {after: 1h, receiver: leads}
    query: SELECT 1
"""
ORDERS = '{"table_name":"orders"}'
USERS = '{"table_name":"users"}'


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def _alert() -> AlertConfig:
    loaded = load_config_text(ALERTS, "alerts.yaml")
    assert loaded.ok, [e.format() for e in loaded.errors]
    assert loaded.config is not None
    return loaded.config.alert("late_tables")


def _evaluate(
    store: StateStore, alert: AlertConfig, minute: int, firing: set[str]
) -> EvaluationReport:
    rows = [["ALERT" if t in firing else "OK", t, 20 if t in firing else 0, 10] for t in firing]
    rows += [["OK", t, 0, 10] for t in ("orders", "users") if t not in firing]
    return evaluate_alert(
        alert,
        fetch=lambda: _Rows(["status", "table_name", "actual_value", "threshold"], rows),
        store=store,
        run_type=RunType.SCHEDULED,
        clock=lambda: T0 + timedelta(minutes=minute),
    )


def _new_rows(store: StateStore, alert: AlertConfig, minute: int, firing: set[str]) -> list[Any]:
    before = {e.id for e in store.outbox()}
    _evaluate(store, alert, minute, firing)
    return [e for e in store.outbox() if e.id not in before]


def _receiver_of(alert: AlertConfig) -> dict[str, str]:
    """channel id -> the receiver it belongs to ("own" for the alert's ``notify:``)."""
    return {cid: cid.split("/", 1)[0] if "/" in cid else "own" for cid, _ in alert_channels(alert)}


def test_each_step_reaches_only_its_receiver_once_per_incident(store: StateStore) -> None:
    alert = _alert()
    receiver = _receiver_of(alert)
    first = _new_rows(store, alert, 0, {"orders"})
    # the firing goes to the alert's own channel and the routed receiver, never the ladder's
    assert sorted((e.kind.value, receiver[e.channel_id]) for e in first) == [
        ("firing", "own"),
        ("firing", "team"),
    ]
    assert _new_rows(store, alert, 10, {"orders"}) == []
    step1 = _new_rows(store, alert, 15, {"orders"})
    assert sorted((e.kind.value, receiver[e.channel_id], e.channel_kind) for e in step1) == [
        ("escalation", "oncall", "email"),
        ("escalation", "oncall", "webhook"),
    ]
    payload = step1[0].payload
    assert payload["kind"] == "firing" and payload["reason_code"] == "escalated"
    assert payload["escalation"] == {
        "step": 1,
        "steps": 2,
        "after_seconds": 900.0,
        "receiver": "oncall",
        "summary": "Escalated (step 1 of 2): not acknowledged for 15m",
    }
    assert all(e.group_key is None and not e.members for e in step1)
    # later runs before the second step: reminders to the alert's channels only, no step again
    later = _new_rows(store, alert, 30, {"orders"}) + _new_rows(store, alert, 45, {"orders"})
    assert Counter((e.kind.value, receiver[e.channel_id]) for e in later) == {
        ("reminder", "own"): 1,
        ("reminder", "team"): 1,
    }
    step2 = _new_rows(store, alert, 60, {"orders"})
    assert sorted((e.kind.value, receiver[e.channel_id]) for e in step2) == [
        ("escalation", "leads"),
        ("reminder", "own"),
        ("reminder", "team"),
    ]
    assert [e.payload["escalation"]["step"] for e in step2 if e.kind is EventKind.ESCALATION] == [2]
    # the ladder is done: nothing more climbs it however long it fires
    rest = [e for m in (65, 90, 120, 180) for e in _new_rows(store, alert, m, {"orders"})]
    assert not [e for e in rest if e.kind is EventKind.ESCALATION]
    (state,) = [s for s in store.list_states(alert_names=[alert.name]) if s.instance_key == ORDERS]
    assert state.escalation_steps == 2
    actions = store.incident_actions(alert.name, instance_key=ORDERS)
    assert [(a.action, a.actor, a.source, a.detail, a.at, a.firing_since) for a in actions] == [
        (
            "escalated",
            "sentinel",
            "sentinel",
            {"step": 2, "steps": 2, "receiver": "leads", "after_seconds": 3600},
            T0 + timedelta(minutes=60),
            T0,
        ),
        (
            "escalated",
            "sentinel",
            "sentinel",
            {"step": 1, "steps": 2, "receiver": "oncall", "after_seconds": 900},
            T0 + timedelta(minutes=15),
            T0,
        ),
    ]


def test_an_acknowledgement_stops_the_ladder_and_a_resolve_restarts_it(
    store: StateStore,
) -> None:
    alert = _alert()
    _new_rows(store, alert, 0, {"orders", "users"})
    acks.acknowledge(store, alert, ORDERS, by="ana", source="cli", now=T0 + timedelta(minutes=5))
    step1 = _new_rows(store, alert, 15, {"orders", "users"})
    # only the instance nobody acknowledged escalates
    assert {(e.kind, e.instance_key) for e in step1} == {(EventKind.ESCALATION, USERS)}
    assert len(step1) == 2  # the two channels of oncall
    # acknowledged late (after step 1): step 2 never goes out, nor a reminder
    acks.acknowledge(store, alert, USERS, by="bo", source="ui", now=T0 + timedelta(minutes=20))
    quiet = [e for m in (30, 60, 90) for e in _new_rows(store, alert, m, {"orders", "users"})]
    assert quiet == []
    # users resolves and fires again: a new incident climbs the ladder from the first step
    assert {e.kind for e in _new_rows(store, alert, 95, {"orders"})} == {EventKind.RESOLVED}
    assert {e.kind for e in _new_rows(store, alert, 100, {"orders", "users"})} == {EventKind.FIRING}
    again = _new_rows(store, alert, 115, {"orders", "users"})
    assert {(e.kind, e.instance_key) for e in again} == {(EventKind.ESCALATION, USERS)}
    assert {e.payload["escalation"]["step"] for e in again} == {1}
    escalated = [
        (a.instance_key, a.detail["step"], a.firing_since)
        for a in store.incident_actions(alert.name)
        if a.action == "escalated"
    ]
    assert sorted(escalated) == [
        (USERS, 1, T0),
        (USERS, 1, T0 + timedelta(minutes=100)),
    ]


def test_a_resolved_incident_sends_no_step(store: StateStore) -> None:
    alert = _alert()
    _new_rows(store, alert, 0, {"orders"})
    assert {e.kind for e in _new_rows(store, alert, 10, set())} == {EventKind.RESOLVED}
    assert _new_rows(store, alert, 15, set()) == []
    assert _new_rows(store, alert, 60, set()) == []
    assert store.incident_actions(alert.name) == []


def test_a_dry_run_previews_the_step_and_writes_nothing(store: StateStore) -> None:
    alert = _alert()
    _new_rows(store, alert, 0, {"orders"})
    rows = [["ALERT", "orders", 20, 10]]
    report = evaluate_alert(
        alert,
        fetch=lambda: _Rows(["status", "table_name", "actual_value", "threshold"], rows),
        store=store,
        run_type=RunType.MANUAL,
        dry_run=True,
        clock=lambda: T0 + timedelta(minutes=20),
    )
    receiver = _receiver_of(alert)
    assert sorted(receiver[cid] for cid, _payload in report.would_send) == ["oncall", "oncall"]
    assert [e["kind"] for e in report.events] == ["escalation"]
    assert report.events[0]["channels"] == ["webhook", "email"]
    assert store.incident_actions(alert.name) == []
    assert {e.kind for e in store.outbox()} == {EventKind.FIRING}


def test_the_receivers_a_step_reached_hear_the_end_and_the_acknowledgement(
    store: StateStore,
) -> None:
    """oncall got step 1, so its channels get the incident's resolved (a PagerDuty incident
    it opened must be closed); leads got no step, so it hears nothing. A PagerDuty channel
    of a receiver is told of an acknowledgement only once a step reached it."""
    text = ALERTS.replace(
        "      - {channel: email, to: [oncall@example.com]}",
        "      - {channel: email, to: [oncall@example.com]}\n"
        "      - {channel: pagerduty, conn_id: oncall_pd}",
    ).replace(
        "      - {channel: email, to: [leads@example.com]}",
        "      - {channel: email, to: [leads@example.com]}\n"
        "      - {channel: pagerduty, conn_id: leads_pd}",
    )
    loaded = load_config_text(text, "alerts.yaml")
    assert loaded.ok and loaded.config is not None, [e.format() for e in loaded.errors]
    alert = loaded.config.alert("late_tables")
    receiver = _receiver_of(alert)
    _new_rows(store, alert, 0, {"orders", "users"})
    # users is acknowledged before any step: no PagerDuty of the ladder hears of it
    acks.acknowledge(store, alert, USERS, by="ana", source="ui", now=T0 + timedelta(minutes=5))
    assert not [e for e in store.outbox() if e.kind is EventKind.ACKNOWLEDGED]
    step1 = _new_rows(store, alert, 15, {"orders", "users"})
    assert sorted((receiver[e.channel_id], e.channel_kind) for e in step1) == [
        ("oncall", "email"),
        ("oncall", "pagerduty"),
        ("oncall", "webhook"),
    ]
    # orders, acknowledged after step 1: oncall's PagerDuty is told, leads' is not
    acks.acknowledge(store, alert, ORDERS, by="bo", source="cli", now=T0 + timedelta(minutes=20))
    told = [e for e in store.outbox() if e.kind is EventKind.ACKNOWLEDGED]
    assert [(receiver[e.channel_id], e.instance_key) for e in told] == [("oncall", ORDERS)]
    # both resolve: orders' resolved reaches oncall too (each channel once), users' does not
    ended = _new_rows(store, alert, 30, set())
    assert Counter((e.instance_key, receiver[e.channel_id]) for e in ended) == {
        (ORDERS, "own"): 1,
        (ORDERS, "team"): 1,
        (ORDERS, "oncall"): 3,
        (USERS, "own"): 1,
        (USERS, "team"): 1,
    }
    assert {e.kind for e in ended} == {EventKind.RESOLVED}
