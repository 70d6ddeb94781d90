"""Airflow's view of the state database: a connection id, turned into a SQLAlchemy URL.

The only module of the store that touches Airflow, and only inside its functions: importing
Airflow costs over a second and creates ``~/airflow`` when ``AIRFLOW_HOME`` is unset, which
the CLI must not pay just to read a SQLite file. Which connection to use is decided by
``locator.py`` (which also reads ``[sqlsentinel] state_db_conn_id``, without Airflow).

``BaseHook.get_connection`` reads the metadata DB (through the execution API inside a task),
``AIRFLOW_CONN_*`` environment variables and secrets backends, so the state database's
password lives where every other Airflow secret lives.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import URL

from sqlsentinel_airflow.airflow_contract import CONFIG_SECTION, HISTORY_RETENTION_OPTION
from sqlsentinel_airflow.errors import StateStoreError

__all__ = [
    "DEFAULT_HISTORY_RETENTION",
    "SUPPORTED_CONN_TYPES",
    "history_retention_from_airflow_config",
    "sqlalchemy_url_for_conn",
]

SUPPORTED_CONN_TYPES = ("postgres", "mysql", "sqlite")

_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+mysqldb",
}
# Connection extras that are driver connect parameters (others, like the postgres hook's
# ``cursor`` or ``iam``, mean something to the hook only and would break the connect call).
_URL_EXTRAS = {
    "postgres": (
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "application_name",
        "connect_timeout",
        "options",
        "target_session_attrs",
        "keepalives",
        "keepalives_idle",
    ),
    "mysql": ("charset", "unix_socket", "connect_timeout"),
}


DEFAULT_HISTORY_RETENTION = "90d"


def history_retention_from_airflow_config() -> str:
    """``[sqlsentinel] history_retention`` (a duration text; ``90d`` when unset or empty)."""
    from sqlsentinel_airflow.airflow_compat import airflow_conf

    value = airflow_conf().get(CONFIG_SECTION, HISTORY_RETENTION_OPTION, fallback=None)
    text = value.strip() if isinstance(value, str) else ""
    return text or DEFAULT_HISTORY_RETENTION


def sqlalchemy_url_for_conn(conn_id: str) -> str:
    """The SQLAlchemy URL (password included) of the Airflow connection ``conn_id``."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException, or a secrets backend failing
        env_name = f"AIRFLOW_CONN_{conn_id.upper()}"
        raise StateStoreError(
            f"Airflow connection {conn_id!r} for the state database could not be read "
            f"({exc.__class__.__name__}: {exc}); define it in the Airflow UI, "
            f"`airflow connections add`, a secrets backend or {env_name}"
        ) from None
    return url_from_connection_fields(
        conn_id,
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=conn.extra_dejson,
    )


def url_from_connection_fields(
    conn_id: str,
    *,
    conn_type: str | None,
    host: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    schema: str | None,
    extra: dict[str, Any],
) -> str:
    """Map an Airflow connection's fields to a SQLAlchemy URL (see SUPPORTED_CONN_TYPES)."""
    kind = (conn_type or "").lower()
    if kind == "sqlite":
        if not host:
            raise StateStoreError(
                f"Airflow connection {conn_id!r} (sqlite) has no host: set host to the path of "
                "the state database file"
            )
        return f"sqlite:///{host}"
    if kind not in _DRIVERS:
        raise StateStoreError(
            f"Airflow connection {conn_id!r} has type {conn_type!r}, which cannot hold the "
            f"state database; use one of {', '.join(SUPPORTED_CONN_TYPES)}"
        )
    if not host:
        raise StateStoreError(
            f"Airflow connection {conn_id!r} ({kind}) has no host; set the database server's host"
        )
    family = "postgres" if kind.startswith("postgres") else "mysql"
    query = {k: str(extra[k]) for k in _URL_EXTRAS[family] if extra.get(k) not in (None, "")}
    url = URL.create(
        _DRIVERS[kind],
        username=login or None,
        password=password or None,
        host=host,
        port=port or None,
        database=schema or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)
