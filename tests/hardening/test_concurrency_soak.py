"""Concurrency soak (docs/reliability.md): 16 processes, 6 overlapping alerts, one PostgreSQL state DB.

Sixteen real OS processes evaluate random outcomes of the same six alerts through the real
engine for ``SQLSENTINEL_SOAK_SECONDS`` (60 s by default, ~75 s for the whole test); four
of them also deliver the outbox to a loopback webhook receiver that answers 503 to ~3 % of
requests. Afterwards the history is replayed (``soak_support.verify``): every evaluation is
stored once, each alert's evaluations are serialised, the stored history, outbox and final
states equal an independent replay through ``decide``, every instance's events are a
sequence the state machine allows, and every notification reached the receiver exactly
once, in order.

Run longer by hand: ``SQLSENTINEL_SOAK_SECONDS=600 .venv/bin/python -m pytest -s
tests/hardening/test_concurrency_soak.py`` (the summary table is printed).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import hardening_support  # noqa: F401  (puts the notify tests' servers on sys.path)
import pytest
import soak_support
from notify_servers import HttpReceiver

from sqlsentinel_airflow.core.model import EventKind, InstanceState, RunType, Silence
from sqlsentinel_airflow.evaluation import EvaluationReport, evaluate_alert
from sqlsentinel_airflow.store import StateStore

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


class _LockHeldByAnother:
    """The real store, but another evaluation of the alert takes the lock (and commits) first:
    ``first`` runs between this evaluation's query and its transaction, as when it waits."""

    def __init__(self, store: StateStore, first: Callable[[], object]) -> None:
        self._store = store
        self._first = first

    def run_in_alert_transaction(self, alert_name: str, work: Callable[[Any], Any]) -> Any:
        self._first()
        return self._store.run_in_alert_transaction(alert_name, work)

    def list_states(self, alert_name: str | None = None) -> list[InstanceState]:
        return self._store.list_states(alert_name)

    def list_silences(self, now: datetime, include_inactive: bool = False) -> list[Silence]:
        return self._store.list_silences(now, include_inactive)


def test_an_evaluation_that_waited_for_the_lock_is_stamped_after_the_holder(pg_url: str) -> None:
    """Found by the soak: the time used to be read before the lock, so a resolve that waited
    behind a firing was stamped before it (and a new incident could start before the last)."""
    alert = next(a for a in soak_support.soak_alerts("http://127.0.0.1:9") if not a.key_columns)
    ticks = itertools.count()

    def clock() -> datetime:  # every reading is one second after the previous one
        return T0 + timedelta(seconds=next(ticks))

    def run(status: str, store: Any) -> EvaluationReport:
        rows = soak_support._Rows(["status"], [[status]])
        return evaluate_alert(
            alert, fetch=lambda: rows, store=store, run_type=RunType.MANUAL, clock=clock
        )

    store = StateStore.connect(pg_url)
    try:
        holder: list[EvaluationReport] = []
        waiter = run("OK", _LockHeldByAnother(store, lambda: holder.append(run("ALERT", store))))

        fired, resolved = holder[0], waiter
        assert [e["kind"] for e in fired.events] == ["firing"]
        assert [e["kind"] for e in resolved.events] == ["resolved"]
        assert resolved.evaluated_at > fired.evaluated_at
        history = sorted(store.history(alert.name), key=lambda h: h.id or 0)
        assert [h.evaluated_at for h in history] == [fired.evaluated_at, resolved.evaluated_at]
        events = sorted(store.outbox(alert_name=alert.name), key=lambda o: o.id or 0)
        assert [o.kind for o in events] == [EventKind.FIRING, EventKind.RESOLVED]
        firing_since = events[1].payload["firing_since"]
        assert firing_since == fired.evaluated_at.isoformat()
        assert str(events[1].payload["occurred_at"]) >= str(firing_since)
    finally:
        store.dispose()


def test_sixteen_processes_leave_a_history_the_state_machine_allows(
    pg_url: str, tmp_path: Path
) -> None:
    seconds = soak_support.soak_seconds()
    receiver = HttpReceiver()
    try:
        receiver.script = soak_support.failure_script(2_000_000, seed=8)
        alerts = soak_support.soak_alerts(receiver.url())

        started = time.monotonic()
        logs = soak_support.run_soak(pg_url, receiver.url(), tmp_path, seconds=seconds)
        soaked = time.monotonic()

        receiver.script = []  # the flaky phase is over: what is left must go through
        passes = soak_support.drain_outbox(pg_url, alerts)
        drained = time.monotonic()
        records = soak_support.read_logs(logs)
        summary = soak_support.verify(pg_url, alerts, records, list(receiver.requests))
        verified = time.monotonic()
    finally:
        receiver.close()

    print(
        f"\nconcurrency soak of {seconds:.0f} s: workers {soaked - started:.0f} s, drain "
        f"{drained - soaked:.1f} s ({passes} passes), replay {verified - drained:.1f} s\n"
        + summary.table()
    )
    assert summary.failures == [], summary.failures[:3]
    assert summary.violations == [], summary.violations[:20]
    # the soak really overlapped and really exercised every path it claims to
    assert summary.processes == soak_support.PROCESSES
    assert summary.fewest_per_process >= 10
    assert summary.overlapping >= summary.evaluations // 10
    assert set(summary.evaluations_by_outcome) == {"ok", "alert", "error"}
    assert {"firing", "reminder", "resolved", "error"} <= set(summary.events)
    assert summary.outbox_rows > 0 and summary.deliveries == summary.outbox_rows
    assert summary.failed_sends > 0
    assert summary.worker_delivery["delivered"] > 0
