"""Incidents from the history the real engine writes, on SQLite, PostgreSQL and MariaDB.

Each scenario is a script of query answers (``A`` alert, ``O`` ok, ``E`` query error, one
evaluation a minute) run through ``evaluation.evaluate_alert``; the incidents listed must be
the stretches the state machine went through, with their figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.model import RunType, Silence
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore, migrations
from sqlsentinel_airflow.store.tables import incidents as incidents_table

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

ALERTS = """\
alerts:
  - name: plain
    conn_id: warehouse
    schedule: "* * * * *"
    renotify_after: 3m
    notify_on_error: 1
    notify:
      - channel: webhook
        url: http://127.0.0.1:9/hook
    query: SELECT 'OK' AS status
  - name: slow
    conn_id: warehouse
    schedule: "* * * * *"
    fire_after: 2
    resolve_after: 2
    notify:
      - channel: webhook
        url: http://127.0.0.1:9/hook
    query: SELECT 'OK' AS status
  - name: keyed
    conn_id: warehouse
    schedule: "* * * * *"
    key_columns: [table_name]
    query: SELECT 'OK' AS status
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


@pytest.fixture
def run(store: StateStore, tmp_path: Path) -> Callable[..., None]:
    """``run(alert, script, values=None, start=0)``: one evaluation a minute from T0 + start."""
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS)
    config = load_config(str(path)).config
    assert config is not None

    def go(name: str, script: str, values: list[float] | None = None, start: int = 0) -> None:
        for step, answer in enumerate(script, start=start):
            value = values[step - start] if values else float(step)

            def fetch(answer: str = answer, value: float = value, step: int = step) -> _Rows:
                if answer == "E":
                    raise QueryError(f"relation missing at step {step}")
                status = "ALERT" if answer == "A" else "OK"
                return _Rows(["status", "actual_value", "threshold"], [[status, value, 5]])

            evaluate_alert(
                config.alert(name),
                fetch=fetch,
                store=store,
                run_type=RunType.SCHEDULED,
                run_id=f"run_{step}",
                clock=lambda step=step: T0 + timedelta(minutes=step),
            )

    return go


def _list(store: StateStore, alert: str, **kwargs: Any) -> list[dict[str, Any]]:
    views, _next = readmodel.incident_views(store, alert, **kwargs)
    return [v.to_json() for v in views]


def _brief(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(i["kind"], i["start_run_id"], i["end_run_id"], i["evaluations"]) for i in found]


def test_a_firing_incident_goes_on_through_query_errors_which_are_their_own_incident(
    store: StateStore, run: Callable[..., None]
) -> None:
    # OK, fires at 1, errors at 3-4 (notified), fires on, resolves at 7; fires again at 9
    run("plain", "OAAEEAAOOA", values=[1, 6, 9, 0, 0, 7, 8, 2, 1, 6])
    found = _list(store, "plain")
    assert _brief(found) == [
        ("firing", "run_9", None, 1),
        ("error", "run_3", "run_5", 2),
        ("firing", "run_1", "run_7", 6),
    ]
    latest, error, closed = found
    assert latest["ongoing"] is True and latest["duration_seconds"] is None
    assert closed["duration_seconds"] == 360.0 and closed["ended_at"] == "2026-03-01T12:07:00+00:00"
    assert (closed["peak_value"], closed["peak_threshold"]) == (9, 5)
    assert closed["peak_at"] == "2026-03-01T12:02:00+00:00"
    # firing at 1, a reminder 3 minutes later at 5 (after the recovery), resolved at 7
    assert closed["notifications"] == {"firing": 1, "reminder": 1, "resolved": 1}
    assert error["notifications"] == {"error": 1, "resolved": 1}
    assert error["error"] == "relation missing at step 3" and error["peak_value"] is None
    assert (error["kind"], closed["silenced"]) == ("error", False)
    assert latest["id"] > closed["id"] > 0 and latest["alert"] == "plain"


def test_pending_that_never_fired_is_no_incident_and_resolve_after_keeps_it_open(
    store: StateStore, run: Callable[..., None]
) -> None:
    # fire_after 2: A O is pending only; A A fires at 3; resolve_after 2: O A O O ends at 7
    run("slow", "AOAAOAOOA")
    found = _list(store, "slow")
    assert _brief(found) == [("firing", "run_3", "run_7", 4)]
    assert found[0]["notifications"] == {"firing": 1, "resolved": 1}


