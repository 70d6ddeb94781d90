"""``airflow dags test`` on this release: an alert fires once, is deduplicated, and the
config-watch DAG records its baseline."""

from __future__ import annotations

import json
import sqlite3
import subprocess

from conftest import AIRFLOW, FIRING, OK, SENTINEL, WATCH, Env, ok, run


def _history(alert: str) -> list[dict[str, object]]:
    done = ok(run([SENTINEL, "history", "--alert", alert, "--format", "json"]))
    return list(json.loads(done.stdout)["history"])


def test_a_firing_alert_delivers_once_then_deduplicates(
    env: Env, fired: subprocess.CompletedProcess[str]
) -> None:
    def events() -> list[str]:  # notify-test (test_compat_cli) sends samples of other alerts
        return [e["kind"] for e in env.receiver.received if e["alert"]["name"] == "error_rate"]

    assert events() == ["firing"], fired.stdout[-3000:]
    ok(run([AIRFLOW, "dags", "test", FIRING]))
    assert events() == ["firing"]  # still FIRING: no second notification
    assert len(_history("error_rate")) == 2
    # the plugin's listener wrote each run's note (firing shows in Airflow's own views)
    with sqlite3.connect(env.home / "airflow" / "airflow.db") as db:
        notes = [
            row[0]
            for row in db.execute(
                "SELECT n.content FROM dag_run_note n JOIN dag_run r ON r.id = n.dag_run_id"
                " WHERE r.dag_id = ? ORDER BY r.id",
                (FIRING,),
            )
        ]
    assert len(notes) == 2 and all(n.startswith("FIRING ") for n in notes), notes


def test_an_ok_alert_runs_without_notifying(
    env: Env, fired: subprocess.CompletedProcess[str]
) -> None:
    before = len(env.receiver.received)
    ok(run([AIRFLOW, "dags", "test", OK]))
    assert len(env.receiver.received) == before
    assert len(_history("daily_revenue")) == 1


def test_the_config_watch_dag_records_its_baseline(env: Env) -> None:
    ok(run([AIRFLOW, "dags", "test", WATCH]))
    done = ok(run([AIRFLOW, "variables", "get", f"{WATCH}__baseline"]))
    baseline = json.loads(done.stdout[done.stdout.index("{") :])
    assert baseline["valid"] is True
    assert set(baseline["alerts"]) == {"error_rate", "daily_revenue", "channels"}
