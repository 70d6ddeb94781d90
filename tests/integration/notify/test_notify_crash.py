"""A crash between send and mark: the delivering process is SIGKILLed while a receiver holds
its request. The next attempt resends that one event with the same idempotency key; nothing
else is sent twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from notify_engine import evaluate, make_alert, result
from notify_servers import HttpReceiver, Received

from sqlsentinel_airflow.notify.delivery import CLAIM_LEASE, deliver_pending
from sqlsentinel_airflow.store import OutboxStatus, StateStore

DELIVER_ONCE = """
import sys
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

alert = AlertConfig.model_validate_json(sys.argv[1])
with StateStore.connect(sys.argv[2]) as store:
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
