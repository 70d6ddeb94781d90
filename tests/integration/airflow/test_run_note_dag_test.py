"""Firing shows in Airflow's own views: the DAG-run note, written by the plugin's listener.

``dag.test()`` runs generated alert DAGs for real (task runner, XCom, the metadata DB) and
finishes each run through ``DagRun.update_state``, which calls the listeners as the scheduler
does. The note is then read from Airflow's metadata database. A firing run stays green
(success) with ``FIRING ...``; a keyed alert names its firing instances; a failed query
fails the run (as always) and notes ``ERROR: ...`` without the password in the URL of the
error; a note a person wrote is kept. (The deployed path, a real scheduler and the REST API,
is tests/e2e/test_demo.py.)
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

DAG_FILE = """\
# airflow dag file for tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("alerts.yaml", globals())
"""

ALERTS = """\
dag_id_prefix: note_
alerts:
  - name: error_rate
    conn_id: wh_note
    schedule: "0 * * * *"
    retries: 0
    query: |
      SELECT CASE WHEN rate > 5 THEN 'ALERT' ELSE 'OK' END AS status,
             rate AS actual_value, 5 AS threshold
      FROM error_rate
  - name: freshness
    conn_id: wh_note
    schedule: "0 * * * *"
    retries: 0
    key_columns: [table_name]
    max_rows: 100
    query: |
      SELECT table_name, CASE WHEN hours > 5 THEN 'ALERT' ELSE 'OK' END AS status,
             hours AS actual_value, 5 AS threshold
      FROM loads
  - name: broken
    conn_id: wh_note
    schedule: "0 * * * *"
    retries: 0
    query: SELECT 'postgresql://app:hunter2secret@db.example.com/x' AS status
"""


def _note(dag_id: str, run_id: str) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalars(
            sa.select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        ).one()
        return run.note


@pytest.mark.airflow
def test_the_run_note_says_what_the_alert_found(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str
) -> None:
    warehouse = tmp_path / "note_warehouse.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE error_rate (rate REAL)")
        conn.execute("INSERT INTO error_rate VALUES (17.99)")
        conn.execute("CREATE TABLE loads (table_name TEXT, hours REAL)")
        conn.executemany(
            "INSERT INTO loads VALUES (?, ?)",
            [("customers", 30), ("orders", 1.5), ("payments", 9)],
        )
    folder = airflow_db
    (folder / "alerts.yaml").write_text(ALERTS)
    (folder / "sqlsentinel_alerts.py").write_text(DAG_FILE)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH_NOTE", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", sqlite_url)

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors

    firing = bag.dags["note_error_rate"].test()
    assert firing.state == "success"  # firing is a result, not a failure
    assert _note("note_error_rate", firing.run_id) == "FIRING 17.99 (threshold 5)"

    keyed = bag.dags["note_freshness"].test()
    assert keyed.state == "success"
    assert _note("note_freshness", keyed.run_id) == (
        "FIRING 2 of 3 instances: table_name=customers 30, table_name=payments 9 (threshold 5)"
    )

    broken = bag.dags["note_broken"].test()
    assert broken.state == "failed"  # a failed query fails the task, as before
    note = _note("note_broken", broken.run_id) or ""
    assert note.startswith("ERROR: "), note
    assert "hunter2secret" not in note and "unknown status" in note

    with sqlite3.connect(warehouse) as conn:
        conn.execute("UPDATE error_rate SET rate = 3.2")
    resolved = bag.dags["note_error_rate"].test()
    assert _note("note_error_rate", resolved.run_id) == "RESOLVED 3.2 (threshold 5)"
    ok = bag.dags["note_error_rate"].test()
    assert _note("note_error_rate", ok.run_id) == "OK 3.2 (threshold 5)"

    dry = bag.dags["note_error_rate"].test(run_conf={"dry_run": True})
    assert _note("note_error_rate", dry.run_id) == "DRY RUN: OK 3.2 (threshold 5)"


@pytest.mark.airflow
def test_a_note_a_person_wrote_is_kept() -> None:
    from types import SimpleNamespace

    from sqlsentinel_airflow.airflow_compat import set_run_note
    from sqlsentinel_airflow.run_note import is_run_note

    person = SimpleNamespace(dag_run_note=SimpleNamespace(content="investigating", user_id=None))
    assert set_run_note(person, "FIRING 1", ours=is_run_note) is False
    signed = SimpleNamespace(dag_run_note=SimpleNamespace(content="FIRING 9", user_id="admin"))
    assert set_run_note(signed, "OK 1", ours=is_run_note) is False
    ours = SimpleNamespace(dag_run_note=SimpleNamespace(content="FIRING 9", user_id=None))
    assert set_run_note(ours, "OK 1", ours=is_run_note) is True
    assert ours.note == "OK 1"
