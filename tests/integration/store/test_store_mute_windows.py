"""Mute windows through the real evaluation path and a state DB (SQLite): what is held, what
goes out when a window ends, and the two end-of-window choices (docs/notifications.md,
"Mute windows")."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import AlertsConfig
from sqlsentinel_airflow.core.model import RunType, State
from sqlsentinel_airflow.evaluation import EvaluationReport, evaluate_alert
from sqlsentinel_airflow.store import StateStore

MIDNIGHT = datetime(2026, 6, 2, 0, 0, tzinfo=timezone.utc)  # a Tuesday

ALERTS = """\
database: {url: "sqlite://"}
defaults:
  schedule: "@hourly"
  notify: [{channel: webhook, url: "http://127.0.0.1:9/hook"}]
alerts:
  - {name: loads, query: SELECT 1}
  - {name: loads_quiet_end, query: SELECT 1}
  - {name: loads_resolved_told, query: SELECT 1}
mute_windows:
  - name: nightly
    match: {alert: loads}
    intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]
  - name: nightly-quiet
    match: {alert: loads_quiet_end}
    notify_firing_at_end: false
    intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]
  - name: nightly-told
    match: {alert: loads_resolved_told}
    notify_resolved_inside: true
    intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = StateStore.connect(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture(scope="module")
def config() -> AlertsConfig:
    result = load_config_text(ALERTS)
    assert result.ok, [e.format() for e in result.errors]
    assert result.config is not None
    return result.config


class Runner:
    def __init__(self, store: StateStore, config: AlertsConfig, name: str) -> None:
        self.store, self.alert = store, config.alert(name)

    def at(self, hours: float, status: str) -> EvaluationReport:
        return evaluate_alert(
            self.alert,
            fetch=lambda: _Rows(["status"], [[status]]),
            store=self.store,
            run_type=RunType.SCHEDULED,
            run_id=f"run_{hours}",
            clock=lambda: MIDNIGHT + timedelta(hours=hours),
        )

    def sent(self) -> list[tuple[str, str]]:
        rows = sorted(self.store.outbox(alert_name=self.alert.name, limit=100), key=lambda r: r.id)
        return [(r.kind.value, r.payload["reason_code"]) for r in rows]


def test_firing_inside_sends_nothing_and_still_firing_at_the_end_sends_one(
    store: StateStore, config: AlertsConfig
) -> None:
    run = Runner(store, config, "loads")
    report = run.at(1, "ALERT")
    assert report.state is State.FIRING and report.silenced
    assert report.muted_by == ("nightly",) and report.instances[0].muted_by == ("nightly",)
    assert report.to_dict()["muted_by"] == ["nightly"]
    run.at(3, "ALERT")
    assert run.sent() == []
    history = store.history(alert_name="loads", limit=10)
    assert {h.reason for h in history} == {"silenced"}  # evaluation and history go on
    after = run.at(6, "ALERT")  # the window ends at 06:00 (exclusive)
    assert after.muted_by == () and not after.silenced
    assert run.sent() == [("firing", "firing_after_silence")]
    run.at(7, "ALERT")
    run.at(8, "OK")
    assert run.sent() == [("firing", "firing_after_silence"), ("resolved", "resolved")]


def test_an_incident_that_resolves_inside_sends_nothing(
    store: StateStore, config: AlertsConfig
) -> None:
    run = Runner(store, config, "loads")
    run.at(1, "ALERT")
    run.at(3, "OK")
    run.at(6, "OK")
    run.at(7, "OK")
    assert run.sent() == []


def test_notify_firing_at_end_false_keeps_the_incident_muted_until_it_resolves(
    store: StateStore, config: AlertsConfig
) -> None:
    run = Runner(store, config, "loads_quiet_end")
    run.at(1, "ALERT")
    assert run.at(6, "ALERT").instances[0].muted_by == ("nightly-quiet",)
    run.at(7, "ALERT")
    run.at(8, "OK")
    assert run.sent() == []
    run.at(9, "ALERT")  # a new incident, after the window: announced
    assert run.sent() == [("firing", "first_firing")]


def test_notify_resolved_inside_sends_the_resolved_of_an_incident_announced_before(
    store: StateStore, config: AlertsConfig
) -> None:
    told, default = (Runner(store, config, n) for n in ("loads_resolved_told", "loads"))
    for run in (told, default):
        run.at(-1, "ALERT")  # 23:00 the day before: announced
        run.at(1, "ALERT")
        run.at(2, "OK")  # resolves inside the window
        run.at(6, "OK")
    assert told.sent() == [("firing", "first_firing"), ("resolved", "resolved")]
    assert default.sent() == [("firing", "first_firing")]
