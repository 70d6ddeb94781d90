"""The links in emails, at the API: preview and use, on a real state database.

Tokens are minted as the email sender mints them (``core/actionlinks``, keyed with the
password of ``ui_action_links``, the connection ``ui_alerts.yaml``'s ``action_links``
names). Each refusal is checked for what it must not do: write anything, use the token
up, or say the token or the key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from ui_support import ACTION_LINKS_KEY, PREFIX, UiServer

from sqlsentinel_airflow.core.actionlinks import mint_action_token
from sqlsentinel_airflow.dags.manifest import read_manifest, write_manifest
from sqlsentinel_airflow.store import StateStore

REVENUE = f"{PREFIX}revenue_drop"
FRESHNESS = f"{PREFIX}table_freshness"
PAYROLL = f"{PREFIX}payroll_check"
ORDERS = '{"table_name":"orders"}'


def _mint(
    dag_id: str,
    instance_key: str,
    firing_since: datetime,
    *,
    key: str = ACTION_LINKS_KEY,
    now: datetime | None = None,
    expire_after: timedelta = timedelta(hours=1),
) -> str:
    return mint_action_token(
        key.encode(),
        dag_id=dag_id,
        instance_key=instance_key,
        firing_since=firing_since,
        now=now or datetime.now(timezone.utc),
        expire_after=expire_after,
        recipients="oncall@example.com",
    )


@pytest.fixture
def firing(ui: UiServer, state_url: str, seed: Any) -> Iterator[StateStore]:
    """The seeded state: revenue_drop and table_freshness's ``orders`` firing."""
    store = seed(state_url)
    try:
        yield store
    finally:
        store.dispose()


def _state(store: StateStore, alert: str, key: str) -> Any:
    return next(s for s in store.list_states(alert) if s.instance_key == key)


def _use(ui: UiServer, token: str, user: str | None = "editor", **body: Any) -> Any:
    return ui.post("/actions/use", {"token": token, **body}, user)


def _untouched(store: StateStore, token_id: str, alert: str = "revenue_drop") -> None:
    assert store.action_token_use(token_id) is None
    assert not _state(store, alert, ORDERS if alert == "table_freshness" else "").acknowledged
    assert store.incident_actions(alert) == []


def test_preview_says_what_the_link_does_and_changes_nothing(
    ui: UiServer, firing: StateStore
) -> None:
    state = _state(firing, "table_freshness", ORDERS)
    token = _mint(FRESHNESS, ORDERS, state.firing_since)
    for user in (None, "viewer", "editor"):  # the token is what is shown; no login needed
        answer = ui.post("/actions/preview", {"token": token}, user)
        assert answer.status_code == 200, answer.text
        about = answer.json()
        assert (about["alert"], about["dag_id"], about["instance_label"]) == (
            "table_freshness",
            FRESHNESS,
            "table_name=orders",
        )
        assert (about["usable"], about["reason"], about["used"], about["ack"]) == (
            True,
            None,
            None,
            None,
        )
        assert about["require_login"] is True
        assert answer.headers["cache-control"] == "no-store"
    _untouched(firing, _claims_id(token), "table_freshness")


def _claims_id(token: str) -> str:
    from sqlsentinel_airflow.core.actionlinks import read_action_token

    return read_action_token(token).token_id


def test_an_editor_acknowledges_once_and_a_replay_is_refused(
    ui: UiServer, firing: StateStore
) -> None:
    state = _state(firing, "table_freshness", ORDERS)
    token = _mint(FRESHNESS, ORDERS, state.firing_since)
    used = _use(ui, token, comment=" reloading orders ")
    assert used.status_code == 200, used.text
    body = used.json()
    assert (body["changed"], body["ack"]["by"], body["ack"]["source"]) == (True, "editor", "email")
    assert body["ack"]["comment"] == "reloading orders"

    after = _state(firing, "table_freshness", ORDERS)
    assert (after.acked_by, after.ack_source, after.ack_comment) == (
        "editor",
        "email",
        "reloading orders",
    )
    assert not _state(firing, "table_freshness", '{"table_name":"customers"}').acknowledged
    (action,) = firing.incident_actions("table_freshness")
    assert (action.action, action.actor, action.source, action.instance_key) == (
        "acknowledged",
        "editor",
        "email",
        ORDERS,
    )
    assert action.firing_since == state.firing_since
    used_at, used_by = firing.action_token_use(_claims_id(token)) or (None, None)
    assert used_by == "editor" and used_at is not None

    for user in ("editor", "admin"):
        again = _use(ui, token, user)
        assert again.status_code == 409, again.text
        assert again.json()["reason"] == "used"
    assert len(firing.incident_actions("table_freshness")) == 1
    preview = ui.post("/actions/preview", {"token": token}, None).json()
    assert (preview["usable"], preview["reason"], preview["used"]["by"]) == (
        False,
        "used",
        "editor",
    )
    assert preview["ack"]["by"] == "editor"


