"""The API behind the links in emails (under ``/sqlsentinel/api``; docs/responding.md).

An email's "Acknowledge" link opens the action page (``/sqlsentinel/ui/action#t=<token>``,
``static/action.html``); its script POSTs the token here. Opening a link never acts (mail
scanners fetch links): only the page's Confirm button does, with a POST.

POST /actions/preview  {"token"}               what the link would do, and whether it still
                                                can; verifies, consumes nothing
POST /actions/use      {"token", "comment"?}   do it (acknowledge the incident), once

The token (``core/actionlinks.py``) is checked against the key of the alert's
``action_links.conn_id`` (an Airflow connection's password), then its expiry, then the
incident: it names the incident it was sent for, and acts on no other. The login rule is
the alert file's ``action_links.require_login`` as it is *now*: by default (true) ``use``
needs an Airflow user with edit permission on the alert's DAG, who becomes the author;
false lets the token alone act, in the name of the email's recipients.

Answers: 400 ``invalid`` (not a token, altered, another key, an alert without action
links), 410 ``expired``, 409 ``used`` or ``over`` (the incident resolved or is another one),
401 ``login``, 403 ``forbidden``, 503 ``unavailable`` (the key cannot be read here), 415
(not JSON). Each body is ``{"detail": <for people>, "reason": <code>}``; none repeats the
token or names the key. Writes take JSON only, like every write of this API (``auth.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sqlsentinel_airflow import acks, readmodel
from sqlsentinel_airflow.airflow_compat import configured_api_base_url
from sqlsentinel_airflow.core.actionlinks import (
    MAX_TOKEN_CHARS,
    ActionClaims,
    ActionLinkError,
    ActionLinkExpired,
    action_key,
    read_action_token,
    verify_action_token,
)
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.instances import key_label
from sqlsentinel_airflow.core.model import InstanceState, State
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.ui import auth, catalog
from sqlsentinel_airflow.ui.api import UiContext

__all__ = [
    "ActionAbout",
    "ActionPreview",
    "ActionPreviewAnswer",
    "ActionUse",
    "ActionUseAnswer",
    "build_action_router",
]

log = logging.getLogger(__name__)

_INVALID = "this link is not valid (cut short, altered, or not from this Airflow)"
_UNAVAILABLE = (
    "this Airflow cannot check action links right now (the api-server's log says why); "
    "open the alert in SQL Sentinel to acknowledge it there"
)
KEY_CACHE_SECONDS = 60.0
"""How long a key read from its connection is reused: the preview route answers without a
login, so a stream of crafted tokens must not become a stream of secrets-backend reads. A
new key (a rotated password) applies within this time."""


class ActionPreview(BaseModel):
    """The token of an action link, as the action page read it from its address."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)


class ActionUse(ActionPreview):
    """Use the link: acknowledge its incident, with an optional comment."""

    comment: str = Field(default="", max_length=acks.MAX_COMMENT_CHARS)


class _Refused(Exception):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail

    def response(self) -> JSONResponse:
        return JSONResponse(
            status_code=self.status,
            content={"detail": self.detail, "reason": self.reason},
            headers={"Cache-Control": "no-store"},
        )


@dataclass(frozen=True)
class _Checked:
    """A verified token and what it is about."""

    claims: ActionClaims
    entry: catalog.AlertEntry
    alert: AlertConfig
    state: InstanceState | None
    store: StateStore | None


