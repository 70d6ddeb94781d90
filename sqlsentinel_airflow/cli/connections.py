"""``validate --check-connections``: resolve each conn_id and check a query's columns, reading no data.

The query is wrapped as ``SELECT * FROM (<query>) sst_check WHERE 1 = 0`` (the query on lines
of its own, so a trailing ``--`` comment stays a comment) and run through the same guarded
runner as real evaluations: the wrapped text is checked again in the live database's dialect,
runs as one statement in a read-only transaction, and a privileged login is refused as it
would be at run time. The check also proves the connection works and the SQL compiles on the
real database; only the cursor description is read.
"""

from __future__ import annotations

from typing import Any

from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.errors import QueryError

__all__ = ["check_alert_connection"]


def check_alert_connection(alert: AlertConfig) -> dict[str, Any]:
    from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

    target = alert.query_target
    if alert.freshness is not None and not alert.query:
        message = "ok (a freshness check of an asset's events only: no query to check)"
        return {"alert": alert.name, "conn_id": None, "ok": True, "message": message}
    sql = alert.query.strip().rstrip(";")
    probe = f"SELECT * FROM (\n{sql}\n) sst_check WHERE 1 = 0"
    try:
        hook = resolve_db_hook(alert.conn_id, alert.query_database_url())
        rows = QueryRunner(hook, timeout=alert.timeout, max_rows=1).run(probe)
    except QueryError as exc:
        return {
            "alert": alert.name,
            "conn_id": target,
            "ok": False,
            "message": f"connection check failed: {exc}",
        }
    columns = [c.lower() for c in rows.columns]
    wanted = ("status", *[k.lower() for k in alert.key_columns])
    if alert.freshness is not None:  # its MAX query's result becomes the contract's columns
        wanted = ()
    missing = [c for c in wanted if c not in columns]
    if missing:
        return {
            "alert": alert.name,
            "conn_id": target,
            "ok": False,
            "columns": list(rows.columns),
            "message": f"query result lacks column(s) {', '.join(missing)} (it returns: {', '.join(rows.columns) or 'none'})",
        }
    return {
        "alert": alert.name,
        "conn_id": target,
        "ok": True,
        "columns": list(rows.columns),
        "message": "ok",
    }
