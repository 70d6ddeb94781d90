"""Which databases a standalone-style ``database.url`` can name (no heavy imports here).

Shared by validation (``core.config.raw``) and execution (``execution.connections``), so a
URL that validates is one the query can run on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["DATABASE_URL_ENV", "SUPPORTED_URLS", "URL_BACKENDS", "conn_type_from_env"]

URL_BACKENDS: dict[str, str] = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
}
"""``database.url`` backends a query can run on, and the Airflow conn_type each becomes."""

SUPPORTED_URLS = "postgresql://, mysql:// (or mariadb://) and sqlite:///"

DATABASE_URL_ENV = "DATABASE_URL"
"""The environment variable standalone SQL Sentinel takes the query database from when a file
has no ``database:``; the last fallback here too (docs/migrating.md). Its value, a URL that
may hold a password, is read when the query runs and never stored or shown."""


def conn_type_from_env(conn_id: str, env: Mapping[str, str] | None = None) -> str | None:
    """The conn_type of ``AIRFLOW_CONN_<ID>`` if set (JSON or URI form), else None.

    Lets validation pick a connection's SQL dialect without Airflow (the DAG file at parse
    time, ``sqlsentinel validate``): looking connections up in the metadata DB or a secrets
    backend on every parse is what Airflow's best practices warn against.
    """
    env = os.environ if env is None else env
    raw = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not raw:
        return None
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        kind = data.get("conn_type") if isinstance(data, dict) else None
        return str(kind) if kind else None
    scheme = urlsplit(raw).scheme.split("+")[0].replace("-", "_")
    return URL_BACKENDS.get(scheme, scheme or None)
