"""A parent and its children (``depends_on``) through the real engine, store and outbox.

The parent ``orders_loaded`` goes down and comes back; three children evaluate around it.
What the webhook receiver got, the outbox rows and the history rows of each child are
checked: a held firing is released exactly once, one that resolved meanwhile never goes out,
a resolved owed for an announced incident is never held. Run on SQLite, PostgreSQL and
MariaDB state databases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notify_engine import evaluate, make_alert, result
from notify_servers import HttpReceiver

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.model import Reason, State
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.run_note import note_text
from sqlsentinel_airflow.store import StateStore

PARENT = "orders_loaded"


@pytest.fixture
def any_store(any_db_url: str) -> Iterator[StateStore]:
    with StateStore.connect(any_db_url) as store:
        yield store


def _sent(receiver: HttpReceiver, alert: str) -> list[tuple[str, str]]:
    return [
        (p["kind"], p["reason_code"])
        for p in (r.json() for r in receiver.delivered)
        if p["alert"]["name"] == alert
    ]


def test_children_are_held_while_the_parent_is_down_and_released_once(
    receiver: HttpReceiver, any_store: StateStore
) -> None:
    hook = [{"channel": "webhook", "url": receiver.url("/h")}]
    parent = make_alert(PARENT, hook)
    held = make_alert("revenue_low", hook, depends_on=[PARENT])
    gone = make_alert("refunds_high", hook, depends_on=[PARENT])
    known = make_alert("margin_low", hook, depends_on=[PARENT])
    alerts = (parent, held, gone, known)

    def run(alert_minute_rows: list[tuple[object, int, object]]) -> None:
        for alert, minute, rows in alert_minute_rows:
            evaluate(alert, any_store, rows, minute=minute)  # type: ignore[arg-type]
        for alert in alerts:
            deliver_pending(alert, any_store)

    # margin_low's incident is announced before the parent goes down
    run([(known, 0, result("ALERT", 20)), (parent, 1, result("ALERT", 0))])
    assert _sent(receiver, "margin_low") == [("firing", "first_firing")]
    # the parent is down: the children fire, nothing of theirs goes out; margin_low resolves
    run(
        [
            (held, 2, result("ALERT", 20)),
            (gone, 2, result("ALERT", 30)),
            (known, 3, result("OK", 1)),
            (held, 4, result("ALERT", 21)),
            (gone, 4, result("OK", 2)),
        ]
    )
    assert _sent(receiver, "revenue_low") == []
    assert _sent(receiver, "refunds_high") == []
    assert _sent(receiver, "margin_low") == [
        ("firing", "first_firing"),
        ("resolved", "resolved"),
    ]
    assert any_store.outbox(alert_name="revenue_low") == []
    assert any_store.outbox(alert_name="refunds_high") == []
    state = {s.alert_name: s for s in any_store.list_states()}
    assert state["revenue_low"].state is State.FIRING
    assert state["revenue_low"].inhibited_by == (PARENT,)
    assert not state["revenue_low"].firing_notified
    rows = any_store.history("revenue_low")
    assert [(h.reason, h.inhibited_by) for h in rows] == [
        (Reason.INHIBITED, (PARENT,)),
        (Reason.INHIBITED, (PARENT,)),
    ]
    # the parent recovers; at their next evaluation revenue_low fires once, refunds_high
    # (resolved meanwhile) sends nothing
    run([(parent, 5, result("OK", 1))])
    run(
        [
            (held, 6, result("ALERT", 22)),
            (gone, 6, result("OK", 1)),
            (held, 7, result("ALERT", 22)),
        ]
    )
    assert _sent(receiver, "revenue_low") == [("firing", "firing_after_inhibition")]
    assert _sent(receiver, "refunds_high") == []
    assert _sent(receiver, PARENT) == [("firing", "first_firing"), ("resolved", "resolved")]
    assert len(any_store.outbox(alert_name="revenue_low")) == 1  # exactly once
    newest = any_store.history("revenue_low", limit=1)[0]
    assert newest.inhibited_by == () and newest.reason is not Reason.INHIBITED
    assert any_store.list_states("revenue_low")[0].inhibited_by == ()
    # delivering again sends nothing more
    for alert in alerts:
        deliver_pending(alert, any_store)
    assert len(receiver.delivered) == 5


def test_a_failing_parent_inhibits_and_an_unrelated_alert_is_not_held(
    receiver: HttpReceiver,
    any_store: StateStore,
    any_db_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hook = [{"channel": "webhook", "url": receiver.url("/h")}]
    parent = make_alert(PARENT, hook, notify_on_error=5)
    child = make_alert("revenue_low", hook, depends_on=[PARENT])
    other = make_alert("unrelated", hook)
    evaluate(parent, any_store, "connection refused", minute=0)  # ERROR, not yet notified
    child_report = evaluate(child, any_store, result("ALERT", 20), minute=1)
    other_report = evaluate(other, any_store, result("ALERT", 20), minute=1)
    assert child_report.inhibited_by == (PARENT,)
    assert child_report.instances[0].held
    assert child_report.to_dict()["instances"][0]["held"] is True
    assert other_report.inhibited_by == () and not other_report.instances[0].held
    for alert in (parent, child, other):
        deliver_pending(alert, any_store)
    assert _sent(receiver, "unrelated") == [("firing", "first_firing")]
    assert _sent(receiver, "revenue_low") == []
    assert _sent(receiver, PARENT) == []  # below its notify_on_error
    # where people see it: the run note, `sqlsentinel history`
    assert note_text(child_report.to_dict()).endswith(" · inhibited by orders_loaded")
    assert "inhibited by" not in note_text(other_report.to_dict())
    assert main(["history", "--alert", "revenue_low", "--state-db", any_db_url]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.endswith("held, inhibited by orders_loaded"), line
