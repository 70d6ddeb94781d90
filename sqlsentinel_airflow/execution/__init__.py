"""Query execution over Airflow DbApiHooks (adapter layer).

Resolves the connection an alert runs on (:func:`resolve_db_hook`) and runs its SQL
read-only, with a database-side statement timeout and a row cap (:class:`QueryRunner`).
Importing this package does not import Airflow; the functions do, when called.
"""

from __future__ import annotations

from sqlsentinel_airflow.execution.connections import (
    URL_CONN_ID,
    conn_type_for_url,
    conn_type_of,
    resolve_db_hook,
)
from sqlsentinel_airflow.execution.query import QueryRows, QueryRunner, reusing_connections

__all__ = [
    "URL_CONN_ID",
    "QueryRows",
    "QueryRunner",
    "conn_type_for_url",
    "conn_type_of",
    "resolve_db_hook",
    "reusing_connections",
]
