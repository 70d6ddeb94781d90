"""The UI's JSON API through Airflow's auth: who may read what, and what it shows."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ui_support import PREFIX, SLACK_SECRET, T0, Rows, UiServer

from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert

REVENUE = f"{PREFIX}revenue_drop"
FRESHNESS = f"{PREFIX}table_freshness"
PAYROLL = f"{PREFIX}payroll_check"
NEVER = f"{PREFIX}never_run"

ENDPOINTS = [
    ("GET", "/alerts"),
    ("GET", f"/alerts/{REVENUE}"),
    ("GET", f"/alerts/{REVENUE}/history"),
    ("GET", f"/alerts/{REVENUE}/incidents"),
    ("POST", f"/alerts/{REVENUE}/silences"),
    ("POST", f"/alerts/{REVENUE}/silences/1/end"),
    ("GET", "/me"),
]


def _call(ui: UiServer, method: str, path: str, headers: dict[str, str]) -> Any:
    url = f"/sqlsentinel/api{path}"
    if method == "GET":
        return ui.client.get(url, headers=headers)
    return ui.client.post(url, headers=headers, json={"duration": "1h", "reason": "x"})


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_a_request_without_a_token(
    ui: UiServer, state_url: str, method: str, path: str
) -> None:
    response = _call(ui, method, path, {})
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_refuses_a_forged_token(
    ui: UiServer, state_url: str, method: str, path: str
) -> None:
    response = _call(ui, method, path, {"Authorization": "Bearer not.a.jwt"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid JWT token"}


def test_the_session_cookie_of_airflows_ui_authenticates_the_pages_requests(
    ui: UiServer, state_url: str
) -> None:
    ui.client.cookies.set("_token", ui.tokens["viewer"])
    try:
        response = ui.client.get("/sqlsentinel/api/me")
    finally:
        ui.client.cookies.clear()
    assert response.status_code == 200
    assert response.json() == {"user": "viewer"}


def test_alert_list_shows_state_value_threshold_and_deliveries(
    ui: UiServer, state_url: str, seed: Any
) -> None:
    seed(state_url)
    alerts = ui.alerts("admin")
    assert set(alerts) == {REVENUE, FRESHNESS, PAYROLL, NEVER}

    revenue = alerts[REVENUE]
    assert (revenue["status"], revenue["state"]) == ("firing", "firing")
    assert (revenue["last_value"], revenue["threshold"]) == (7500, 10000)
    assert (revenue["severity"], revenue["owner"], revenue["tags"]) == (
        "critical",
        "data-team",
        ["finance"],
    )
    assert revenue["since"] == revenue["firing_since"] == "2026-11-01T09:15:00+00:00"
    assert revenue["last_evaluated_at"] == "2026-11-01T09:25:00+00:00"
    assert revenue["pending_deliveries"] == 2  # the firing event, for email and slack
    assert revenue["dead_deliveries"] == 0
    assert revenue["spark"]["value"] == [12000, 11500, 10800, 9900, 8700, 7500]
    assert revenue["spark"]["outcome"][-3:] == ["alert"] * 3
    assert len(revenue["spark"]["at"]) == len(revenue["spark"]["threshold"]) == 6
    # times in seconds since the epoch (not RFC 3339 text): every 5 minutes, oldest first
    assert revenue["spark"]["at"] == [(T0 + timedelta(minutes=5 * i)).timestamp() for i in range(6)]
    assert revenue["can_edit"] is True

    freshness = alerts[FRESHNESS]
    assert freshness["status"] == "firing"
    assert (freshness["instance_count"], freshness["firing_instances"]) == (2, 1)
    assert freshness["instances"][0]["key_values"] == {"table_name": "orders"}
    assert freshness["spark_instance"] == freshness["instances"][0]["instance_key"]
    assert freshness["spark"]["value"] == [20, 26, 30]

    assert alerts[PAYROLL]["status"] == "ok"
    assert alerts[PAYROLL]["severity"] == "info"
    never = alerts[NEVER]
    assert (never["status"], never["state"]) == ("silenced", "unknown")
    assert never["spark"] == {"at": [], "value": [], "threshold": [], "outcome": []}

    # what the list call spent its time on, part by part, for the browser's network panel
    timing = ui.get("/alerts", "admin").headers["Server-Timing"]
    parts = [p.strip().split(";dur=") for p in timing.split(",")]
    assert [name for name, _ in parts] == ["catalog", "auth", "state", "invalid", "json"]
    assert all(float(ms) >= 0 for _, ms in parts)


def test_reading_creates_no_state_database(ui: UiServer, tmp_path: Path, monkeypatch: Any) -> None:
    missing = tmp_path / "not-yet" / "state.db"
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", f"sqlite:///{missing}")
    alerts = ui.alerts("admin")
    assert alerts[REVENUE]["status"] == "unknown"
    assert alerts[REVENUE]["pending_deliveries"] == 0
    assert ui.get(f"/alerts/{REVENUE}/history").json()["entries"] == []
    assert ui.get(f"/alerts/{REVENUE}/incidents").json()["incidents"] == []
    assert not missing.exists()
    assert not missing.parent.exists()


def test_a_viewer_sees_only_the_alerts_whose_dags_they_may_read(
    ui: UiServer, state_url: str, seed: Any
) -> None:
    seed(state_url)
    alerts = ui.alerts("viewer")
    assert set(alerts) == {REVENUE, FRESHNESS, NEVER}  # the payroll DAG is admins-only
    assert all(a["can_edit"] is False for a in alerts.values())

    response = ui.get(f"/alerts/{PAYROLL}", "viewer")
    assert response.status_code == 403
    assert ui.get(f"/alerts/{PAYROLL}/history", "editor").status_code == 403
    assert ui.get(f"/alerts/{PAYROLL}", "admin").status_code == 200


def test_alert_detail_has_the_sql_and_channels_but_no_secret(
    ui: UiServer, state_url: str, seed: Any
) -> None:
    store = seed(state_url)
    slack_row = next(
        r for r in store.outbox(alert_name="revenue_drop") if r.channel_kind == "slack"
    )
    store.mark_attempt_failed(
        slack_row.id, f"HTTP 404 from {SLACK_SECRET}", T0, max_attempts=1
    )  # a careless message: the API must still not show the URL
    response = ui.get(f"/alerts/{REVENUE}")
    assert response.status_code == 200
    assert SLACK_SECRET not in response.text
    assert "ui-secret-token" not in response.text
    alert = response.json()["alert"]
    assert alert["docs"]["query"].startswith("SELECT CASE WHEN SUM(amount) < 10000")
    assert alert["docs"]["query"].endswith("FROM orders")
    assert alert["docs"]["channels"] == [
        "email to finance@example.com via connection `smtp_default`",
        "slack to #finance via webhook URL (hidden)",
    ]
    assert ("Schedule", "`0 9 * * *` in UTC") in [
        (f["label"], f["text"]) for f in alert["docs"]["facts"]
    ]
    assert (alert["pending_deliveries"], alert["dead_deliveries"]) == (1, 1)
    dead = next(d for d in alert["deliveries"] if d["status"] == "dead")
    assert dead["channel"] == "slack"
    assert dead["last_error"] == "HTTP 404 from https://hooks.slack.com/***"
    # Every other read endpoint, over HTTP, for every role: the URL's token never shows.
    for user in ("admin", "editor", "viewer"):
        for path in ("/me", "/alerts", f"/alerts/{REVENUE}", f"/alerts/{REVENUE}/history"):
            body = ui.get(path, user, limit=500)
            assert body.status_code in (200, 403), (user, path, body.status_code)
            assert "ui-secret-token" not in body.text, (user, path)


def test_alert_detail_says_which_receivers_its_routes_reach(ui: UiServer, state_url: str) -> None:
    never = ui.get(f"/alerts/{NEVER}").json()["alert"]["docs"]
    assert never["channels"] == [
        "email to oncall@example.com via connection `smtp_default`",
        "receiver `data-oncall`: email to data-oncall@example.com via connection `smtp_default`",
    ]
    assert never["routing"] == {
        "receivers": [
            {
                "name": "data-oncall",
                "channels": ["email to data-oncall@example.com via connection `smtp_default`"],
                "via": ["routes.routes[0] (alert: never_*)"],
            }
        ],
        "nobody_via": [],
        "renotify": None,
        "reaches_nobody": False,
        "escalation": [
            "step 1 after 1d: receiver data-oncall "
            "(email to data-oncall@example.com via connection `smtp_default`)"
        ],
        "escalation_from": "routes.routes[0]",
    }
    revenue = ui.get(f"/alerts/{REVENUE}").json()["alert"]["docs"]["routing"]
    assert revenue["receivers"] == [] and not revenue["reaches_nobody"]  # its own notify:
    assert revenue["nobody_via"] == ["routes (the root: no route under it matched)"]
    assert revenue["escalation"] == [] and revenue["escalation_from"] is None


def test_history_is_paged_newest_first(ui: UiServer, state_url: str, seed: Any) -> None:
    seed(state_url)
    first = ui.get(f"/alerts/{REVENUE}/history", limit=4).json()
    assert [e["actual_value"] for e in first["entries"]] == [7500, 8700, 9900, 10800]
    assert first["entries"][0]["events"] == []
    assert first["entries"][2]["events"] == ["firing"]
    assert first["entries"][2]["reason"] == "first firing"
    second = ui.get(f"/alerts/{REVENUE}/history", limit=4, before_id=first["next_before_id"]).json()
    assert [e["actual_value"] for e in second["entries"]] == [11500, 12000]
    assert second["next_before_id"] is None

    orders = ui.get(f"/alerts/{FRESHNESS}/history", instance_key='{"table_name":"orders"}').json()
    assert [e["actual_value"] for e in orders["entries"]] == [30, 26, 20]


def test_a_compacted_run_is_one_row_and_the_chart_gets_its_newest_values(
    ui: UiServer, state_url: str, seed: Any
) -> None:
    store = seed(state_url)
    before = [e["actual_value"] for e in ui.get(f"/alerts/{REVENUE}/history").json()["entries"]]
    store.compact_history(T0 + timedelta(days=1))
    runs = [e for e in store.history(alert_name="revenue_drop") if e.samples]
    store.dispose()
    assert runs, "the seeded OK evaluations before the incident form a run"

    table = ui.get(f"/alerts/{REVENUE}/history").json()["entries"]
    run = next(e for e in table if e["repeats"])
    assert run["samples"] == [] and run["last_evaluated_at"]  # the table gets no samples
    chart = ui.get(f"/alerts/{REVENUE}/history", samples="true").json()["entries"]
    points = [
        v
        for e in reversed(chart)
        for v in [e["actual_value"]] + [s["actual_value"] for s in e["samples"]]
    ]
    assert points == list(reversed(before))  # every value, in order, as before compaction
    newest = ui.get(f"/alerts/{REVENUE}/history", samples="true", limit=len(table)).json()
    assert sum(1 + len(e["samples"]) for e in newest["entries"]) == len(table)


def test_incidents_are_paged_newest_first(ui: UiServer, state_url: str, seed: Any) -> None:
    store = seed(state_url)
    # revenue_drop (firing since its 4th evaluation) recovers at the 7th, fires at the 8th
    config = load_config(str(ui.alerts_file)).config
    assert config is not None
    for step, amount in ((6, 12000), (7, 9000)):
        status = "ALERT" if amount < 10000 else "OK"
        evaluate_alert(
            config.alert("revenue_drop"),
            fetch=lambda status=status, amount=amount: Rows(
                ["status", "actual_value", "threshold"], [[status, amount, 10000]]
            ),
            store=store,
            run_type=RunType.SCHEDULED,
            run_id=f"scheduled__revenue_drop_{step}",
            clock=lambda step=step: T0 + timedelta(minutes=5 * step),
        )
    store.dispose()
    first = ui.get(f"/alerts/{REVENUE}/incidents", limit=1).json()
    (latest,) = first["incidents"]
    assert (latest["ongoing"], latest["start_run_id"]) == (True, "scheduled__revenue_drop_7")
    second = ui.get(f"/alerts/{REVENUE}/incidents", limit=1, before=first["next_before"]).json()
    (earlier,) = second["incidents"]
    assert (earlier["start_run_id"], earlier["end_run_id"]) == (
        "scheduled__revenue_drop_3",
        "scheduled__revenue_drop_6",
    )
    assert earlier["duration_seconds"] == 900.0 and earlier["notifications"]["firing"] == 1
    assert second["next_before"] is None
    after = (T0 + timedelta(minutes=32)).isoformat()
    assert [
        i["id"] for i in ui.get(f"/alerts/{REVENUE}/incidents", since=after).json()["incidents"]
    ] == [latest["id"]]
    naive = ui.get(f"/alerts/{REVENUE}/incidents", since="2026-01-01T00:00:00")
    assert naive.status_code == 422 and "no time zone" in naive.json()["detail"]
    orders = ui.get(f"/alerts/{FRESHNESS}/incidents", instance_key='{"table_name":"orders"}')
    assert [i["key_values"] for i in orders.json()["incidents"]] == [{"table_name": "orders"}]
    customers = ui.get(f"/alerts/{FRESHNESS}/incidents", instance_key='{"table_name":"customers"}')
    assert customers.json()["incidents"] == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "greater than or equal to 1"),
        ({"limit": 501}, "less than or equal to 500"),
        ({"limit": "ten"}, "valid integer"),
        ({"before_id": -3}, "greater than or equal to 1"),
    ],
)
def test_history_rejects_bad_paging(
    ui: UiServer, state_url: str, params: dict[str, Any], message: str
) -> None:
    response = ui.get(f"/alerts/{REVENUE}/history", **params)
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("dag_id", [f"{PREFIX}config_watch", "no_such_dag"])
def test_a_dag_that_is_no_alert_is_404(ui: UiServer, state_url: str, dag_id: str) -> None:
    response = ui.get(f"/alerts/{dag_id}")
    assert response.status_code == 404
    assert response.json()["detail"] == (
        f"no SQL Sentinel alert has the DAG id {dag_id!r} (or its DAG was removed)"
    )


def test_without_manifests_the_dag_still_tells_severity_and_docs(
    ui: UiServer, state_url: str, seed: Any, airflow_home: Path
) -> None:
    """An api-server on another machine has no manifests: Airflow's metadata DB suffices."""
    seed(state_url)
    manifests = airflow_home / "sqlsentinel" / "manifests"
    aside = airflow_home / "manifests-aside"
    shutil.move(str(manifests), str(aside))
    try:
        alerts = ui.alerts("admin")
        detail = ui.get(f"/alerts/{REVENUE}").json()["alert"]
    finally:
        shutil.move(str(aside), str(manifests))
    assert alerts[REVENUE]["severity"] == "critical"  # from the DAG's tags
    assert alerts[REVENUE]["tags"] == ["finance"]
    assert alerts[REVENUE]["status"] == "firing"  # the deployment's state DB
    assert alerts[NEVER]["status"] == "unknown"  # its file's silence is known from manifests only
    assert detail["docs"]["query"].startswith("SELECT CASE WHEN SUM(amount)")
