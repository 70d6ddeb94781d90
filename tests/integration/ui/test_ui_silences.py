"""Silencing from the UI: who may, what is recorded, what is refused and why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from ui_support import PREFIX, UiServer

from sqlsentinel_airflow.core.model import Silence
from sqlsentinel_airflow.store import StateStore

REVENUE = f"{PREFIX}revenue_drop"
PAYROLL = f"{PREFIX}payroll_check"
NEVER = f"{PREFIX}never_run"


def test_an_editor_silences_a_firing_alert_and_ends_the_silence(
    ui: UiServer, any_db_url: str, monkeypatch: pytest.MonkeyPatch, seed: Any
) -> None:
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", any_db_url)
    seed(any_db_url)
    before = datetime.now(timezone.utc)
    created = ui.post(
        f"/alerts/{REVENUE}/silences", {"duration": "2h", "reason": " warehouse reload "}, "editor"
    )
    assert created.status_code == 201, created.text
    silence = created.json()["silence"]
    assert (silence["author"], silence["source"], silence["reason"]) == (
        "editor",
        "ui",
        "warehouse reload",
    )
    assert (silence["match"], silence["status"], silence["can_end"]) == (
        "revenue_drop",
        "active",
        True,
    )
    ends = datetime.fromisoformat(silence["ends_at"])
    assert timedelta(hours=2) <= ends - before <= timedelta(hours=2, seconds=30)

    alert = ui.alerts("viewer")[REVENUE]
    assert (alert["status"], alert["state"], alert["silenced"]) == ("silenced", "firing", True)
    assert [s["id"] for s in alert["silences"]] == [silence["id"]]
    stored = StateStore.connect(any_db_url)
    try:
        (kept,) = stored.list_silences(datetime.now(timezone.utc))
    finally:
        stored.dispose()
    assert (kept.author, kept.reason, kept.source) == ("editor", "warehouse reload", "ui")

    ended = ui.post(f"/alerts/{REVENUE}/silences/{silence['id']}/end", {}, "editor")
    assert ended.status_code == 200, ended.text
    assert ended.json()["silence"]["status"] == "expired"
    assert ui.alerts("admin")[REVENUE]["status"] == "firing"

    again = ui.post(f"/alerts/{REVENUE}/silences/{silence['id']}/end", {}, "editor")
    assert again.status_code == 409
    assert again.json()["detail"] == f"silence #{silence['id']} is already over"


def test_a_silence_until_a_time_is_stored_in_utc(ui: UiServer, state_url: str) -> None:
    until = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    local = until.astimezone(timezone(timedelta(hours=2)))
    created = ui.post(
        f"/alerts/{REVENUE}/silences", {"until": local.isoformat(), "reason": "migration"}
    )
    assert created.status_code == 201, created.text
    assert datetime.fromisoformat(created.json()["silence"]["ends_at"]) == until
    assert created.json()["silence"]["author"] == "admin"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"duration": "2 fortnights", "reason": "x"}, "'2 fortnights' is not a duration"),
        ({"duration": "0s", "reason": "x"}, "the silence duration must be positive"),
        ({"duration": "1h", "until": "2099-01-01T00:00:00Z", "reason": "x"}, "give exactly one"),
        ({"reason": "x"}, "give exactly one of duration"),
        ({"duration": "1h", "reason": "   "}, "reason must not be empty"),
        ({"duration": "1h"}, "Field required"),
        ({"until": "2001-01-01T00:00:00Z", "reason": "x"}, "which is not after now"),
        ({"until": "next tuesday", "reason": "x"}, "Input should be a valid datetime"),
        ({"duration": "1h", "reason": "x", "match": "*"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_silence_requests_are_422_with_the_reason(
    ui: UiServer, state_url: str, body: dict[str, Any], message: str
) -> None:
    response = ui.post(f"/alerts/{REVENUE}/silences", body, "editor")
    assert response.status_code == 422
    assert message in str(response.json()["detail"])


def test_a_silence_for_an_unknown_alert_is_404(ui: UiServer, state_url: str) -> None:
    response = ui.post("/alerts/no_such_dag/silences", {"duration": "1h", "reason": "x"})
    assert response.status_code == 404
    assert "no SQL Sentinel alert has the DAG id 'no_such_dag'" in response.json()["detail"]


def test_writes_take_json_only(ui: UiServer, state_url: str) -> None:
    response = ui.client.post(
        f"/sqlsentinel/api/alerts/{REVENUE}/silences",
        headers={**ui.headers("admin"), "Content-Type": "application/x-www-form-urlencoded"},
        content="duration=1h&reason=x",
    )
    assert response.status_code == 415
    assert response.json()["detail"] == "send a JSON body with Content-Type: application/json"


def test_silencing_needs_edit_access_to_the_alerts_dag(ui: UiServer, state_url: str) -> None:
    body = {"duration": "1h", "reason": "x"}
    viewer = ui.post(f"/alerts/{REVENUE}/silences", body, "viewer")
    assert viewer.status_code == 403
    assert viewer.json() == {"detail": "Forbidden"}
    assert ui.post(f"/alerts/{PAYROLL}/silences", body, "editor").status_code == 403
    assert ui.post(f"/alerts/{PAYROLL}/silences", body, "admin").status_code == 201


def test_ending_a_glob_silence_needs_edit_access_to_every_alert_it_mutes(
    ui: UiServer, state_url: str
) -> None:
    store = StateStore.connect(state_url)
    now = datetime.now(timezone.utc)
    try:
        wide = store.add_silence(
            Silence(
                match="*",
                starts_at=now,
                ends_at=now + timedelta(hours=1),
                reason="freeze",
                author="cli-user",
            )
        )
    finally:
        store.dispose()
    alerts = ui.alerts("editor")
    assert alerts[REVENUE]["status"] == "silenced"
    assert alerts[REVENUE]["silences"][0]["author"] == "cli-user"

    refused = ui.post(f"/alerts/{REVENUE}/silences/{wide.id}/end", {}, "editor")
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"silence #{wide.id} ('*') also mutes alerts you may not edit: {PAYROLL}"
    )
    assert ui.post(f"/alerts/{REVENUE}/silences/{wide.id}/end", {}, "admin").status_code == 200


def test_a_silence_of_another_alert_cannot_be_ended_through_this_one(
    ui: UiServer, state_url: str
) -> None:
    created = ui.post(f"/alerts/{PAYROLL}/silences", {"duration": "1h", "reason": "x"}).json()
    response = ui.post(f"/alerts/{REVENUE}/silences/{created['silence']['id']}/end", {})
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"no silence #{created['silence']['id']} applies to alert 'revenue_drop'"
    )


def test_a_silence_declared_in_alerts_yaml_shows_and_cannot_be_ended(
    ui: UiServer, state_url: str
) -> None:
    never = ui.alerts("admin")[NEVER]
    (declared,) = never["silences"]
    assert (declared["source"], declared["can_end"], declared["id"]) == ("config", False, None)
    assert declared["reason"] == "declared in the file for the UI tests"
    assert declared["ends_at"] == "2099-01-01T00:00:00+00:00"
