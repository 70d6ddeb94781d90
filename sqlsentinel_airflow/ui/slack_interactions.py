"""Slack's button clicks: ``POST /sqlsentinel/api/slack/interactions`` (docs/responding.md, "From Slack").

Slack cannot log in to Airflow, so this route is not behind Airflow's auth; Slack's request
signature is its authentication ("Verifying requests from Slack"):

- ``X-Slack-Signature`` must be ``v0=`` + hex HMAC-SHA256 of ``v0:<timestamp>:<raw body>``
  under the app's signing secret (compared in constant time), and ``X-Slack-Request-Timestamp``
  within :data:`SIGNATURE_WINDOW` of now. Anything else is answered 401 with a generic body,
  before the body is parsed, and logged without the signature or the secret.
- A request is acted on once: its signature is remembered in-process for the window (a replay
  to this api-server is refused before parsing) and, when it acts, recorded in the alert's
  state database (``store.use_action_token``, a primary key), so a replay to another
  api-server process changes nothing either.
- The signing secret is the password of the Airflow connection named by ``[sqlsentinel]
  slack_app_conn_id`` (default ``sqlsentinel_slack_app``); its extra may restrict who may click
  (``allowed_team_ids``, ``allowed_user_ids``). Read through Airflow's connections (metadata DB,
  ``AIRFLOW_CONN_*``, secrets backends), kept :data:`SETTINGS_CACHE_SECONDS`.

A verified click on Acknowledge calls ``acks.acknowledge`` (source ``slack``), on Snooze 1h
adds a one-hour silence of the instance; the message is then updated in place through the
click's ``response_url`` (the buttons replaced by who did what). A click on an incident that
is over, or on an alert this api-server does not know, gets an ephemeral reply and changes
nothing. Slack wants an answer within 3 seconds: the route answers 200 once the state
database is written, and posts to ``response_url`` after answering.
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Request, Response
from starlette.concurrency import run_in_threadpool

from sqlsentinel_airflow import acks
from sqlsentinel_airflow.airflow_compat import configured_api_base_url
from sqlsentinel_airflow.airflow_contract import (
    CONFIG_SECTION,
    DEFAULT_SLACK_APP_CONN_ID,
    SLACK_APP_CONN_ID_OPTION,
)
from sqlsentinel_airflow.core.config.models import AlertConfig, SlackChannel
from sqlsentinel_airflow.core.events import alert_channels
from sqlsentinel_airflow.core.model import InstanceState, Silence, State
from sqlsentinel_airflow.core.redact import Redactor
from sqlsentinel_airflow.notify.base import RedactingLogger
from sqlsentinel_airflow.notify.slack_app import (
    ACK_ACTION,
    SNOOZE,
    SNOOZE_ACTION,
    IncidentRef,
    answered_blocks,
    parse_button_value,
)
from sqlsentinel_airflow.notify.templates import slack_escape
from sqlsentinel_airflow.ui.definitions import ManifestIndex
from sqlsentinel_airflow.ui.stores import StateStores

__all__ = [
    "INTERACTIONS_PATH",
    "SIGNATURE_WINDOW",
    "SeenSignatures",
    "SlackAppSettings",
    "build_slack_router",
    "load_slack_app_settings",
    "signature_problem",
    "slack_app_conn_id",
    "slack_signature",
]

log = logging.getLogger(__name__)

INTERACTIONS_PATH = "/slack/interactions"
SIGNATURE_WINDOW = timedelta(minutes=5)
SETTINGS_CACHE_SECONDS = 60.0
USERS_INFO_TIMEOUT_SECONDS = 2  # Slack wants the click answered within 3 s
_REFUSED = {"detail": "request not verified"}


# --- the signature --------------------------------------------------------------------------


DEFAULT_RESPONSE_URL_PREFIX = "https://hooks.slack.com/"


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:<timestamp>:<body>``: what Slack sends."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signature_problem(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> str | None:
    """Why the request is not Slack's (for the log: never the signature), None when it is."""
    if not timestamp or not signature:
        return "no X-Slack-Signature or X-Slack-Request-Timestamp header"
    try:
        sent = int(timestamp)
    except ValueError:
        return "X-Slack-Request-Timestamp is not a number"
    if abs(now - sent) > SIGNATURE_WINDOW.total_seconds():
        return "X-Slack-Request-Timestamp is outside the 5-minute window"
    try:
        expected = slack_signature(secret, timestamp, body)
    except UnicodeEncodeError:
        return "X-Slack-Request-Timestamp is not a number"
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        return "the signature does not match the signing secret"
    return None