def build_action_router(ctx: UiContext) -> APIRouter:
    """The two routes; JSON bodies only (CSRF), no login needed to preview."""
    router = APIRouter()
    json_only = [Depends(auth.require_json)]
    keys = _Keys()

    def check(token: str, session: Any) -> _Checked:
        try:
            unverified = read_action_token(token)
        except ActionLinkError:
            raise _Refused(400, "invalid", _INVALID) from None
        manifests = ctx.manifests.by_dag_id()
        entry = catalog.find_alert(session, unverified.dag_id, manifests)
        if entry is None:  # nothing said about which DAGs exist before the signature is checked
            raise _Refused(400, "invalid", _INVALID)
        known = manifests.get(unverified.dag_id)
        if known is None or known.name != entry.name or known.config is None:
            log.warning(
                "an action link of alert %s cannot be checked: this api-server has no "
                "manifest of its file (the DAG processor writes them)",
                entry.name,
            )
            raise _Refused(503, "unavailable", _UNAVAILABLE)
        alert = known.config
        if alert.action_links is None:  # turned off since the email was sent
            raise _Refused(400, "invalid", _INVALID)
        try:
            key = keys.key(alert.action_links.conn_id)
        except (ActionLinkError, LookupError) as exc:
            log.warning("action links of alert %s cannot be checked: %s", alert.name, exc)
            raise _Refused(503, "unavailable", _UNAVAILABLE) from None
        try:
            claims = verify_action_token(token, key, ctx.clock())
        except ActionLinkExpired as exc:
            raise _Refused(410, "expired", str(exc)) from None
        except ActionLinkError:
            raise _Refused(400, "invalid", _INVALID) from None
        store = ctx.stores.for_reading(ctx.stores.url_for(entry.state_db))
        state = None
        if store is not None:
            state = next(
                (s for s in store.list_states(alert.name) if s.instance_key == claims.instance_key),
                None,
            )
        return _Checked(claims, entry, alert, state, store)

    @router.post("/actions/preview", dependencies=json_only, response_model=None)
    def preview(body: ActionPreview, session: SessionDep) -> JSONResponse:
        try:
            checked = check(body.token, session)
        except _Refused as refused:
            return refused.response()
        used = checked.store.action_token_use(checked.claims.token_id) if checked.store else None
        reason = "used" if used is not None else None
        if reason is None and not _same_incident_firing(checked):
            reason = "over"
        answer = ActionPreviewAnswer(
            **_about(checked),
            usable=reason is None,
            reason=reason,
            used={"at": rfc3339(used[0]), "by": used[1]} if used else None,
        )
        return _no_store(answer)

    # sync, so FastAPI runs it in its thread pool (it reads and writes the state database);
    # the user, if any, is resolved first by the async dependency
    @router.post("/actions/use", dependencies=json_only, response_model=None)
    def use(
        body: ActionUse, session: SessionDep, user: Annotated[Any, Depends(_user_or_none)]
    ) -> JSONResponse:
        try:
            checked = check(body.token, session)
            author = _author(user, checked, session)
        except _Refused as refused:
            return refused.response()
        return _use(ctx, checked, author, body.comment)

    return router


def _use(ctx: UiContext, checked: _Checked, author: str, comment: str) -> JSONResponse:
    claims, alert = checked.claims, checked.alert
    if not _same_incident_firing(checked):
        return _Refused(409, "over", _OVER).response()
    store = ctx.stores.for_writing(ctx.stores.url_for(checked.entry.state_db))
    now = ctx.clock()
    if not store.use_action_token(
        claims.token_id,
        action=claims.action,
        alert_name=alert.name,
        instance_key=claims.instance_key,
        used_by=author,
        now=now,
    ):
        return _Refused(409, "used", "this link was used already: a link works once").response()
    try:
        (result,) = acks.acknowledge(
            store,
            alert,
            claims.instance_key,
            by=author,
            source="email",
            comment=comment,
            now=now,
            ui_base_url=configured_api_base_url(),
            incident=claims.firing_since,
        )
    except acks.NotFiringError:
        return _Refused(409, "over", _OVER).response()
    log.info(
        "alert %s: instance %s acknowledged through an email link by %s",
        alert.name,
        key_label(claims.instance_key) or "(the alert)",
        author,
    )
    about = {**_about(checked), "ack": _ack(result.state)}
    return _no_store(ActionUseAnswer(**about, changed=result.changed))


_OVER = "this incident is over: the instance resolved, or fires again as a new incident"


