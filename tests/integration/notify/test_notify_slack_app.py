"""A Slack app end to end: the message goes out through chat.postMessage with buttons, Slack
reports a click to the plugin's interaction route, the click acts once, the message is updated.

Real parts: the sender over the slack provider's SlackHook, pointed at a loopback server
speaking the Slack Web API (``chat.postMessage``, ``users.info``: ``{"ok": true, ...}``, the
bot token checked) and standing in for the click's ``response_url``; the plugin's FastAPI app
(``ui.app.create_app``) over HTTP (TestClient), reading the alert from a manifest written by
the DAG factory's loader; the state database on SQLite and PostgreSQL. A request is signed
as Slack signs it (``v0=`` HMAC-SHA256 of ``v0:ts:body``, checked in the unit tests against
Slack's documented example). Whether a request acted is judged by the database rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from notify_engine import evaluate, keyed, result
from notify_servers import HttpReceiver, Received

from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.dags import manifest
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.ui import URL_PREFIX
from sqlsentinel_airflow.ui.app import create_app
from sqlsentinel_airflow.ui.definitions import ManifestIndex
from sqlsentinel_airflow.ui.stores import StateStores

BOT_TOKEN = "xoxb-1111-2222-BotTokenQ7w"
SIGNING_SECRET = "8f742231b10e8888abcd99feedbeef5a"
CHANNEL = "C0ALERTS"
ROUTE = "/sqlsentinel/api/slack/interactions"
ALERTS_YAML = """\
alerts:
  - name: stock low
    description: Stock fell under the threshold.
    schedule: "*/5 * * * *"
    conn_id: warehouse
    query: SELECT 'OK' AS status
    notify:
      - channel: slack
        bot_conn_id: slack_bot
        slack_channel: C0ALERTS
  - name: table freshness
    description: A table was not loaded in time.
    schedule: "*/5 * * * *"
    conn_id: warehouse
    query: SELECT 'OK' AS status
    key_columns: [table_name]
    group: {by_evaluation: false}
    notify:
      - channel: slack
        bot_conn_id: slack_bot
        slack_channel: C0ALERTS
"""


class SlackApi:
    """Slack's Web API and a click's response_url, on loopback."""

    def __init__(self) -> None:
        self.server = HttpReceiver()
        self.server.respond = self._answer
        self.ts = 0

    def _answer(self, request: Received) -> tuple[int, bytes]:
        path = urlsplit(request.path).path
        if path.startswith("/actions/"):
            return 200, b"ok"
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            return 200, json.dumps({"ok": False, "error": "invalid_auth"}).encode()
        if path == "/api/chat.postMessage":
            self.ts += 1
            body = request.json()
            answer = {"ok": True, "channel": body["channel"], "ts": f"1765000000.{self.ts:06d}"}
            return 200, json.dumps(answer).encode()
        if path == "/api/users.info":
            asked = parse_qs(urlsplit(request.path).query) or parse_qs(request.body.decode())
            user = {"id": asked["user"][0], "name": "ana.r", "real_name": "Ana Ruiz"}
            return 200, json.dumps({"ok": True, "user": user}).encode()
        return 404, json.dumps({"ok": False, "error": "unknown_method"}).encode()

    def calls(self, prefix: str) -> list[Received]:
        return [r for r in self.server.requests if r.path.startswith(prefix)]

    def response_url(self, n: int = 1) -> str:
        return self.server.url(f"/actions/T0TEAM/{n}/RespTokenZ9x{n}")


@dataclass
class World:
    api: SlackApi
    store: StateStore
    alert: AlertConfig
    manifests: Path
    url: str
    keyed: Any  # the keyed alert (table freshness)

    def client(self) -> TestClient:
        """A fresh plugin app (a new api-server process: nothing remembered in memory),
        mounted under /sqlsentinel as Airflow's api-server mounts it."""
        root = FastAPI()
        root.mount(URL_PREFIX, create_app(manifest_dir=self.manifests, stores=StateStores()))
        return TestClient(root)


