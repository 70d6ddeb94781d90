"""The Acknowledge link in emails: minted as the email is sent, for the incident it is about.

Email to a real SMTP server on loopback; the key is an Airflow connection's password (an
``AIRFLOW_CONN_*`` variable, as the worker reads it) and ``[api] base_url`` comes from
Airflow's config (``AIRFLOW__API__BASE_URL``). The token is checked with the key, and looked
for (and not found) in the outbox, the logs and the state database.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from notify_engine import T0, evaluate, keyed, make_alert, result
from notify_servers import SmtpInbox

from sqlsentinel_airflow.core.actionlinks import verify_action_token
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

BASE = "https://airflow.example.com/team-a"
KEY = "action-links-key-0123456789-abcdefghij"
LINKS = {"conn_id": "sentinel_links", "expire_after": timedelta(hours=6)}
EMAIL = {"channel": "email", "to": ["oncall@example.com"], "cc": ["lead@example.com"]}
PAGE = f"{BASE}/sqlsentinel/ui/action#t="


@pytest.fixture
def links_key(monkeypatch: pytest.MonkeyPatch) -> str:
    conn = {"conn_type": "generic", "password": KEY}
    monkeypatch.setenv("AIRFLOW_CONN_SENTINEL_LINKS", json.dumps(conn))
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE)
    return KEY


def _token_in(text: str) -> str:
    start = text.index(PAGE) + len(PAGE)
    end = start
    while end < len(text) and (text[end].isalnum() or text[end] in "-_."):
        end += 1
    return text[start:end]


def test_firing_and_reminder_emails_carry_a_link_for_their_incident(
    smtp: SmtpInbox, store: StateStore, links_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alert = make_alert(
        "tables late",
        [EMAIL],
        key_columns=["table_name"],
        renotify_after=timedelta(minutes=5),
        action_links=LINKS,
    )
    evaluate(alert, store, keyed(("orders", "ALERT", 30)), minute=0, ui_base_url=BASE)
    evaluate(alert, store, keyed(("orders", "ALERT", 31)), minute=6, ui_base_url=BASE)
    evaluate(alert, store, keyed(("orders", "OK", 1)), minute=12, ui_base_url=BASE)
    assert deliver_pending(alert, store).complete

    firing, reminder, resolved = smtp.mails
    (state,) = store.list_states(alert.name)
    tokens = []
    for mail in (firing, reminder):
        text, html = mail.part("text/plain"), mail.part("text/html")
        assert "Acknowledge (opens a page to confirm): " + PAGE in text
        token = _token_in(text)
        assert f'<a href="{PAGE}{token}" style="font-weight:bold">Acknowledge</a>' in html
        claims = verify_action_token(token, links_key.encode(), T0)
        assert (claims.dag_id, claims.instance_key) == (alert.dag_id, '{"table_name":"orders"}')
        assert claims.firing_since == T0  # the incident that started at minute 0
        assert claims.recipients == "oncall@example.com, lead@example.com"  # to and cc
        tokens.append(token)
    assert tokens[0] != tokens[1]  # one per email
    assert PAGE not in resolved.part("text/plain") and "Acknowledge" not in resolved.part(
        "text/html"
    )

    # minted when sent: never in the outbox, the state database's rows or a log line
    stored = json.dumps([r.payload for r in store.outbox(alert_name=alert.name)])
    assert "/sqlsentinel/ui/action" not in stored
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for token in tokens:
        assert token not in stored and token.split(".")[1] not in logged
        assert token.split(".")[0] not in logged
    assert links_key not in logged
    assert state.state.value == "OK"


def test_without_action_links_or_base_url_there_is_no_link(
    smtp: SmtpInbox, store: StateStore, links_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = make_alert("plain", [EMAIL])
    evaluate(plain, store, result("ALERT", 30), minute=0, ui_base_url=BASE)
    assert deliver_pending(plain, store).complete
    monkeypatch.delenv("AIRFLOW__API__BASE_URL")
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")
    linked = make_alert("linked", [EMAIL], action_links=LINKS)
    evaluate(linked, store, result("ALERT", 30), minute=0)
    assert deliver_pending(linked, store).complete
    for mail in smtp.mails:
        assert "/sqlsentinel/ui/action" not in mail.part("text/plain")
        assert "Acknowledge" not in mail.part("text/html")


@pytest.mark.parametrize("password", [None, "too-short"])
def test_a_missing_or_weak_key_sends_the_email_without_the_link(
    smtp: SmtpInbox,
    store: StateStore,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    password: str | None,
) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE)
    if password is not None:
        conn = {"conn_type": "generic", "password": password}
        monkeypatch.setenv("AIRFLOW_CONN_SENTINEL_LINKS", json.dumps(conn))
    alert = make_alert("weak", [EMAIL], action_links=LINKS)
    evaluate(alert, store, result("ALERT", 30), minute=0)
    with caplog.at_level(logging.WARNING):
        report = deliver_pending(alert, store)
    assert report.complete
    (mail,) = smtp.mails
    assert "/sqlsentinel/ui/action" not in mail.part("text/plain")
    (warning,) = [r for r in caplog.records if "without its Acknowledge link" in r.getMessage()]
    assert "'sentinel_links'" in warning.getMessage()
    if password is not None:
        assert password not in warning.getMessage()


def test_the_example_of_the_reference_loads(tmp_path: Path) -> None:
    from sqlsentinel_airflow.core.config import load_config

    path = tmp_path / "alerts.yaml"
    path.write_text(
        "action_links:\n  conn_id: sqlsentinel_action_links\n  expire_after: 3d\n"
        "alerts:\n  - {name: a, conn_id: db, schedule: '@hourly', query: select 'OK' as status}\n"
    )
    loaded = load_config(str(path))
    assert loaded.config is not None, loaded.errors
    (alert,) = loaded.config.alerts
    assert alert.action_links is not None
    assert (alert.action_links.expire_after, alert.action_links.require_login) == (
        timedelta(days=3),
        True,
    )
    path.write_text(path.read_text().replace("3d", "8d"))
    loaded = load_config(str(path))
    assert loaded.config is None
    assert any("longer than 7d" in str(e) for e in loaded.file_errors)