class SeenSignatures:
    """The signatures of the requests verified in the last window, so a replay is refused."""

    def __init__(self, window: timedelta = SIGNATURE_WINDOW) -> None:
        self._window = window.total_seconds()
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, digest: str, now: float) -> bool:
        """True for a digest not seen within the window (and remember it), else False."""
        with self._lock:
            horizon = now - 2 * self._window  # a timestamp may be up to one window ahead
            for old in [d for d, at in self._seen.items() if at < horizon]:
                del self._seen[old]
            if digest in self._seen:
                return False
            self._seen[digest] = now
            return True


# --- the Slack app's connection -------------------------------------------------------------


@dataclass(frozen=True)
class SlackAppSettings:
    """The signing secret and who may click, from the Slack app's Airflow connection."""

    conn_id: str
    signing_secret: str = field(repr=False)
    allowed_team_ids: frozenset[str] = frozenset()
    allowed_user_ids: frozenset[str] = frozenset()
    # where a click's response_url may point: Slack's own host, unless the connection's
    # extra says otherwise (``response_url_prefix``); a signed request is trusted, but a
    # leaked signing secret must not turn the api-server into a client of any URL
    response_url_prefix: str = DEFAULT_RESPONSE_URL_PREFIX

    def allows_response_url(self, url: str) -> bool:
        return url.startswith(self.response_url_prefix)

    def refuses(self, user_id: str, team_id: str) -> bool:
        """Whether the allow-lists (when set) leave this Slack user out."""
        if self.allowed_team_ids and team_id not in self.allowed_team_ids:
            return True
        return bool(self.allowed_user_ids) and user_id not in self.allowed_user_ids


def slack_app_conn_id() -> str:
    """``[sqlsentinel] slack_app_conn_id`` (``AIRFLOW__SQLSENTINEL__SLACK_APP_CONN_ID``), else
    ``sqlsentinel_slack_app``."""
    from sqlsentinel_airflow.airflow_compat import airflow_conf

    value = airflow_conf().get(CONFIG_SECTION, SLACK_APP_CONN_ID_OPTION, fallback=None)
    return (value or "").strip() or DEFAULT_SLACK_APP_CONN_ID


def _ids(value: object) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        return frozenset()
    return frozenset(str(v).strip() for v in value if str(v).strip())


def load_slack_app_settings(conn_id: str) -> SlackAppSettings | None:
    """The settings of connection ``conn_id``; None (logged) when it is missing or has no
    password: no click can be verified then."""
    from airflow.sdk import BaseHook

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException, or a secrets backend failing
        log.warning(
            "Slack interactions are refused: Airflow connection %r (the Slack app's signing "
            "secret) could not be read (%s); create it with the signing secret as password",
            conn_id,
            type(exc).__name__,
        )
        return None
    if not conn.password:
        log.warning(
            "Slack interactions are refused: connection %r has no password (put the Slack "
            "app's signing secret there)",
            conn_id,
        )
        return None
    extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
    return SlackAppSettings(
        conn_id=conn_id,
        signing_secret=conn.password,
        allowed_team_ids=_ids(extra.get("allowed_team_ids")),
        allowed_user_ids=_ids(extra.get("allowed_user_ids")),
        response_url_prefix=str(extra.get("response_url_prefix") or DEFAULT_RESPONSE_URL_PREFIX),
    )


