"""Alert DAGs of a file with no ``database:``, on ``DATABASE_URL`` (docs/migrating.md).

What the DAG processor makes of it, parsed by a real DagBag: the DAG's documentation names
the variable, never its value; the serialized DAG and the manifest on disk hold no trace of
the URL, only a hash in the manifest's fingerprint (so a changed value re-parses); the
task's query runs on the variable's value at run time (a real SQLite warehouse).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.dags import manifest
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.service import QueryFetcher

SECRET = "dagEnvPw-Hx81"
ALERTS = """\
alerts:
  - name: "Stuck Orders"
    query: |
      SELECT CASE WHEN COUNT(*) > 0 THEN 'ALERT' ELSE 'OK' END as status,
             COUNT(*) as actual_value, 0 as threshold
      FROM orders WHERE state = 'stuck'
    schedule: "*/15 * * * *"
"""


def test_doc_md_serialized_dag_and_manifest_name_the_variable_without_its_value(
    write_alerts: Callable[[str], Path],
    parse: Callable[[], Any],
    dag_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    monkeypatch.setenv("DATABASE_URL", f"postgresql://analyst:{SECRET}@db.example.com/wh")
    alerts_file = write_alerts(ALERTS)

    bag = parse()

    assert bag.import_errors == {}
    dag = bag.dags["sqlsentinel_stuck_orders"]
    assert "**Runs on:** the `DATABASE_URL` environment variable (hidden)" in dag.doc_md
    assert SECRET not in str(DagSerialization.to_dict(dag))
    manifest_file = manifest.manifest_path(alerts_file, manifest.default_manifest_dir())
    text = manifest_file.read_text(encoding="utf-8")
    assert SECRET not in text and "db.example.com" not in text
    found = manifest.read_manifest(manifest_file)
    assert found is not None
    env_hash = found.fingerprint.env["DATABASE_URL"]
    assert env_hash is not None and len(env_hash) == 64


def test_the_task_queries_the_value_of_database_url(
    write_alerts: Callable[[str], Path],
    parse: Callable[[], Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    warehouse = tmp_path / "warehouse.db"
    with sqlite3.connect(warehouse) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER, state TEXT)")
        conn.executemany("INSERT INTO orders VALUES (?, ?)", [(1, "stuck"), (2, "done")])
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{warehouse}")
    write_alerts(ALERTS)

    task = parse().dags["sqlsentinel_stuck_orders"].tasks[0]
    fetch = QueryFetcher().fetch_for(task.alert)  # what the task's run executes
    rows = fetch()

    assert [c.lower() for c in rows.columns] == ["status", "actual_value", "threshold"]
    assert [tuple(r) for r in rows.rows] == [("ALERT", 1, 0)]

    monkeypatch.delenv("DATABASE_URL")  # gone where the task runs: a query error naming it
    with pytest.raises(QueryError, match=r"^environment variable DATABASE_URL is not set"):
        fetch()
