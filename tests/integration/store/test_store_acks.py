"""Acknowledgements through the real engine and state DB, on SQLite, PostgreSQL and MariaDB.

``acks.acknowledge`` writes the acknowledgement on the state row and the incident's
actions in the alert's transaction; the evaluations after it send no reminders; resolving
ends it; used action links are refused by the database's primary key (schema 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow import acks, readmodel
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.model import EventKind, RunType, State
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.tables import incident_actions, state

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)

ALERTS = """\
alerts:
  - name: late_tables
    conn_id: warehouse
    schedule: "*/5 * * * *"
    key_columns: [table_name]
    renotify_after: 30m
    notify:
      - channel: webhook
        url: http://127.0.0.1:9/hook
    query: SELECT 1
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def _alert(tmp_path: Path) -> AlertConfig:
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS)
    config = load_config(str(path)).config
    assert config is not None
    return config.alert("late_tables")


def _evaluate(
    store: StateStore, alert: AlertConfig, minute: int, firing: dict[str, int]
) -> list[str]:
    """One evaluation at T0 + minute where the tables in ``firing`` are late by their value;
    returns the kinds of the outbox rows it enqueued."""
    before = {e.id for e in store.outbox()}
    rows = [
        ["ALERT" if t in firing else "OK", t, firing.get(t, 0), 10] for t in ("orders", "users")
    ]
    evaluate_alert(
        alert,
        fetch=lambda: _Rows(["status", "table_name", "actual_value", "threshold"], rows),
        store=store,
        run_type=RunType.SCHEDULED,
        clock=lambda: T0 + timedelta(minutes=minute),
    )
    return sorted(e.kind.value for e in store.outbox() if e.id not in before)


def test_an_acknowledged_instance_stops_reminding_until_it_resolves(
    store: StateStore, tmp_path: Path
) -> None:
    alert = _alert(tmp_path)
    assert _evaluate(store, alert, 0, {"orders": 20, "users": 30}) == ["firing", "firing"]
    key = '{"table_name":"orders"}'
    (result,) = acks.acknowledge(
        store, alert, key, by="ana", source="ui", comment="on it", now=T0 + timedelta(minutes=1)
    )
    assert result.changed and result.state.acked_by == "ana"
    # the state row holds it, read back with every field
    (orders,) = [s for s in store.list_states(alert_names=[alert.name]) if s.instance_key == key]
    assert (orders.acked_at, orders.acked_by, orders.ack_comment, orders.ack_source) == (
        T0 + timedelta(minutes=1),
        "ana",
        "on it",
        "ui",
    )
    assert orders.ack_value == 20
    # acknowledging again changes nothing and writes no second action
    (again,) = acks.acknowledge(store, alert, key, by="bo", source="cli")
    assert not again.changed and again.state.acked_by == "ana"
    # 30 minutes later: only the other instance reminds
    assert _evaluate(store, alert, 30, {"orders": 20, "users": 30}) == ["reminder"]
    reminded = [e for e in store.outbox() if e.kind is EventKind.REMINDER]
    assert [e.instance_key for e in reminded] == ['{"table_name":"users"}']
    assert _evaluate(store, alert, 60, {"orders": 25, "users": 30}) == ["reminder"]
    # it resolves: the resolved still goes out, and the acknowledgement is gone
    assert _evaluate(store, alert, 65, {"users": 30}) == ["resolved"]
    remaining = {s.instance_key: s for s in store.list_states(alert_names=[alert.name])}
    assert key not in remaining or remaining[key].acked_at is None
    actions = store.incident_actions(alert.name)
    assert [(a.action, a.actor, a.source, a.comment, a.firing_since) for a in actions] == [
        ("acknowledged", "ana", "ui", "on it", T0)
    ]
    # the incident shows who acknowledged it; the other instance's incident does not
    views, _next = readmodel.incident_views(store, alert.name)
    by_label = {v.key_values["table_name"]: v for v in views}
    assert [(a.action, a.actor) for a in by_label["orders"].actions] == [("acknowledged", "ana")]
    assert by_label["users"].actions == ()


def test_unacknowledge_brings_the_reminders_back(store: StateStore, tmp_path: Path) -> None:
    alert = _alert(tmp_path)
    _evaluate(store, alert, 0, {"orders": 20})
    acks.acknowledge(store, alert, None, by="ana", source="cli", now=T0 + timedelta(minutes=1))
    assert _evaluate(store, alert, 30, {"orders": 20}) == []
    (result,) = acks.unacknowledge(
        store, alert, None, by="bo", source="ui", now=T0 + timedelta(minutes=31)
    )
    assert result.changed and not result.state.acknowledged
    assert _evaluate(store, alert, 35, {"orders": 20}) == ["reminder"]
    actions = store.incident_actions(alert.name, instance_key='{"table_name":"orders"}')
    assert [(a.action, a.actor, a.detail) for a in actions] == [
        ("unacknowledged", "bo", {"was_acked_by": "ana"}),
        ("acknowledged", "ana", {}),
    ]


def test_nothing_firing_is_refused_and_writes_nothing(store: StateStore, tmp_path: Path) -> None:
    alert = _alert(tmp_path)
    _evaluate(store, alert, 0, {"orders": 20})
    with pytest.raises(
        acks.NotFiringError, match="instance table_name=users of alert 'late_tables' is not firing"
    ):
        acks.acknowledge(store, alert, '{"table_name":"users"}', by="ana", source="ui")
    _evaluate(store, alert, 5, {})
    with pytest.raises(acks.NotFiringError, match="no firing instance"):
        acks.acknowledge(store, alert, None, by="ana", source="ui")
    with pytest.raises(ValueError, match="source must be one of"):
        acks.acknowledge(store, alert, None, by="ana", source="pager")
    with store.engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(incident_actions)) == 0
        acked = conn.scalar(
            sa.select(sa.func.count()).select_from(state).where(state.c.acked_at.is_not(None))
        )
        assert acked == 0


def test_an_action_link_is_used_once(store: StateStore) -> None:
    first = store.use_action_token(
        "t" * 43, action="ack", alert_name="a", instance_key="", used_by="ana", now=T0
    )
    again = store.use_action_token(
        "t" * 43, action="ack", alert_name="a", instance_key="", used_by="eve", now=T0
    )
    other = store.use_action_token(
        "u" * 43, action="ack", alert_name="a", instance_key="", used_by="ana", now=T0
    )
    assert (first, again, other) == (True, False, True)


def test_purge_removes_old_incident_actions(store: StateStore, tmp_path: Path) -> None:
    alert = _alert(tmp_path)
    _evaluate(store, alert, 0, {"orders": 20})
    acks.acknowledge(store, alert, None, by="ana", source="cli", now=T0)
    counts = store.purge(T0 + timedelta(days=1))
    assert counts["incident_actions"] == 1
    assert store.incident_actions(alert.name) == []
    assert State.FIRING in {s.state for s in store.list_states(alert_names=[alert.name])}
