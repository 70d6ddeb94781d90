"""The alert files every benchmark uses, generated so each tool reads the same alerts.

One generator per file format (ours, dag-factory's, the standalone tool's) from the same
alert list, so a comparison differs in the tool and never in the workload.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

DAG_ID_PREFIX = "sqlsentinel_"
# Alerts with an even index fire against the warehouse below; odd ones are OK.
WAREHOUSE_ORDER_COUNT = 50


@dataclass(frozen=True)
class BenchAlert:
    name: str
    description: str
    query: str
    schedule: str
    email: str

    @property
    def dag_id(self) -> str:
        return f"{DAG_ID_PREFIX}{self.name}"


def bench_alerts(count: int, *, distinct_queries: bool = False) -> list[BenchAlert]:
    """``count`` alerts; even indexes fire (COUNT(*) > small number), odd ones do not.

    The queries differ only in literals, like a file generated from one template, so our
    SQL check parses one of them and reuses the verdict for the others
    (``core/config/sqlcheck.literal_shape``). ``distinct_queries`` gives each query an extra
    column with a name of its own, so every query is parsed: the worst case for that cache.
    """
    alerts = []
    for i in range(count):
        limit = 0 if i % 2 == 0 else 1_000_000 + i
        extra = f", MAX(region) AS region_{i}" if distinct_queries else ""
        alerts.append(
            BenchAlert(
                name=f"alert_{i:05d}",
                description=f"generated alert {i}",
                query=(
                    f"SELECT CASE WHEN COUNT(*) > {limit} THEN 'ALERT' ELSE 'OK' END AS status, "
                    f"COUNT(*) AS actual_value, {limit} AS threshold{extra} "
                    f"FROM orders WHERE region = 'r{i % 7}'"
                ),
                schedule=f"{i % 60} * * * *",
                email=f"team{i % 5}@example.com",
            )
        )
    return alerts


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def ours_yaml(alerts: list[BenchAlert]) -> str:
    """Our alerts.yaml: connection, timezone, severity and owner from ``defaults``."""
    parts = [
        "defaults:\n  conn_id: warehouse\n  timezone: Europe/Berlin\n  owner: data-team\n"
        "  severity: warning\nalerts:\n"
    ]
    for a in alerts:
        parts.append(
            f"  - name: {a.name}\n"
            f"    description: {a.description}\n"
            f"    query: {_quoted(a.query)}\n"
            f"    schedule: {_quoted(a.schedule)}\n"
            f"    notify:\n      - {{channel: email, to: [{a.email}]}}\n"
        )
    return "".join(parts)


def dagfactory_yaml(alerts: list[BenchAlert]) -> str:
    """dag-factory's format: equivalent DAGs, each one ``SQLExecuteQueryOperator`` task.

    Equivalent to ours where dag-factory can express it: schedule, timezone (Europe/Berlin),
    tags, owner, retries, retry delay and execution timeout, the same ``dry_run`` Param (its
    ``__type__`` casting builds a real ``airflow.sdk.Param``) and the same ``doc_md`` text as
    our DAG (taken from our factory, so the Markdown is byte-identical). dag-factory has no
    ``dag_display_name``, and it cannot hand our operator its config object, hence the SQL
    operator.
    """
    docs = _our_doc_md(alerts)
    parts = [
        "default:\n"
        "  default_args:\n    owner: data-team\n    retries: 2\n"
        "    retry_delay: {__type__: datetime.timedelta, seconds: 60}\n"
        "    execution_timeout: {__type__: datetime.timedelta, seconds: 420}\n"
        "  start_date: 2024-01-01\n  timezone: Europe/Berlin\n"
        "  catchup: false\n  max_active_runs: 1\n  is_paused_upon_creation: false\n"
        "  params:\n"
        "    dry_run:\n"
        "      __type__: airflow.sdk.Param\n"
        "      default: false\n"
        "      type: boolean\n"
        "      description: Run the query and show the decision without changing state or "
        "sending notifications.\n"
    ]
    for a in alerts:
        parts.append(
            f"{a.dag_id}:\n"
            f"  description: {a.description}\n"
            f"  schedule: {_quoted(a.schedule)}\n"
            f"  doc_md: {_quoted(docs[a.name])}\n"
            "  tags: [sqlsentinel, warning]\n"
            "  tasks:\n"
            "    - task_id: evaluate\n"
            "      operator: airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator\n"
            "      conn_id: warehouse\n"
            f"      sql: {_quoted(a.query)}\n"
        )
    return "".join(parts)


def _our_doc_md(alerts: list[BenchAlert]) -> dict[str, str]:
    """The ``doc_md`` our factory writes for each alert (built untimed, before the run)."""
    from sqlsentinel_airflow.core.config.loader import load_config_text
    from sqlsentinel_airflow.dags.factory import alert_doc_md

    config = load_config_text(ours_yaml(alerts)).config
    assert config is not None, "the benchmark's own alerts file is invalid"
    return {alert.name: alert_doc_md(alert) for alert in config.alerts}


def standalone_yaml(alerts: list[BenchAlert], warehouse_url: str) -> str:
    """The standalone tool's format (top-level ``database.url``); ours reads it unchanged."""
    parts = [f"database:\n  url: {_quoted(warehouse_url)}\nalerts:\n"]
    for a in alerts:
        parts.append(
            f"  - name: {a.name}\n"
            f"    description: {a.description}\n"
            f"    query: {_quoted(a.query)}\n"
            f"    schedule: {_quoted(a.schedule)}\n"
            "    enabled: true\n"
        )
    return "".join(parts)


def make_warehouse(path: Path) -> str:
    """A small SQLite warehouse with an ``orders`` table; returns its SQLAlchemy URL."""
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT, amount REAL)")
        conn.executemany(
            "INSERT INTO orders (region, amount) VALUES (?, ?)",
            [(f"r{i % 7}", float(i)) for i in range(WAREHOUSE_ORDER_COUNT)],
        )
    return f"sqlite:///{path}"
