"""Silencing one instance of a keyed alert through the UI's API, and how the alert reads then."""

from __future__ import annotations

from typing import Any

import pytest
from ui_support import PREFIX, UiServer

REVENUE = f"{PREFIX}revenue_drop"
FRESHNESS = f"{PREFIX}table_freshness"
ORDERS = '{"table_name":"orders"}'


@pytest.mark.parametrize("written", ["table_name=orders", ORDERS, '{"TABLE_NAME": "orders"}'])
def test_an_editor_silences_one_instance(
    ui: UiServer, any_db_url: str, monkeypatch: pytest.MonkeyPatch, seed: Any, written: str
) -> None:
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", any_db_url)
    seed(any_db_url).dispose()
    before = ui.alerts("viewer")[FRESHNESS]
    assert (before["status"], before["firing_instance_labels"]) == (
        "firing",
        ["table_name=orders"],
    )
    assert [(i["label"], i["silenced"]) for i in before["instances"]] == [
        ("table_name=orders", False),
        ("table_name=customers", False),
    ]

    created = ui.post(
        f"/alerts/{FRESHNESS}/silences",
        {"duration": "1h", "reason": "orders reload", "instance_key": written},
        "editor",
    )
    assert created.status_code == 201, created.text
    silence = created.json()["silence"]
    assert (silence["instance_key"], silence["instance_label"]) == (ORDERS, "table_name=orders")

    alert = ui.get(f"/alerts/{FRESHNESS}", user="viewer").json()["alert"]
    # only the silenced instance fires: the badge says silenced, firing beneath
    assert (alert["status"], alert["state"], alert["silenced"]) == ("silenced", "firing", True)
    assert [(i["label"], i["silenced"]) for i in alert["instances"]] == [
        ("table_name=orders", True),
        ("table_name=customers", False),
    ]
    assert alert["silences"] == [silence]
    assert ui.alerts("viewer")[REVENUE]["status"] == "firing"  # other alerts untouched

    ended = ui.post(f"/alerts/{FRESHNESS}/silences/{silence['id']}/end", {}, "editor")
    assert ended.status_code == 200, ended.text
    assert ui.alerts("viewer")[FRESHNESS]["status"] == "firing"


@pytest.mark.parametrize(
    ("dag_id", "instance", "message"),
    [
        (
            REVENUE,
            "table_name=orders",
            "instance_key: this alert has no key_columns, so it has a single instance",
        ),
        (
            FRESHNESS,
            "tabel=orders",
            "instance_key: the instance names 'tabel', which is not a key column of this alert; "
            "its key_columns are table_name: write table_name=...",
        ),
        (FRESHNESS, "orders", "'orders' is not key=value; write it as table_name=..."),
        (FRESHNESS, "", "the instance is empty; write it as table_name=..."),
        (FRESHNESS, '{"table_name": ', "is not a JSON object"),
    ],
)
def test_a_bad_instance_is_422_saying_what_to_send(
    ui: UiServer, state_url: str, dag_id: str, instance: str, message: str
) -> None:
    response = ui.post(
        f"/alerts/{dag_id}/silences",
        {"duration": "1h", "reason": "x", "instance_key": instance},
        "editor",
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
