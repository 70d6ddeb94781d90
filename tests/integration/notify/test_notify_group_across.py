"""Groups across alerts (docs/adr/0016-groups-across-alerts.md) through the real engine,
store and channels: ten alerts of one owner firing in the same minute reach a receiver with
``group_by: [owner]`` as ONE message per channel (a real SMTP server and a webhook receiver
on loopback), on SQLite and PostgreSQL; then the faults single rows are tested under: the
receiver down then up (the group is retried as the same set), SIGKILL mid-send (the same set
resent once, with the same idempotency key) and two deliverers at once (one message).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from notify_engine import T0, evaluate, make_alert, result
from notify_servers import HttpReceiver, Received, SmtpInbox

from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.notify.delivery import (
    CLAIM_LEASE,
    deliver_after_group_wait,
    deliver_pending,
)
from sqlsentinel_airflow.readmodel import delivery_view
from sqlsentinel_airflow.store import OutboxStatus, StateStore

REPO = Path(__file__).resolve().parents[3]
PUBLISHED = json.loads((REPO / "docs/reference/event-payload.schema.json").read_text())
V1_AS_PUBLISHED = json.loads(
    (REPO / "tests/fixtures/payload/webhook-v1-as-published.schema.json").read_text()
)
WAIT = timedelta(minutes=1)


def team_alert(name: str, receiver: HttpReceiver, *, owner: str = "data-team") -> AlertConfig:
    """An alert whose routes reach receiver ``team``: email and a webhook, grouped by owner."""
    return make_alert(
        name,
        [],
        owner=owner,
        routing={
            "receivers": [
                {
                    "name": "team",
                    "notify": [
                        {"channel": "email", "to": ["team@example.com"]},
                        {"channel": "webhook", "url": receiver.url("/team")},
                    ],
                    "group_by": ["owner"],
                    "group_wait": WAIT,
                }
            ]
        },
    )


class FrozenClock:
    """The delivery's clock; ``sleep`` moves it on (the task's wait, without waiting)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def valid(body: dict[str, Any]) -> dict[str, Any]:
    for schema in (PUBLISHED, V1_AS_PUBLISHED):
        jsonschema.Draft202012Validator(schema).validate(body)
    return body


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(
        request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])
    )


def test_ten_alerts_of_one_owner_in_a_minute_arrive_as_one_message_per_channel(
    db_url: str, smtp: SmtpInbox, receiver: HttpReceiver
) -> None:
    alerts = [team_alert(f"load_{i}", receiver) for i in range(10)]
    other = team_alert("billing_lag", receiver, owner="billing")
    with StateStore.connect(db_url) as store:
        for alert in [*alerts, other]:
            evaluate(alert, store, result("ALERT", 12), minute=0)

        # inside group_wait every task defers its row: nothing sent, nothing failed
        clock = FrozenClock(T0 + timedelta(seconds=30))
        first = deliver_pending(alerts[0], store, clock=clock)
        assert [(r.status, r.due_at) for r in first.rows] == [("waiting", T0 + WAIT)] * 2
        assert first.retry_may_help and not smtp.mails and not receiver.requests
        assert json.loads(json.dumps(first.to_dict()))["rows"][0]["due_at"] == (
            "2026-03-01T08:01:00+00:00"  # the report is JSON (XCom, `sqlsentinel run`)
        )

        # the task waits the group out, then claims ALL of the group's rows in one message
        done = deliver_after_group_wait(alerts[0], store, first, clock=clock, sleep=clock.sleep)
        assert done.complete and clock.slept == [30.0]
        assert len(done.rows) == 2  # its own rows; the message carried the others' too
        for alert in alerts[1:]:  # the other tasks find their rows delivered: nothing to do
            assert deliver_pending(alert, store, clock=clock).rows == ()
        assert deliver_pending(other, store, clock=clock).complete  # billing: its own group

        (mail, billing_mail) = smtp.mails
        assert mail.message["Subject"] == (
            "[WARNING] FIRING: 10 of 10 instances — 10 alerts (owner data-team)"
        )
        text = mail.part("text/plain")
        assert all(f"  FIRING  load_{i}: 12 (threshold 10)" in text for i in range(10))
        assert "billing_lag" not in text
        assert billing_mail.message["Subject"] == "[WARNING] FIRING: billing_lag"
        team_hook, billing_hook = (valid(r.json()) for r in receiver.requests)
        group = team_hook["group"]
        assert (team_hook["reason_code"], group["by"], group["group_by"]) == (
            "grouped",
            "receiver",
            {"owner": "data-team"},
        )
        assert [m["alert"] for m in group["members"]] == [f"load_{i}" for i in range(10)]
        assert "group" not in billing_hook  # a group of one is that event's own message

        rows = store.outbox()
        team_rows = [r for r in rows if r.alert_name != "billing_lag"]
        assert {r.status for r in rows} == {OutboxStatus.DELIVERED}
        hook_rows = [r for r in team_rows if r.channel_kind == "webhook"]
        (batch,) = {r.batch_id for r in hook_rows}  # which message carried each row
        assert batch == team_hook["event_id"]
        assert receiver.requests[0].headers["Idempotency-Key"] == (
            f"{batch}:{hook_rows[0].channel_id}"
        )
        # which message carried each row, as `sqlsentinel outbox --format json` and the UI say
        assert {delivery_view(r).to_json()["batch_id"] for r in hook_rows} == {batch}


