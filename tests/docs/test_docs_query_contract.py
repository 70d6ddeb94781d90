"""docs/query-contract.md: every example loaded by the real loader and run where it can be.

PostgreSQL, MariaDB and SQLite examples run through the package's own path (Airflow
connection -> DbApiHook -> read-only QueryRunner -> contract check) on a real database
holding the page's `orders` table. Snowflake and BigQuery cannot run here: their files pass
`sqlsentinel validate` with a connection of that type, and sqlglot parsed each query in
that dialect, which is what the page claims and no more.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from docs_site_support import VENV_BIN, docs_env, lines_of, run_shell
from docs_snippets import text

from sqlsentinel_airflow.core.config import check_query, load_config_text
from sqlsentinel_airflow.core.model import Outcome
from sqlsentinel_airflow.core.result import evaluate_result

# Each error of the page, from a real SQLite result: (query, key_columns).
ERROR_CASES = [
    ("SELECT 'OK' AS status WHERE 1 = 0", ()),
    ("SELECT 'OK' AS status UNION ALL SELECT 'OK'", ()),
    ("SELECT 30 AS pending_orders", ()),
    ("SELECT NULL AS status", ()),
    ("SELECT 'WARN' AS status", ()),
    (
        "SELECT 'orders' AS table_name, 'OK' AS status UNION ALL SELECT 'orders', 'OK'",
        ("table_name",),
    ),
]

# database -> (snippet, conn_type, DDL + data: 30 orders pending for three hours)
RUNNABLE = {
    "postgres": (
        "contract-postgres",
        "postgres",
        [
            "CREATE TABLE orders (id integer PRIMARY KEY, status text, created_at timestamptz)",
            "INSERT INTO orders SELECT g, 'pending', now() - interval '3 hours' "
            "FROM generate_series(1, 30) AS g",
        ],
    ),
    "mysql": (
        "contract-mysql",
        "mysql",
        [
            "CREATE TABLE orders (id integer PRIMARY KEY, status varchar(20), created_at datetime)",
            "INSERT INTO orders SELECT seq, 'pending', NOW() - INTERVAL 3 HOUR FROM seq_1_to_30",
        ],
    ),
    "sqlite": (
        "contract-sqlite",
        "sqlite",
        [
            "CREATE TABLE orders (id integer PRIMARY KEY, status text, created_at text)",
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 30) "
            "INSERT INTO orders SELECT n, 'pending', datetime('now', '-3 hours') FROM g",
        ],
    ),
}
FRESH = "UPDATE orders SET created_at = created_at + {}"


def test_contract_error_messages() -> None:
    conn = sqlite3.connect(":memory:")
    messages = []
    for sql, keys in ERROR_CASES:
        cur = conn.execute(sql)
        columns = [d[0] for d in cur.description]
        evaluation = evaluate_result(
            columns, cur.fetchall(), key_columns=keys, max_rows=1000 if keys else 1
        )
        assert evaluation.error is not None, sql
        messages.append(evaluation.error)
    assert messages == lines_of(text("contract-errors"))


def _only_alert(snippet_id: str, conn_type: str) -> object:
    result = load_config_text(text(snippet_id), "alerts.yaml", conn_type_of=lambda _c: conn_type)
    assert result.ok, [e.format() for e in result.errors]
    assert result.config is not None
    (alert,) = result.config.alerts
    return alert


def _airflow_conn(database: str, url: str, tmp_path: Path) -> str:
    if database == "sqlite":
        return json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")})
    parsed = sa.engine.make_url(url)
    scheme = "postgresql" if database == "postgres" else "mysql"
    login = f"{parsed.username}:{parsed.password}" if parsed.password else parsed.username
    return f"{scheme}://{login}@{parsed.host}:{parsed.port}/{parsed.database}"


@pytest.mark.airflow
@pytest.mark.parametrize("database", sorted(RUNNABLE))
def test_example_runs_on_the_real_database(
    database: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

    snippet_id, conn_type, setup = RUNNABLE[database]
    alert = _only_alert(snippet_id, conn_type)
    assert alert.dialect == {"postgres": "postgres", "mysql": "mysql", "sqlite": "sqlite"}[database]
    url = (
        f"sqlite:///{tmp_path / 'warehouse.db'}"
        if database == "sqlite"
        else str(request.getfixturevalue("pg_url" if database == "postgres" else "mysql_url"))
    )
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in setup:
                conn.exec_driver_sql(statement)
        # The alert reads through a read-only login, as docs/security.md sets one up.
        reader = (
            url
            if database == "sqlite"
            else str(
                request.getfixturevalue(
                    "pg_reader_url" if database == "postgres" else "mysql_reader_url"
                )
            )
        )
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", _airflow_conn(database, reader, tmp_path))

        def evaluate() -> tuple[str, object, object, dict[str, object]]:
            hook = resolve_db_hook(alert.conn_id, alert.database_url)
            rows = QueryRunner(hook, timeout=timedelta(seconds=30), max_rows=alert.max_rows).run(
                alert.query
            )
            ev = evaluate_result(rows.columns, rows.rows, max_rows=alert.max_rows)
            assert ev.error is None, ev.error
            (instance,) = ev.instances
            return (
                instance.status.value,
                instance.actual_value,
                instance.threshold,
                instance.context,
            )

        status, value, threshold, context = evaluate()
        assert (status, value, threshold) == (Outcome.ALERT.value, 30, 25)
        assert context["oldest_pending"] is not None  # context column, JSON-safe
        fresh = {
            "postgres": "interval '3 hours'",
            "mysql": "INTERVAL 3 HOUR",
            "sqlite": "0",  # unused below
        }[database]
        with engine.begin() as conn:
            if database == "sqlite":
                conn.exec_driver_sql("UPDATE orders SET created_at = datetime('now')")
            else:
                conn.exec_driver_sql(FRESH.format(fresh))
        status, value, threshold, _ = evaluate()
        assert (status, value, threshold) == (Outcome.OK.value, 0, 25)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("snippet_id", "conn_type", "dialect"),
    [
        ("contract-snowflake", "snowflake", "snowflake"),
        ("contract-bigquery", "google_cloud_platform", "bigquery"),
    ],
)
def test_snowflake_and_bigquery_validate_in_their_dialect(
    snippet_id: str, conn_type: str, dialect: str, tmp_path: Path
) -> None:
    (tmp_path / "alerts.yaml").write_text(text(snippet_id), encoding="utf-8")
    env = docs_env(
        tmp_path / "airflow",
        {"AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": conn_type})},
    )
    done = subprocess.run(
        [str(VENV_BIN / "sqlsentinel"), "validate", "alerts.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "alerts.yaml: OK, 1 alert"
    # The loader chose the connection's dialect, and the query parsed in it (no fallback).
    alert = _only_alert(snippet_id, conn_type)
    assert alert.dialect == dialect
    query = yaml.safe_load(text(snippet_id))["alerts"][0]["query"]
    assert check_query(query, dialect).dialect == dialect


@pytest.mark.postgres
def test_keyed_alert_fires_and_resolves_per_instance(
    tmp_path: Path, pg_url: str, pg_reader_url: str
) -> None:
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "CREATE TABLE table_loads (table_name text, loaded_at timestamptz)"
            )
            conn.exec_driver_sql(
                "INSERT INTO table_loads VALUES ('customers', now() - interval '30 hours'), "
                "('orders', now() - interval '1 hour'), ('payments', now() - interval '1 hour')"
            )
        (tmp_path / "alerts.yaml").write_text(text("contract-keyed-yaml"), encoding="utf-8")
        url = sa.engine.make_url(pg_reader_url)
        env = docs_env(
            tmp_path / "airflow",
            {
                "AIRFLOW_CONN_WAREHOUSE": (
                    f"postgresql://{url.username}:{url.password}@{url.host}:{url.port}"
                    f"/{url.database}"
                )
            },
        )
        command = text("contract-keyed-run")
        first = run_shell(command, cwd=tmp_path, env=env)
        assert lines_of(first.stdout) == lines_of(text("contract-keyed-run-output"))
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO table_loads VALUES ('customers', now())")
        second = run_shell(command, cwd=tmp_path, env=env)
        assert lines_of(second.stdout) == lines_of(text("contract-keyed-rerun-output"))
    finally:
        engine.dispose()
