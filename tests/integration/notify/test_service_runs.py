"""The run-an-alert service end to end: every verdict, both "only deliver" branches, dry runs,
backfills and many alerts in one run.

Real pieces only: a SQLite warehouse behind connection ``wh`` (``AIRFLOW_CONN_WH``), the
state DB on SQLite found through a ``StateDbLocator``, and a webhook receiver on loopback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from notify_engine import METRIC_QUERY as QUERY
from notify_engine import make_alert
from notify_servers import HttpReceiver

from sqlsentinel_airflow.core.config.models import AlertConfig, StateDbConfig
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.service import (
    AlertRun,
    QueryFetcher,
    RunRequest,
    Verdict,
    run_alert,
    run_alerts,
)
from sqlsentinel_airflow.store import StateDbLocator, StateStore

SCHEDULED = RunRequest(run_type=RunType.SCHEDULED, run_id="scheduled__01")


def alert_on(receiver: HttpReceiver, name: str = "load_check", **settings: Any) -> AlertConfig:
    hook = [{"channel": "webhook", "url": receiver.url(f"/{name}")}]
    return make_alert(name, hook, conn_id="wh", query=QUERY, **settings)


def run(alert: AlertConfig, url: str, request: RunRequest = SCHEDULED) -> AlertRun:
    return run_alert(alert, request, locator=StateDbLocator(), state_db=StateDbConfig(url=url))


def test_ok_and_firing_with_everything_delivered(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    alert = alert_on(receiver)
    ok = run(alert, sqlite_url)
    warehouse(25)
    firing = run(alert, sqlite_url, RunRequest(RunType.SCHEDULED, run_id="scheduled__02"))

    assert (ok.verdict, firing.verdict) == (Verdict.OK, Verdict.FIRING)
    assert ok.delivery is not None and ok.delivery.rows == ()
    assert firing.evaluation is not None and firing.evaluation.firing
    assert firing.delivery is not None and len(firing.delivery.delivered) == 1
    assert [r.json()["kind"] for r in receiver.delivered] == ["firing"]
    assert firing.to_dict()["verdict"] == "firing" and firing.to_dict()["state"] == "firing"


def test_query_failed_is_recorded_and_its_error_notification_delivered(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    broken = alert_on(receiver, notify_on_error=1).model_copy(
        update={"query": "SELECT status FROM no_such_table"}
    )

    failed = run(broken, sqlite_url)

    assert failed.verdict is Verdict.QUERY_FAILED
    assert failed.evaluation is not None and "no such table" in (failed.evaluation.error or "")
    assert failed.delivery is not None and failed.delivery.complete
    assert [r.json()["kind"] for r in receiver.delivered] == ["error"]


def test_undelivered_verdicts_tell_a_passing_failure_from_one_that_needs_a_fix(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    warehouse(25)
    receiver.fail_next(1, 503)
    outage = run(alert_on(receiver, "outage"), sqlite_url)
    receiver.fail_next(1, 401)
    refused = run(alert_on(receiver, "refused"), sqlite_url)

    assert outage.verdict is Verdict.UNDELIVERED_RETRY_MAY_HELP
    assert refused.verdict is Verdict.UNDELIVERED_NEEDS_FIX
    assert refused.delivery is not None
    assert refused.delivery.summary() == (
        "1 failed (firing to webhook: the receiver answered HTTP 401 Unauthorized)"
    )


def test_a_retry_with_notifications_owed_only_delivers(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    alert = alert_on(receiver)
    warehouse(25)
    receiver.fail_next(1, 503)
    first = run(alert, sqlite_url)
    warehouse(3)  # the data changed before the retry: it must not be evaluated again

    retry = run(alert, sqlite_url)

    assert first.verdict is Verdict.UNDELIVERED_RETRY_MAY_HELP
    assert retry.delivery_only and retry.evaluation is None
    assert retry.delivery_only_because == "its notifications are still owed"
    assert retry.verdict is Verdict.OK
    assert retry.to_dict() == {
        "alert_name": "load_check",
        "dag_id": "sqlsentinel_load_check",
        "run_id": "scheduled__01",
        "delivery_only": True,
        "verdict": "ok",
        "delivery": retry.delivery.to_dict() if retry.delivery else None,
    }
    with StateStore.connect(sqlite_url) as store:
        assert len(store.history(alert_name="load_check")) == 1
    assert [r.json()["kind"] for r in receiver.delivered] == ["firing"]


def test_a_retry_after_a_lost_commit_answer_only_delivers_even_with_nothing_owed(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    alert = alert_on(receiver, fire_after=2)
    warehouse(25)
    first = run(alert, sqlite_url)  # PENDING: nothing to notify
    engine = sa.create_engine(sqlite_url)  # as if the try never saw its COMMIT answered
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE sqlsentinel_history SET commit_confirmed = :f"), {"f": False})
    engine.dispose()

    retry = run(alert, sqlite_url)
    cleared = run(alert, sqlite_url, RunRequest(RunType.SCHEDULED, run_id="scheduled__02"))

    assert first.evaluation is not None and first.evaluation.state.value == "PENDING"
    assert retry.delivery_only_because == (
        "an earlier try committed it but never saw the commit succeed"
    )
    assert retry.verdict is Verdict.OK and retry.delivery is not None
    assert cleared.verdict is Verdict.FIRING  # the next run is the second ALERT in a row
    with StateStore.connect(sqlite_url) as store:
        assert len(store.history(alert_name="load_check")) == 2


def test_dry_run_creates_nothing_delivers_nothing_and_still_has_a_verdict(
    warehouse: Callable[[int], None], tmp_path: Path, receiver: HttpReceiver
) -> None:
    state = tmp_path / "nothing-yet" / "state.db"
    warehouse(25)
    dry = RunRequest(RunType.MANUAL, run_id="manual__01", dry_run=True)

    firing = run(alert_on(receiver), f"sqlite:///{state}", dry)
    broken = alert_on(receiver, "broken").model_copy(update={"query": "SELECT nope"})
    failed = run(broken, f"sqlite:///{state}", dry)

    assert (firing.verdict, firing.dry_run, firing.delivery) == (Verdict.FIRING, True, None)
    assert failed.verdict is Verdict.QUERY_FAILED and failed.delivery is None
    assert not state.exists() and not state.parent.exists()
    assert receiver.requests == []


def test_backfill_writes_history_and_notifies_nobody(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    warehouse(25)

    backfill = run(alert_on(receiver), sqlite_url, RunRequest(RunType.BACKFILL, run_id="b__01"))

    assert backfill.verdict is Verdict.FIRING and backfill.delivery is None
    with StateStore.connect(sqlite_url) as store:
        assert [h.run_type for h in store.history(alert_name="load_check")] == [RunType.BACKFILL]
        assert store.list_states("load_check") == []  # backfills never move today's state
    assert receiver.requests == []


def test_many_alerts_share_one_store_and_one_hook_per_connection(
    warehouse: Callable[[int], None], sqlite_url: str, receiver: HttpReceiver
) -> None:
    warehouse(25)
    alerts = [alert_on(receiver, f"alert_{i}") for i in range(3)]
    queries = QueryFetcher()
    seen: list[str] = []

    runs = run_alerts(
        alerts,
        RunRequest(RunType.CLI),
        locator=StateDbLocator(),
        explicit_url=sqlite_url,
        queries=queries,
        reuse_connections=True,
        on_evaluated=seen.append,
    )

    assert [(r.alert_name, r.verdict) for r in runs] == [
        (f"alert_{i}", Verdict.FIRING) for i in range(3)
    ]
    assert seen == ["alert_0", "alert_1", "alert_2"]
    assert len(queries._hooks) == 1  # one look-up of connection `wh` for the three alerts
    assert sorted(r.path for r in receiver.delivered) == ["/alert_0", "/alert_1", "/alert_2"]
    with StateStore.connect(sqlite_url) as store:  # the CLI never waits for a commit answer
        assert {h.commit_confirmed for h in store.history(limit=10)} == {None}
