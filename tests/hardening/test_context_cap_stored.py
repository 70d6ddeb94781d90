"""A wide keyed result, from a real SQLite query into a real state store: the context that
history and state keep for one evaluation stays under MAX_CONTEXT_BYTES, and the evaluation
is a normal one (every instance stored, events enqueued)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.core.result import MAX_CONTEXT_BYTES
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook
from sqlsentinel_airflow.store import StateStore

COLUMNS = 30
WIDE = ", ".join(
    f"'{c}:' || n || ':' || replace(hex(zeroblob(60)), '0', 'v') AS col_{c}" for c in range(COLUMNS)
)
QUERY = f"""
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1000)
SELECT 'table_' || n AS table_name,
       CASE WHEN n % 2 = 0 THEN 'ALERT' ELSE 'OK' END AS status,
       n AS actual_value,
       {WIDE}
FROM seq
"""
ALERT_YAML = f"""\
alerts:
  - name: wide_context
    conn_id: wide_sqlite
    schedule: "*/5 * * * *"
    key_columns: [table_name]
    query: |
{"".join(f"      {line}{chr(10)}" for line in QUERY.strip().splitlines())}
"""


def test_stored_context_of_1000_wide_instances_stays_under_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = {"conn_type": "sqlite", "host": str(tmp_path / "source.db")}
    monkeypatch.setenv("AIRFLOW_CONN_WIDE_SQLITE", json.dumps(spec))
    result = load_config_text(ALERT_YAML)
    assert result.errors == [] and result.config is not None
    [alert] = result.config.alerts
    runner = QueryRunner(
        resolve_db_hook("wide_sqlite"), timeout=timedelta(seconds=60), max_rows=alert.max_rows
    )
    rows = runner.run(alert.query)
    read = sum(len(json.dumps(list(row))) for row in rows.rows)
    assert len(rows.rows) == 1000 and read > 20 * MAX_CONTEXT_BYTES  # ~3.7 MB as read
    state_url = f"sqlite:///{tmp_path / 'state.db'}"

    with StateStore.connect(state_url) as store:
        report = evaluate_alert(
            alert, fetch=lambda: rows, store=store, run_type=RunType.SCHEDULED, run_id="r1"
        )

    assert report.error is None and report.row_count == 1000 and len(report.instances) == 1000
    assert {e["kind"] for e in report.events} == {"firing"}
    engine = sa.create_engine(state_url)
    with engine.connect() as conn:
        history = conn.execute(
            sa.text("SELECT context, actual_value FROM sqlsentinel_history")
        ).all()
        states = conn.execute(sa.text("SELECT last_context FROM sqlsentinel_state")).all()
    engine.dispose()
    assert len(history) == 1000 and len(states) == 1000
    assert sum(len(context) for context, _ in history) <= MAX_CONTEXT_BYTES
    assert sum(len(context) for (context,) in states) <= MAX_CONTEXT_BYTES
    assert sorted(int(value) for _, value in history) == list(range(1, 1001))
    markers = [json.loads(context)["…"] for context, _ in history]
    assert all(m.endswith(f" of {COLUMNS} columns cut]") for m in markers), markers[:3]
