"""Acknowledging from the UI's API: who may, what is recorded, what is refused."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from ui_support import PREFIX, UiServer

from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.tables import incident_actions

REVENUE = f"{PREFIX}revenue_drop"
FRESHNESS = f"{PREFIX}table_freshness"
PAYROLL = f"{PREFIX}payroll_check"


def _actions(url: str) -> list[dict[str, Any]]:
    store = StateStore.connect(url)
    try:
        with store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(incident_actions)).mappings()]
    finally:
        store.dispose()


def test_an_editor_acknowledges_an_instance_and_everyone_sees_it(
    ui: UiServer, state_url: str, seed: Any
) -> None:
    seed(state_url).dispose()
    answer = ui.post(
        f"/alerts/{FRESHNESS}/ack",
        {"instance_key": "table_name=orders", "comment": " loading again "},
        "editor",
    )
    assert answer.status_code == 200, answer.text
    (done,) = answer.json()["instances"]
    assert done["instance_key"] == '{"table_name":"orders"}' and done["changed"] is True
    assert (done["ack"]["by"], done["ack"]["comment"], done["ack"]["source"]) == (
        "editor",
        "loading again",
        "ui",
    )
    # the list and the tab show it to a viewer
    listed = ui.alerts("viewer")[FRESHNESS]
    assert listed["acknowledged_instances"] == 1 and listed["firing_instances"] == 1
    tab = ui.get(f"/alerts/{FRESHNESS}", "viewer").json()["alert"]
    acked = {i["label"]: i["ack"] for i in tab["instances"]}
    assert acked["table_name=orders"]["by"] == "editor"
    assert acked["table_name=customers"] is None
    # the timeline
    timeline = ui.get(f"/alerts/{FRESHNESS}/actions", "viewer").json()["actions"]
    assert [(a["action"], a["actor"], a["source"], a["label"]) for a in timeline] == [
        ("acknowledged", "editor", "ui", "table_name=orders")
    ]
    # again: nothing changes, nothing is recorded twice
    again = ui.post(f"/alerts/{FRESHNESS}/ack", {}, "admin")
    assert again.status_code == 200 and again.json()["instances"][0]["changed"] is False
    assert len(_actions(state_url)) == 1
    # taken back
    back = ui.post(f"/alerts/{FRESHNESS}/unack", {"instance_key": "table_name=orders"}, "editor")
    assert back.status_code == 200, back.text
    assert back.json()["instances"][0]["ack"] is None
    assert [a["action"] for a in _actions(state_url)] == ["acknowledged", "unacknowledged"]


def test_refusals_write_nothing(ui: UiServer, state_url: str, seed: Any) -> None:
    seed(state_url).dispose()
    # a viewer may read the alert but not edit it
    refused = ui.post(f"/alerts/{REVENUE}/ack", {"comment": "mine"}, "viewer")
    assert refused.status_code == 403
    # nothing fires
    calm = ui.post(f"/alerts/{PAYROLL}/ack", {}, "admin")
    assert calm.status_code == 409
    assert calm.json()["detail"].startswith("alert 'payroll_check' has no firing instance")
    calm_one = ui.post(
        f"/alerts/{FRESHNESS}/ack", {"instance_key": "table_name=customers"}, "editor"
    )
    assert calm_one.status_code == 409
    # an instance the alert cannot have
    wrong = ui.post(f"/alerts/{FRESHNESS}/ack", {"instance_key": "colour=blue"}, "editor")
    assert wrong.status_code == 422
    # CSRF: a cross-site form cannot send JSON; anything else is refused before acting
    for content_type, data in (
        ("application/x-www-form-urlencoded", "comment=x"),
        ("text/plain", '{"comment": "x"}'),
        ("multipart/form-data; boundary=x", "--x--"),
    ):
        forged = ui.client.post(
            f"/sqlsentinel/api/alerts/{REVENUE}/ack",
            content=data,
            headers={**ui.headers("editor"), "Content-Type": content_type},
        )
        assert forged.status_code == 415, (content_type, forged.text)
    # no login at all
    anonymous = ui.client.post(f"/sqlsentinel/api/alerts/{REVENUE}/ack", json={})
    assert anonymous.status_code in (401, 403)
    # unknown fields are refused, not ignored
    extra = ui.post(f"/alerts/{REVENUE}/ack", {"by": "someone else"}, "editor")
    assert extra.status_code == 422
    assert _actions(state_url) == []
    store = StateStore.connect(state_url)
    try:
        assert all(s.acked_at is None for s in store.list_states())
    finally:
        store.dispose()


@pytest.mark.parametrize("path", ["ack", "unack"])
def test_an_alert_that_does_not_exist_is_404(ui: UiServer, state_url: str, path: str) -> None:
    answer = ui.post(f"/alerts/{PREFIX}no_such_alert/{path}", {}, "admin")
    assert answer.status_code in (403, 404)
