"""A silence of one instance of a keyed alert, through the real engine, store and receiver.

Only that instance's notifications are held back; the alert's other instances still notify;
when the silence ends while the instance still fires, one ``firing`` goes out for it alone
(the semantics of whole-alert silences, per instance: docs/adr/0002-evaluation-semantics.md).
Run on SQLite and PostgreSQL state databases (and MariaDB, which the store also supports).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from notify_engine import T0, evaluate, keyed, make_alert
from notify_servers import HttpReceiver

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.core.model import Silence
from sqlsentinel_airflow.core.result import instance_key
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

CUSTOMERS = instance_key(["table_name"], {"table_name": "customers"})


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def state_store(request: pytest.FixtureRequest) -> Iterator[StateStore]:
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[request.param]
    with StateStore.connect(str(request.getfixturevalue(fixture))) as opened:
        yield opened


def _sent(receiver: HttpReceiver) -> list[tuple[str, str, str]]:
    out = []
    for request in receiver.delivered:
        body = request.json()
        out.append((body["kind"], body["reason"], body["instance"]["key_values"]["table_name"]))
    return out


def test_one_instance_silenced_the_others_notify_and_it_is_announced_when_the_silence_ends(
    receiver: HttpReceiver, state_store: StateStore
) -> None:
    alert = make_alert(
        "freshness",
        [{"channel": "webhook", "url": receiver.url("/h")}],
        key_columns=["table_name"],
        max_rows=100,
    )
    state_store.add_silence(
        Silence(
            match="freshness",
            starts_at=T0,
            ends_at=T0 + timedelta(minutes=20),
            reason="customers reload",
            instance_key=CUSTOMERS,
        )
    )

    def step(minute: int, *rows: tuple[str, str, int]) -> None:
        report = evaluate(alert, state_store, keyed(*rows), minute=minute)
        assert not report.silenced  # the whole alert is not silenced
        muted = {i.key_values["table_name"]: i.silenced for i in report.instances}
        assert muted.get("customers", minute < 20) is (minute < 20)
        assert not any(v for k, v in muted.items() if k != "customers")
        assert deliver_pending(alert, state_store).complete

    step(0, ("customers", "ALERT", 30), ("orders", "ALERT", 40), ("users", "OK", 1))
    assert _sent(receiver) == [("firing", "first firing", "orders")]

    # under the silence: a reminder-free alert; orders resolves and notifies, customers not
    step(10, ("customers", "ALERT", 31), ("orders", "OK", 1), ("users", "OK", 1))
    assert _sent(receiver)[1:] == [("resolved", "resolved", "orders")]

    # the read model: customers firing and silenced, the alert silenced (nothing else fires)
    summary = readmodel.alert_summary(
        readmodel.AlertFacts(alert.dag_id, alert.name),
        states=state_store.list_states(alert.name),
        silences=readmodel.silences_for(
            alert.name,
            alert.dag_id,
            state_store.list_silences(T0 + timedelta(minutes=10)),
            (),
            T0 + timedelta(minutes=10),
        ),
        outbox_counts={},
        now=T0 + timedelta(minutes=10),
    )
    assert (summary.status, summary.state) == ("silenced", "firing")
    assert summary.firing_instance_labels == ("table_name=customers",)
    assert [(i.label, i.silenced) for i in summary.instances] == [
        ("table_name=customers", True),  # most urgent first
        ("table_name=orders", False),
        ("table_name=users", False),
    ]
    assert summary.silences[0].instance_label == "table_name=customers"

    # the silence is over and customers still fires: one firing for customers alone
    step(25, ("customers", "ALERT", 32), ("orders", "OK", 1), ("users", "ALERT", 9))
    assert _sent(receiver)[2:] == [
        ("firing", "silence ended while firing", "customers"),
        ("firing", "first firing", "users"),
    ]
    step(30, ("customers", "ALERT", 33), ("orders", "OK", 1), ("users", "ALERT", 9))
    assert len(receiver.delivered) == 4  # nothing more: no reminders configured
    step(35, ("customers", "OK", 1), ("orders", "OK", 1), ("users", "OK", 1))
    assert sorted(_sent(receiver)[4:]) == [
        ("resolved", "resolved", "customers"),
        ("resolved", "resolved", "users"),
    ]


def test_a_query_error_of_a_keyed_alert_is_not_muted_by_an_instance_silence(
    receiver: HttpReceiver, state_store: StateStore
) -> None:
    alert = make_alert(
        "freshness",
        [{"channel": "webhook", "url": receiver.url("/h")}],
        key_columns=["table_name"],
        notify_on_error=1,
    )
    state_store.add_silence(
        Silence(
            match="freshness",
            starts_at=T0,
            ends_at=T0 + timedelta(hours=1),
            reason="customers reload",
            instance_key=CUSTOMERS,
        )
    )
    report = evaluate(alert, state_store, "relation freshness does not exist", minute=0)
    assert [i.silenced for i in report.instances] == [False]
    assert deliver_pending(alert, state_store).complete
    assert [r.json()["kind"] for r in receiver.delivered] == ["error"]
