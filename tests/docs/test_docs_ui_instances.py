"""The per-instance silence commands of docs/ui.md and docs/operations.md, run as written
against a real SQLite warehouse and state database (the keyed alert first evaluated for real)."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_site_support import docs_env, run_shell
from docs_snippets import text

ALERTS = """\
alerts:
  - name: table_freshness
    conn_id: wh
    schedule: "*/10 * * * *"
    key_columns: [table_name]
    query: |
      SELECT table_name, CASE WHEN age_h > 24 THEN 'ALERT' ELSE 'OK' END AS status,
             age_h AS actual_value, 24 AS threshold, loaded_by
      FROM load_ages
"""


def _setup(tmp_path: Path) -> dict[str, str]:
    wh = tmp_path / "warehouse.db"
    with sqlite3.connect(wh) as conn:
        conn.execute("CREATE TABLE load_ages (table_name TEXT, age_h REAL, loaded_by TEXT)")
        conn.executemany(
            "INSERT INTO load_ages VALUES (?, ?, ?)",
            [("customers", 30.5, "nightly"), ("orders", 2, "hourly"), ("payments", 4, "hourly")],
        )
    (tmp_path / "alerts.yaml").write_text(ALERTS, encoding="utf-8")
    return docs_env(
        tmp_path / "airflow-home",
        {
            "AIRFLOW_CONN_WH": json.dumps({"conn_type": "sqlite", "host": str(wh)}),
            "SQLSENTINEL_STATE_DB_URL": f"sqlite:///{tmp_path / 'state.db'}",
        },
    )


def _lines(snippet_id: str) -> list[str]:
    lines = [line.split("  #", 1)[0].strip() for line in text(snippet_id).splitlines()]
    return [line for line in lines if line]


def test_ui_instances_cli(tmp_path: Path) -> None:
    env = _setup(tmp_path)
    run_shell("sqlsentinel run alerts.yaml", cwd=tmp_path, env=env, check=False)
    status, silenced, listed = (
        run_shell(line, cwd=tmp_path, env=env).stdout for line in _lines("ui-instances-cli")
    )
    assert "table_name=customers" in status and '{"table_name"' not in status
    assert silenced.startswith("silence #1 for 'table_freshness' instance table_name=customers")
    header, row = listed.splitlines()
    assert header.split()[:3] == ["ID", "MATCH", "INSTANCE"]
    assert row.split()[:3] == ["1", "table_freshness", "table_name=customers"]
    after = run_shell("sqlsentinel status alerts.yaml", cwd=tmp_path, env=env).stdout
    customers = next(line for line in after.splitlines() if "table_name=customers" in line)
    orders = next(line for line in after.splitlines() if "table_name=orders" in line)
    assert "FIRING (silenced)" in customers and "(silenced)" not in orders


def test_ops_silence_instance(tmp_path: Path) -> None:
    env = _setup(tmp_path)  # not evaluated yet: --file gives the key columns
    silenced, listed = (
        run_shell(line, cwd=tmp_path, env=env).stdout for line in _lines("ops-silence-instance")
    )
    assert "instance table_name=customers until" in silenced
    assert "table_name=customers" in listed.splitlines()[1]
    refused = run_shell(
        "sqlsentinel silence table_freshness --instance table=customers --file alerts.yaml "
        "--for 1h --reason x",
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert refused.returncode == 2
    assert "which is not a key column of this alert" in refused.stderr
    assert "write table_name=..." in refused.stderr


def test_ops_file_silence_instance(tmp_path: Path) -> None:
    from sqlsentinel_airflow.core.config import load_config

    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(ALERTS + text("ops-file-silence-instance"), encoding="utf-8")
    loaded = load_config(str(alerts), conn_type_of=lambda conn_id: "sqlite")
    assert loaded.config is not None and not loaded.errors, loaded.errors
    (silence,) = loaded.config.silences
    assert (silence.match, silence.instance_key) == (
        "table_freshness",
        '{"table_name":"customers"}',
    )
    alerts.write_text(
        ALERTS + text("ops-file-silence-instance").replace("table_name=", "table="),
        encoding="utf-8",
    )
    refused = load_config(str(alerts), conn_type_of=lambda conn_id: "sqlite")
    assert refused.config is None
    assert "which is not a key column of this alert" in refused.errors[0].format()
