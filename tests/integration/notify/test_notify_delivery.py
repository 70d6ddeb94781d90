"""The outbox delivered by the real engine and store: order, blocking, dead letters, scenarios.

Evaluations run in-process (``evaluate_alert`` with scripted query results and an injected
clock) against the real state store; receivers are real HTTP servers on loopback.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from notify_engine import T0, Rows, evaluate, keyed, make_alert, result
from notify_servers import HttpReceiver

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.model import Silence
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import OutboxStatus, StateStore


def kinds(receiver: HttpReceiver) -> list[str]:
    return [r.json()["kind"] for r in receiver.delivered]


def webhook(receiver: HttpReceiver, path: str = "/h") -> dict[str, str]:
    return {"channel": "webhook", "url": receiver.url(path)}


def test_newer_events_wait_while_an_older_one_is_failing(
    receiver: HttpReceiver, store: StateStore
) -> None:
    alert = make_alert("a1", [webhook(receiver)])
    for minute, status in ((0, "ALERT"), (5, "OK"), (10, "ALERT")):
        evaluate(alert, store, result(status, 12), minute=minute)
    receiver.fail_next(1, 400)  # not recoverable: only this event's channel+instance waits

    first = deliver_pending(alert, store)

    assert [r.status for r in first.rows] == ["failed", "deferred", "deferred"]
    assert not first.retry_may_help  # a 400 needs a fix; the newer rows only wait behind it
    assert len(receiver.requests) == 1
    assert [r.attempts for r in store.pending_outbox("a1")] == [1, 0, 0]

    second = deliver_pending(alert, store)

    assert [r.status for r in second.rows] == ["delivered"] * 3
    assert kinds(receiver) == ["firing", "resolved", "firing"]


def test_a_channel_that_is_down_does_not_hold_back_the_others(
    receiver: HttpReceiver, slack_api: HttpReceiver, store: StateStore
) -> None:
    slack = {"channel": "slack", "webhook_url": slack_api.url("/services/T/B/x")}
    alert = make_alert("a1", [webhook(receiver), slack])
    for minute, status in ((0, "ALERT"), (5, "OK")):
        evaluate(alert, store, result(status, 12), minute=minute)
    receiver.default_status = 503

    report = deliver_pending(alert, store)

    by_channel = {(r.channel, r.kind): r.status for r in report.rows}
    assert by_channel == {
        ("webhook", "firing"): "failed",
        ("slack", "firing"): "delivered",
        ("webhook", "resolved"): "deferred",  # the channel is down: no attempt burnt
        ("slack", "resolved"): "delivered",
    }
    assert len(receiver.requests) == 1
    assert report.retry_may_help and not report.complete


def test_dead_letter_after_the_configured_attempts(
    receiver: HttpReceiver, store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    alert = make_alert("a1", [webhook(receiver)], delivery_attempts=2)
    evaluate(alert, store, result("ALERT", 12), minute=0)
    evaluate(alert, store, result("OK", 1), minute=5)
    receiver.default_status = 500

    assert [r.status for r in deliver_pending(alert, store).rows] == ["failed", "deferred"]
    second = deliver_pending(alert, store)
    receiver.default_status = 200
    third = deliver_pending(alert, store)

    assert [r.status for r in second.rows] == ["dead", "failed"]
    assert [r.status for r in third.rows] == ["delivered"]
    (dead,) = store.outbox(status=OutboxStatus.DEAD)
    assert (dead.kind, dead.attempts) == ("firing", 2)
    assert dead.last_error == "the receiver answered HTTP 500 Internal Server Error"
    assert kinds(receiver) == ["resolved"]
    state_db = store.engine.url.render_as_string(hide_password=False)
    assert main(["outbox", "--status", "dead", "--state-db", state_db, "--format", "json"]) == 0
    (shown,) = json.loads(capsys.readouterr().out)["outbox"]
    assert (shown["id"], shown["status"], shown["last_error"]) == (dead.id, "dead", dead.last_error)


def test_removed_channel_dead_letters_with_a_clear_message(
    receiver: HttpReceiver, store: StateStore
) -> None:
    before = make_alert("a1", [webhook(receiver, "/old")])
    evaluate(before, store, result("ALERT", 12), minute=0)
    after = make_alert("a1", [webhook(receiver, "/new")])

    report = deliver_pending(after, store)

    (row,) = report.dead
    assert row.error is not None
    assert row.error.startswith(f"channel {row.channel_id} (webhook) is no longer configured")
    assert "removed from alerts.yaml or its destination changed" in row.error
    assert receiver.requests == []
    (stored,) = store.outbox(alert_name="a1")
    assert (stored.status, stored.last_error) == (OutboxStatus.DEAD, row.error)


def test_moved_or_reworded_channel_still_receives_what_it_is_owed(
    receiver: HttpReceiver, slack_api: HttpReceiver, store: StateStore
) -> None:
    slack = {"channel": "slack", "webhook_url": slack_api.url("/services/T/B/x")}
    before = make_alert("a1", [slack, webhook(receiver)])
    evaluate(before, store, result("ALERT", 12), minute=0)
    reworded = {**slack, "text": "*{{ alert.name }}* needs a look"}
    after = make_alert("a1", [webhook(receiver), reworded])  # order swapped, template edited

    assert deliver_pending(after, store).complete

    assert kinds(receiver) == ["firing"]
    assert slack_api.requests[0].json()["blocks"][1]["text"]["text"] == "*a1* needs a look"


def test_reminders_errors_after_n_and_recovery_are_delivered_in_order(
    receiver: HttpReceiver, store: StateStore
) -> None:
    alert = make_alert(
        "a1", [webhook(receiver)], renotify_after=timedelta(minutes=30), notify_on_error=2
    )
    script: list[tuple[int, Rows | str]] = [
        (0, result("ALERT", 12)),
        (10, result("ALERT", 13)),
        (30, result("ALERT", 14)),
        (40, "relation orders does not exist"),
        (45, "relation orders does not exist"),
        (50, result("ALERT", 15)),
        (55, result("OK", 2)),
    ]
    for minute, outcome in script:
        evaluate(alert, store, outcome, minute=minute)
        assert deliver_pending(alert, store).complete

    bodies = [r.json() for r in receiver.delivered]
    assert [(b["kind"], b["reason"]) for b in bodies] == [
        ("firing", "first firing"),
        ("reminder", "reminder due (renotify_after elapsed)"),
        ("error", "query failed notify_on_error times in a row"),
        ("resolved", "query succeeded again"),
        ("resolved", "resolved"),
    ]
    assert bodies[1]["actual_value"] == 14
    assert bodies[2]["error"] == "relation orders does not exist"


def test_no_event_while_silenced_and_one_firing_when_the_silence_ends(
    receiver: HttpReceiver, store: StateStore
) -> None:
    store.add_silence(
        Silence(match="a*", starts_at=T0, ends_at=T0 + timedelta(minutes=20), reason="maint")
    )
    alert = make_alert("a1", [webhook(receiver)])
    for minute, status in ((0, "ALERT"), (10, "ALERT"), (25, "ALERT"), (30, "ALERT"), (35, "OK")):
        evaluate(alert, store, result(status, 12), minute=minute)
        deliver_pending(alert, store)
        if minute == 10:
            assert receiver.requests == []

    bodies = [r.json() for r in receiver.delivered]
    assert [(b["kind"], b["reason"]) for b in bodies] == [
        ("firing", "silence ended while firing"),
        ("resolved", "resolved"),
    ]


def test_per_instance_events_with_key_columns(receiver: HttpReceiver, store: StateStore) -> None:
    alert = make_alert("fresh", [webhook(receiver)], key_columns=["table_name"], max_rows=100)
    evaluate(alert, store, keyed(("orders", "ALERT", 30), ("users", "ALERT", 40)), minute=0)
    evaluate(alert, store, keyed(("orders", "ALERT", 31)), minute=5)  # users stops appearing
    evaluate(alert, store, keyed(), minute=10)

    assert deliver_pending(alert, store).complete

    seen = [(r.json()["kind"], r.json()["instance"]["key_values"]) for r in receiver.delivered]
    assert seen == [
        ("firing", {"table_name": "orders"}),
        ("firing", {"table_name": "users"}),
        ("resolved", {"table_name": "users"}),
        ("resolved", {"table_name": "orders"}),
    ]


def test_delivery_on_postgresql(pg_url: str, receiver: HttpReceiver) -> None:
    with StateStore.connect(pg_url) as pg_store:
        alert = make_alert("a1", [webhook(receiver)])
        evaluate(alert, pg_store, result("ALERT", 12), minute=0)
        evaluate(alert, pg_store, result("OK", 1), minute=5)
        receiver.fail_next(1, 502)

        first = deliver_pending(alert, pg_store)
        second = deliver_pending(alert, pg_store)

        assert [r.status for r in first.rows] == ["failed", "deferred"]
        assert second.complete and len(second.delivered) == 2
        assert kinds(receiver) == ["firing", "resolved"]
        rows = sorted(pg_store.outbox(alert_name="a1"), key=lambda r: r.id or 0)
        assert [(r.status, r.attempts) for r in rows] == [
            (OutboxStatus.DELIVERED, 2),
            (OutboxStatus.DELIVERED, 1),
        ]
        assert all(r.delivered_at is not None for r in rows)


# --- grouped messages (docs/adr/0013-grouped-messages.md): the same guarantees, one row --------


def grouped_webhook(receiver: HttpReceiver) -> AlertConfig:
    return make_alert(
        "fresh",
        [webhook(receiver)],
        key_columns=["table_name"],
        max_rows=100,
        group={"by_evaluation": True},
    )


def test_a_grouped_message_waits_while_its_receiver_is_down_then_goes_once_in_order(
    receiver: HttpReceiver, store: StateStore
) -> None:
    alert = grouped_webhook(receiver)
    three = keyed(("orders", "ALERT", 30), ("users", "ALERT", 40), ("items", "ALERT", 50))
    evaluate(alert, store, three, minute=0)  # one grouped row: 3 firing
    evaluate(alert, store, keyed(("orders", "ALERT", 31)), minute=5)  # 2 resolved: grouped
    receiver.default_status = 503  # the receiver is down

    down = deliver_pending(alert, store)

    assert [r.status for r in down.rows] == ["failed", "deferred"]
    assert down.retry_may_help and len(receiver.requests) == 1
    assert [r.attempts for r in store.pending_outbox("fresh")] == [1, 0]
    receiver.default_status = 200  # ... and up again

    up = deliver_pending(alert, store)

    assert [r.status for r in up.rows] == ["delivered", "delivered"]
    sent = [r.json() for r in receiver.delivered]
    assert [(b["kind"], b["group"]["counts"]["resolved"]) for b in sent] == [
        ("firing", 0),
        ("resolved", 2),
    ]
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 2  # a retry, same key
    rows = sorted(store.outbox(alert_name="fresh"), key=lambda r: r.id or 0)
    assert [(r.status, r.attempts, len(r.members)) for r in rows] == [
        (OutboxStatus.DELIVERED, 2, 3),
        (OutboxStatus.DELIVERED, 1, 2),
    ]
    assert deliver_pending(alert, store).rows == ()  # nothing twice


def test_a_failing_grouped_message_holds_back_its_members_only(
    receiver: HttpReceiver, store: StateStore
) -> None:
    alert = grouped_webhook(receiver)
    evaluate(alert, store, keyed(("orders", "ALERT", 30), ("users", "ALERT", 40)), minute=0)
    evaluate(alert, store, keyed(("orders", "ALERT", 31)), minute=5)  # users resolves: a member
    evaluate(alert, store, keyed(("orders", "ALERT", 32), ("items", "ALERT", 9)), minute=10)
    receiver.fail_next(1, 400)  # needs a fix: the channel is not down, only its lanes wait

    first = deliver_pending(alert, store)

    assert [(r.kind, r.instance_key, r.status) for r in first.rows] == [
        ("firing", "", "failed"),  # the grouped row (orders, users)
        ("resolved", '{"table_name":"users"}', "deferred"),  # a member: it must not overtake
        ("firing", '{"table_name":"items"}', "delivered"),  # no member: goes at once
    ]
    assert deliver_pending(alert, store).complete
    sent = [r.json() for r in receiver.delivered]
    assert [b.get("group", {}).get("size") or b["instance"]["key"] for b in sent] == [
        '{"table_name":"items"}',
        2,
        '{"table_name":"users"}',
    ]
