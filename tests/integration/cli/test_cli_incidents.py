"""``sqlsentinel incidents`` as a user runs it: real runs against a SQLite warehouse, then the
incidents they left, as JSON and as a table, for one instance and for a time window."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cli_smtp import Inbox
from test_cli_end_to_end import base_env, run_json, sqlsentinel

ALERTS = """\
defaults:
  conn_id: wh
  notify:
    - channel: email
      to: [oncall@example.com]
alerts:
  - name: revenue_drop
    schedule: "0 9 * * *"
    query: |
      SELECT CASE WHEN SUM(amount) < 10000 THEN 'ALERT' ELSE 'OK' END AS status,
             SUM(amount) AS actual_value, 10000 AS threshold
      FROM orders
  - name: late_tables
    schedule: "*/5 * * * *"
    key_columns: [table_name]
    query: |
      SELECT table_name, CASE WHEN age > 24 THEN 'ALERT' ELSE 'OK' END AS status,
             age AS actual_value, 24 AS threshold
      FROM loads
"""


def test_incidents_of_an_alert_and_of_one_instance(tmp_path: Path, inbox: Inbox) -> None:
    wh = tmp_path / "warehouse.db"
    with sqlite3.connect(wh) as conn:
        conn.execute("CREATE TABLE orders (amount NUMERIC)")
        conn.execute("INSERT INTO orders VALUES (4000)")
        conn.execute("CREATE TABLE loads (table_name TEXT, age INTEGER)")
        conn.executemany("INSERT INTO loads VALUES (?, ?)", [("orders", 30), ("customers", 2)])
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    env = base_env(tmp_path)
    env["AIRFLOW_CONN_WH"] = json.dumps({"conn_type": "sqlite", "host": str(wh)})
    env["AIRFLOW_CONN_SMTP_DEFAULT"] = inbox.connection_json()
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{tmp_path / 'state.db'}"

    run_json(["run", "alerts.yaml"], env, tmp_path)  # revenue fires at 4000
    with sqlite3.connect(wh) as conn:
        conn.execute("INSERT INTO orders VALUES (9000)")
    run_json(["run", "alerts.yaml"], env, tmp_path)  # 13000: resolved; orders still late

    found = run_json(["incidents", "--alert", "revenue_drop"], env, tmp_path)["incidents"]
    (incident,) = found
    assert (incident["kind"], incident["ongoing"], incident["evaluations"]) == ("firing", False, 1)
    assert (incident["peak_value"], incident["peak_threshold"]) == (4000, 10000)
    assert incident["notifications"] == {"firing": 1, "resolved": 1}
    assert incident["duration_seconds"] >= 0

    table = sqlsentinel(["incidents", "--alert", "revenue_drop"], env, tmp_path)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["KIND", "INSTANCE", "STARTED", "ENDED"]
    assert "1 firing, 1 resolved" in row and "4000 vs 10000" in row

    late = run_json(
        ["incidents", "--alert", "late_tables", "--instance", "table_name=orders", "--since", "1d"],
        env,
        tmp_path,
    )["incidents"]
    assert [(i["key_values"], i["ongoing"], i["evaluations"]) for i in late] == [
        ({"table_name": "orders"}, True, 2)
    ]
    keyed_table = sqlsentinel(["incidents", "--alert", "late_tables"], env, tmp_path)
    assert keyed_table.returncode == 0, keyed_table.stderr
    (keyed_row,) = keyed_table.stdout.splitlines()[1:]
    assert keyed_row.split()[:2] == ["firing", "table_name=orders"]  # the label, not JSON
    by_key = run_json(
        ["incidents", "--alert", "late_tables", "--instance", '{"table_name":"customers"}'],
        env,
        tmp_path,
    )
    assert by_key["incidents"] == []

    bad = sqlsentinel(["incidents", "--alert", "late_tables", "--since", "soon"], env, tmp_path)
    assert bad.returncode == 2 and "--since" in bad.stderr, bad.stderr
    bad = sqlsentinel(["incidents", "--alert", "late_tables", "--instance", "=x"], env, tmp_path)
    assert bad.returncode == 2 and "name=value" in bad.stderr, bad.stderr
