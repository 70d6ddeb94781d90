"""Fixtures of the notify tests: loopback receivers, an SMTP inbox, a state store on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notify_servers import SMTP_LOGIN, SMTP_PASSWORD, HttpReceiver, SmtpInbox, smtp_inbox

from sqlsentinel_airflow.store import StateStore


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    yield server
    server.close()


@pytest.fixture
def slack_api() -> Iterator[HttpReceiver]:
    """Stands in for https://hooks.slack.com: answers ``ok`` (or what the test scripts)."""
    server = HttpReceiver()
    yield server
    server.close()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpInbox]:
    with smtp_inbox(SMTP_LOGIN, SMTP_PASSWORD) as inbox:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", inbox.connection_json())
        yield inbox


@pytest.fixture
def store(sqlite_url: str) -> Iterator[StateStore]:
    with StateStore.connect(sqlite_url) as state_store:
        yield state_store