class _SettingsCache:
    def __init__(self, load: Callable[[], SlackAppSettings | None]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._value: SlackAppSettings | None = None
        self._until = 0.0

    def get(self) -> SlackAppSettings | None:
        with self._lock:
            if time.monotonic() < self._until:
                return self._value
        value = self._load()
        with self._lock:
            self._value, self._until = value, time.monotonic() + SETTINGS_CACHE_SECONDS
        return value


# --- acting on a click ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What to post to the click's ``response_url``: a new message body, or an ephemeral
    text for the clicker alone."""

    update: dict[str, Any] | None = None
    ephemeral: str | None = None
    refused: bool = False  # a replay: answer 401


@dataclass
class _Click:
    action_id: str
    value: str
    user_id: str
    user_name: str
    team_id: str
    message: Mapping[str, Any]


def _clicks(payload: Mapping[str, Any]) -> list[_Click]:
    user = payload.get("user") or {}
    team = payload.get("team") or {}
    return [
        _Click(
            action_id=str(action.get("action_id") or ""),
            value=str(action.get("value") or ""),
            user_id=str(user.get("id") or ""),
            user_name=str(user.get("name") or user.get("username") or ""),
            team_id=str(team.get("id") or user.get("team_id") or ""),
            message=payload.get("message") or {},
        )
        for action in payload.get("actions") or ()
        if action.get("action_id") in (ACK_ACTION, SNOOZE_ACTION)
    ]


def _utc(at: datetime) -> str:
    return f"{at:%H:%M} UTC on {at:%Y-%m-%d}"


class _Interactions:
    def __init__(
        self,
        manifests: ManifestIndex,
        stores: StateStores,
        clock: Callable[[], datetime],
    ) -> None:
        self.manifests = manifests
        self.stores = stores
        self.clock = clock

    def act(self, payload: Mapping[str, Any], digest: str, settings: SlackAppSettings) -> Reply:
        clicks = _clicks(payload)
        if not clicks:
            return Reply()  # a URL button's click, or another app's: nothing to do
        click = clicks[0]
        if settings.refuses(click.user_id, click.team_id):
            log.info(
                "Slack user %s (team %s) is not on the allow-list of connection %r",
                click.user_id,
                click.team_id,
                settings.conn_id,
            )
            return Reply(ephemeral="You may not act on SQL Sentinel alerts from Slack.")
        try:
            ref = parse_button_value(click.value)
        except ValueError as exc:
            return Reply(ephemeral=f"SQL Sentinel cannot read this button: {exc}.")
        known = self.manifests.by_dag_id().get(ref.dag_id)
        if known is None or known.config is None:
            return Reply(
                ephemeral=f"SQL Sentinel does not know the alert of DAG `{slack_escape(ref.dag_id)}` "
                "(any more): nothing changed."
            )
        alert = known.config
        name = slack_escape(alert.name)
        store = self.stores.for_reading(self.stores.url_for(known.state_db))
        state = self._incident(store, alert, ref)
        if store is None or state is None:
            return Reply(
                ephemeral=f"*{name}*: this incident is over (the instance resolved, or fired "
                "again since): nothing changed."
            )
        now = self.clock()
        if not store.use_action_token(  # before anything else: a replay costs no users.info
            hashlib.sha256(b"slack:" + digest.encode()).hexdigest(),
            action=click.action_id,
            alert_name=alert.name,
            instance_key=state.instance_key,
            used_by=f"Slack {click.user_id}",
            now=now,
        ):
            log.warning("refused a replayed Slack interaction for alert %r", alert.name)
            return Reply(refused=True)
        who = _slack_name(alert, click)
        mention = f"<@{click.user_id}>" if click.user_id else slack_escape(who)
        if click.action_id == ACK_ACTION:
            try:
                (result,) = acks.acknowledge(
                    store,
                    alert,
                    state.instance_key,
                    by=who,
                    source="slack",
                    now=now,
                    ui_base_url=configured_api_base_url(),  # the links of PagerDuty's event
                )
            except acks.NotFiringError:
                return Reply(ephemeral=f"*{name}* is not firing: nothing to acknowledge.")
            if not result.changed:
                by, at = slack_escape(result.state.acked_by or "someone"), result.state.acked_at
                return Reply(
                    ephemeral=f"*{name}* was already acknowledged by {by}"
                    + (f" at {_utc(at)}" if at else "")
                    + "."
                )
            log.info("alert %r acknowledged from Slack by %s", alert.name, who)
            line = f":white_check_mark: Acknowledged by {mention} at {_utc(now)}"
            return Reply(update=_updated(click.message, line, (ACK_ACTION, SNOOZE_ACTION)))
        saved = store.add_silence(
            Silence(
                match=glob.escape(alert.name),  # this alert only, even if its name has * ? [
                starts_at=now,
                ends_at=now + SNOOZE,
                reason="snoozed for 1h from Slack",
                author=who,
                created_at=now,
                source="slack",
                instance_key=state.instance_key or None,
            )
        )
        log.info(
            "alert %r snoozed for 1h from Slack by %s (silence #%s)", alert.name, who, saved.id
        )
        line = f":zzz: Snoozed for 1h by {mention}, until {_utc(now + SNOOZE)}"
        return Reply(update=_updated(click.message, line, (SNOOZE_ACTION,)))

    def _incident(self, store: Any, alert: AlertConfig, ref: IncidentRef) -> InstanceState | None:
        """The instance's state, if it still fires in the incident the button was sent for."""
        if store is None:
            return None
        for state in store.list_states(alert.name):
            if not ref.names(state.instance_key):
                continue
            same = (
                state.firing_since is not None
                and abs((state.firing_since - ref.firing_since).total_seconds()) < 1
            )  # a database may keep whole seconds
            return state if same and state.effective_state is State.FIRING else None
        return None


def _updated(message: Mapping[str, Any], line: str, drop: tuple[str, ...]) -> dict[str, Any]:
    return {
        "replace_original": True,
        "text": str(message.get("text") or ""),
        "blocks": answered_blocks(message.get("blocks") or [], line, drop=drop),
    }


def _slack_name(alert: AlertConfig, click: _Click) -> str:
    """Who clicked, as the state database records it: ``Ana Ruiz (Slack U0123)``, the real
    name from ``users.info`` (the alert's Slack app token), else the Slack user name."""
    name = _real_name(alert, click.user_id) or click.user_name or "someone"
    return f"{name} (Slack {click.user_id})" if click.user_id else name


def _real_name(alert: AlertConfig, user_id: str) -> str | None:
    bots = [c for _cid, c in alert_channels(alert) if isinstance(c, SlackChannel) and c.bot_conn_id]
    if not bots or not user_id:
        return None
    from sqlsentinel_airflow.notify.channels import build_channel
    from sqlsentinel_airflow.notify.slack import slack_app_client

    sender = build_channel(bots[0])
    try:
        client = slack_app_client(  # no retry: Slack wants the click answered within 3 s
            sender, bots[0].bot_conn_id or "", timeout=USERS_INFO_TIMEOUT_SECONDS, retries=False
        )
        user = client.users_info(user=user_id).get("user") or {}
    except Exception as exc:  # the name is a courtesy: the user id is recorded anyway
        log.warning("Slack users.info failed: %s", sender.redactor(f"{type(exc).__name__}: {exc}"))
        return None
    profile = user.get("profile") or {}
    return str(user.get("real_name") or profile.get("real_name") or "").strip() or None


def _post_response(response_url: str, body: dict[str, Any]) -> None:
    """Post ``body`` to the click's ``response_url`` (it carries a token: never logged)."""
    from slack_sdk.webhook import WebhookClient

    redactor = Redactor([response_url])
    client = WebhookClient(
        url=response_url,
        timeout=5,
        logger=RedactingLogger(log, redactor),  # type: ignore[arg-type]
    )
    try:
        response = client.send_dict(body)
    except Exception as exc:
        log.warning(
            "posting to Slack's response_url failed: %s", redactor(f"{type(exc).__name__}: {exc}")
        )
        return
    if response.status_code != 200:
        log.warning("Slack's response_url answered HTTP %s", response.status_code)


# --- the route ------------------------------------------------------------------------------


def build_slack_router(
    manifests: ManifestIndex,
    stores: StateStores,
    clock: Callable[[], datetime],
    *,
    settings: Callable[[], SlackAppSettings | None] | None = None,
) -> APIRouter:
    """The interaction route; ``settings`` defaults to the Slack app's connection (cached)."""
    router = APIRouter()
    handler = _Interactions(manifests, stores, clock)
    cached = _SettingsCache(settings or (lambda: load_slack_app_settings(slack_app_conn_id())))
    seen = SeenSignatures()

    @router.post(INTERACTIONS_PATH, include_in_schema=False)
    async def slack_interactions(request: Request, background: BackgroundTasks) -> Response:
        body = await request.body()
        app = await run_in_threadpool(cached.get)
        signature = request.headers.get("x-slack-signature")
        now = clock().timestamp()
        problem = (
            "the Slack app's connection is not set up"
            if app is None
            else signature_problem(
                app.signing_secret,
                request.headers.get("x-slack-request-timestamp"),
                signature,
                body,
                now,
            )
        )
        digest = hashlib.sha256((signature or "").encode("utf-8", "replace")).hexdigest()
        if problem is None and not seen.first_time(digest, now):
            problem = "a replay of a request already handled"
        if problem is not None or app is None:
            log.warning("refused a Slack interaction request: %s", problem)
            return Response(json.dumps(_REFUSED), status_code=401, media_type="application/json")
        try:
            payload = json.loads((parse_qs(body.decode("utf-8")).get("payload") or [""])[0])
        except ValueError:
            return Response(status_code=400)
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return Response(status_code=200)
        reply = await run_in_threadpool(handler.act, payload, digest, app)
        if reply.refused:
            return Response(json.dumps(_REFUSED), status_code=401, media_type="application/json")
        response_url = str(payload.get("response_url") or "")
        if response_url and not app.allows_response_url(response_url):
            log.warning(
                "a Slack click's response_url is not under %s: the message is not updated",
                app.response_url_prefix,
            )
            response_url = ""
        if response_url and reply.update is not None:
            background.add_task(_post_response, response_url, reply.update)
        elif response_url and reply.ephemeral is not None:
            ephemeral = {
                "response_type": "ephemeral",
                "replace_original": False,
                "text": reply.ephemeral,
            }
            background.add_task(_post_response, response_url, ephemeral)
        return Response(status_code=200)

    return router