@pytest.fixture(params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    url = str(
        request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])
    )
    api = SlackApi()
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_BOT",
        json.dumps(
            {
                "conn_type": "slack",
                "password": BOT_TOKEN,
                "extra": {"base_url": api.server.url("/api/")},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_SQLSENTINEL_SLACK_APP",
        json.dumps(
            {
                "conn_type": "generic",
                "password": SIGNING_SECRET,
                "extra": {"response_url_prefix": api.server.url("/")},
            }
        ),
    )
    source = tmp_path / "alerts.yaml"
    source.write_text(ALERTS_YAML, encoding="utf-8")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    state = manifest.resolve_source(
        source,
        directory=manifests,
        env={},
        conn_type_of=None,
        package_version=__version__,
        display_name="alerts.yaml",
    )
    assert state.config is not None and not state.alert_errors and not state.file_errors, state
    alerts = {a.name: a.config for a in ManifestIndex(manifests).by_dag_id().values()}
    with StateStore.connect(url) as store:
        yield World(api, store, alerts["stock low"], manifests, url, alerts["table freshness"])
    api.server.close()


def fire(world: World, minute: int = 0) -> dict[str, Any]:
    """One evaluation that fires, its message delivered: the chat.postMessage body."""
    evaluate(world.alert, world.store, result("ALERT", 3, 10), minute=minute)
    assert deliver_pending(world.alert, world.store).complete
    return world.api.calls("/api/chat.postMessage")[-1].json()


def button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
    (found,) = [e for e in actions["elements"] if e.get("action_id") == action_id]
    return found


def click(
    world: World, message: dict[str, Any], action_id: str, *, user: str = "U0ANA", n: int = 1
) -> dict[str, Any]:
    """The block_actions payload Slack posts when ``user`` clicks a button of ``message``."""
    element = button(message, action_id)
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "ana.r", "name": "ana.r", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "team": {"id": "T0TEAM", "domain": "example"},
        "container": {"type": "message", "message_ts": "1765000000.000001", "channel_id": CHANNEL},
        "channel": {"id": CHANNEL, "name": "data-alerts"},
        "message": {"type": "message", "ts": "1765000000.000001", **message},
        "response_url": world.api.response_url(n),
        "trigger_id": "1.2.3",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "sqlsentinel_actions",
                "text": element["text"],
                "value": element["value"],
                "action_ts": "1765000001.000200",
            }
        ],
    }


