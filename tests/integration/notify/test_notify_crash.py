"""A crash between send and mark: the delivering process is SIGKILLed while a receiver holds
its request. The next attempt resends that one event with the same idempotency key; nothing
else is sent twice. The same for a grouped message (one row carrying several events), and
two deliverers at once: each row, grouped or not, is sent by one of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from notify_engine import evaluate, keyed, make_alert, result
from notify_servers import HttpReceiver, Received

from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.notify.delivery import CLAIM_LEASE, deliver_pending
from sqlsentinel_airflow.store import OutboxEntry, OutboxStatus, StateStore

DELIVER_ONCE = """
import sys
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

alert = AlertConfig.model_validate_json(sys.argv[1])
with StateStore.connect(sys.argv[2]) as store:
    deliver_pending(alert, store)
"""


DELIVER_AT = """
import sys, time
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

alert = AlertConfig.model_validate_json(sys.argv[1])
with StateStore.connect(sys.argv[2]) as store:
    store.pending_outbox(alert.name)  # connected and migrated before the start
    time.sleep(max(0.0, float(sys.argv[3]) - time.time()))
    deliver_pending(alert, store)
"""


def test_sigkill_between_send_and_mark_resends_only_that_event(
    sqlite_url: str, store: StateStore, receiver: HttpReceiver
) -> None:
    alert = make_alert("a1", [{"channel": "webhook", "url": receiver.url("/events")}])
    for minute, status in ((0, "ALERT"), (5, "OK"), (10, "ALERT"), (15, "OK")):
        evaluate(alert, store, result(status, 12), minute=minute)
    rows = sorted(store.pending_outbox("a1"), key=lambda r: r.id or 0)
    victim = rows[2].event_id
    killed: list[int] = []

    def kill_sender_on_victim(request: Received) -> bool:
        if request.json()["event_id"] == victim and not killed:
            os.kill(sender.pid, signal.SIGKILL)  # the sender waits for our answer: sent, unmarked
            killed.append(sender.pid)
            return False
        return True

    receiver.on_request = kill_sender_on_victim
    sender = subprocess.Popen(
        [sys.executable, "-c", DELIVER_ONCE, alert.model_dump_json(), sqlite_url],
        env=dict(os.environ),
    )
    assert sender.wait(timeout=60) == -signal.SIGKILL

    after_crash = {r.event_id: (r.status, r.attempts) for r in store.outbox(alert_name="a1")}
    assert [after_crash[r.event_id] for r in rows] == [
        (OutboxStatus.DELIVERED, 1),
        (OutboxStatus.DELIVERED, 1),
        (OutboxStatus.PENDING, 0),  # sent, but the mark never happened
        (OutboxStatus.PENDING, 0),
    ]

    # The dead sender's claim still holds the victim: an immediate attempt sends nothing.
    blocked = deliver_pending(alert, store)
    assert [r.status for r in blocked.rows] == ["in_flight", "deferred"]
    assert not blocked.complete and blocked.retry_may_help
    assert len(receiver.requests) == 3

    # Once the claim lapses (before Airflow's retry_delay), the next attempt resends it.
    after_lease = datetime.now(timezone.utc) + CLAIM_LEASE + timedelta(seconds=1)
    assert deliver_pending(alert, store, clock=lambda: after_lease).complete

    sent = [(r.json()["event_id"], r.headers["Idempotency-Key"]) for r in receiver.requests]
    order = [r.event_id for r in rows]
    assert [event_id for event_id, _ in sent] == [order[0], order[1], victim, victim, order[3]]
    assert sent[2][1] == sent[3][1] == rows[2].idempotency_key  # the resend is recognisable
    assert [r.json()["event_id"] for r in receiver.delivered] == order  # each accepted once
    assert {r.status for r in store.outbox(alert_name="a1")} == {OutboxStatus.DELIVERED}


# --- grouped messages (docs/adr/0013-grouped-messages.md): one row, the same claim ------------


def _grouped(receiver: HttpReceiver) -> AlertConfig:
    return make_alert(
        "g1",
        [{"channel": "webhook", "url": receiver.url("/events")}],
        key_columns=["table_name"],
        max_rows=100,
        group={"by_evaluation": True},
    )


def _two_grouped_rows(alert: AlertConfig, store: StateStore) -> list[OutboxEntry]:
    evaluate(
        alert, store, keyed(("a", "ALERT", 20), ("b", "ALERT", 30), ("c", "ALERT", 40)), minute=0
    )
    evaluate(alert, store, keyed(), minute=5)  # all three resolve: a second grouped row
    rows = sorted(store.pending_outbox(alert.name), key=lambda r: r.id or 0)
    assert [len(r.members) for r in rows] == [3, 3]
    return rows


def test_sigkill_mid_delivery_of_a_grouped_message_resends_it_whole_once(
    sqlite_url: str, store: StateStore, receiver: HttpReceiver
) -> None:
    alert = _grouped(receiver)
    rows = _two_grouped_rows(alert, store)
    killed: list[int] = []

    def kill_sender_on_the_group(request: Received) -> bool:
        if not killed:
            os.kill(sender.pid, signal.SIGKILL)  # sent, never marked
            killed.append(sender.pid)
            return False
        return True

    receiver.on_request = kill_sender_on_the_group
    sender = subprocess.Popen(
        [sys.executable, "-c", DELIVER_ONCE, alert.model_dump_json(), sqlite_url],
        env=dict(os.environ),
    )
    assert sender.wait(timeout=60) == -signal.SIGKILL
    assert [(r.status, r.attempts) for r in store.pending_outbox("g1")] == [
        (OutboxStatus.PENDING, 0)
    ] * 2

    blocked = deliver_pending(alert, store)  # the dead sender's claim holds the group
    assert [r.status for r in blocked.rows] == ["in_flight", "deferred"]
    assert len(receiver.requests) == 1

    after_lease = datetime.now(timezone.utc) + CLAIM_LEASE + timedelta(seconds=1)
    assert deliver_pending(alert, store, clock=lambda: after_lease).complete

    sent = [(r.json()["event_id"], r.headers["Idempotency-Key"]) for r in receiver.requests]
    assert [key for _e, key in sent] == [rows[0].idempotency_key] * 2 + [rows[1].idempotency_key]
    accepted = [r.json() for r in receiver.delivered]
    assert [(b["kind"], b["group"]["size"]) for b in accepted] == [("firing", 3), ("resolved", 3)]
    assert {r.status for r in store.outbox(alert_name="g1")} == {OutboxStatus.DELIVERED}


def test_two_deliverers_at_once_send_each_grouped_message_once(
    pg_url: str, receiver: HttpReceiver
) -> None:
    """Two processes deliver the same alert at the same moment on PostgreSQL (a task and
    `sqlsentinel run`): the claim gives each grouped row to one of them."""
    alert = _grouped(receiver)
    with StateStore.connect(pg_url) as pg_store:
        rows = _two_grouped_rows(alert, pg_store)
        receiver.delay_seconds = 0.5  # each send is slow, and both start at the same instant
        start_at = str(time.time() + 5)  # after both have imported the package
        deliverers = [
            subprocess.Popen(
                [sys.executable, "-c", DELIVER_AT, alert.model_dump_json(), pg_url, start_at],
                env=dict(os.environ),
            )
            for _ in range(2)
        ]
        assert [d.wait(timeout=60) for d in deliverers] == [0, 0]

        keys = [r.headers["Idempotency-Key"] for r in receiver.requests]
        assert keys == [rows[0].idempotency_key, rows[1].idempotency_key]  # once each, in order
        done = sorted(pg_store.outbox(alert_name="g1"), key=lambda r: r.id or 0)
        assert [(r.status, r.attempts) for r in done] == [(OutboxStatus.DELIVERED, 1)] * 2
