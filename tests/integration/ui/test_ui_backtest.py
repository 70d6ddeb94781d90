"""The Backtest panel's API: a replay of real evaluations from the state database, under the
current and a proposed policy, for users who may edit the DAG; bad input answered with what
to change."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ui_support import PREFIX, T0, Rows, UiServer

from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

REVENUE = f"{PREFIX}revenue_drop"
PAYROLL = f"{PREFIX}payroll_check"
NEVER = f"{PREFIX}never_run"
# hourly: a one-hour blip at 3:00, a four-hour incident from 8:00
VALUES = [12000] * 3 + [9000] + [12000] * 4 + [8000] * 4 + [12000] * 4
RANGE = {"start": T0.isoformat(), "end": (T0 + timedelta(days=1)).isoformat()}


@pytest.fixture
def recorded(state_url: str, alerts_config: Any) -> str:
    """revenue_drop's evaluations as its runs recorded them (the real engine, a simulated
    clock)."""
    store = StateStore.connect(state_url)
    try:
        for i, amount in enumerate(VALUES):
            at = T0 + timedelta(hours=i)
            status = "ALERT" if amount < 10000 else "OK"
            evaluate_alert(
                alerts_config.alert("revenue_drop"),
                fetch=lambda s=status, a=amount: Rows(  # type: ignore[misc]
                    ["status", "actual_value", "threshold"], [[s, a, 10000]]
                ),
                store=store,
                run_type=RunType.SCHEDULED,
                run_id=f"scheduled__{at.isoformat()}",
                clock=lambda at=at: at,  # type: ignore[misc]
            )
    finally:
        store.dispose()
    return state_url


def test_a_replay_counts_current_and_proposed(ui: UiServer, recorded: str) -> None:
    answer = ui.post(
        f"/alerts/{REVENUE}/backtest", {**RANGE, "proposed": {"fire_after": 2}}, "editor"
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert (data["source"], data["evaluations"], data["alert_name"]) == (
        "replay",
        16,
        "revenue_drop",
    )
    current, proposed = data["runs"]
    assert (current["policy"]["fire_after"], proposed["policy"]["fire_after"]) == (1, 2)
    assert proposed["policy"]["changed"] == ["fire_after"]
    # the blip and the long incident now; only the long one, an hour later, with fire_after 2
    assert [i["started_at"][11:16] for i in current["incidents"]] == ["12:00", "17:00"]
    assert [i["started_at"][11:16] for i in proposed["incidents"]] == ["18:00"]
    assert (current["counts"]["incidents"], proposed["counts"]["incidents"]) == (2, 1)
    assert (
        current["counts"]["events"]["firing"] == 2 and proposed["counts"]["events"]["firing"] == 1
    )
    # the channels are the manifest's: email and Slack, each gets every event
    assert [c["kind"] for c in data["channels"]] == ["email", "slack"]
    assert current["counts"]["messages"] == 2 * sum(current["counts"]["events"].values())
    (series,) = data["series"]
    assert series["values"] == VALUES and set(series["thresholds"]) == {10000}


def test_only_users_who_may_edit_the_dag(ui: UiServer, recorded: str) -> None:
    viewer = ui.post(f"/alerts/{REVENUE}/backtest", RANGE, "viewer")
    assert viewer.status_code == 403, viewer.text
    hidden = ui.post(f"/alerts/{PAYROLL}/backtest", RANGE, "editor")  # per-DAG: admins only
    assert hidden.status_code == 403, hidden.text
    anonymous = ui.post(f"/alerts/{REVENUE}/backtest", RANGE, None)
    assert anonymous.status_code == 401
    form = ui.client.post(
        f"/sqlsentinel/api/alerts/{REVENUE}/backtest",
        headers=ui.headers("editor"),
        data=RANGE,
    )
    assert form.status_code == 415, form.text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"proposed": {"fire_after": 0}}, "fire_after: "),
        ({"proposed": {"renotify_after": "soon"}}, "renotify_after: "),
        ({"proposed": {"timeout": "1m"}}, "`timeout` cannot be changed in a backtest"),
        ({"proposed": {"fire_afterr": 2}}, "fire_afterr: unknown key"),
        ({"end": (T0 + timedelta(days=40)).isoformat()}, "the range is 40d: at most 31d here"),
        ({"end": T0.isoformat()}, "the range is empty"),
    ],
)
def test_bad_values_say_what_to_change(
    ui: UiServer, recorded: str, body: dict[str, Any], message: str
) -> None:
    answer = ui.post(f"/alerts/{REVENUE}/backtest", {**RANGE, **body}, "editor")
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["detail"], answer.json()


def test_a_time_without_a_zone_is_refused(ui: UiServer, recorded: str) -> None:
    answer = ui.post(f"/alerts/{REVENUE}/backtest", {**RANGE, "start": "2026-11-01T00:00"})
    assert answer.status_code == 422
    assert "the time has no time zone" in str(answer.json()["detail"])


def test_no_history_says_so_and_points_at_as_of(ui: UiServer, recorded: str) -> None:
    answer = ui.post(f"/alerts/{NEVER}/backtest", RANGE, "editor")
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "no evaluation of alert 'never_run' is recorded in this range" in detail
    assert "sqlsentinel backtest --source as-of" in detail


def test_a_keyed_alert_sends_the_charts_it_draws(
    ui: UiServer, state_url: str, alerts_config: Any
) -> None:
    """14 instances, one of them firing: its series is among the 12 sent; the counts cover
    every instance."""
    tables = [f"t{n:02d}" for n in range(14)]
    store = StateStore.connect(state_url)
    try:
        for step in range(3):
            at = T0 + timedelta(minutes=5 * step)
            evaluate_alert(
                alerts_config.alert("table_freshness"),
                fetch=lambda step=step: Rows(  # type: ignore[misc]
                    ["table_name", "status", "actual_value", "threshold"],
                    [
                        [t, "ALERT" if t == "t13" and step else "OK", 30 if t == "t13" else 2, 24]
                        for t in tables
                    ],
                ),
                store=store,
                run_type=RunType.SCHEDULED,
                clock=lambda at=at: at,  # type: ignore[misc]
            )
    finally:
        store.dispose()
    body = {"start": T0.isoformat(), "end": (T0 + timedelta(minutes=15)).isoformat()}
    answer = ui.post(f"/alerts/{PREFIX}table_freshness/backtest", body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert len(data["series"]) == 12
    assert data["series"][0]["key_values"] == {"table_name": "t13"}
    (incident,) = data["runs"][0]["incidents"]
    assert incident["key_values"] == {"table_name": "t13"}
    assert "the chart shows 12 of the 14 instances" in " ".join(data["notes"])
