"""Fixtures of the notify tests: loopback receivers (Slack, webhooks,
PagerDuty's Events API), an SMTP inbox, a state store on SQLite."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from notify_servers import SMTP_LOGIN, SMTP_PASSWORD, HttpReceiver, SmtpInbox, smtp_inbox
from pagerduty_api import PagerDutyEventsApi

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


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """A SQLite warehouse behind connection ``wh``; call the result to set the metric."""
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metric (v INTEGER)")
        conn.execute("INSERT INTO metric VALUES (0)")
    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(path)}))

    def set_metric(value: int) -> None:
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE metric SET v = ?", (value,))

    return set_metric


@pytest.fixture
def pagerduty_api() -> Iterator[PagerDutyEventsApi]:
    """Stands in for https://events.pagerduty.com: the Events API v2, checking each event."""
    api = PagerDutyEventsApi()
    yield api
    api.close()
