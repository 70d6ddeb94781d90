"""The operator delivers after evaluating; the task fails while something is undelivered.

``SentinelAlertOperator.execute`` runs in-process against a real SQLite warehouse (an
``AIRFLOW_CONN_*`` connection), the real state store and loopback receivers. Airflow's retry
is played by calling ``execute`` again with the same run id, as the task runner does.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from notify_engine import METRIC_QUERY as QUERY
from notify_engine import make_alert
from notify_servers import HttpReceiver

from sqlsentinel_airflow.core.config.models import AlertConfig, StateDbConfig
from sqlsentinel_airflow.notify.delivery import DeliveryReport, RowDelivery
from sqlsentinel_airflow.operators.alert import SentinelAlertOperator, task_failure
from sqlsentinel_airflow.service import AlertRun, Verdict
from sqlsentinel_airflow.store import OutboxStatus, StateStore


def operator(alert: AlertConfig, sqlite_url: str) -> SentinelAlertOperator:
    return SentinelAlertOperator(
        task_id="evaluate", alert=alert, state_db=StateDbConfig(url=sqlite_url)
    )


def context(run_id: str) -> dict[str, Any]:
    dag_run = SimpleNamespace(run_id=run_id, run_type="scheduled")
    return {"params": {}, "dag_run": dag_run, "run_id": run_id, "ti": None}


def alert_with(channels: list[dict[str, Any]], **settings: Any) -> AlertConfig:
    return make_alert("load_check", channels, conn_id="wh", query=QUERY, **settings)


# ALERT (True) / OK (False) for 50 scheduled runs: nine incidents, so 18 events per channel
SCRIPT = [
    False, False, True, True, True, False, False, True, False, False,
    True, True, False, False, False, True, True, True, True, False,
    False, True, False, True, False, False, False, True, True, True,
    True, True, False, False, True, False, False, False, False, False,
    True, True, True, False, False, False, False, False, False, False,
]  # fmt: skip


def test_outage_every_event_arrives_once_per_channel_in_order(
    warehouse: Callable[[int], None],
    sqlite_url: str,
    receiver: HttpReceiver,
    slack_api: HttpReceiver,
) -> None:
    alert = alert_with(
        [
            {"channel": "webhook", "url": receiver.url("/events")},
            {"channel": "slack", "webhook_url": slack_api.url("/services/T/B/tok")},
        ],
        retries=2,
    )
    task = operator(alert, sqlite_url)
    receiver.fail_next(4, 500)  # outlasts the three tries of the first firing run
    slack_api.fail_next(2, 429)
    runs: list[list[str]] = []  # per run, the outcome of each try
    for index, firing in enumerate(SCRIPT):
        warehouse(25 if firing else 3)
        tries: list[str] = []
        for _ in range(1 + alert.retries):
            try:
                task.execute(context(f"scheduled__{index:02d}"))
            except AirflowException:
                tries.append("failed")
                continue
            tries.append("success")
            break
        runs.append(tries)

    with StateStore.connect(sqlite_url) as store:
        rows = sorted(store.outbox(alert_name="load_check", limit=1000), key=lambda r: r.id or 0)
        assert len(store.history(alert_name="load_check", limit=1000)) == 50  # retries only deliver
    assert {r.status for r in rows} == {OutboxStatus.DELIVERED}
    for channel, server in (("webhook", receiver), ("slack", slack_api)):
        expected = [r.event_id[:8] for r in rows if r.channel_kind == channel]
        assert len(expected) == 18
        got = [_event_id(channel, request) for request in server.delivered]
        assert got == expected, channel  # each event exactly once, in order
    kinds = [r.kind for r in rows if r.channel_kind == "webhook"]
    assert kinds == ["firing", "resolved"] * 9
    assert runs[2] == ["failed", "failed", "failed"]  # first firing: outage outlasts retries
    assert runs[3] == ["failed", "success"]  # the next run delivers it (and its retry helps)
    assert all(tries == ["success"] for tries in runs[4:])


def _event_id(channel: str, request: Any) -> str:
    if channel == "webhook":
        return str(request.json()["event_id"])[:8]
    footer = request.json()["blocks"][-1]["elements"][0]["text"]
    return str(footer.split("event ")[1][:8])


def test_retry_after_failed_delivery_only_delivers(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    alert = alert_with([{"channel": "webhook", "url": receiver.url("/events")}])
    task = operator(alert, sqlite_url)
    warehouse(25)
    receiver.fail_next(1, 503)

    with pytest.raises(
        AirflowException,
        match=r"notifications undelivered after trying every channel: 1 failed \(firing to webhook: the receiver answered HTTP 503 Service Unavailable\); a retry delivers only what is still pending",
    ):
        task.execute(context("scheduled__01"))
    warehouse(3)  # the data changed before the retry: it must not be evaluated again
    retried = task.execute(context("scheduled__01"))

    assert retried["delivery_only"] is True
    assert retried["delivery"]["delivered"] == 1 and retried["delivery"]["complete"] is True
    with StateStore.connect(sqlite_url) as store:
        (history,) = store.history(alert_name="load_check")
        assert (history.outcome, history.state) == ("ALERT", "FIRING")
    assert [r.json()["kind"] for r in receiver.delivered] == ["firing"]
    assert receiver.delivered[0].json()["links"]["task_log"] == (
        "http://localhost:8080/dags/sqlsentinel_load_check/runs/scheduled__01/tasks/evaluate"
    )

    later = task.execute(context("scheduled__02"))  # the next run evaluates again

    assert later["state"] == "ok" and later["delivery"]["delivered"] == 1
    assert [r.json()["kind"] for r in receiver.delivered] == ["firing", "resolved"]


def test_a_cleared_task_evaluates_again_once_its_evaluation_was_confirmed(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    """A try that saw its commit confirms its rows; clearing that task is a request to
    evaluate again, and it does (a lost commit answer is the other case: tests/hardening)."""
    alert = alert_with([{"channel": "webhook", "url": receiver.url("/events")}], fire_after=2)
    task = operator(alert, sqlite_url)
    warehouse(25)

    first = task.execute(context("scheduled__01"))
    cleared = task.execute(context("scheduled__01"))  # cleared by hand: same run, next try

    assert (first["state"], cleared["state"]) == ("pending", "firing")
    assert "delivery_only" not in cleared and cleared["delivery"]["delivered"] == 1
    with StateStore.connect(sqlite_url) as store:
        history = store.history(alert_name="load_check")
    assert [(h.state, h.commit_confirmed) for h in history] == [("FIRING", True), ("PENDING", True)]


def test_failure_only_a_fix_can_cure_fails_without_retry(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    alert = alert_with([{"channel": "webhook", "url": receiver.url("/events")}])
    warehouse(25)
    receiver.fail_next(1, 401)

    with pytest.raises(AirflowFailException, match=r"retrying now would not help"):
        operator(alert, sqlite_url).execute(context("scheduled__01"))

    with StateStore.connect(sqlite_url) as store:
        (row,) = store.pending_outbox("load_check")  # still owed: the next run tries again
        assert (row.attempts, row.last_error) == (1, "the receiver answered HTTP 401 Unauthorized")


def test_query_error_notification_is_delivered_before_the_task_fails(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    broken = alert_with(
        [{"channel": "webhook", "url": receiver.url("/events")}],
        notify_on_error=1,
    ).model_copy(update={"query": "SELECT status FROM no_such_table"})

    with pytest.raises(AirflowException, match=r"query failed: .*no such table"):
        operator(broken, sqlite_url).execute(context("scheduled__01"))

    (request,) = receiver.delivered
    assert request.json()["kind"] == "error"
    assert "no such table" in request.json()["error"]


def test_backfill_and_dry_run_do_not_deliver(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    alert = alert_with([{"channel": "webhook", "url": receiver.url("/events")}])
    task = operator(alert, sqlite_url)
    warehouse(25)
    receiver.fail_next(1, 500)
    with pytest.raises(AirflowException):
        task.execute(context("scheduled__01"))

    backfill = {
        **context("backfill__01"),
        "dag_run": SimpleNamespace(run_id="b", run_type="backfill"),
    }
    dry = {**context("manual__01"), "params": {"dry_run": True}}
    assert "delivery" not in task.execute(backfill)
    assert "delivery" not in task.execute(dry)
    assert receiver.delivered == []


def test_firing_fails_the_task_only_with_fail_task_on_alert(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    hook = [{"channel": "webhook", "url": receiver.url("/events")}]
    warehouse(25)
    assert operator(alert_with(hook), sqlite_url).execute(context("r1"))["verdict"] == "firing"

    strict = make_alert("strict", hook, conn_id="wh", query=QUERY, fail_task_on_alert=True)
    with pytest.raises(AirflowFailException, match=r"'strict' is firing \(fail_task_on_alert"):
        operator(strict, sqlite_url).execute(context("r1"))
    assert len(receiver.delivered) == 2  # notified first: the red task comes after


def test_a_dry_run_never_fails_the_task(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    broken = alert_with(
        [{"channel": "webhook", "url": receiver.url("/events")}], fail_task_on_alert=True
    ).model_copy(update={"query": "SELECT status FROM no_such_table"})
    dry = {**context("manual__01"), "params": {"dry_run": "true"}}

    result = operator(broken, sqlite_url).execute(dry)

    assert (result["verdict"], result["dry_run"], result["outcome"]) == (
        "query_failed",
        True,
        "error",
    )


def _run_with(verdict: Verdict, *, dry_run: bool = False) -> AlertRun:
    failed = RowDelivery(1, "e", "firing", "", "webhook", "0:webhook:x", "failed", "HTTP 503")
    delivery = DeliveryReport("load_check", (failed,) if verdict.name.startswith("UNDEL") else ())
    evaluation = SimpleNamespace(error="no such table: metric")
    return AlertRun(
        alert_name="load_check",
        dag_id="sqlsentinel_load_check",
        run_id="r",
        dry_run=dry_run,
        verdict=verdict,
        evaluation=evaluation if verdict is Verdict.QUERY_FAILED else None,  # type: ignore[arg-type]
        delivery=delivery,
    )


@pytest.mark.parametrize(
    ("verdict", "fail_task_on_alert", "raised", "message"),
    [
        (Verdict.OK, True, None, None),
        (Verdict.FIRING, False, None, None),
        (Verdict.FIRING, True, AirflowFailException, r"is firing \(fail_task_on_alert is set\)"),
        (Verdict.QUERY_FAILED, False, AirflowException, r"query failed: no such table: metric$"),
        (
            Verdict.UNDELIVERED_RETRY_MAY_HELP,
            False,
            AirflowException,
            r"undelivered .*HTTP 503\); a retry delivers only what is still pending",
        ),
        (
            Verdict.UNDELIVERED_NEEDS_FIX,
            False,
            AirflowFailException,
            r"retrying now would not help: fix the channel",
        ),
    ],
)
def test_each_verdict_maps_to_one_task_outcome(
    verdict: Verdict,
    fail_task_on_alert: bool,
    raised: type[Exception] | None,
    message: str | None,
) -> None:
    alert = alert_with([], fail_task_on_alert=fail_task_on_alert)

    failure = task_failure(_run_with(verdict), alert)

    assert task_failure(_run_with(verdict, dry_run=True), alert) is None
    if raised is None:
        assert failure is None
        return
    assert type(failure) is raised
    assert re.search(message or "", str(failure)), str(failure)
    if raised is AirflowException:  # Airflow retries it: not the no-retry subclass
        assert not isinstance(failure, AirflowFailException)


def test_two_alert_tasks_of_one_group_wait_it_out_and_one_message_goes(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    """Groups across alerts (docs/adr/0016-groups-across-alerts.md) in the operator: the tasks
    of two alerts reaching a receiver with ``group_by: [owner]`` run at once; each waits out
    ``group_wait`` after evaluating, one sends the group, and both succeed."""
    team = {
        "name": "team",
        "notify": [{"channel": "webhook", "url": receiver.url("/team")}],
        "group_by": ["owner"],
        # longer than the two evaluations can be apart: on a loaded CI machine one evaluation
        # waited ~1 s for the other's SQLite write lock, and a 1 s wait had already run out
        "group_wait": timedelta(seconds=5),
    }
    alerts = [
        make_alert(name, [], conn_id="wh", query=QUERY, routing={"receivers": [team]})
        for name in ("load_check", "load_check_2")
    ]
    warehouse(12)
    outcomes: dict[str, Any] = {}

    def run(alert: AlertConfig) -> None:
        try:
            outcomes[alert.name] = operator(alert, sqlite_url).execute(context("scheduled__01"))
        except BaseException as exc:  # reported below
            outcomes[alert.name] = exc

    threads = [threading.Thread(target=run, args=(alert,)) for alert in alerts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not [o for o in outcomes.values() if isinstance(o, BaseException)], outcomes
    (request,) = receiver.requests
    members = request.json()["group"]["members"]
    assert sorted(m["alert"] for m in members) == ["load_check", "load_check_2"]
    with StateStore.connect(sqlite_url) as store:
        assert {r.status for r in store.outbox()} == {OutboxStatus.DELIVERED}
