"""What was sent to whom: GET /alerts/{dag_id}/deliveries and ``sqlsentinel outbox``.

The payroll alert notifies an email address (and a cc), a webhook whose URL holds a user, a
password, a path token and a query token, and Slack through an incoming-webhook URL (a secret
in its path). Its deliveries are enqueued by the real engine; one is delivered, one dead with
the webhook URL in its error, one still pending. Both faces show each destination as far as
it is not secret, and no part of either URL's secret appears anywhere in their output.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ui_support import PREFIX, SLACK_SECRET, T0, WEBHOOK_SECRET, Rows, UiServer

from sqlsentinel_airflow.cli.main import main

PAYROLL = f"{PREFIX}payroll_check"
SECRET_PARTS = (
    "ui-secret-token",
    "T0/B0",
    "hook-password",
    "hook-path-token",
    "hook-query-token",
    "/in/",
    SLACK_SECRET,
    WEBHOOK_SECRET,
)
DESTINATIONS = {
    "email": "payroll@example.com, hr@example.com",
    "webhook": "POST https://hooks.example.com:8443",
    "slack": "Slack webhook",
}


@pytest.fixture
def sqlsentinel(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Any:
    """``sqlsentinel(*args) -> stdout`` of the CLI, run in process."""
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

    def run(*args: str) -> str:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return captured.out

    return run


def _fire_payroll(state_url: str, seed: Any, alerts_config: Any) -> dict[str, int]:
    """The seeded state, then payroll_check fires: three deliveries, one per channel.
    The email is delivered, the webhook dead (its error quotes its URL), Slack pending."""
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert

    store = seed(state_url)
    evaluate_alert(
        alerts_config.alert("payroll_check"),
        fetch=lambda: Rows(["status", "actual_value"], [["ALERT", 0]]),
        store=store,
        run_type=RunType.SCHEDULED,
        run_id="scheduled__payroll_fires",
        clock=lambda: T0 + timedelta(hours=1),
    )
    ids = {r.channel_kind: r.id for r in store.outbox(alert_name="payroll_check")}
    assert set(ids) == {"email", "webhook", "slack"}
    store.mark_delivered(ids["email"], T0 + timedelta(hours=1, seconds=2))
    store.mark_attempt_failed(
        ids["webhook"], f"HTTP 500 from {WEBHOOK_SECRET}", T0 + timedelta(hours=1), max_attempts=1
    )
    store.dispose()
    return ids


def test_deliveries_list_every_status_newest_first_with_public_destinations(
    ui: UiServer, state_url: str, seed: Any, alerts_config: Any
) -> None:
    ids = _fire_payroll(state_url, seed, alerts_config)
    response = ui.get(f"/alerts/{PAYROLL}/deliveries")
    assert response.status_code == 200, response.text
    body = response.json()
    deliveries = body["deliveries"]
    assert [d["id"] for d in deliveries] == sorted(ids.values(), reverse=True)  # newest first
    assert {d["channel"]: d["destination"] for d in deliveries} == DESTINATIONS
    assert {d["channel"]: d["status"] for d in deliveries} == {
        "email": "delivered",
        "webhook": "dead",
        "slack": "pending",
    }
    dead = next(d for d in deliveries if d["status"] == "dead")
    assert dead["last_error"] == "HTTP 500 from https://bot:***@hooks.example.com:8443/***?key=***"
    assert body["next_before_id"] is None
    for part in SECRET_PARTS:
        assert part not in response.text, part

    # paged by before_id, filtered by status
    first = ui.get(f"/alerts/{PAYROLL}/deliveries", limit=2).json()
    assert len(first["deliveries"]) == 2 and first["next_before_id"] == first["deliveries"][1]["id"]
    rest = ui.get(f"/alerts/{PAYROLL}/deliveries", limit=2, before_id=first["next_before_id"])
    assert [d["id"] for d in first["deliveries"] + rest.json()["deliveries"]] == [
        d["id"] for d in deliveries
    ]
    dead_only = ui.get(f"/alerts/{PAYROLL}/deliveries", status="dead").json()["deliveries"]
    assert [d["channel"] for d in dead_only] == ["webhook"]
    assert ui.get(f"/alerts/{PAYROLL}/deliveries", status="lost").status_code == 422

    # the alert page and the list say it too, still without a secret
    alert = ui.get(f"/alerts/{PAYROLL}")
    assert alert.json()["alert"]["delivered_deliveries"] == 1
    for part in SECRET_PARTS:
        assert part not in alert.text, part
        assert part not in ui.get("/alerts").text, part


def test_deliveries_need_read_access_and_a_known_alert(ui: UiServer, state_url: str) -> None:
    assert ui.get(f"/alerts/{PAYROLL}/deliveries", user="viewer").status_code == 403
    assert ui.get(f"/alerts/{PAYROLL}/deliveries", user=None).status_code == 401
    assert ui.get(f"/alerts/{PREFIX}nope/deliveries").status_code == 404
    never = ui.get(f"/alerts/{PREFIX}never_run/deliveries").json()
    assert never == {"dag_id": f"{PREFIX}never_run", "deliveries": [], "next_before_id": None}


def test_sqlsentinel_outbox_shows_destinations_in_its_table_and_json(
    ui: UiServer, state_url: str, seed: Any, alerts_config: Any, sqlsentinel: Any
) -> None:
    _fire_payroll(state_url, seed, alerts_config)
    table = sqlsentinel("outbox", "--alert", "payroll_check", "--state-db", state_url)
    header, *rows = table.splitlines()
    assert header.split()[:6] == ["ID", "CREATED", "ALERT", "EVENT", "CHANNEL", "DESTINATION"]
    assert len(rows) == 3
    cells = [re.split(r"\s{2,}", r) for r in rows]
    assert {c[4]: c[5] for c in cells} == DESTINATIONS
    assert {c[1] for c in cells} == {"2026-11-01 10:00:00 UTC"}  # CLI tables: UTC, said so
    listed = json.loads(
        sqlsentinel(
            "outbox", "--alert", "payroll_check", "--state-db", state_url, "--format", "json"
        )
    )["outbox"]
    assert {d["channel"]: d["destination"] for d in listed} == DESTINATIONS
    assert {d["created_at"] for d in listed} == {"2026-11-01T10:00:00+00:00"}  # RFC 3339
    api = ui.get(f"/alerts/{PAYROLL}/deliveries").json()["deliveries"]
    assert listed == api  # one read model
    for part in SECRET_PARTS:
        assert part not in table and part not in json.dumps(listed), part
