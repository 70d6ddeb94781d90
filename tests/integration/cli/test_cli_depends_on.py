"""``sqlsentinel run`` evaluates parents (``depends_on``) before their children: proven by
the history ids and evaluation times in a real PostgreSQL state DB, with the queries on a
real PostgreSQL warehouse; ``validate`` shows the dependencies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

# the children come first in the file; a parent reads pg_sleep so that evaluating it takes
# long enough that a child evaluated first (or alongside) would show an earlier time
ALERTS = """\
defaults:
  conn_id: wh
  schedule: "0 * * * *"
alerts:
  - name: margin
    depends_on: [revenue, orders_loaded]
    query: SELECT 'OK' AS status
  - name: revenue
    depends_on: orders_loaded
    query: SELECT 'OK' AS status FROM (SELECT pg_sleep(0.2)) AS s
  - name: solo
    query: SELECT 'OK' AS status
  - name: orders_loaded
    query: SELECT 'ALERT' AS status FROM (SELECT pg_sleep(0.2)) AS s
"""


def sqlsentinel(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sqlsentinel_airflow.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_evaluates_parents_first_and_validate_shows_them(tmp_path: Path, pg_url: str) -> None:
    url = sa.engine.make_url(pg_url)
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow-home")
    env["AIRFLOW_CONN_WH"] = json.dumps(
        {
            "conn_type": "postgres",
            "host": url.host,
            "port": url.port,
            "login": url.username,
            "schema": url.database,
        }
    )
    env["SQLSENTINEL_STATE_DB_URL"] = pg_url
    proc = sqlsentinel(["run", "alerts.yaml", "--format", "json"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    evaluated = [e["alert_name"] for e in json.loads(proc.stdout)["evaluations"]]
    assert evaluated == ["solo", "orders_loaded", "revenue", "margin"]

    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT alert_name, id, evaluated_at FROM sqlsentinel_history ORDER BY id")
        ).all()
    engine.dispose()
    assert [r.alert_name for r in rows] == ["solo", "orders_loaded", "revenue", "margin"]
    at = {r.alert_name: r.evaluated_at for r in rows}
    assert at["orders_loaded"] < at["revenue"] < at["margin"]

    proc = sqlsentinel(["validate", "alerts.yaml"], env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "margin depends on revenue, orders_loaded" in proc.stdout
    assert "revenue depends on orders_loaded" in proc.stdout
    proc = sqlsentinel(["validate", "alerts.yaml", "--format", "json"], env, tmp_path)
    (file,) = json.loads(proc.stdout)["files"]
    assert file["dependencies"] == {
        "margin": ["revenue", "orders_loaded"],
        "revenue": ["orders_loaded"],
    }
