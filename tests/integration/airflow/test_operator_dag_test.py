"""The example shape run for real: ``dag.test()`` of generated alert DAGs on three databases.

Each backend is both the warehouse (through an ``AIRFLOW_CONN_*`` connection) and the state
DB. Asserts what users rely on: state and history written, XCom holds the evaluation, a
second run of a still-firing alert emits no new ``firing`` event, ``dry_run`` writes nothing,
and a query past its ``timeout`` is stopped by the database and recorded as ERROR.
"""

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
dag_id_prefix: t_
alerts:
  - name: {name}
    conn_id: wh_{name}
    schedule: "0 * * * *"
    timeout: 2s
    retries: 0
    notify:
      - channel: webhook
        url: http://127.0.0.1:{port}/hook
    query: |
      SELECT CASE WHEN MAX(v) > 3 THEN 'ALERT' ELSE 'OK' END AS status,
             MAX(v) AS actual_value, 3 AS threshold
      FROM metrics
  - name: {name}_slow
    conn_id: wh_{name}
    schedule: "0 * * * *"
    timeout: 1s
    retries: 0
    query: {slow_query}
"""

SLOW = {
    "postgres": "SELECT CASE WHEN pg_sleep(5) IS NULL THEN 'OK' END AS status",
    "mysql": "SELECT CASE WHEN SLEEP(5) = 0 THEN 'OK' END AS status",
    "sqlite": (
        '"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) '
        "SELECT CASE WHEN MAX(x) > 0 THEN 'OK' END AS status FROM c\""
    ),
}


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """A webhook receiver on loopback recording every JSON body it is sent."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


def _conn_json(url: str) -> str:
    u = sa.engine.make_url(url)
    if u.get_backend_name() == "sqlite":
        return json.dumps({"conn_type": "sqlite", "host": u.database})
    kind = "postgres" if u.get_backend_name() == "postgresql" else "mysql"
    return json.dumps(
        {
            "conn_type": kind,
            "host": u.host,
            "port": u.port,
            "login": u.username,
            "schema": u.database,
        }
    )


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


def _count(url: str, sql: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.airflow
@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"])
def test_alert_dag_runs_end_to_end(
    backend: str,
    airflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    receiver: tuple[int, list[dict[str, Any]]],
) -> None:
    port, received = receiver
    url = str(
        request.getfixturevalue(
            {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[backend]
        )
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE metrics (v INTEGER)"))
        conn.execute(sa.text("INSERT INTO metrics (v) VALUES (1), (5)"))
    engine.dispose()

    name = f"dagtest_{backend}"
    folder = airflow_db
    (folder / "alerts.yaml").write_text(
        ALERTS.format(name=name, slow_query=SLOW[backend], port=port)
    )
    (folder / "sqlsentinel_alerts.py").write_text(DAG_FILE)
    monkeypatch.setenv(f"AIRFLOW_CONN_WH_{name.upper()}", _conn_json(url))
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", url)

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[f"t_{name}"]

    run = dag.test()
    assert run.state == "success"
    xcom = _xcom(dag.dag_id, run.run_id)
    assert xcom["alert_name"] == name and xcom["state"] == "firing" and xcom["outcome"] == "alert"
    assert xcom["actual_value"] == 5 and xcom["threshold"] == 3
    assert xcom["run_type"] == "manual" and xcom["dry_run"] is False
    assert [e["kind"] for e in xcom["events"]] == ["firing"]
    assert _count(url, "SELECT count(*) FROM sqlsentinel_state WHERE state = 'FIRING'") == 1
    assert _count(url, "SELECT count(*) FROM sqlsentinel_history") == 1
    assert _count(url, "SELECT count(*) FROM sqlsentinel_outbox WHERE kind = 'firing'") == 1
    assert [(m["kind"], m["alert"]["name"]) for m in received] == [("firing", name)]

    run2 = dag.test()
    assert run2.state == "success"
    assert _xcom(dag.dag_id, run2.run_id)["events"] == []
    assert _count(url, "SELECT count(*) FROM sqlsentinel_outbox WHERE kind = 'firing'") == 1
    assert _count(url, "SELECT count(*) FROM sqlsentinel_history") == 2

    dry = dag.test(run_conf={"dry_run": True})
    assert dry.state == "success"
    dry_x = _xcom(dag.dag_id, dry.run_id)
    assert dry_x["dry_run"] is True and dry_x["state"] == "firing"
    assert _count(url, "SELECT count(*) FROM sqlsentinel_history") == 2
    assert _count(url, "SELECT count(*) FROM sqlsentinel_outbox") == 1
    assert len(received) == 1, "neither the second run nor the dry run may send anything"

    slow = bag.dags[f"t_{name}_slow"]
    slow_run = slow.test()
    assert slow_run.state == "failed"
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        state, error = conn.execute(
            sa.text("SELECT state, last_error FROM sqlsentinel_state WHERE alert_name = :n"),
            {"n": f"{name}_slow"},
        ).one()
    engine.dispose()
    assert state == "ERROR"
    assert "timeout" in error.lower(), error


@pytest.mark.airflow
def test_a_mute_window_mutes_the_alert_dag(
    airflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    receiver: tuple[int, list[dict[str, Any]]],
) -> None:
    """A window active now (every year): the task evaluates and records, nothing is sent,
    and its XCom names the window (docs/notifications.md, "Mute windows")."""
    port, received = receiver
    engine = sa.create_engine(str(sqlite_url))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE metrics (v INTEGER)"))
        conn.execute(sa.text("INSERT INTO metrics (v) VALUES (5)"))
    engine.dispose()
    name = "dagtest_muted"
    alerts = ALERTS.split("  - name: {name}_slow")[0].format(name=name, port=port)
    alerts += "mute_windows:\n  - {name: always, intervals: [{years: ['2000:9999']}]}\n"
    (airflow_db / "alerts.yaml").write_text(alerts)
    (airflow_db / "sqlsentinel_alerts.py").write_text(DAG_FILE)
    monkeypatch.setenv(f"AIRFLOW_CONN_WH_{name.upper()}", _conn_json(str(sqlite_url)))
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", str(sqlite_url))

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(airflow_db))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[f"t_{name}"]
    run = dag.test()
    assert run.state == "success"
    xcom = _xcom(dag.dag_id, run.run_id)
    assert xcom["state"] == "firing" and xcom["silenced"] and xcom["muted_by"] == ["always"]
    assert xcom["events"] == [] and xcom["instances"][0]["reason_code"] == "silenced"
    assert _count(str(sqlite_url), "SELECT count(*) FROM sqlsentinel_history") == 1
    assert _count(str(sqlite_url), "SELECT count(*) FROM sqlsentinel_outbox") == 0
    assert received == []