def test_receiver_down_then_up_retries_the_group_as_the_same_set(
    store: StateStore, smtp: SmtpInbox, receiver: HttpReceiver
) -> None:
    alerts = [team_alert(f"load_{i}", receiver) for i in range(3)]
    for alert in alerts:
        evaluate(alert, store, result("ALERT", 12), minute=0)
    receiver.fail_next(1, status=503)
    clock = FrozenClock(T0 + timedelta(minutes=2))

    down = deliver_pending(alerts[1], store, clock=clock)
    assert sorted(r.status for r in down.rows) == ["delivered", "failed"]  # email went out
    assert down.retry_may_help
    hook_rows = [r for r in store.pending_outbox("load_0") if r.channel_kind == "webhook"]
    assert [(r.attempts, r.batch_id is not None) for r in hook_rows] == [(1, True)]

    late = team_alert("load_late", receiver)  # fires after the failure: not in that message
    evaluate(late, store, result("ALERT", 12), minute=3)
    clock.now = T0 + timedelta(minutes=5)
    assert deliver_pending(alerts[2], store, clock=clock).complete
    assert deliver_pending(late, store, clock=clock).complete

    bodies = [r.json() for r in receiver.requests]
    keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
    assert [len(b["group"]["members"]) for b in bodies[:2]] == [3, 3]
    assert keys[0] == keys[1] != keys[2]  # the same message again, then a new one
    assert bodies[0] == bodies[1]  # the same bytes: a signature would match too
    assert bodies[2]["alert"]["name"] == "load_late"  # alone in its group: its own message
    assert {r.status for r in store.outbox()} == {OutboxStatus.DELIVERED}
    assert len(smtp.mails) == 2  # email: the first three, then the late one


DELIVER = """
import sys, time
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.notify.delivery import deliver_after_group_wait, deliver_pending
from sqlsentinel_airflow.store import StateStore

alert = AlertConfig.model_validate_json(sys.argv[1])
with StateStore.connect(sys.argv[2]) as store:
    store.pending_outbox(alert.name)  # connected and migrated before the start
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
    report = deliver_after_group_wait(alert, store, deliver_pending(alert, store))
    sys.exit(0 if report.complete else 3)
"""


def _deliverer(alert: AlertConfig, url: str, start_at: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", DELIVER, alert.model_dump_json(), url, str(start_at)],
        env=dict(os.environ),
    )


