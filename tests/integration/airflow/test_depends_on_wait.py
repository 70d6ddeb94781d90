"""A child alert's task waits while its parent's DAG run is queued or running, then
evaluates: real Airflow (``dag.test()``, the Task SDK's ``get_dr_count`` through the
execution API), PostgreSQL as warehouse and state DB."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

DAG_FILE = """\
# airflow dag file for tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("alerts.yaml", globals())
"""

ALERTS = """\
dag_id_prefix: dw_
defaults:
  conn_id: wh_deps
  schedule: "0 * * * *"
  timeout: 5s
  retries: 0
alerts:
  - name: deps_child
    depends_on: deps_parent
    query: SELECT 'OK' AS status
  - name: deps_parent
    query: SELECT 'OK' AS status
"""


def _set_state(dag_id: str, run_id: str, state: str) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.scalars(
            sa.select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        ).one()
        run.state = state


def _child_evaluations(url: str) -> list[datetime]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT evaluated_at FROM sqlsentinel_history "
                    "WHERE alert_name = 'deps_child' ORDER BY id"
                )
            ).scalars()
            return [r if r.tzinfo else r.replace(tzinfo=timezone.utc) for r in rows]
    finally:
        engine.dispose()


@pytest.mark.airflow
def test_the_child_waits_for_the_parent_s_running_dag_run_then_evaluates(
    airflow_db: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    u = sa.engine.make_url(pg_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH_DEPS",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": u.host,
                "port": u.port,
                "login": u.username,
                "schema": u.database,
            }
        ),
    )
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", pg_url)
    (airflow_db / "alerts.yaml").write_text(ALERTS)
    (airflow_db / "sqlsentinel_alerts.py").write_text(DAG_FILE)

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    bag = DagBag(dag_folder=str(airflow_db))
    assert not bag.import_errors, bag.import_errors
    parent, child = bag.dags["dw_deps_parent"], bag.dags["dw_deps_child"]
    (task,) = child.tasks
    # the parent's task limit (5s + the 2 min margin) is added to the child's
    assert task.parents_wait.total_seconds() == 125
    assert task.execution_timeout.total_seconds() == 125 + 125
    assert task.parent_dag_ids == ("dw_deps_parent",)

    parent_run = parent.test()
    assert parent_run.state == "success"
    _set_state(parent.dag_id, parent_run.run_id, "running")

    # a dry run does not wait (it would wait up to 125 s)
    started = time.monotonic()
    assert child.test(run_conf={"dry_run": True}).state == "success"
    assert time.monotonic() - started < 60
    assert _child_evaluations(pg_url) == []

    finished_at: list[datetime] = []

    def finish_parent() -> None:
        time.sleep(4)
        finished_at.append(datetime.now(timezone.utc))
        _set_state(parent.dag_id, parent_run.run_id, "success")

    flipper = threading.Thread(target=finish_parent)
    flipper.start()
    started = time.monotonic()
    try:
        child_run = child.test(run_conf={"dry_run": False})  # test() keeps the last conf
    finally:
        flipper.join()
    assert child_run.state == "success"
    assert time.monotonic() - started >= 4
    (evaluated_at,) = _child_evaluations(pg_url)
    assert evaluated_at >= finished_at[0], "the child evaluated while its parent was running"
