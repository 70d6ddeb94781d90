"""The backtest engine on hand-made ticks: the real state machine decides, the incident fold
delimits, and the counts add up as docs/backtests.md says."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.backtest.engine import Backtest, Tick
from sqlsentinel_airflow.backtest.result import Source
from sqlsentinel_airflow.core.config.loader import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.model import InstanceResult, Outcome, Policy, QueryEvaluation, Silence

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
ALERTS = """\
alerts:
  - name: revenue
    conn_id: wh
    schedule: "*/10 * * * *"
    query: SELECT 'OK' AS status
    renotify_after: 30m
    notify:
      - channel: email
        to: [oncall@example.com]
      - channel: webhook
        url: https://hooks.example.com/alerts
  - name: late_tables
    conn_id: wh
    schedule: "*/10 * * * *"
    key_columns: [table_name]
    query: SELECT 'a' AS table_name, 'OK' AS status
"""


def _alert(name: str) -> AlertConfig:
    result = load_config_text(ALERTS, "alerts.yaml", env={})
    assert result.config is not None, result.errors
    return result.config.alert(name)


def _value(v: float | None) -> QueryEvaluation:
    if v is None:
        return QueryEvaluation(error="relation orders does not exist")
    status = Outcome.ALERT if v < 10 else Outcome.OK
    return QueryEvaluation(instances=(InstanceResult("", {}, status, v, 10),), row_count=1)


def _run(
    alert: AlertConfig, values: list[float | None], *policies: Policy, **kw: object
) -> Backtest:
    runs = [("current", alert.policy)] + [("proposed", p) for p in policies]
    engine = Backtest(
        alert,
        runs,
        source=Source.REPLAY,
        start=T0,
        end=T0 + timedelta(minutes=10 * len(values)),
        **kw,  # type: ignore[arg-type]
    )
    for i, v in enumerate(values):
        engine.feed(Tick(T0 + timedelta(minutes=10 * i), _value(v)))
    return engine


def test_a_blip_fires_once_and_fire_after_2_removes_it() -> None:
    alert = _alert("revenue")
    values: list[float | None] = [20, 20, 5, 20, 20, 5, 5, 5, 5, 20, 20]
    result = _run(alert, values, dataclasses.replace(alert.policy, fire_after=2)).result()
    current, proposed = result.runs
    assert (current.counts.incidents, proposed.counts.incidents) == (2, 1)
    blip, long = current.incidents
    assert (blip.started_at, blip.ended_at) == (
        T0 + timedelta(minutes=20),
        T0 + timedelta(minutes=30),
    )
    assert (long.evaluations, long.duration_seconds) == (4, 2400.0)
    # 40 minutes of firing with reminders every 30m: firing, reminder, resolved
    assert long.notifications == {"firing": 1, "reminder": 1, "resolved": 1}
    assert current.counts.events == {"firing": 2, "resolved": 2, "reminder": 1}
    (kept,) = proposed.incidents
    assert kept.started_at == T0 + timedelta(minutes=60)  # the second ALERT in a row
    assert proposed.counts.firing_seconds == 1800.0
    assert proposed.policy.changed == ("fire_after",)
    # every event goes to each of the two channels
    assert [sum(kinds.values()) for kinds in current.counts.notifications.values()] == [5, 5]
    assert current.counts.messages == 10
    # the blip ended 30 minutes before the next incident began: a flap in the 1h window
    assert (current.counts.flaps, proposed.counts.flaps) == (1, 0)


def test_values_are_kept_once_for_every_policy() -> None:
    alert = _alert("revenue")
    result = _run(alert, [20, 5, None, 7], dataclasses.replace(alert.policy, fire_after=3)).result()
    (series,) = result.series
    assert list(series.values)[:2] == [20.0, 5.0]
    assert list(series.values)[3] == 7.0
    assert len(series) == 4 and result.evaluations == 4


def test_a_query_error_is_an_error_incident_inside_the_firing_one() -> None:
    alert = _alert("revenue")
    values: list[float | None] = [5, None, None, None, 5, 20]
    current = _run(alert, values).result().current
    kinds = [(i.kind, i.evaluations) for i in current.incidents]
    assert kinds == [("firing", 5), ("error", 3)]
    error = current.incidents[1]
    assert error.error == "relation orders does not exist"
    assert error.notifications == {"error": 1, "resolved": 1}  # notify_on_error: after 3
    assert current.counts.error_incidents == 1


def test_an_active_silence_mutes_events_but_not_incidents() -> None:
    alert = _alert("revenue")
    silence = Silence(
        match="rev*",
        starts_at=T0,
        ends_at=T0 + timedelta(minutes=25),
        reason="maintenance",
    )
    current = _run(alert, [5, 5, 5, 20], silences=[silence]).result().current
    (incident,) = current.incidents
    # muted at 0 and 10 and 20; at 30 the silence is over, but the instance resolves then
    assert incident.silenced == 3
    assert current.counts.events == {}
    unsilenced = _run(alert, [5, 5, 5, 20]).result().current
    assert unsilenced.counts.events == {"firing": 1, "resolved": 1}


def test_a_mute_window_of_the_alert_mutes_the_backtest_like_a_silence() -> None:
    # T0 is a Monday 00:00 UTC; the window mutes 00:00-00:25 every day
    result = load_config_text(
        ALERTS
        + "mute_windows:\n  - name: midnight\n    match: {alert: revenue}\n"
        + "    intervals: [{times: [{start_time: '00:00', end_time: '00:25'}]}]\n",
        "alerts.yaml",
        env={},
    )
    assert result.config is not None, result.errors
    alert = result.config.alert("revenue")
    current = _run(alert, [5, 5, 5, 5, 20]).result().current
    (incident,) = current.incidents
    assert incident.silenced == 3  # muted at 0, 10 and 20
    # still firing at 30, after the window: one firing, then its resolved
    assert current.counts.events == {"firing": 1, "resolved": 1}
    assert _run(alert, [5, 5, 5, 20]).result().current.counts.events == {}


def test_keyed_alert_timelines_are_per_instance_and_a_missing_one_resolves() -> None:
    alert = _alert("late_tables")

    def rows(*late: str) -> QueryEvaluation:
        return QueryEvaluation(
            instances=tuple(
                InstanceResult(f'{{"table_name":"{t}"}}', {"table_name": t}, Outcome.ALERT, 30, 24)
                for t in late
            ),
            row_count=len(late),
        )

    engine = Backtest(
        alert,
        [("current", alert.policy), ("proposed", Policy(fire_after=1, resolve_after=3))],
        source=Source.AS_OF,
        start=T0,
        end=T0 + timedelta(hours=1),
    )
    for i, ev in enumerate([rows("orders"), rows("orders", "customers"), rows(), rows(), rows()]):
        engine.feed(Tick(T0 + timedelta(minutes=10 * i), ev))
    result = engine.result()
    current, proposed = result.runs
    assert [(i.key_values, i.evaluations) for i in current.incidents] == [
        ({"table_name": "orders"}, 2),
        ({"table_name": "customers"}, 1),
    ]
    # resolve_after 3: each instance needs three MISSING evaluations to resolve
    assert [(i.instance_key, i.ended_at) for i in proposed.incidents] == [
        ('{"table_name":"orders"}', T0 + timedelta(minutes=40)),
        ('{"table_name":"customers"}', T0 + timedelta(minutes=40)),
    ]
    assert [s.key_values for s in result.series] == [
        {"table_name": "customers"},
        {"table_name": "orders"},
    ]


def test_ticks_must_come_in_order() -> None:
    alert = _alert("revenue")
    engine = Backtest(alert, [("current", alert.policy)], source=Source.REPLAY, start=T0, end=T0)
    engine.feed(Tick(T0 + timedelta(minutes=10), _value(20)))
    with pytest.raises(ValueError, match="ticks out of order"):
        engine.feed(Tick(T0, _value(20)))