def test_sigkill_mid_delivery_resends_exactly_the_same_set_once(
    sqlite_url: str, store: StateStore, receiver: HttpReceiver
) -> None:
    alerts = [team_alert(f"load_{i}", receiver) for i in range(3)]
    webhook_only = [a.model_copy(update={"routing": _webhook_only(a)}) for a in alerts]
    for alert in webhook_only:
        evaluate(alert, store, result("ALERT", 12), minute=0)
    killed: list[int] = []

    def kill_the_sender(request: Received) -> bool:
        if not killed:
            os.kill(sender.pid, signal.SIGKILL)  # sent, never marked
            killed.append(sender.pid)
            return False
        return True

    receiver.on_request = kill_the_sender
    sender = _deliverer(webhook_only[0], sqlite_url, time.time())
    assert sender.wait(timeout=60) == -signal.SIGKILL
    claimed = store.pending_outbox("load_1")
    assert [(r.attempts, r.batch_id is not None) for r in claimed] == [(0, True)]

    late = webhook_only[0].model_copy(update={"name": "load_late"})
    evaluate(late, store, result("ALERT", 12), minute=1)  # after the claim: a later message

    blocked = deliver_pending(webhook_only[1], store)  # the dead sender's claim holds the set
    assert [r.status for r in blocked.rows] == ["in_flight"]
    assert len(receiver.requests) == 1

    after_lease = FrozenClock(datetime.now(T0.tzinfo) + CLAIM_LEASE + timedelta(seconds=1))
    assert deliver_pending(webhook_only[2], store, clock=after_lease).complete
    assert deliver_pending(late, store, clock=after_lease).complete

    sent = [(r.headers["Idempotency-Key"], _alerts_of(r)) for r in receiver.requests]
    names = ["load_0", "load_1", "load_2"]
    assert sent[0] == sent[1] and sent[1][1] == names  # the same set, the same key, once more
    assert sent[2][1] == ["load_late"] and sent[2][0] != sent[0][0]
    assert [_alerts_of(r) for r in receiver.delivered] == [names, ["load_late"]]
    late_row = next(r for r in store.outbox() if r.alert_name == "load_late")
    assert sent[2][0] == late_row.idempotency_key  # a group of one: the row's own message
    assert {r.status for r in store.outbox()} == {OutboxStatus.DELIVERED}


def test_two_deliverers_of_one_group_at_once_send_one_message(
    pg_url: str, receiver: HttpReceiver
) -> None:
    """The tasks of two alerts of the group deliver at the same instant on PostgreSQL: one
    claims the group and sends it; the other finds it claimed, waits, and succeeds."""
    alerts = [team_alert(f"load_{i}", receiver) for i in range(4)]
    webhook_only = [a.model_copy(update={"routing": _webhook_only(a)}) for a in alerts]
    with StateStore.connect(pg_url) as store:
        for alert in webhook_only:
            evaluate(alert, store, result("ALERT", 12), minute=0)
        receiver.delay_seconds = 0.5
        start_at = time.time() + 5  # after both have imported the package
        deliverers = [_deliverer(webhook_only[i], pg_url, start_at) for i in (0, 3)]
        assert [d.wait(timeout=90) for d in deliverers] == [0, 0]

        (request,) = receiver.requests
        assert _alerts_of(request) == [f"load_{i}" for i in range(4)]
        done = store.outbox()
        assert {(r.status, r.attempts) for r in done} == {(OutboxStatus.DELIVERED, 1)}
        assert len({r.batch_id for r in done}) == 1


def _webhook_only(alert: AlertConfig) -> Any:
    assert alert.routing is not None
    (team,) = alert.routing.receivers
    hook = team.model_copy(update={"notify": team.notify[1:]})
    return alert.routing.model_copy(update={"receivers": (hook,)})


def _alerts_of(request: Received) -> list[str]:
    body = request.json()
    if "group" not in body:
        return [body["alert"]["name"]]
    return [m["alert"] for m in body["group"]["members"]]
