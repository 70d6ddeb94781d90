"""Which database an alert query runs on: an Airflow connection, or a standalone ``database.url``.

Alerts name an Airflow connection (``conn_id``), resolved through ``airflow.sdk.BaseHook`` so
``AIRFLOW_CONN_*`` variables, the metadata database and secrets backends all work. Files
written for the standalone SQL Sentinel carry a SQLAlchemy URL instead; it is turned into an
in-memory Airflow ``Connection`` of the matching type so the same provider hooks run it.

Airflow is imported inside the functions: the core and the DAG-file fast path must not pay
its import cost. Nothing here lets a password or a whole URL into a message or a log line:
connection passwords are registered with Airflow's secrets masker and every message goes
through ``core.redact.redact_text``.
"""

from __future__ import annotations

import json
import os
import re
from typing import TYPE_CHECKING, Any

from sqlsentinel_airflow.core.databases import SUPPORTED_URLS, URL_BACKENDS
from sqlsentinel_airflow.core.redact import one_line, redact_text
from sqlsentinel_airflow.errors import QueryError

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import Connection

__all__ = [
    "URL_CONN_ID",
    "conn_type_for_url",
    "conn_type_of",
    "describe_hook",
    "hook_secrets",
    "resolve_db_hook",
]

#: conn_id given to the in-memory connection built from a standalone ``database.url``.
URL_CONN_ID = "sqlsentinel_database_url"

# SQLAlchemy backend name -> Airflow conn_type whose provider hook runs it.
_URL_BACKENDS = URL_BACKENDS  # one list for validation and execution
_SUPPORTED_URLS = SUPPORTED_URLS


def _connection_not_defined(conn_id: str) -> QueryError:
    env_name = "AIRFLOW_CONN_" + re.sub(r"[^A-Za-z0-9]", "_", conn_id).upper()
    return QueryError(
        f"connection '{conn_id}' is not defined; create it in Admin > Connections or set {env_name}"
    )


def conn_type_for_url(database_url: str) -> str:
    """The Airflow conn_type that runs a standalone ``database.url`` (no Airflow import).

    ``postgres``, ``mysql`` or ``sqlite``; a QueryError (never quoting the URL) otherwise.
    """
    return _parse_url(database_url)[1]


def _parse_url(database_url: str) -> tuple[Any, str]:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(database_url.strip())
    except (ArgumentError, ValueError):
        raise QueryError(
            "database.url is not a valid SQLAlchemy URL "
            f"(write e.g. postgresql://user:password@host:5432/dbname; supported: {_SUPPORTED_URLS})"
        ) from None
    backend = url.get_backend_name()
    conn_type = _URL_BACKENDS.get(backend)
    if conn_type is None:
        raise QueryError(
            f"database.url uses '{backend}', which cannot run from a URL (supported: "
            f"{_SUPPORTED_URLS}); create an Airflow connection and set conn_id instead"
        )
    return url, conn_type


def _connection_from_url(database_url: str) -> Connection:
    from airflow.sdk import Connection

    url, conn_type = _parse_url(database_url)
    extra: dict[str, str] = {
        key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()
    }
    if conn_type == "sqlite":
        path = url.database or ""
        if path and path != ":memory:" and not path.startswith("file:"):
            path = os.path.abspath(path)
        return Connection(conn_id=URL_CONN_ID, conn_type="sqlite", host=path)
    if conn_type == "mysql" and url.get_driver_name() == "mysqlconnector":
        extra["client"] = "mysql-connector-python"
    return Connection(
        conn_id=URL_CONN_ID,
        conn_type=conn_type,
        host=url.host,
        port=url.port,
        login=url.username,
        password=url.password,
        schema=url.database,
        extra=json.dumps(extra) if extra else None,
    )


def _db_hook_of(connection: Connection, label: str) -> DbApiHook:
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk.exceptions import AirflowException

    conn_type = connection.conn_type
    hook_params: dict[str, Any] | None = None
    if connection.conn_id == URL_CONN_ID:
        # The in-memory connection is not in any secrets backend: hand it to the hook.
        hook_params = {"connection": connection}
    try:
        hook = connection.get_hook(hook_params=hook_params)  # type: ignore[no-untyped-call]
    except (AirflowException, ImportError) as exc:
        secrets = (connection.password,)
        raise QueryError(
            f"{label} has conn_type '{conn_type}', for which no hook could be loaded "
            f"({redact_text(one_line(str(exc)), secrets)}); install the provider package "
            "for that database"
        ) from None
    if not isinstance(hook, DbApiHook):
        raise QueryError(
            f"{label} has conn_type '{conn_type}' ({type(hook).__name__}), which is not a SQL "
            "database connection; alert queries need a DbApiHook connection such as "
            "postgres, mysql or sqlite"
        )
    if connection.conn_id == URL_CONN_ID:
        # Some hooks (SqliteHook.get_uri, MySqlHook) look the connection up again by id.
        def pinned_connection(conn_id: str) -> Connection:
            return connection

        setattr(hook, "get_connection", pinned_connection)  # noqa: B010
    return hook


def resolve_db_hook(conn_id: str | None, database_url: str | None = None) -> DbApiHook:
    """The DbApiHook an alert query runs on: ``conn_id`` if set, else ``database_url``.

    Raises QueryError when neither is given, the connection is not defined, its type has no
    SQL hook, or the URL is unusable. Messages name the conn_id, never a password or URL.
    """
    if conn_id:
        from airflow.sdk import BaseHook

        from sqlsentinel_airflow.airflow_compat import AirflowNotFoundException

        try:
            connection = BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            raise _connection_not_defined(conn_id) from None
        except Exception as exc:
            raise QueryError(
                f"connection '{conn_id}' could not be read: {redact_text(one_line(str(exc)))}"
            ) from None
        return _db_hook_of(connection, f"connection '{conn_id}'")
    if database_url:
        from sqlsentinel_airflow.airflow_compat import mask_in_task_logs

        connection = _connection_from_url(database_url)
        mask_in_task_logs(connection.password)
        return _db_hook_of(connection, "database.url")
    raise QueryError(
        "no database to run the query on: set conn_id on the alert (or in defaults) "
        "or database.url at the top of the file"
    )


def conn_type_of(conn_id: str) -> str | None:
    """The conn_type of an Airflow connection (``postgres``, ``mysql``...), None if undefined.

    Lets the config loader pick the SQL dialect for validation. A secrets backend that fails
    raises QueryError (redacted).
    """
    from airflow.sdk import BaseHook

    from sqlsentinel_airflow.airflow_compat import AirflowNotFoundException

    try:
        connection = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception as exc:
        raise QueryError(
            f"connection '{conn_id}' could not be read: {redact_text(one_line(str(exc)))}"
        ) from None
    conn_type = connection.conn_type
    return str(conn_type) if conn_type else None


def describe_hook(hook: DbApiHook) -> str:
    """How messages name the hook's connection: ``connection 'x'`` or ``database.url``."""
    conn_id = hook.get_conn_id()
    if conn_id == URL_CONN_ID:
        return "database.url"
    return f"connection '{conn_id}'"


def hook_secrets(hook: DbApiHook) -> tuple[str, ...]:
    """Strings that must never reach a message: the password of the hook's connection."""
    try:
        password = hook.connection.password
    except Exception:
        return ()
    return (password,) if password else ()
