"""The CLI's ``--format json`` and the UI's API return the same object for the same record.

One state database (SQLite), seeded by the real evaluation engine: alerts with one and with
two instances, history, a pending and a dead notification (whose error holds a webhook URL),
a silence stored through the CLI and one declared in alerts.yaml. The CLI runs in process
(``cli.main.main``), the API through Airflow's app with its auth, and every kind of record
is compared: alert summary, instance, evaluation, incident, delivery, stored and declared
silence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ui_support import PREFIX, SLACK_SECRET, T0, UiServer

from sqlsentinel_airflow.cli.main import main

REVENUE = f"{PREFIX}revenue_drop"
FRESHNESS = f"{PREFIX}table_freshness"
NEVER = f"{PREFIX}never_run"
# What only Airflow knows (null from the CLI). `enabled` both know: the file, and the UI from
# the manifest and the definition embedded in the DAG.
AIRFLOW_ONLY = ("paused", "stale", "spark", "docs", "can_edit")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """``cli(*args)``: the parsed JSON ``sqlsentinel ARGS --format json`` printed."""
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    # what main() sets for itself, undone after the test
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

    def run(*args: str) -> Any:
        capsys.readouterr()
        code = main([*args, "--format", "json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return json.loads(captured.out)

    return run


def _api(ui: UiServer, path: str, **params: Any) -> Any:
    response = ui.get(path, **params)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_record_reads_the_same_in_the_cli_and_the_api(
    ui: UiServer, state_url: str, seed: Any, cli: Any
) -> None:
    store = seed(state_url)
    slack = next(r for r in store.outbox(alert_name="revenue_drop") if r.channel_kind == "slack")
    store.mark_attempt_failed(slack.id, f"HTTP 404 from {SLACK_SECRET}", T0, max_attempts=1)
    store.dispose()
    state_db = ["--state-db", state_url]
    created = cli("silence", "revenue_drop", "--for", "2h", "--reason", "deploy", *state_db)
    one = cli(
        "silence",
        "table_freshness",
        "--instance",
        "table_name=customers",
        "--for",
        "2h",
        "--reason",
        "reload",
        *state_db,
    )["silence"]
    status = {a["name"]: a for a in cli("status", str(ui.alerts_file), *state_db)["alerts"]}
    api = {dag_id: _api(ui, f"/alerts/{dag_id}")["alert"] for dag_id in (REVENUE, FRESHNESS, NEVER)}

    # alert summary: the same object, but for what one side cannot know
    for dag_id, from_api in api.items():
        from_cli = status[from_api["name"]]
        assert [from_cli[k] for k in AIRFLOW_ONLY] == [None] * len(AIRFLOW_ONLY)
        assert from_api["can_edit"] is True and from_api["docs"]["query"]
        assert from_cli["enabled"] is True and from_api["enabled"] is True
        # the CLI's status lists every alert: it says whether any was delivered, as the UI's
        # list does, without counting them; one alert's page counts them
        assert from_cli["delivered_deliveries"] is None
        assert isinstance(from_api["delivered_deliveries"], int)
        assert from_cli["has_delivered"] is (from_api["delivered_deliveries"] > 0)
        # status lists what is owed now (pending), one alert's page its dead letters too
        owed = [d for d in from_api["deliveries"] if d["status"] == "pending"]
        assert from_cli["deliveries"] == owed
        shared = set(from_api) - set(AIRFLOW_ONLY) - {"delivered_deliveries", "deliveries"}
        assert set(from_cli) == set(from_api)
        assert {k: from_cli[k] for k in shared} == {k: from_api[k] for k in shared}, dag_id
    revenue, freshness, never = (
        status["revenue_drop"],
        status["table_freshness"],
        status["never_run"],
    )
    assert (revenue["status"], revenue["state"]) == ("silenced", "firing")
    # the runbook: in both (CLI from the file, API from the manifest); links on the tab's docs
    assert revenue["runbook_url"] == "https://wiki.example.com/runbooks/revenue"
    assert (freshness["runbook_url"], api[FRESHNESS]["docs"]["links"]) == (None, [])
    revenue_docs = api[REVENUE]["docs"]
    assert revenue_docs["runbook_url"] == revenue["runbook_url"]
    assert revenue_docs["links"] == [
        {"title": "Revenue dashboard", "url": "https://bi.example.com/d/revenue"}
    ]
    assert (revenue["pending_deliveries"], revenue["dead_deliveries"]) == (1, 1)

    # instance
    assert [i["instance_key"] for i in freshness["instances"]] == [
        '{"table_name":"orders"}',
        '{"table_name":"customers"}',
    ]
    for name, dag_id in (("revenue_drop", REVENUE), ("table_freshness", FRESHNESS)):
        assert status[name]["instances"] == api[dag_id]["instances"]
        assert {(i["alert"], i["dag_id"]) for i in status[name]["instances"]} == {(name, dag_id)}
    assert freshness["instances"][0]["state"] == "firing"

    # evaluation
    for name, dag_id in (("revenue_drop", REVENUE), ("table_freshness", FRESHNESS)):
        from_cli = cli("history", "--alert", name, "--limit", "50", *state_db)["history"]
        assert from_cli == _api(ui, f"/alerts/{dag_id}/history", limit=50)["entries"]
        assert len(from_cli) == {"revenue_drop": 6, "table_freshness": 6}[name]
    first_firing = next(e for e in from_cli if e["events"])
    assert (first_firing["outcome"], first_firing["state"]) == ("alert", "firing")

    # incident: the open one of each firing alert, from the real engine's history
    for name, dag_id in (("revenue_drop", REVENUE), ("table_freshness", FRESHNESS)):
        from_cli = cli("incidents", "--alert", name, *state_db)["incidents"]
        from_api = _api(ui, f"/alerts/{dag_id}/incidents")
        assert from_cli == from_api["incidents"] and from_api["next_before"] is None
    (incident,) = from_cli  # table_freshness: orders fired at its third evaluation
    assert (incident["kind"], incident["ongoing"], incident["dag_id"]) == (
        "firing",
        True,
        FRESHNESS,
    )
    assert incident["key_values"] == {"table_name": "orders"}
    (revenue_incident,) = cli("incidents", "--alert", "revenue_drop", *state_db)["incidents"]
    # the value falls below the threshold: the peak is the lowest value
    assert (revenue_incident["peak_value"], revenue_incident["peak_threshold"]) == (7500, 10000)
    assert revenue_incident["evaluations"] == 3

    # delivery: pending and dead, the error redacted once and alike
    deliveries = api[REVENUE]["deliveries"]
    assert revenue["deliveries"] == [d for d in deliveries if d["status"] == "pending"]
    undelivered = cli("status", str(ui.alerts_file), "--deliveries", "200", *state_db)["alerts"]
    assert next(a for a in undelivered if a["name"] == "revenue_drop")["deliveries"] == deliveries
    assert sorted(d["status"] for d in deliveries) == ["dead", "pending"]
    listed = cli("outbox", "--alert", "revenue_drop", *state_db)["outbox"]
    assert [d for d in listed if d["status"] in ("pending", "dead")] == deliveries
    dead = next(d for d in deliveries if d["status"] == "dead")
    assert dead["last_error"] == "HTTP 404 from https://hooks.slack.com/***"
    # every delivery of the alert, any status: the CLI's outbox and the API's deliveries
    every = _api(ui, f"/alerts/{REVENUE}/deliveries", limit=500)["deliveries"]
    assert every == listed and len(every) >= 2
    assert {d["destination"] for d in every} == {"finance@example.com", "#finance"}

    # silence: stored (as `silence` and `silences` print it) and declared in the file
    (stored,) = api[REVENUE]["silences"]
    assert created["silence"] == stored == revenue["silences"][0]
    assert cli("silences", *state_db)["silences"] == [stored, one]
    assert api[FRESHNESS]["silences"] == freshness["silences"] == [one]
    assert (one["instance_key"], one["instance_label"]) == (
        '{"table_name":"customers"}',
        "table_name=customers",
    )
    assert (stored["instance_key"], stored["instance_label"]) == (None, None)
    assert (stored["status"], stored["can_end"], stored["source"]) == ("active", True, "cli")
    (declared,) = api[NEVER]["silences"]
    assert never["silences"] == [declared]
    assert (declared["source"], declared["can_end"], declared["id"]) == ("config", False, None)
    assert declared["starts_at"] == "2026-01-01T00:00:00+00:00"