def test_a_silence_during_an_incident_is_shown(store: StateStore, run: Callable[..., None]) -> None:
    run("plain", "OA")
    store.add_silence(
        Silence(
            match="plain",
            starts_at=T0,
            ends_at=T0 + timedelta(minutes=4, seconds=30),
            reason="deploy",
            author="ops",
            created_at=T0,
            source="cli",
        )
    )
    run("plain", "AAAAAO", start=2)  # silenced 2-4, announced again at 5, resolved at 7
    (found,) = _list(store, "plain")
    assert found["silenced"] is True
    assert found["notifications"] == {"firing": 2, "resolved": 1}


def test_pages_newest_first_and_an_incident_open_across_the_cursor_gets_its_end(
    store: StateStore, run: Callable[..., None]
) -> None:
    run("plain", "AOAOAAAAOAO")  # incidents starting at 0, 2, 4 (to 8) and 9
    first, cursor = readmodel.incident_views(store, "plain", limit=2)
    assert [v.start_run_id for v in first] == ["run_9", "run_4"]
    assert cursor == first[-1].id
    second, cursor = readmodel.incident_views(store, "plain", limit=2, before=cursor)
    assert [v.start_run_id for v in second] == ["run_2", "run_0"]
    assert cursor is None
    # a cursor in the middle of the incident 4-8: it began before, and it has its end
    inside, _next = readmodel.incident_views(store, "plain", before=first[-1].id + 2)
    assert [(v.start_run_id, v.end_run_id) for v in inside] == [
        ("run_4", "run_8"),
        ("run_2", "run_3"),
        ("run_0", "run_1"),
    ]


def test_the_upgrade_to_schema_7_finds_the_incidents_in_the_history_there_is(
    store: StateStore, run: Callable[..., None]
) -> None:
    """A state DB from before the incidents table: the migration folds its history into it,
    to exactly what evaluations keep up to date (backfill rows left out)."""
    run("plain", "OAAEEAAOOA", values=[1, 6, 9, 0, 0, 7, 8, 2, 1, 6])
    run("slow", "AOAAOAOOA")
    kept = {name: _list(store, name) for name in ("plain", "slow")}
    assert kept["plain"] and kept["slow"]
    with store.engine.begin() as conn:
        conn.execute(incidents_table.delete())
    assert _list(store, "plain") == []
    with store.engine.begin() as conn:
        written = migrations.fill_incidents(conn, incidents_table, batch=2)
    assert written == 4
    assert {name: _list(store, name) for name in ("plain", "slow")} == kept


def test_since_and_purge_keep_what_still_matters(
    store: StateStore, run: Callable[..., None]
) -> None:
    run("plain", "OAAAAAEEAAAAAAAAAAAO")  # one incident 1-19, errors 6-7
    run("plain", "AOA", start=30)  # one 30-31, one open from 32
    recent = _list(store, "plain", since=T0 + timedelta(minutes=25))
    assert _brief(recent) == [("firing", "run_32", None, 1), ("firing", "run_30", "run_31", 1)]
    purged = store.purge(T0 + timedelta(minutes=31, seconds=30))
    assert purged["incidents"] == 3  # 1-19, its errors 6-8, 30-31 ended before the cutoff
    assert _brief(_list(store, "plain")) == [("firing", "run_32", None, 1)]
    # the open incident goes on and ends although the rows it began with are gone
    store.purge(T0 + timedelta(minutes=33))
    run("plain", "AO", start=33)
    assert _brief(_list(store, "plain")) == [("firing", "run_32", "run_34", 2)]


def test_keyed_instances_have_their_own_incidents(
    store: StateStore, tmp_path: Path, run: Callable[..., None]
) -> None:
    config = load_config(str(tmp_path / "alerts.yaml")).config
    assert config is not None
    answers = [
        [["orders", "ALERT", 30, 24], ["customers", "OK", 3, 24]],
        [["orders", "ALERT", 31, 24], ["customers", "ALERT", 40, 24]],
        [["orders", "OK", 2, 24]],
    ]
    for step, rows in enumerate(answers):
        evaluate_alert(
            config.alert("keyed"),
            fetch=lambda rows=rows: _Rows(
                ["table_name", "status", "actual_value", "threshold"], rows
            ),
            store=store,
            run_type=RunType.SCHEDULED,
            run_id=f"run_{step}",
            clock=lambda step=step: T0 + timedelta(minutes=step),
        )
    found = _list(store, "keyed")
    assert [(i["key_values"], i["start_run_id"], i["end_run_id"]) for i in found] == [
        ({"table_name": "customers"}, "run_1", "run_2"),
        ({"table_name": "orders"}, "run_0", "run_2"),
    ]
    assert found[1]["peak_value"] == 31
    orders = _list(store, "keyed", instance_key=found[1]["instance_key"])
    assert [i["key_values"] for i in orders] == [{"table_name": "orders"}]


def test_no_history_no_incidents(store: StateStore) -> None:
    assert readmodel.incident_views(store, "nothing") == ((), None)