def signed(
    payload: dict[str, Any], *, secret: str = SIGNING_SECRET, age: int = 0
) -> dict[str, Any]:
    """The request Slack sends: a form body and its signature headers."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(int(time.time()) - age)
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return {
        "content": body,
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
        },
    }


def acked(world: World) -> tuple[Any, ...]:
    (state,) = world.store.list_states(world.alert.name)
    return (state.acked_by, state.ack_source)


def test_a_signed_click_acknowledges_once_and_updates_the_message(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    message = fire(world)
    (sent,) = world.api.calls("/api/chat.postMessage")
    assert sent.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert message["channel"] == CHANNEL
    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [e.get("action_id") for e in actions["elements"][:2]] == [
        "sqlsentinel_ack",
        "sqlsentinel_snooze_1h",
    ]
    assert all("url" in e for e in actions["elements"][2:])  # the links stay links
    value = json.loads(button(message, "sqlsentinel_ack")["value"])
    assert value == {"v": 1, "d": world.alert.dag_id, "f": "2026-03-01T08:00:00+00:00", "k": ""}

    with world.client() as client:
        response = client.post(ROUTE, **signed(click(world, message, "sqlsentinel_ack")))

    assert (response.status_code, response.content) == (200, b"")
    assert acked(world) == ("Ana Ruiz (Slack U0ANA)", "slack")
    (action,) = world.store.incident_actions(world.alert.name)
    assert (action.action, action.actor, action.source) == (
        "acknowledged",
        "Ana Ruiz (Slack U0ANA)",
        "slack",
    )
    (info,) = world.api.calls("/api/users.info")
    assert info.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    (update,) = world.api.calls("/actions/")
    body = update.json()
    assert body["replace_original"] is True
    ids = [
        e.get("action_id") for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "sqlsentinel_ack" not in ids and "sqlsentinel_snooze_1h" not in ids
    lines = [e["text"] for b in body["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert any(line.startswith(":white_check_mark: Acknowledged by <@U0ANA> at ") for line in lines)

    # the bot token, the signing secret and the response_url's token never show
    outbox = json.dumps([r.payload for r in world.store.outbox()])
    for secret in (BOT_TOKEN, SIGNING_SECRET, "RespTokenZ9x1"):
        assert secret not in caplog.text
        assert secret not in response.text
        assert secret not in outbox


def test_the_resolved_message_has_no_buttons_and_a_late_click_changes_nothing(
    world: World,
) -> None:
    message = fire(world)
    evaluate(world.alert, world.store, result("OK", 12, 10), minute=5)
    assert deliver_pending(world.alert, world.store).complete
    resolved = world.api.calls("/api/chat.postMessage")[-1].json()
    assert resolved["text"].startswith("RESOLVED")
    assert not [
        e
        for b in resolved["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if "action_id" in e
    ]

    with world.client() as client:
        response = client.post(ROUTE, **signed(click(world, message, "sqlsentinel_ack")))

    assert response.status_code == 200
    assert acked(world) == (None, None)
    assert world.store.incident_actions(world.alert.name) == []
    (reply,) = world.api.calls("/actions/")
    assert reply.json()["response_type"] == "ephemeral"
    assert "this incident is over" in reply.json()["text"]


FORGERIES = ("wrong secret", "altered body", "stale timestamp", "future timestamp", "unsigned")


def forged(payload: dict[str, Any], forge: str) -> dict[str, Any]:
    request = {
        "wrong secret": lambda: signed(payload, secret="not-the-signing-secret"),
        "stale timestamp": lambda: signed(payload, age=301),
        "future timestamp": lambda: signed(payload, age=-310),
    }.get(forge, lambda: signed(payload))()
    if forge == "altered body":
        request["content"] = request["content"].replace(b"U0ANA", b"U0EVE")
    return request


def test_unverified_requests_are_refused_before_anything_happens(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    message = fire(world)
    payload = click(world, message, "sqlsentinel_ack")
    requests = {forge: forged(payload, forge) for forge in FORGERIES}
    signatures = [
        r["headers"].pop("X-Slack-Signature")
        if f == "unsigned"
        else r["headers"]["X-Slack-Signature"]
        for f, r in requests.items()
    ]

    with world.client() as client:
        answers = {forge: client.post(ROUTE, **request) for forge, request in requests.items()}

    assert {f: (r.status_code, r.json()) for f, r in answers.items()} == dict.fromkeys(
        FORGERIES, (401, {"detail": "request not verified"})
    )
    assert acked(world) == (None, None)
    assert world.store.incident_actions(world.alert.name) == []
    assert world.api.calls("/actions/") == [] and world.api.calls("/api/users.info") == []
    refusals = [r.getMessage() for r in caplog.records if "refused a Slack" in r.getMessage()]
    assert refusals == [
        "refused a Slack interaction request: the signature does not match the signing secret",
        "refused a Slack interaction request: the signature does not match the signing secret",
        "refused a Slack interaction request: X-Slack-Request-Timestamp is outside the "
        "5-minute window",
        "refused a Slack interaction request: X-Slack-Request-Timestamp is outside the "
        "5-minute window",
        "refused a Slack interaction request: no X-Slack-Signature or "
        "X-Slack-Request-Timestamp header",
    ]
    for secret in (SIGNING_SECRET, *(s.removeprefix("v0=") for s in signatures)):
        assert secret not in caplog.text


def test_a_replayed_snooze_creates_one_silence_in_this_process_and_in_another(
    world: World,
) -> None:
    message = fire(world)
    request = signed(click(world, message, "sqlsentinel_snooze_1h"))

    with world.client() as client:
        first = client.post(ROUTE, **request)
        replay = client.post(ROUTE, **request)
    with world.client() as other_process:  # nothing in memory: the state database refuses
        replay_elsewhere = other_process.post(ROUTE, **request)

    assert [first.status_code, replay.status_code, replay_elsewhere.status_code] == [200, 401, 401]
    (silence,) = world.store.list_silences(utcnow(), include_inactive=True)
    assert (silence.source, silence.author, silence.reason, silence.instance_key) == (
        "slack",
        "Ana Ruiz (Slack U0ANA)",
        "snoozed for 1h from Slack",
        None,
    )
    assert (silence.ends_at - silence.starts_at).total_seconds() == 3600
    assert acked(world) == (None, None)  # a snooze is not an acknowledgement
    (update,) = world.api.calls("/actions/")
    ids = [
        e.get("action_id")
        for b in update.json()["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert "sqlsentinel_ack" in ids and "sqlsentinel_snooze_1h" not in ids


def test_a_click_from_outside_the_allow_list_or_on_an_unknown_alert_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SQLSENTINEL_SLACK_APP",
        json.dumps(
            {
                "conn_type": "generic",
                "password": SIGNING_SECRET,
                "extra": {
                    "allowed_user_ids": ["U0BOSS"],
                    "response_url_prefix": world.api.server.url("/"),
                },
            }
        ),
    )
    message = fire(world)
    unknown = click(world, message, "sqlsentinel_ack", user="U0BOSS", n=2)
    unknown["actions"][0]["value"] = unknown["actions"][0]["value"].replace(
        world.alert.dag_id, "sqlsentinel_gone"
    )

    with world.client() as client:
        refused = client.post(
            ROUTE, **signed(click(world, message, "sqlsentinel_ack", user="U0EVE"))
        )
        gone = client.post(ROUTE, **signed(unknown))

    assert [refused.status_code, gone.status_code] == [200, 200]
    assert acked(world) == (None, None)
    assert world.store.incident_actions(world.alert.name) == []
    replies = [r.json() for r in world.api.calls("/actions/")]
    assert [r["response_type"] for r in replies] == ["ephemeral", "ephemeral"]
    assert replies[0]["text"] == "You may not act on SQL Sentinel alerts from Slack."
    assert "does not know the alert of DAG `sqlsentinel_gone`" in replies[1]["text"]


def test_chat_post_message_errors_are_classified(world: World) -> None:
    world.api.server.respond = lambda _r: (200, b'{"ok": false, "error": "not_in_channel"}')
    evaluate(world.alert, world.store, result("ALERT", 3, 10), minute=0)

    (failed,) = deliver_pending(world.alert, world.store).failed

    assert failed.recoverable is False
    assert failed.error == (
        "Slack API chat.postMessage answered HTTP 200: not_in_channel "
        "(invite the app to the channel: /invite @your-app)"
    )
    world.api.server.respond = lambda _r: (429, b'{"ok": false, "error": "ratelimited"}')

    (again,) = deliver_pending(world.alert, world.store).failed

    assert again.recoverable is True and BOT_TOKEN not in (again.error or "")


def test_a_long_instance_key_travels_as_its_hash_and_is_snoozed_alone(world: World) -> None:
    long_name = "t" * 2100  # the key alone is longer than a button's value may be
    rows = keyed((long_name, "ALERT", 40), ("orders", "ALERT", 30))
    evaluate(world.keyed, world.store, rows, minute=0)
    assert deliver_pending(world.keyed, world.store).complete
    messages = [r.json() for r in world.api.calls("/api/chat.postMessage")]
    assert len(messages) == 2  # one per instance (group: by_evaluation false)
    values = [json.loads(button(m, "sqlsentinel_snooze_1h")["value"]) for m in messages]
    assert sorted(sorted(v) for v in values) == [["d", "f", "h", "v"], ["d", "f", "k", "v"]]
    (message,) = [m for m, v in zip(messages, values, strict=True) if "h" in v]
    assert len(button(message, "sqlsentinel_snooze_1h")["value"]) <= 2000
    world.api.server.respond = lambda r: (  # users.info fails: the Slack user name is kept
        (200, b'{"ok": false, "error": "missing_scope"}')
        if "users.info" in r.path
        else world.api._answer(r)
    )

    with world.client() as client:
        response = client.post(ROUTE, **signed(click(world, message, "sqlsentinel_snooze_1h")))

    assert response.status_code == 200
    (silence,) = world.store.list_silences(utcnow())
    assert silence.instance_key == json.dumps({"table_name": long_name}, separators=(",", ":"))
    assert silence.author == "ana.r (Slack U0ANA)"


def test_a_response_url_off_slacks_host_is_never_called(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A signed click still acts, but the api-server posts only under the allowed prefix
    (Slack's https://hooks.slack.com/, here the loopback API): a leaked signing secret must
    not make it a client of any URL."""
    elsewhere = HttpReceiver()
    try:
        message = fire(world)
        payload = click(world, message, "sqlsentinel_ack")
        payload["response_url"] = elsewhere.url("/steal")
        with caplog.at_level(logging.WARNING), world.client() as client:
            response = client.post(ROUTE, **signed(payload))
        assert response.status_code == 200
        assert acked(world) == ("Ana Ruiz (Slack U0ANA)", "slack")
        assert elsewhere.requests == [] and world.api.calls("/actions/") == []
        assert "response_url is not under" in caplog.text
    finally:
        elsewhere.close()
