"""The read model's rules: one casing, RFC 3339 UTC, reason and reason_code, one redaction."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.config.models import FileSilence
from sqlsentinel_airflow.core.model import (
    EventKind,
    InstanceState,
    Outcome,
    Reason,
    RunType,
    Silence,
    State,
)
from sqlsentinel_airflow.core.redact import redact_text
from sqlsentinel_airflow.core.result import instance_key
from sqlsentinel_airflow.store.records import HistoryEntry, OutboxEntry, OutboxStatus

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
URL = "postgresql://reader:s3cret-pw@db.internal:5432/shop?sslpassword=k3y"


def _state(key: str, state: State, **kw: object) -> InstanceState:
    return InstanceState("orders_late", key, state=state, state_since=NOW, **kw)  # type: ignore[arg-type]


def _history(**kw: object) -> HistoryEntry:
    fields: dict[str, object] = {
        "alert_name": "orders_late",
        "evaluated_at": NOW,
        "outcome": Outcome.ALERT,
        "state": State.FIRING,
        "run_type": RunType.MANUAL,
        "reason": Reason.FIRST_FIRING,
        "events": (EventKind.FIRING,),
        "id": 7,
    }
    fields.update(kw)
    return HistoryEntry(**fields)  # type: ignore[arg-type]


def _outbox(**kw: object) -> OutboxEntry:
    fields: dict[str, object] = {
        "event_id": "e1",
        "alert_name": "orders_late",
        "kind": EventKind.RESOLVED,
        "channel_id": "0:webhook:abc",
        "channel_kind": "webhook",
        "payload": {"secret": "never shown"},
        "idempotency_key": "e1:0:webhook:abc",
        "created_at": NOW,
        "status": OutboxStatus.DEAD,
        "id": 3,
    }
    fields.update(kw)
    return OutboxEntry(**fields)  # type: ignore[arg-type]


def test_enum_values_are_lower_case_and_times_rfc3339_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    entry = _history(evaluated_at=datetime(2026, 11, 1, 10, 0, 0, 250, tzinfo=berlin))
    data = readmodel.evaluation_view(entry).to_json()
    assert (data["outcome"], data["state"], data["run_type"]) == ("alert", "firing", "manual")
    assert data["events"] == ["firing"]
    assert data["evaluated_at"] == "2026-11-01T09:00:00.000250+00:00"
    naive = readmodel.instance_view(
        _state("", State.ERROR, last_good_state=State.PENDING, last_outcome=Outcome.MISSING),
        "dag",
    ).to_json()
    assert (naive["state"], naive["last_good_state"], naive["last_outcome"]) == (
        "error",
        "pending",
        "missing",
    )
    plain = readmodel.instance_view(
        InstanceState("a", state_since=datetime(2026, 1, 2, 3, 4, 5)), None
    ).to_json()
    assert plain["since"] == "2026-01-02T03:04:05+00:00"  # naive: taken as UTC


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (Reason.FIRST_FIRING, ("first firing", "first_firing")),
        ("first firing", ("first firing", "first_firing")),  # older rows: the English
        ("reminder_due", ("reminder due (renotify_after elapsed)", "reminder_due")),  # by code
        ("a reason of a newer version", ("a reason of a newer version", None)),
        (None, (None, None)),
    ],
)
def test_reason_and_reason_code(stored: Reason | str | None, expected: tuple[object, ...]) -> None:
    assert readmodel.reason_fields(stored) == expected
    data = readmodel.evaluation_view(_history(reason=stored)).to_json()
    assert (data["reason"], data["reason_code"]) == expected


def test_every_error_text_is_redacted_once_when_the_view_is_built() -> None:
    error = f"could not connect to {URL}"
    instance = readmodel.instance_view(_state("", State.ERROR, last_error=error), "dag")
    evaluation = readmodel.evaluation_view(_history(error=error))
    delivery = readmodel.delivery_view(_outbox(last_error=error))
    summary = readmodel.alert_summary(
        readmodel.AlertFacts("dag", "orders_late"),
        states=[_state("", State.ERROR, last_error=error)],
        silences=[],
        outbox_counts={},
        now=NOW,
    )
    expected = redact_text(error)  # the one redactor, applied once
    assert expected is not None and "s3cret-pw" not in expected and "k3y" not in expected
    assert instance.last_error == evaluation.error == delivery.last_error == expected
    assert summary.last_error == summary.instances[0].last_error == expected
    assert "payload" not in delivery.to_json()
    assert readmodel.delivery_view(_outbox()).to_json()["status"] == "dead"


def test_summary_status_silenced_over_the_worst_state() -> None:
    states = [
        _state("a", State.OK),
        _state("b", State.FIRING, last_value=9, firing_since=NOW - timedelta(hours=1)),
        _state("c", State.ERROR),
    ]
    silence = Silence("orders_*", NOW - timedelta(hours=1), NOW + timedelta(hours=1), id=4)
    upcoming = Silence("orders_*", NOW + timedelta(hours=2), NOW + timedelta(hours=3), id=5)
    summary = readmodel.alert_summary(
        readmodel.AlertFacts("dag", "orders_late", tags=("ops",)),
        states=states,
        silences=[silence, upcoming],
        outbox_counts={OutboxStatus.PENDING: 2, OutboxStatus.DEAD: 1},
        now=NOW,
    )
    data = summary.to_json()
    assert (data["status"], data["state"], data["silenced"]) == ("silenced", "firing", True)
    assert [i["instance_key"] for i in data["instances"]] == ["b", "c", "a"]  # most urgent first
    assert (data["last_value"], data["spark_instance"], data["firing_instances"]) == (9, "b", 1)
    assert [s["status"] for s in data["silences"]] == ["active", "pending"]
    assert (data["pending_deliveries"], data["dead_deliveries"]) == (2, 1)
    assert (data["deliveries"], data["spark"], data["docs"], data["paused"]) == (None,) * 4
    assert data["tags"] == ["ops"]

    never = readmodel.alert_summary(
        readmodel.AlertFacts("dag", "x"), states=[], silences=[], outbox_counts={}, now=NOW
    )
    assert (never.status, never.state, never.since) == ("unknown", "unknown", None)


def test_lists_carry_the_first_instances_and_a_page_all_of_them() -> None:
    states = [_state(f"k{i:03d}", State.OK) for i in range(30)]
    facts = readmodel.AlertFacts("dag", "orders_late")
    listed = readmodel.alert_summary(facts, states=states, silences=[], outbox_counts={}, now=NOW)
    page = readmodel.alert_summary(
        facts, states=states, silences=[], outbox_counts={}, now=NOW, all_instances=True
    )
    assert (len(listed.instances), listed.instance_count) == (readmodel.INSTANCES_IN_LIST, 30)
    assert len(page.instances) == 30


def test_spark_series_oldest_first_with_numbers_only() -> None:
    newest_first = [
        _history(actual_value="12.5", threshold=10, evaluated_at=NOW),
        _history(
            actual_value=True,
            threshold="n/a",
            outcome=Outcome.OK,
            evaluated_at=NOW - timedelta(minutes=5),
        ),
        _history(actual_value=7, threshold=10.5, evaluated_at=NOW - timedelta(minutes=10)),
    ]
    assert readmodel.spark_series(newest_first).to_json() == {
        "at": [1793523000.0, 1793523300.0, 1793523600.0],  # 08:50, 08:55, 09:00 UTC
        "value": [7.0, None, 12.5],
        "threshold": [10.5, None, 10.0],
        "outcome": ["alert", "ok", "alert"],
    }
    assert readmodel.spark_series([]).to_json() == {
        "at": [],
        "value": [],
        "threshold": [],
        "outcome": [],
    }


def test_spark_times_are_epoch_seconds_that_give_the_same_instant_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sparkline's times are numbers, to the microsecond: what RFC 3339 text said. A naive
    time (SQLite, MariaDB) is UTC, as rfc3339 takes it, whatever the machine's zone."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        _check_spark_times()
    finally:
        monkeypatch.delenv("TZ", raising=False)
        time.tzset()


def _check_spark_times() -> None:
    times = [
        NOW.replace(microsecond=123456),
        datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
        datetime(2026, 11, 1, 10, 0, 0, 1, tzinfo=timezone(timedelta(hours=1))),
        datetime(2026, 11, 1, 9, 0, 0, 654321),  # naive: UTC
    ]
    series = readmodel.spark_series([_history(evaluated_at=t) for t in reversed(times)])
    at = series.to_json()["at"]
    assert all(type(t) is float for t in at)
    back = [datetime.fromtimestamp(t, timezone.utc) for t in at]
    assert back == [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times]
    assert [rfc3339(t) for t in back] == [rfc3339(t) for t in times]


def test_silences_for_an_alert_stored_and_declared_unexpired_only() -> None:
    stored = [
        Silence("orders_*", NOW - timedelta(hours=1), NOW + timedelta(hours=1), id=1),
        Silence("revenue", NOW - timedelta(hours=1), NOW + timedelta(hours=1), id=2),
        Silence("sqlsentinel_orders_late", NOW, NOW + timedelta(hours=1), id=3),  # the dag_id
    ]
    declared = [
        FileSilence(match="orders_late", until=NOW + timedelta(days=1), reason="planned"),
        FileSilence(match="*", until=NOW - timedelta(days=1)),  # over
        FileSilence(match="*", starts=NOW, until=NOW - timedelta(hours=1)),  # invalid: skipped
    ]
    found = readmodel.silences_for("orders_late", "sqlsentinel_orders_late", stored, declared, NOW)
    assert [(s.id, s.match, s.source) for s in found] == [
        (1, "orders_*", "cli"),
        (3, "sqlsentinel_orders_late", "cli"),
        (None, "orders_late", "config"),
    ]
    views = [readmodel.silence_view(s, NOW).to_json() for s in found]
    assert [(v["status"], v["can_end"]) for v in views] == [
        ("active", True),
        ("active", True),
        ("active", False),
    ]


def test_a_config_error_view_is_located_redacted_and_one_line() -> None:
    from sqlsentinel_airflow.errors import ConfigError

    error = ConfigError(
        f"cannot reach {URL}",
        file="alerts.yaml",
        line=14,
        column=7,
        path="alerts[2].database.url",
        hint="check the URL",
    )
    view = readmodel.config_error_view(error)
    assert (view.file, view.line, view.column, view.path) == ("alerts.yaml", 14, 7, error.path)
    assert "s3cret-pw" not in view.message and view.message == redact_text(error.message)
    assert view.text == f"alerts.yaml:14:7 alerts[2].database.url: {view.message} (check the URL)"
    invalid = readmodel.invalid_alert_view(
        dag_id="sqlsentinel_orders", name="orders", source_file="alerts.yaml", errors=[error]
    )
    assert invalid.to_json()["errors"] == [view.to_json()]
    assert invalid.paused is None  # not known outside Airflow


def test_a_summary_carries_the_config_errors_of_its_facts() -> None:
    from sqlsentinel_airflow.errors import ConfigError

    error = ConfigError("must be at least 1, got 0", file="a.yaml", line=3, column=20)
    facts = readmodel.AlertFacts(dag_id="d", name="n", stale=True, config_errors=(error,))
    summary = readmodel.alert_summary(facts, states=[], silences=[], outbox_counts={}, now=NOW)
    assert [e.text for e in summary.config_errors] == ["a.yaml:3:20 must be at least 1, got 0"]
    plain = readmodel.alert_summary(
        readmodel.AlertFacts(dag_id="d", name="n"),
        states=[],
        silences=[],
        outbox_counts={},
        now=NOW,
    )
    assert plain.to_json()["config_errors"] == []


def _keyed(table: str, state: State) -> InstanceState:
    key = instance_key(["table_name"], {"table_name": table})
    return InstanceState(
        "orders_late", key, key_values={"table_name": table}, state=state, state_since=NOW
    )


def _instance_silence(table: str) -> Silence:
    key = instance_key(["table_name"], {"table_name": table})
    return Silence(
        "orders_late", NOW - timedelta(hours=1), NOW + timedelta(hours=1), id=9, instance_key=key
    )


@pytest.mark.parametrize(
    ("states", "silenced", "status", "labels"),
    [
        # an unsilenced instance fires: the alert stays firing, the silenced one is named last
        (
            [("customers", State.FIRING), ("orders", State.FIRING), ("users", State.OK)],
            ["customers"],
            "firing",
            ["table_name=orders", "table_name=customers"],
        ),
        # only silenced instances are in trouble: silenced, with the state beneath
        ([("customers", State.FIRING), ("orders", State.OK)], ["customers"], "silenced", None),
        # the worst is silenced, an error is left: the badge shows the error
        ([("customers", State.FIRING), ("orders", State.ERROR)], ["customers"], "error", None),
        # a silence of an OK instance changes nothing
        ([("customers", State.OK), ("orders", State.PENDING)], ["customers"], "pending", None),
        ([("customers", State.OK)], ["customers"], "ok", None),
    ],
)
def test_status_when_some_instances_are_silenced(
    states: list[tuple[str, State]], silenced: list[str], status: str, labels: list[str] | None
) -> None:
    summary = readmodel.alert_summary(
        readmodel.AlertFacts("dag", "orders_late"),
        states=[_keyed(t, s) for t, s in states],
        silences=[_instance_silence(t) for t in silenced],
        outbox_counts={},
        now=NOW,
    )
    worst = max((s for _, s in states), key=lambda s: s.urgency)
    assert (summary.status, summary.state) == (status, worst.value.lower())
    assert summary.silenced is (status == "silenced")
    by_label = {i.label: i.silenced for i in summary.instances}
    assert by_label == {f"table_name={t}": t in silenced for t, _ in states}
    if labels is not None:
        assert list(summary.firing_instance_labels) == labels
    data = summary.silences[0].to_json()
    assert data["instance_key"] == instance_key(["table_name"], {"table_name": silenced[0]})
    assert data["instance_label"] == f"table_name={silenced[0]}"


def test_firing_instance_labels_are_capped_and_absent_for_single_row_alerts() -> None:
    many = [_keyed(f"t{i:02d}", State.FIRING) for i in range(15)]
    facts = readmodel.AlertFacts("dag", "orders_late")
    summary = readmodel.alert_summary(facts, states=many, silences=[], outbox_counts={}, now=NOW)
    assert summary.firing_instances == 15
    assert len(summary.firing_instance_labels) == readmodel.FIRING_LABELS_SHOWN
    assert summary.firing_instance_labels[0] == "table_name=t00"
    single = readmodel.alert_summary(
        facts, states=[_state("", State.FIRING)], silences=[], outbox_counts={}, now=NOW
    )
    assert (single.firing_instances, single.firing_instance_labels) == (1, ())
    assert single.instances[0].label == ""