def _author(user: Any, checked: _Checked, session: Any) -> str:
    """Who acknowledges: the Airflow ``user`` (required with ``require_login``, and then
    with edit permission on the alert's DAG), else the email's recipients."""
    settings = checked.alert.action_links
    assert settings is not None  # check() refused alerts without action links
    if user is None:
        if settings.require_login:
            raise _Refused(
                401, "login", "log in to Airflow, then open the link again to acknowledge"
            )
        return f"email link ({checked.claims.recipients or 'a recipient'})"
    if settings.require_login:
        allowed = auth.authorized_dag_ids(user, [checked.entry.dag_id], "PUT", session)
        if checked.entry.dag_id not in allowed:
            raise _Refused(
                403,
                "forbidden",
                "you may not edit this alert's DAG, so you cannot acknowledge it; ask its owner",
            )
    return auth.user_name(user)


async def _user_or_none(request: Request) -> Any:
    """The Airflow user of the request (bearer token or session cookie), None without one."""
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.security import HTTPAuthorizationCredentials

    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    bearer = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=credentials.strip())
        if scheme.lower() == "bearer" and credentials.strip()
        else None
    )
    try:
        return await get_user(request, None, bearer)
    except HTTPException:
        return None


def _same_incident_firing(checked: _Checked) -> bool:
    state = checked.state
    return (
        state is not None
        and state.effective_state is State.FIRING
        and acks.same_incident(state.firing_since, checked.claims.firing_since)
    )


class ActionAbout(BaseModel):
    """What an action link is for (the body of both answers)."""

    action: str = Field(description="`ack`")
    alert: str
    dag_id: str
    instance_key: str = Field(description="'' for a single-row alert")
    instance_label: str = Field(description="`table_name=customers`; '' for a single-row alert")
    firing_since: datetime = Field(description="the incident the link was sent for")
    expires_at: datetime
    require_login: bool = Field(description="`action_links.require_login` now")
    ack: dict[str, Any] | None = Field(
        description="the incident's acknowledgement (the read model's AckView), if any"
    )


class ActionPreviewAnswer(ActionAbout):
    """``POST /actions/preview``: whether the link can still be used, and if not, why."""

    usable: bool
    reason: str | None = Field(description="`used` or `over` when it cannot be used")
    used: dict[str, Any] | None = Field(description="`{at, by}` of its use")


class ActionUseAnswer(ActionAbout):
    """``POST /actions/use``: done (``changed`` false: someone had acknowledged it already)."""

    changed: bool


def _about(checked: _Checked) -> dict[str, Any]:
    claims, state = checked.claims, checked.state
    ack = _ack(state) if state is not None and _same_incident_firing(checked) else None
    settings = checked.alert.action_links
    return ActionAbout(
        action=claims.action,
        alert=checked.alert.name,
        dag_id=checked.entry.dag_id,
        instance_key=claims.instance_key,
        instance_label=key_label(claims.instance_key) or "",
        firing_since=claims.firing_since,
        expires_at=claims.expires_at,
        require_login=bool(settings and settings.require_login),
        ack=ack,
    ).model_dump()


def _ack(state: InstanceState) -> dict[str, Any] | None:
    view = readmodel.ack_view(state)
    return view.to_json() if view is not None else None


def _no_store(answer: BaseModel) -> JSONResponse:
    return JSONResponse(answer.model_dump(mode="json"), headers={"Cache-Control": "no-store"})


class _Keys:
    """The HMAC keys of the ``action_links`` connections, each read at most once a minute."""

    def __init__(self, read: Callable[[str], str | None] | None = None) -> None:
        self._read = read or _connection_password
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[float, bytes]] = {}

    def key(self, conn_id: str) -> bytes:
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(conn_id)
        if kept is not None and now - kept[0] < KEY_CACHE_SECONDS:
            return kept[1]
        key = action_key(self._read(conn_id), conn_id)
        with self._lock:
            self._kept[conn_id] = (now, key)
        return key


def _connection_password(conn_id: str) -> str | None:
    """The password of Airflow connection ``conn_id``; LookupError when it is not defined."""
    from airflow.sdk import BaseHook

    from sqlsentinel_airflow.airflow_compat import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id).password  # type: ignore[no-any-return]
    except AirflowNotFoundException:
        raise LookupError(f"connection '{conn_id}' is not defined") from None
