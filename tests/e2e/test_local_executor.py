"""End to end on a LocalExecutor deployment: alerts on schedule, dry runs, config reloads.

One Airflow (api-server, scheduler, dag-processor, triggerer as processes; PostgreSQL
metadata DB) runs the package's example DAG file over the alerts.yaml below; alert queries
run on a PostgreSQL warehouse; state lives in the default SQLite file under AIRFLOW_HOME;
email goes to a local SMTP server and webhooks to a local HTTP receiver. Everything is
observed through the REST API and the receivers. The scenarios run in file order and share
the deployment; each waits on conditions with generous deadlines (two cores, shared CI).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from e2e_deployment import AirflowDeployment, wait_until
from e2e_receivers import HttpReceiver, MailReceiver
from e2e_support import launched, pg_url, reader_conn_uri, record_figure, smtp_env

from sqlsentinel_airflow.core.config import load_config_text

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e_local")]

WATCH = "sqlsentinel_config_watch"
FIRING_DAG = "sqlsentinel_orders_backlog"
TICK = 60  # the alerts below run every minute
ALERTS = """\
defaults:
  conn_id: e2e_warehouse
  timezone: UTC
  retries: 1
  retry_delay: 10s
  notify:
    - channel: email
      to: [oncall@example.com]
    - channel: webhook
      url: {webhook}/hooks/sqlsentinel
receivers:
  - name: noise-team
    notify:
      - channel: webhook
        conn_id: e2e_team_hook
        endpoint: /hooks/team
  - name: payments-team
    group_by: [owner]
    group_wait: 45s
    notify:
      - channel: email
        to: [payments@example.com]
routes:
  routes:
    - match: {{tags: noise}}
      receiver: noise-team
    - match: {{owner: payments}}
      receiver: payments-team
mute_windows:
  - name: maintenance
    match: {{tags: batch}}
    intervals:
      - weekdays: ["monday:sunday"]
alerts:
  - name: orders_backlog
    description: More than 5 orders waiting.
    schedule: "* * * * *"
    query: |
      SELECT CASE WHEN COUNT(*) > 5 THEN 'ALERT' ELSE 'OK' END AS status,
             COUNT(*) AS actual_value, 5 AS threshold
      FROM backlog
  - name: manual_check
    schedule: "0 0 1 1 *"
    enabled: false
    query: "SELECT 'ALERT' AS status, 42 AS actual_value, 1 AS threshold"
  - name: nightly_report
    schedule: "0 3 * * *"
    query: "SELECT 'OK' AS status"
  - name: flappy_queue
    description: Crosses its threshold every minute (the noise scenario).
    schedule: "* * * * *"
    tags: [noise]
    flap_detection: {{changes: 3, window: 15m, stable_for: 10m}}
    query: |
      SELECT CASE WHEN EXTRACT(MINUTE FROM now())::int % 2 = 0 THEN 'ALERT' ELSE 'OK' END
             AS status, 7 AS actual_value, 5 AS threshold
  - name: stale_tables
    description: Fifty tables stale at once (grouped into one email).
    schedule: "* * * * *"
    key_columns: [table_name]
    notify:
      - channel: email
        to: [tables@example.com]
    query: |
      SELECT 't' || LPAD(n::text, 2, '0') AS table_name, 'ALERT' AS status,
             7 AS actual_value, 6 AS threshold
      FROM generate_series(1, 50) AS n
  - name: batch_lag
    description: Fires while a maintenance window mutes it.
    schedule: "* * * * *"
    tags: [batch]
    query: "SELECT 'ALERT' AS status, 5 AS actual_value, 2 AS threshold"
  - name: payments_check_1
    schedule: "*/2 * * * *"
    owner: payments
    notify: []
    query: "SELECT 'ALERT' AS status, 1 AS actual_value, 0 AS threshold"
  - name: payments_check_2
    schedule: "*/2 * * * *"
    owner: payments
    notify: []
    query: "SELECT 'ALERT' AS status, 2 AS actual_value, 0 AS threshold"
  - name: payments_check_3
    schedule: "*/2 * * * *"
    owner: payments
    notify: []
    query: "SELECT 'ALERT' AS status, 3 AS actual_value, 0 AS threshold"
  - name: retired_check
    schedule: "0 4 * * *"
    query: "SELECT 'OK' AS status"
