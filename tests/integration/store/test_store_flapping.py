"""Flap detection through the real engine and state DB, on SQLite, PostgreSQL and MariaDB.

A value that oscillates around the threshold every run for an hour enqueues one
``flapping`` outbox row (not 60), history records every evaluation as FLAPPING, the state
row keeps the flap across evaluations (schema 9), and once the value settles one more row
says how (docs/notifications.md, "Flap detection").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.model import EventKind, Reason, RunType, State
from sqlsentinel_airflow.core.state_machine import check_event_sequence
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)

ALERTS = """\
alerts:
  - name: wobbly
    conn_id: warehouse
    schedule: "* * * * *"
    flap_detection: {changes: 4, window: 30m, stable_for: 15m}
    notify:
      - channel: webhook
        url: http://127.0.0.1:9/hook
      - channel: slack
        webhook_url: http://127.0.0.1:9/slack
    query: SELECT 'OK' AS status
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def test_an_hour_of_oscillation_is_one_flapping_row_per_channel_then_one_settled(
    store: StateStore, tmp_path: Path
) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS)
    config = load_config(str(path)).config
    assert config is not None
    alert = config.alert("wobbly")

    def evaluate(minute: int, status: str) -> None:
        value = 11 if status == "ALERT" else 9  # around the threshold, 10
        evaluate_alert(
            alert,
            fetch=lambda: _Rows(["status", "actual_value", "threshold"], [[status, value, 10]]),
            store=store,
            run_type=RunType.SCHEDULED,
            run_id=f"run_{minute}",
            clock=lambda: T0 + timedelta(minutes=minute),
        )

    for minute in range(60):  # ALERT, OK, ALERT, ... every minute for an hour
        evaluate(minute, "ALERT" if minute % 2 == 0 else "OK")

    def events() -> list[tuple[str, str]]:
        rows = sorted(store.outbox(alert_name="wobbly", limit=1000), key=lambda r: r.id)
        per_event: dict[str, list[str]] = {}
        for row in rows:
            per_event.setdefault(row.event_id, []).append(row.channel_kind)
        assert all(sorted(c) == ["slack", "webhook"] for c in per_event.values())
        return [
            (row.kind.value, row.payload["reason_code"])
            for row in rows
            if row.channel_kind == "webhook"
        ]

    # three changes are told as they happen; the fourth (minute 3) flaps: one row per channel
    assert events() == [
        ("firing", "first_firing"),
        ("resolved", "resolved"),
        ("firing", "first_firing"),
        ("flapping", "flapping_started"),
    ]
    flapping = [r for r in store.outbox(alert_name="wobbly") if r.kind is EventKind.FLAPPING]
    assert {r.payload["kind"] for r in flapping} == {"firing"}  # payload version 1's kinds
    assert all(r.payload["flapping"] is True for r in flapping)

    (stored,) = store.list_states("wobbly")
    assert stored.flapping_since == T0 + timedelta(minutes=3)
    assert stored.flap_changes == (T0 + timedelta(minutes=59),) and stored.flap_notified
    assert stored.state is State.OK and stored.shown_state is State.FLAPPING

    recorded = store.history(alert_name="wobbly", limit=100)
    assert len(recorded) == 60  # every evaluation is in the history
    assert {h.state for h in recorded[:57]} == {State.FLAPPING}
    assert {h.reason for h in recorded[:56]} == {Reason.FLAPPING}

    summary = readmodel.alert_summary(
        readmodel.AlertFacts.of_config(alert),
        states=store.list_states("wobbly"),
        silences=[],
        outbox_counts={},
        now=T0 + timedelta(minutes=60),
    )
    assert (summary.status, summary.state) == (readmodel.AlertStatus.FLAPPING,) * 2
    assert summary.since == T0 + timedelta(minutes=3)
    assert summary.instances[0].flapping_since == T0 + timedelta(minutes=3)
    view = readmodel.evaluation_view(recorded[0])
    assert view.to_json()["state"] == "flapping" and view.reason_code == "flapping"

    # it stays ALERT: 15 minutes after the last change (minute 60) it has settled, firing
    for minute in range(60, 80):
        evaluate(minute, "ALERT")
    assert events()[4:] == [("firing", "settled_firing")]
    check_event_sequence([EventKind(kind) for kind, _reason in events()])
    (stored,) = store.list_states("wobbly")
    assert stored.flapping_since is None and stored.flap_changes == ()
    assert stored.shown_state is State.FIRING and stored.firing_notified
    (settled,) = [h for h in store.history("wobbly", 20) if h.reason is Reason.SETTLED_FIRING]
    assert (settled.state, settled.evaluated_at) == (State.FIRING, T0 + timedelta(minutes=75))

    # the whole flap is one incident, its notifications counted there
    (incident, *older) = readmodel.incident_views(store, "wobbly")[0]
    assert incident.to_json()["ongoing"] is True
    assert incident.to_json()["notifications"] == {"flapping": 1, "firing": 2}
    assert [i.to_json()["ongoing"] for i in older] == [False]
