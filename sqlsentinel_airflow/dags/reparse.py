"""Ask a running Airflow to re-parse a DAG file now, through its REST API.

After an edit of alerts.yaml the alert DAGs change at the dag-processor's next parse of the
DAG file, ``[dag_processor] min_file_process_interval`` later (30 s by default). The config
watch shortens that to seconds with ``PUT /api/v2/parseDagFile/{file_token}``, where the
file token comes from ``GET /api/v2/dags/{dag_id}``.

The API is reached through an Airflow **http connection**, ``sqlsentinel_airflow_api`` by
default (docs/deploy-compose.md):

- host: the api-server's base URL, e.g. ``http://airflow-apiserver:8080`` (or host, port and
  ``schema`` http/https, as for ``HttpHook``);
- login + password: a user of the auth manager; a JWT is fetched from ``POST /auth/token``
  (the SimpleAuthManager's and FAB's token endpoint);
- password only: used as a ready-made Bearer token (other auth managers);
- neither: requests go without authentication (``simple_auth_manager_all_admins``).

Without that connection, or when the API cannot be reached, nothing fails: the re-parse
simply happens at the normal interval, and the outcome says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlsentinel_airflow.airflow_contract import DEFAULT_API_CONN_ID

__all__ = ["ReparseOutcome", "api_base_url", "request_reparse"]

log = logging.getLogger(__name__)

_FALLBACK = (
    "the DAG file is re-parsed at the normal interval ([dag_processor] min_file_process_interval)"
)


@dataclass(frozen=True)
class ReparseOutcome:
    """Whether the re-parse was requested, and why not when it was not."""

    requested: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"requested": self.requested, "detail": self.detail}


def api_base_url(host: str | None, schema: str | None, port: int | None) -> str:
    """The API's base URL from an http connection's fields (the way ``HttpHook`` builds it)."""
    host = (host or "").rstrip("/")
    base = host if "://" in host else f"{schema or 'http'}://{host}"
    if port:
        base = f"{base}:{port}"
    return base


class _Api:
    def __init__(self, base_url: str, timeout: float) -> None:
        import requests

        self.base_url = base_url
        self.timeout = timeout
        self.session = requests.Session()

    def authenticate(self, login: str | None, password: str | None) -> None:
        if login:
            response = self.session.post(
                f"{self.base_url}/auth/token",
                json={"username": login, "password": password or ""},
                timeout=self.timeout,
            )
            if response.status_code not in (200, 201):
                raise RuntimeError(f"POST /auth/token answered HTTP {response.status_code}")
            token = response.json().get("access_token")
            if not token:
                raise RuntimeError("POST /auth/token returned no access_token")
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif password:
            self.session.headers["Authorization"] = f"Bearer {password}"

    def file_token(self, dag_id: str) -> str:
        response = self.session.get(
            f"{self.base_url}/api/v2/dags/{quote(dag_id, safe='')}", timeout=self.timeout
        )
        if response.status_code != 200:
            raise RuntimeError(f"GET /api/v2/dags/{dag_id} answered HTTP {response.status_code}")
        token = response.json().get("file_token")
        if not token:
            raise RuntimeError(f"GET /api/v2/dags/{dag_id} returned no file_token")
        return str(token)

    def reparse(self, file_token: str) -> None:
        response = self.session.put(
            f"{self.base_url}/api/v2/parseDagFile/{quote(file_token, safe='')}",
            timeout=self.timeout,
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"PUT /api/v2/parseDagFile answered HTTP {response.status_code}")


def request_reparse(
    dag_id: str, *, conn_id: str = DEFAULT_API_CONN_ID, timeout: float = 10.0
) -> ReparseOutcome:
    """Ask Airflow to re-parse the file defining ``dag_id`` now. Never raises."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException, or a secrets backend failing
        detail = f"no connection {conn_id!r}: {_FALLBACK}"
        log.info("sqlsentinel: %s", detail)
        return ReparseOutcome(False, detail)
    base_url = api_base_url(conn.host, conn.schema, conn.port)
    try:
        api = _Api(base_url, timeout)
        api.authenticate(conn.login, conn.password)
        api.reparse(api.file_token(dag_id))
    except Exception as exc:  # a failed request only delays the change: never fail the task
        # Messages name the endpoint and status only: never the token or the password.
        detail = (
            f"re-parse request through connection {conn_id!r} ({base_url}) failed: "
            f"{type(exc).__name__}: {exc}; {_FALLBACK}"
        )
        log.warning("sqlsentinel: %s", detail)
        return ReparseOutcome(False, detail)
    detail = f"re-parse of the DAG file of {dag_id!r} requested through {conn_id!r} ({base_url})"
    log.info("sqlsentinel: %s", detail)
    return ReparseOutcome(True, detail)