def test_expired_altered_and_foreign_tokens_are_refused_without_effect(
    ui: UiServer, firing: StateStore
) -> None:
    since = _state(firing, "revenue_drop", "").firing_since
    expired = _mint(REVENUE, "", since, now=datetime.now(timezone.utc) - timedelta(hours=2))
    good = _mint(REVENUE, "", since)
    body, signature = good.split(".")
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    cases = {
        expired: (410, "expired"),
        f"{body}.{flipped}": (400, "invalid"),  # one character of the signature
        good[:-3]: (400, "invalid"),  # cut short
        _mint(REVENUE, "", since, key="another-key-of-thirty-two-chars!"): (400, "invalid"),
        "not a token": (400, "invalid"),
        # an alert that does not exist: refused like any bad token, nothing said about it
        _mint(f"{PREFIX}no_such_alert", "", since): (400, "invalid"),
    }
    for token, (code, reason) in cases.items():
        for path in ("/actions/preview", "/actions/use"):
            answer = ui.post(path, {"token": token}, "admin")
            assert (answer.status_code, answer.json()["reason"]) == (code, reason), answer.text
            assert token[:40] not in answer.text and ACTION_LINKS_KEY not in answer.text
    assert firing.incident_actions("revenue_drop") == []
    assert not _state(firing, "revenue_drop", "").acknowledged
    assert _use(ui, good).status_code == 200  # the unaltered one still works


def test_a_link_of_an_earlier_incident_does_not_act_on_the_current_one(
    ui: UiServer, firing: StateStore
) -> None:
    since = _state(firing, "revenue_drop", "").firing_since
    earlier = _mint(REVENUE, "", since - timedelta(hours=3))
    preview = ui.post("/actions/preview", {"token": earlier}, None).json()
    assert (preview["usable"], preview["reason"]) == (False, "over")
    answer = _use(ui, earlier)
    assert (answer.status_code, answer.json()["reason"]) == (409, "over")
    # an instance that is not firing at all: over too
    customers = _mint(FRESHNESS, '{"table_name":"customers"}', since)
    answer = _use(ui, customers)
    assert (answer.status_code, answer.json()["reason"]) == (409, "over")
    assert firing.incident_actions("revenue_drop") == []
    assert firing.incident_actions("table_freshness") == []
    assert firing.action_token_use(_claims_id(earlier)) is None


