"""Airflow's auth manager, as the UI's endpoints use it (ADR 5).

Airflow mounts a plugin's FastAPI app as it is, without adding any auth, so every route of
ours declares it, with the dependencies Airflow's own REST API uses
(``airflow.api_fastapi.core_api.security``):

- who: ``GetUserDep`` takes the ``Authorization: Bearer`` JWT, else the UI's ``_token``
  session cookie, which is what authenticates our pages inside Airflow's UI (same origin).
  No token: 401; a bad one: 403 (Airflow's answers).
- what: reading an alert needs read access (``GET``) to its DAG, silencing it edit access
  (``PUT``), decided by the configured auth manager, per DAG, with the DAG's team.
  ``requires_access_dag`` does this for routes with ``{dag_id}`` in the path; the alert
  list is filtered with :func:`authorized_dag_ids`.

The session cookie is ``SameSite=Lax``, so browsers do not send it with cross-site POSTs;
writes also insist on a JSON body (:func:`require_json`), which a cross-site HTML form
cannot send without a CORS preflight that we never grant.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

from fastapi import HTTPException, Request, status
from sqlalchemy.orm import Session

__all__ = ["Method", "authorized_dag_ids", "require_json", "user_name"]

Method = Literal["GET", "PUT"]


def authorized_dag_ids(
    user: Any, dag_ids: Collection[str], method: Method, session: Session
) -> set[str]:
    """The subset of ``dag_ids`` the user may read (``GET``) or edit (``PUT``)."""
    if not dag_ids:
        return set()
    from airflow.api_fastapi.app import get_auth_manager

    allowed: set[str] = get_auth_manager().get_authorized_dag_ids(
        user=user, method=method, session=session
    )
    return allowed.intersection(dag_ids)


def user_name(user: Any) -> str:
    """How a silence records its author: the auth manager's user name (else its id)."""
    for getter in ("get_name", "get_id"):
        try:
            value = getattr(user, getter)()
        except Exception:  # an auth manager's user without a name: try the next
            continue
        if value:
            return str(value)
    return "unknown"


def require_json(request: Request) -> None:
    """Writes take JSON only: 415 otherwise (see the module doc for why)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send a JSON body with Content-Type: application/json",
        )
