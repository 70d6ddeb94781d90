"""The config-watch DAG run for real with ``dag.test()``: sensor, trigger, validation, diff.

``dag.test()`` runs every task in this process against the suite's SQLite metadata DB,
deferred sensors included (it runs their trigger inline), so the whole watch is exercised
without a deployment: the first run records the baseline, an edit is reported as a diff, a
deferred sensor wakes up on the next edit, an invalid file fails the run and notifies
``defaults.notify`` (a local webhook receiver), and without the ``sqlsentinel_airflow_api``
connection the re-parse falls back to the normal interval. tests/e2e covers the same DAG
in a running Airflow, with the REST re-parse.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest

PAYLOAD_SCHEMA_FILE = (
    Path(__file__).resolve().parents[3] / "docs/reference/event-payload.schema.json"
)
pytestmark = pytest.mark.airflow

WATCH = "cw_config_watch"
DAG_FILE = """\
# airflow dag file for the config watch tests
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("cw_alerts.yaml", globals(), dag_id_prefix="cw_")
"""
ALERTS = """\
defaults:
  conn_id: wh
  notify:
    - channel: webhook
      url: http://127.0.0.1:{port}/hook
alerts:
  - name: first
    schedule: "0 * * * *"
    query: "SELECT 'OK' AS status"
  - name: second
    schedule: "{second_schedule}"
    query: "SELECT 'OK' AS status"
"""


@pytest.fixture
def receiver() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], received
    server.shutdown()
    server.server_close()


def _xcom(dag_id: str, run_id: str, task_id: str) -> Any:
    import sqlalchemy as sa
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.scalars(
            sa.select(XComModel).where(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
        ).first()
        value = row.value if row is not None else None
    return json.loads(value) if isinstance(value, str) else value


def _task_states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _baseline() -> dict[str, Any]:
    from airflow.models.variable import Variable

    return dict(json.loads(Variable.get(f"{WATCH}__baseline")))


def test_the_watch_records_reports_defers_and_fails_visibly(
    airflow_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    receiver: tuple[int, list[dict[str, Any]]],
) -> None:
    port, received = receiver
    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": ":memory:"}))
    monkeypatch.delenv("AIRFLOW_CONN_SQLSENTINEL_AIRFLOW_API", raising=False)
    alerts = airflow_db / "cw_alerts.yaml"
    alerts.write_text(ALERTS.format(port=port, second_schedule="0 1 * * *"))
    (airflow_db / "cw_dags.py").write_text(DAG_FILE)

    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.variable import Variable

    Variable.delete(f"{WATCH}__baseline")
    bag = DagBag(dag_folder=str(airflow_db / "cw_dags.py"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[WATCH]

    # 1. No baseline yet: the sensor succeeds at once and the run records one.
    first = dag.test()
    assert first.state == "success", _task_states(first)
    result = _xcom(WATCH, first.run_id, "validate_config")
    assert result["initial"] is True and result["added"] == ["first", "second"]
    assert result["files"] == [str(alerts)]
    reparse = _xcom(WATCH, first.run_id, "request_reparse")
    assert reparse["requested"] is False
    assert "no connection 'sqlsentinel_airflow_api'" in reparse["detail"]
    assert _baseline()["valid"] is True

    # 2. Edited while no run was waiting: the next run reports the diff at once.
    alerts.write_text(ALERTS.format(port=port, second_schedule="30 1 * * *"))
    second = dag.test()
    assert second.state == "success", _task_states(second)
    result = _xcom(WATCH, second.run_id, "validate_config")
    assert result["initial"] is False and result["added"] == [] and result["removed"] == []
    assert result["changed"] == {
        "second": [{"field": "schedule", "before": "0 1 * * *", "after": "30 1 * * *"}]
    }

    # 3. Nothing changed: the sensor defers; the trigger wakes it when the file changes.
    def edit_later() -> None:
        time.sleep(3)
        alerts.write_text(
            ALERTS.format(port=port, second_schedule="30 1 * * *").replace(
                "  - name: first\n", "  - name: renamed\n"
            )
        )

    editor = threading.Thread(target=edit_later)
    editor.start()
    started = time.monotonic()
    third = dag.test()
    editor.join()
    assert time.monotonic() - started >= 3, "the sensor did not wait for the change"
    assert third.state == "success", _task_states(third)
    result = _xcom(WATCH, third.run_id, "validate_config")
    assert (result["added"], result["removed"]) == (["renamed"], ["first"])
    assert received == []

    # 4. An invalid file: the run fails, defaults.notify gets an error event.
    before = _baseline()
    alerts.write_text(ALERTS.format(port=port, second_schedule="every day"))
    from sqlsentinel_airflow.core.config import load_config_text

    expected = [
        e.format()
        for e in load_config_text(alerts.read_text(), "cw_alerts.yaml", base_dir=airflow_db).errors
    ]
    assert expected and "every day" in expected[0]
    fourth = dag.test()
    assert fourth.state == "failed"
    assert _task_states(fourth)["validate_config"] == "failed"
    assert _task_states(fourth)["request_reparse"] == "upstream_failed"
    (event,) = received
    assert event["kind"] == "error" and event["alert"]["name"] == "alerts configuration"
    # the published schema (it requires links, which this event once lacked)
    jsonschema.Draft202012Validator(json.loads(PAYLOAD_SCHEMA_FILE.read_text())).validate(event)
    assert event["links"]["task_log"].endswith(
        f"/runs/{quote(fourth.run_id, safe='')}/tasks/validate_config"
    )
    assert event["error"] == "\n".join(expected)
    assert event["alert"]["dag_id"] == WATCH
    after = _baseline()
    assert after["valid"] is False and after["digest"] != before["digest"]
    assert after["alerts"] == before["alerts"], "the snapshot stays the last valid version"