def test_login_and_edit_permission_on_the_dag_are_required(
    ui: UiServer, firing: StateStore
) -> None:
    since = _state(firing, "revenue_drop", "").firing_since
    token = _mint(REVENUE, "", since)
    nobody = _use(ui, token, None)
    assert (nobody.status_code, nobody.json()["reason"]) == (401, "login")
    viewer = _use(ui, token, "viewer")  # may read the DAG, not edit it
    assert (viewer.status_code, viewer.json()["reason"]) == (403, "forbidden")
    # payroll's DAG is the admins' only (ui_auth_manager.py): an editor may not touch it
    payroll = _use(ui, _mint(PAYROLL, "", since), "editor")
    assert (payroll.status_code, payroll.json()["reason"]) == (403, "forbidden")
    _untouched(firing, _claims_id(token))
    # refused, not used up: the right person can still use it
    assert _use(ui, token, "editor").status_code == 200


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/x-www-form-urlencoded", "token={token}"),
        ("text/plain", '{{"token": "{token}"}}'),
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="token"\r\n\r\n{token}\r\n--x--\r\n',
        ),
    ],
)
def test_a_cross_site_form_post_is_refused_with_415_and_no_effect(
    ui: UiServer, firing: StateStore, content_type: str, data: str
) -> None:
    """What a page on another site can send without a CORS preflight, with the editor's
    session cookie (were the browser to send it): refused before anything is read."""
    since = _state(firing, "revenue_drop", "").firing_since
    token = _mint(REVENUE, "", since)
    for path in ("/actions/use", "/actions/preview"):
        answer = ui.client.post(
            f"/sqlsentinel/api{path}",
            content=data.format(token=token),
            headers={
                "Content-Type": content_type,
                "Origin": "https://evil.example.com",
                "Cookie": f"_token={ui.tokens['editor']}",
            },
        )
        assert answer.status_code == 415, answer.text
        assert token[:40] not in answer.text
    _untouched(firing, _claims_id(token))
    # the same cookie with a JSON body (what the action page sends) works
    answer = ui.client.post(
        "/sqlsentinel/api/actions/use",
        json={"token": token},
        headers={"Cookie": f"_token={ui.tokens['editor']}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["ack"]["by"] == "editor"


@pytest.fixture
def without_login(ui: UiServer, airflow_home: Path) -> Iterator[None]:
    """``action_links.require_login: false`` in the manifest the api-server reads."""
    folder = airflow_home / "sqlsentinel" / "manifests"
    (source,) = [
        p
        for p in folder.glob("*.json")
        if (m := read_manifest(p)) is not None and m.source == str(ui.alerts_file)
    ]
    manifest = read_manifest(source)
    assert manifest is not None
    alerts = tuple(
        a.model_copy(
            update={
                "action_links": a.action_links.model_copy(update={"require_login": False})
                if a.action_links
                else None
            }
        )
        for a in manifest.config.alerts
    )
    override = folder / "zz_action_links_without_login.json"
    write_manifest(
        override,
        replace(
            manifest,
            config=manifest.config.model_copy(update={"alerts": alerts}),
            written_at=datetime.now(timezone.utc) + timedelta(minutes=1),
        ),
    )
    try:
        yield
    finally:
        override.unlink()


def test_without_require_login_the_token_alone_acts_in_the_recipients_name(
    ui: UiServer, firing: StateStore, without_login: None
) -> None:
    since = _state(firing, "revenue_drop", "").firing_since
    token = _mint(REVENUE, "", since)
    preview = ui.post("/actions/preview", {"token": token}, None).json()
    assert preview["require_login"] is False
    answer = _use(ui, token, None)
    assert answer.status_code == 200, answer.text
    assert answer.json()["ack"]["by"] == "email link (oncall@example.com)"
    assert _state(firing, "revenue_drop", "").acked_by == "email link (oncall@example.com)"
    assert _use(ui, token, None).json()["reason"] == "used"


def test_no_token_or_key_in_logs_or_answers(
    ui: UiServer, firing: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    since = _state(firing, "revenue_drop", "").firing_since
    token = _mint(REVENUE, "", since)
    expired = _mint(REVENUE, "", since, now=datetime.now(timezone.utc) - timedelta(days=1))
    answers = [
        ui.post("/actions/preview", {"token": token}, None),
        _use(ui, token, None),
        _use(ui, token, "viewer"),
        _use(ui, token),
        _use(ui, token),
        _use(ui, expired),
        _use(ui, token[:-1] + ("A" if token[-1] != "A" else "B")),
        ui.post("/actions/use", {"token": token, "extra": 1}),  # 422 echoes input: must not
    ]
    assert [a.status_code for a in answers] == [200, 401, 403, 200, 409, 410, 400, 422]
    texts = [a.text for a in answers] + [r.getMessage() for r in caplog.records]
    for text in texts:
        for secret in (ACTION_LINKS_KEY, token.split(".")[0], token.split(".")[1]):
            assert secret not in text, text[:300]
    assert any("acknowledged through an email link by editor" in t for t in texts)
    json.loads(answers[0].text)


def test_keys_are_read_once_a_minute_and_a_bad_one_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The preview answers without a login: crafted tokens must not each cost a read of the
    secrets backend. A missing or short key is an error naming the connection only."""
    from sqlsentinel_airflow.core.actionlinks import ActionLinkError
    from sqlsentinel_airflow.ui import actions

    reads: list[str] = []
    passwords = {"links": ACTION_LINKS_KEY, "short": "0123456789"}

    def read(conn_id: str) -> str | None:
        reads.append(conn_id)
        if conn_id not in passwords:
            raise LookupError(f"connection '{conn_id}' is not defined")
        return passwords[conn_id]

    clock = [1000.0]
    monkeypatch.setattr(actions.time, "monotonic", lambda: clock[0])
    keys = actions._Keys(read)
    for _ in range(100):
        assert keys.key("links") == ACTION_LINKS_KEY.encode()
    assert reads == ["links"]
    passwords["links"] = "a-rotated-key-0123456789abcdef"
    clock[0] += actions.KEY_CACHE_SECONDS
    assert keys.key("links") == b"a-rotated-key-0123456789abcdef"
    assert reads == ["links", "links"]
    with pytest.raises(ActionLinkError, match="'short'") as short:
        keys.key("short")
    assert "0123456789" not in str(short.value)
    with pytest.raises(LookupError, match="'gone'"):
        keys.key("gone")