"""


def _edited(alerts: str) -> str:
    """Add an alert, change a schedule, remove an alert."""
    kept, _, _ = alerts.partition("  - name: retired_check\n")
    return kept.replace('schedule: "0 3 * * *"', 'schedule: "30 3 * * *"') + (
        '  - name: fresh_check\n    schedule: "0 5 * * *"\n    query: "SELECT \'OK\' AS status"\n'
    )


INVALID = """\
defaults:
  conn_id: e2e_warehouse
  notify: [{channel: email, to: [oncall@example.com]}
alerts: []
"""


@dataclass
class Warehouse:
    engine: sa.Engine
    conn_uri: str  # AIRFLOW_CONN_E2E_WAREHOUSE


@pytest.fixture(scope="module")
def warehouse(databases: Callable[[str], str]) -> Iterator[Warehouse]:
    name = databases("wh")
    engine = sa.create_engine(pg_url(name))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE backlog (id integer PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO backlog SELECT generate_series(1, 9)"))
    yield Warehouse(engine, reader_conn_uri(name))
    engine.dispose()


@pytest.fixture(scope="module")
def airflow(
    tmp_path_factory: pytest.TempPathFactory,
    databases: Callable[[str], str],
    warehouse: Warehouse,
    mail: MailReceiver,
    webhook: HttpReceiver,
) -> Iterator[AirflowDeployment]:
    env = {
        **smtp_env(mail),
        "AIRFLOW_CONN_E2E_WAREHOUSE": warehouse.conn_uri,
        # the receiver noise-team's webhook: secrets of a receiver come from a connection
        "AIRFLOW_CONN_E2E_TEAM_HOOK": json.dumps(
            {
                "conn_type": "http",
                "host": urlsplit(webhook.url).hostname,
                "port": urlsplit(webhook.url).port,
                "schema": "http",
            }
        ),
        # Regular re-parses are rare here, so an edit shows within 60 s only if the watch
        # DAG's REST re-parse request works.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    }
    with launched(
        tmp_path_factory.mktemp("local"),
        label="LocalExecutor",
        metadata_db=databases("meta"),
        alerts_yaml=ALERTS.format(webhook=webhook.url),
        env=env,
    ) as deployment:
        yield deployment


def _iso(value: str | None) -> datetime:
    assert value, "no timestamp"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _posts(webhook: HttpReceiver, alert: str, kind: str) -> list[dict[str, Any]]:
    return [
        p["body"]
        for p in webhook.posts
        if p["body"].get("kind") == kind and (p["body"].get("alert") or {}).get("name") == alert
    ]


def _mails(mail: MailReceiver, words: str) -> list[Any]:
    return [m for m in mail.mails if words in m.subject]


def _watch_result(airflow: AirflowDeployment, run: dict[str, Any]) -> Any:
    return airflow.api.xcom(WATCH, run["dag_run_id"], "validate_config")


def test_alert_dags_appear_unpaused_with_their_schedules(airflow: AirflowDeployment) -> None:
    expected = {
        "sqlsentinel_orders_backlog": "* * * * *",
        "sqlsentinel_nightly_report": "0 3 * * *",
        "sqlsentinel_retired_check": "0 4 * * *",
    }

    def listed() -> dict[str, dict[str, Any]] | None:
        dags = airflow.api.dags(tag="sqlsentinel")
        return dags if set(expected) | {WATCH} <= set(dags) else None

    dags = wait_until(listed, timeout=120, what="the alert DAGs and the watch DAG")
    assert "sqlsentinel_manual_check" in dags
    for dag_id, cron in expected.items():
        assert dags[dag_id]["is_paused"] is False, dag_id
        assert cron in str(dags[dag_id]["timetable_summary"]), dags[dag_id]
    assert dags[WATCH]["is_paused"] is False
    manual = dags["sqlsentinel_manual_check"]  # enabled: false -> manual runs only
    assert manual["is_paused"] is False and manual["timetable_summary"] in (None, "None")
    assert "sqlsentinel_config_errors" not in dags
    # The watch's first run records the baseline (every alert "added") and asks for a re-parse.
    run = airflow.api.wait_for_run(
        WATCH, lambda r: True, states=("success",), timeout=180, what="the first watch run"
    )
    first = _watch_result(airflow, run)
    assert first["initial"] is True
    assert sorted(first["added"]) == [
        "batch_lag",
        "flappy_queue",
        "manual_check",
        "nightly_report",
        "orders_backlog",
        "payments_check_1",
        "payments_check_2",
        "payments_check_3",
        "retired_check",
        "stale_tables",
    ]
    reparse = airflow.api.xcom(WATCH, run["dag_run_id"], "request_reparse")
    assert reparse["requested"] is True, reparse


def test_dry_run_returns_the_evaluation_and_touches_nothing(
    airflow: AirflowDeployment, mail: MailReceiver, webhook: HttpReceiver
) -> None:
    run = airflow.api.trigger("sqlsentinel_manual_check", {"dry_run": True})
    done = airflow.api.wait_for_run(
        "sqlsentinel_manual_check",
        lambda r: r["dag_run_id"] == run["dag_run_id"],
        timeout=180,
        what="the dry run",
    )
    assert done["state"] == "success"
    evaluation = airflow.api.xcom("sqlsentinel_manual_check", run["dag_run_id"], "evaluate")
    assert evaluation["dry_run"] is True
    assert evaluation["outcome"] == "alert"
    assert evaluation["actual_value"] == 42
    assert evaluation["run_type"] == "manual"
    assert not [m for m in mail.mails if "manual_check" in m.subject]
    assert not [p for p in webhook.posts if p["body"]["alert"]["name"] == "manual_check"]
    from sqlsentinel_airflow.store import StateStore

    state_db = airflow.home / "sqlsentinel" / "state.db"
    store = StateStore.open_for_reading(f"sqlite:///{state_db}")
    if store is not None:  # the firing alert may have created the file by now
        try:
            assert store.list_states("manual_check") == []
            assert store.history("manual_check") == []
            assert store.outbox(alert_name="manual_check") == []
        finally:
            store.dispose()


def test_firing_alert_notifies_once_then_resolves_once(
    airflow: AirflowDeployment,
    warehouse: Warehouse,
    mail: MailReceiver,
    webhook: HttpReceiver,
) -> None:
    api = airflow.api

    def scheduled(run: dict[str, Any]) -> bool:
        return bool(run["run_type"] == "scheduled")

    first = api.wait_for_run(
        FIRING_DAG, scheduled, timeout=3 * TICK, what="the first scheduled run"
    )
    assert first["state"] == "success"
    assert api.xcom(FIRING_DAG, first["dag_run_id"], "evaluate")["state"] == "firing"
    wait_until(
        lambda: (
            _mails(mail, "FIRING: orders_backlog") and _posts(webhook, "orders_backlog", "firing")
        ),
        timeout=60,
        what="the firing email and webhook",
    )
    # The next minute's run: still firing, nothing new is sent.
    second = api.wait_for_run(
        FIRING_DAG,
        lambda r: scheduled(r) and _iso(r["run_after"]) > _iso(first["run_after"]),
        timeout=3 * TICK,
        what="the second scheduled run",
    )
    assert second["state"] == "success"
    assert api.xcom(FIRING_DAG, second["dag_run_id"], "evaluate")["events"] == []
    assert len(_mails(mail, "FIRING: orders_backlog")) == 1
    assert len(_posts(webhook, "orders_backlog", "firing")) == 1

    with warehouse.engine.begin() as conn:  # fix the data
        conn.execute(sa.text("DELETE FROM backlog"))
    fixed_at = datetime.now(timezone.utc)
    resolved_run = api.wait_for_run(
        FIRING_DAG,
        lambda r: scheduled(r) and _iso(r["run_after"]) > fixed_at,
        timeout=3 * TICK,
        what="a scheduled run after the fix",
    )
    assert resolved_run["state"] == "success"
    assert api.xcom(FIRING_DAG, resolved_run["dag_run_id"], "evaluate")["state"] == "ok"
    wait_until(
        lambda: (
            _mails(mail, "[RESOLVED] orders_backlog")
            and _posts(webhook, "orders_backlog", "resolved")
        ),
        timeout=60,
        what="the resolved email and webhook",
    )
    assert len(_mails(mail, "[RESOLVED] orders_backlog")) == 1
    assert len(_posts(webhook, "orders_backlog", "resolved")) == 1
    assert len(_mails(mail, "FIRING: orders_backlog")) == 1
    assert len(_posts(webhook, "orders_backlog", "firing")) == 1


def _dag_state(airflow: AirflowDeployment) -> dict[str, dict[str, Any]]:
    return {d: info for d, info in airflow.api.dags().items() if not info.get("is_stale")}


def test_editing_alerts_yaml_is_applied_within_60_seconds(airflow: AirflowDeployment) -> None:
    path = airflow.dags / "alerts.yaml"
    path.write_text(_edited(path.read_text(encoding="utf-8")), encoding="utf-8")
    edited_at = time.monotonic()

    seen: dict[str, float] = {}

    def applied() -> bool:
        dags = _dag_state(airflow)
        fresh = dags.get("sqlsentinel_fresh_check")
        nightly = dags.get("sqlsentinel_nightly_report")
        checks = {
            "added": fresh is not None and fresh["is_paused"] is False,
            "changed": nightly is not None and "30 3 * * *" in str(nightly["timetable_summary"]),
            "removed": "sqlsentinel_retired_check" not in dags,
        }
        for name, ok in checks.items():
            if ok:
                seen.setdefault(name, time.monotonic() - edited_at)
        return all(checks.values())

    wait_until(applied, timeout=150, what="the edit to show in the DAGs", interval=0.5)
    latency = time.monotonic() - edited_at
    record_figure(
        "reload latency (edit -> DAGs reflect it)",
        f"{latency:.1f}s (" + ", ".join(f"{k} {v:.1f}s" for k, v in seen.items()) + ")",
    )

    def reported() -> Any:
        for run in airflow.api.runs(WATCH):
            result = _watch_result(airflow, run) if run["state"] == "success" else None
            if result and "fresh_check" in result.get("added", []):
                return result
        return None

    diff = wait_until(reported, timeout=60, what="the watch DAG's diff")
    assert diff["initial"] is False
    assert diff["added"] == ["fresh_check"]
    assert diff["removed"] == ["retired_check"]
    assert diff["changed"] == {
        "nightly_report": [{"field": "schedule", "before": "0 3 * * *", "after": "30 3 * * *"}]
    }
    assert latency < 60, f"the edit took {latency:.1f}s to apply"


def test_invalid_alerts_yaml_fails_the_watch_notifies_and_alerts_keep_running(
    airflow: AirflowDeployment, mail: MailReceiver, webhook: HttpReceiver
) -> None:
    api = airflow.api
    path = airflow.dags / "alerts.yaml"
    valid = path.read_text(encoding="utf-8")
    expected = load_config_text(INVALID, "alerts.yaml", base_dir=airflow.dags).errors
    assert expected, "the invalid file must be invalid"
    messages = [e.format() for e in expected]
    path.write_text(INVALID, encoding="utf-8")
    broken_at = datetime.now(timezone.utc)

    # The run that saw the broken file ends after the edit; an earlier failed watch run (a
    # CI run once found one whose sensor had failed, cause not kept) is not this test's.
    failed = api.wait_for_run(
        WATCH,
        lambda r: (
            r["state"] == "failed" and bool(r["end_date"]) and _iso(r["end_date"]) > broken_at
        ),
        states=("failed",),
        timeout=120,
        what="the watch run to fail",
    )
    task = api.task_instance(WATCH, failed["dag_run_id"], "validate_config")
    assert task["state"] == "failed", api.task_instance(
        WATCH, failed["dag_run_id"], "wait_for_change"
    )
    log = api.task_log(WATCH, failed["dag_run_id"], "validate_config", task["try_number"])
    for message in messages:
        assert message in log, f"{message!r} not in the task log:\n{log[-3000:]}"

    subject = "[ERROR] SQL Sentinel: the alerts configuration is invalid"
    wait_until(
        lambda: _mails(mail, subject) and _posts(webhook, "alerts configuration", "error"),
        timeout=60,
        what="the configuration-error notifications",
    )
    (error_mail,) = _mails(mail, subject)
    assert messages[0] in error_mail.text
    (error_post,) = _posts(webhook, "alerts configuration", "error")
    assert error_post["error"] == "\n".join(messages)

    # Existing alerts keep running (their last valid version) on schedule.
    kept = api.wait_for_run(
        FIRING_DAG,
        lambda r: r["run_type"] == "scheduled" and _iso(r["run_after"]) > broken_at,
        timeout=3 * TICK,
        what="an alert run while the file is invalid",
    )
    assert kept["state"] == "success"
    assert "sqlsentinel_fresh_check" in _dag_state(airflow)

    # Restoring the file recovers: a green watch run, and the errors DAG goes away.
    path.write_text(valid, encoding="utf-8")
    restored = api.wait_for_run(
        WATCH,
        lambda r: (
            _iso(r.get("start_date") or r["run_after"]) > broken_at and r["state"] == "success"
        ),
        states=("success",),
        timeout=120,
        what="a green watch run after the restore",
    )
    result = _watch_result(airflow, restored)
    assert result["valid"] is True
    assert result["added"] == [] and result["removed"] == [] and result["changed"] == {}
    wait_until(
        lambda: "sqlsentinel_config_errors" not in _dag_state(airflow),
        timeout=90,
        what="the config_errors DAG to go away",
    )
    assert len(_mails(mail, subject)) == 1


def test_noise_grouped_messages_and_mute_windows_end_to_end(
    airflow: AirflowDeployment, mail: MailReceiver, webhook: HttpReceiver
) -> None:
    """Grouped messages and mute windows in the running deployment.

    ``stale_tables`` has 50 instances firing from its first run: its email channel groups
    them (the default for email), so the address gets one message, not 50, and later runs
    (still firing) add none. ``batch_lag`` fires at every run under an always-open mute
    window: its runs go on and are recorded, and nothing is sent on any channel.
    """
    api = airflow.api
    wait_until(
        lambda: _mails(mail, "stale_tables"), timeout=3 * TICK, what="the stale_tables email"
    )
    later = api.wait_for_run(
        "sqlsentinel_stale_tables",
        lambda r: r["run_type"] == "scheduled" and r["state"] == "success",
        states=("success",),
        timeout=3 * TICK,
        what="a stale_tables run",
    )
    assert later["state"] == "success"
    (grouped,) = _mails(mail, "stale_tables")  # one email for the 50 instances
    assert "50 of 50 instances" in grouped.subject, grouped.subject
    assert "FIRING" in grouped.subject
    assert "+" in grouped.text and "more" in grouped.text  # the first ones named, then "+k more"

    muted = api.wait_for_run(
        "sqlsentinel_batch_lag",
        lambda r: r["run_type"] == "scheduled" and r["state"] == "success",
        states=("success",),
        timeout=3 * TICK,
        what="a batch_lag run",
    )
    result = api.xcom("sqlsentinel_batch_lag", muted["dag_run_id"], "evaluate")
    assert result["state"] == "firing" and result["events"] == []
    assert result["muted_by"] == ["maintenance"]
    assert _mails(mail, "batch_lag") == []
    assert [
        p for p in webhook.posts if (p["body"].get("alert") or {}).get("name") == "batch_lag"
    ] == []


def test_alerts_of_one_owner_firing_together_are_one_email(mail: MailReceiver) -> None:
    """``group_by: [owner]`` on a receiver, in the running deployment.

    Three alerts of the owner ``payments`` fire at the same runs (every two minutes, the
    LocalExecutor runs their tasks side by side); the receiver gathers their events for 45 s
    from the first and sends one email. Each alert's firing is in exactly one email, and at
    least one email carries more than one alert (a task started over 45 s after the first
    would send its own: the assertion tolerates that, not a lost or repeated firing).
    """
    names = [f"payments_check_{i}" for i in (1, 2, 3)]

    def emails() -> list[Any]:
        return [m for m in mail.mails if "payments@example.com" in m.recipients]

    def all_three() -> bool:
        return all(any(n in m.text for m in emails()) for n in names)

    wait_until(all_three, timeout=6 * TICK, what="every payments alert in an email")
    time.sleep(5)  # a message still being sent
    carrying = {n: [m.subject for m in emails() if n in m.text] for n in names}
    assert all(len(subjects) == 1 for subjects in carrying.values()), carrying
    assert any(sum(n in m.text for n in names) >= 2 for m in emails()), [
        m.subject for m in emails()
    ]
    grouped = next(m for m in emails() if sum(n in m.text for n in names) >= 2)
    assert "(owner payments)" in grouped.subject, grouped.subject


def test_noise_routes_and_flapping_end_to_end(
    airflow: AirflowDeployment, webhook: HttpReceiver
) -> None:
    """Receivers and routes, and flap detection, in the running deployment.

    ``flappy_queue`` has run every minute since the deployment came up (the scenarios above
    take minutes), its value crossing the threshold at every run. Its route sends it to the
    receiver ``noise-team`` (a webhook from a connection) besides its own channels; no other
    alert matches that route. Flap detection turns the crossings into three messages: two
    changes, then one ``flapping``; nothing after, however many runs follow.
    """
    dag_id = "sqlsentinel_flappy_queue"
    state_db = airflow.home / "sqlsentinel" / "state.db"

    def evaluations() -> list[Any]:
        from sqlsentinel_airflow.store import StateStore

        store = StateStore.open_for_reading(f"sqlite:///{state_db}")
        if store is None:
            return []
        try:
            return store.history("flappy_queue", limit=100)
        finally:
            store.dispose()

    wait_until(
        lambda: len(evaluations()) >= 6, timeout=8 * TICK, what="six evaluations of flappy_queue"
    )
    wait_until(
        lambda: any(p["path"] == "/hooks/team" for p in webhook.posts),
        timeout=60,
        what="a message to the receiver's webhook",
    )
    team = [p["body"] for p in webhook.posts if p["path"] == "/hooks/team"]
    assert {(b.get("alert") or {}).get("name") for b in team} == {"flappy_queue"}
    history = evaluations()
    shown = [h.state.value for h in reversed(history)]
    assert "FLAPPING" in shown, shown
    kinds = [(b["kind"], bool(b.get("flapping"))) for b in team]
    # Two changes announced (an OK first run is no change), the third is the flapping notice
    # (a firing with flapping: true in payload v1), then nothing while it flaps.
    assert kinds == [("firing", False), ("resolved", False), ("firing", True)], kinds
    own = [
        p["body"]
        for p in webhook.posts
        if p["path"] == "/hooks/sqlsentinel"
        and (p["body"].get("alert") or {}).get("name") == "flappy_queue"
    ]
    # the alert's own webhook (from defaults) got the same three, not one per crossing
    assert [(b["kind"], bool(b.get("flapping"))) for b in own] == kinds
    assert airflow.api.dag(dag_id) is not None
    assert len(history) >= 6 and shown.count("FLAPPING") >= 2  # runs went on, unannounced
