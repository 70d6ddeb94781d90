"""A freshness check reads a real asset event (docs/freshness.md), with ``dag.test()``.

A producer DAG written the way Airflow's docs write one (a task with ``outlets=[Asset(...)]``)
emits events for two assets; the freshness alerts' tasks declare them as inlets by
reference (one by URI, one by name) and read the last event's time from
``context["inlet_events"]``. Before any event: the URI check falls back to its table's MAX
(an old row: ALERT, source ``query``); the name check has no table: ALERT, "no event
recorded". After the producer ran: both OK from the asset event. An asset no DAG declares
fails the task before it starts (Airflow cannot resolve the inlet reference).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

ALERT_DAGS = """\
# airflow dag file for tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("alerts.yaml", globals())
"""

PRODUCER = """\
# airflow dag file for tests: a producer of two assets
from airflow.sdk import DAG, Asset, task

with DAG(dag_id="fresh_producer_{u}", schedule=None):

    @task(outlets=[Asset("s3://warehouse/orders_{u}"), Asset(name="named_{u}", uri="s3://warehouse/named_{u}")])
    def load_orders():
        return "loaded"

    load_orders()
"""

ALERTS = """\
dag_id_prefix: f_
alerts:
  - name: orders_{u}
    conn_id: wh_fresh
    schedule: "0 * * * *"
    retries: 0
    freshness:
      asset: s3://warehouse/orders_{u}
      table: orders
      column: loaded_at
      within: 1h
  - name: named_{u}
    schedule: "0 * * * *"
    retries: 0
    freshness:
      asset: {{name: named_{u}}}
      within: 1h
  - name: unknown_{u}
    schedule: "0 * * * *"
    retries: 0
    freshness:
      asset: s3://nobody/declares_{u}
      within: 1h
"""


def _xcom(dag_id: str, run_id: str) -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            sa.select(XComModel).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.key == "return_value",
            )
        ).first()
        assert row is not None, f"no XCom return_value for {dag_id} {run_id}"
        value = row.value
    return json.loads(value) if isinstance(value, str) else value


def _instance(dag: Any) -> dict[str, Any]:
    run = dag.test()
    assert run.state == "success"
    xcom = _xcom(dag.dag_id, run.run_id)
    assert xcom["error"] is None, xcom["error"]
    (instance,) = xcom["instances"]
    return dict(instance)


@pytest.mark.airflow
def test_the_last_asset_event_decides_and_without_one_the_table_or_an_alert(
    airflow_db: Path, monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path
) -> None:
    u = uuid.uuid4().hex[:8]
    warehouse = tmp_path / "warehouse.db"
    loaded = datetime.now(timezone.utc) - timedelta(hours=3)
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, loaded_at TEXT)")
        conn.execute("INSERT INTO orders VALUES (1, ?)", (loaded.strftime("%Y-%m-%d %H:%M:%S"),))
    (airflow_db / "alerts.yaml").write_text(ALERTS.format(u=u))
    (airflow_db / "sqlsentinel_alerts.py").write_text(ALERT_DAGS)
    producer_file = airflow_db / f"fresh_producer_{u}.py"
    producer_file.write_text(PRODUCER.format(u=u))
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH_FRESH", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", sqlite_url)
    try:
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 3.1
            from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

        bag = DagBag(dag_folder=str(airflow_db))
        assert not bag.import_errors, bag.import_errors
        by_uri, by_name = bag.dags[f"f_orders_{u}"], bag.dags[f"f_named_{u}"]
        producer = bag.dags[f"fresh_producer_{u}"]
        from airflow.sdk import Asset

        assert by_uri.get_task("evaluate").inlets == [Asset.ref(uri=f"s3://warehouse/orders_{u}")]
        assert by_name.get_task("evaluate").inlets == [Asset.ref(name=f"named_{u}")]
        assert (
            f"the last event of asset s3://warehouse/orders_{u}, else MAX(loaded_at) of orders: "
            "at most 1h old" in (by_uri.doc_md or "")
        )

        before_uri, before_name = _instance(by_uri), _instance(by_name)
        assert before_uri["outcome"] == "alert" and before_uri["context"]["source"] == "query"
        assert 179 <= before_uri["actual_value"] <= 181
        assert before_name["outcome"] == "alert" and before_name["actual_value"] is None
        assert before_name["context"]["note"] == f"no event recorded for {{name: named_{u}}}"
        assert before_name["context"]["source"] == "asset event"

        produced = producer.test()
        assert produced.state == "success"

        after_uri, after_name = _instance(by_uri), _instance(by_name)
        for after in (after_uri, after_name):
            assert after["outcome"] == "ok" and after["context"]["source"] == "asset event"
            assert 0 <= after["actual_value"] < 5 and after["threshold"] == 60.0
            stamp = datetime.fromisoformat(after["context"]["last_updated_at"])
            assert abs(stamp - datetime.now(timezone.utc)) < timedelta(minutes=5)
        assert after_uri["previous_state"] == "firing" and after_uri["state"] == "ok"

        # an asset no DAG declares: Airflow's task runner cannot resolve the inlet reference
        # and fails the task before it starts (ASSET_NOT_FOUND); nothing is recorded
        unknown = bag.dags[f"f_unknown_{u}"].test()
        assert unknown.state == "failed"
        engine = sa.create_engine(sqlite_url)
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT count(*) FROM sqlsentinel_history WHERE alert_name = :n"),
                {"n": f"unknown_{u}"},
            ).scalar_one()
        engine.dispose()
        assert rows == 0
    finally:
        producer_file.unlink()
