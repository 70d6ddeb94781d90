"""``produces:`` run for real (docs/assets.md): ``dag.test()`` of an alert DAG on a migrated
Airflow DB. The produce task updates its assets when the evaluation sent events of its kinds
(one asset event, ``extra`` saying what happened) and is skipped otherwise."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

DAG_FILE = """\
# airflow dag file for tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("alerts.yaml", globals())
"""

ALERTS = """\
dag_id_prefix: p_
alerts:
  - name: produces_orders_low
    conn_id: wh_produces
    schedule: "0 * * * *"
    retries: 0
    notify: [{{channel: webhook, url: "http://127.0.0.1:{port}/hook"}}]
    produces:
      - s3://alerts/{unique}/orders_low
      - {{name: {unique}_errors, on: [error]}}
    query: |
      SELECT CASE WHEN MAX(v) > 3 THEN 'ALERT' ELSE 'OK' END AS status,
             MAX(v) AS actual_value, 3 AS threshold
      FROM metrics
"""


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def _states(dag_id: str, run_id: str) -> dict[str, str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            sa.select(TaskInstance.task_id, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
            )
        ).all()
    return {task_id: str(getattr(state, "value", state)) for task_id, state in rows}


def _asset_events(dag_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.execute(
            sa.select(AssetModel.uri, AssetEvent.source_run_id, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == dag_id)
            .order_by(AssetEvent.id)
        ).all()
    return [(uri, run_id, dict(extra or {})) for uri, run_id, extra in rows]


@pytest.mark.airflow
def test_produce_task_announces_events_and_skips_otherwise(
    airflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    receiver: tuple[int, list[dict[str, Any]]],
    tmp_path: Path,
) -> None:
    port, received = receiver
    unique = tmp_path.name.replace("-", "_")[-20:].lower()
    warehouse = tmp_path / "warehouse.db"
    engine = sa.create_engine(f"sqlite:///{warehouse}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE metrics (v INTEGER)"))
        conn.execute(sa.text("INSERT INTO metrics (v) VALUES (5)"))
    (airflow_db / "alerts.yaml").write_text(ALERTS.format(port=port, unique=unique))
    (airflow_db / "sqlsentinel_alerts.py").write_text(DAG_FILE)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH_PRODUCES", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", sqlite_url)

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_db))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["p_produces_orders_low"]
    uri = f"s3://alerts/{unique}/orders_low"

    first = dag.test()  # firing: one event, kind firing
    assert first.state == "success"
    assert _states(dag.dag_id, first.run_id) == {
        "evaluate": "success",
        "produce_firing_resolved": "success",
        "produce_error": "skipped",
    }
    assert [m["kind"] for m in received] == ["firing"]
    events = _asset_events(dag.dag_id)
    assert len(events) == 1, events
    got_uri, run_id, extra = events[0]
    assert (got_uri, run_id) == (uri, first.run_id)
    assert extra == {
        "alert": "produces_orders_low",
        "dag_id": dag.dag_id,
        "run_id": first.run_id,
        "state": "firing",
        "events": [{"kind": "firing", "instance_key": "", "reason_code": "first_firing"}],
    }

    second = dag.test()  # still firing, nothing sent: no asset event
    assert _states(dag.dag_id, second.run_id)["produce_firing_resolved"] == "skipped"
    assert len(_asset_events(dag.dag_id)) == 1

    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE metrics SET v = 1"))
    engine.dispose()
    third = dag.test()  # resolved
    assert _states(dag.dag_id, third.run_id)["produce_firing_resolved"] == "success"
    events = _asset_events(dag.dag_id)
    assert len(events) == 2
    assert events[1][2]["state"] == "ok"
    assert [e["kind"] for e in events[1][2]["events"]] == ["resolved"]
