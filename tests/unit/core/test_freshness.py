"""The freshness check's pieces (core/freshness.py): reading MAX(column), the age against a
frozen clock, which source decides, and the MAX query per dialect."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sqlsentinel_airflow.core.config.assets import AssetRef
from sqlsentinel_airflow.core.config.models import FreshnessCheck
from sqlsentinel_airflow.core.freshness import (
    check_freshness,
    describe_check,
    freshness_rows,
    last_updated_at,
    max_query,
)
from sqlsentinel_airflow.core.result import evaluate_result
from sqlsentinel_airflow.errors import QueryError

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
WITHIN = timedelta(hours=6)


def test_an_aware_time_is_taken_as_is() -> None:
    aware = datetime(2026, 12, 6, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert last_updated_at(aware, column="c", tz="America/New_York") is aware


def test_a_naive_time_is_read_in_the_timezone() -> None:
    naive = datetime(2026, 12, 6, 9, 0)
    assert last_updated_at(naive, column="c") == datetime(2026, 12, 6, 9, tzinfo=timezone.utc)
    berlin = last_updated_at(naive, column="c", tz="Europe/Berlin")
    assert berlin == datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)


def test_a_date_is_its_midnight_in_the_timezone() -> None:
    value = last_updated_at(date(2026, 12, 6), column="c", tz="Asia/Tokyo")
    assert value == datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc)


def test_null_means_nothing_recorded() -> None:
    assert last_updated_at(None, column="c") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            42,
            "freshness: column 'loaded_at' is of type int (value '42'); it must be a "
            "timestamp or a date",
        ),
        (
            "2026-12-06",
            "freshness: column 'loaded_at' is of type str (value '2026-12-06'); it "
            "must be a timestamp or a date",
        ),
    ],
)
def test_anything_else_is_a_query_error_naming_column_and_type(value: object, message: str) -> None:
    with pytest.raises(QueryError) as raised:
        last_updated_at(value, column="loaded_at")
    assert str(raised.value) == message


def test_text_is_read_as_iso_time_only_where_the_database_keeps_times_as_text() -> None:
    read = last_updated_at("2026-12-06 09:00:00", column="c", text_is_time=True)
    assert read == datetime(2026, 12, 6, 9, tzinfo=timezone.utc)
    with pytest.raises(QueryError, match="'yesterday', which is not an ISO 8601 date-time"):
        last_updated_at("yesterday", column="c", text_is_time=True)


def test_the_age_against_a_frozen_clock() -> None:
    ok = freshness_rows(
        NOW - timedelta(hours=2, minutes=30), within=WITHIN, now=NOW, source="query"
    )
    stale = freshness_rows(
        NOW - timedelta(hours=6, seconds=1), within=WITHIN, now=NOW, source="query"
    )
    edge = freshness_rows(NOW - WITHIN, within=WITHIN, now=NOW, source="query")
    assert dict(zip(ok.columns, ok.rows[0], strict=True)) == {
        "status": "OK",
        "actual_value": 150.0,
        "threshold": 360.0,
        "last_updated_at": "2026-12-06T09:30:00+00:00",
        "source": "query",
        "age": "2h30m",
        "within": "6h",
    }
    assert stale.rows[0][:3] == ("ALERT", 360.0, 360.0)
    assert edge.rows[0][0] == "OK"  # exactly `within` old is still fresh


def test_nothing_recorded_alerts_and_says_what_was_looked_at() -> None:
    rows = freshness_rows(
        None, within=WITHIN, now=NOW, source="asset event", nothing_recorded="no event recorded"
    )
    evaluation = evaluate_result(rows.columns, rows.rows, max_rows=1)
    (instance,) = evaluation.instances
    assert instance.status.value == "ALERT" and instance.actual_value is None
    assert instance.threshold == 360.0
    assert instance.context == {
        "last_updated_at": None,
        "source": "asset event",
        "within": "6h",
        "note": "no event recorded",
    }


def test_a_time_in_the_future_is_age_zero() -> None:
    rows = freshness_rows(NOW + timedelta(minutes=3), within=WITHIN, now=NOW, source="query")
    assert rows.rows[0][:2] == ("OK", 0.0)


BOTH = FreshnessCheck(
    table="orders", column="loaded_at", asset=AssetRef(uri="s3://w/orders"), within=WITHIN
)


def test_the_asset_event_decides_when_there_is_one() -> None:
    ran: list[str] = []

    def query() -> tuple[object, bool]:
        ran.append("query")
        return None, False

    rows = check_freshness(
        BOTH, now=NOW, asset_event_time=lambda ref: NOW - timedelta(hours=1), run_max_query=query
    )
    assert rows.rows[0][0] == "OK" and rows.rows[0][rows.columns.index("source")] == "asset event"
    assert ran == []


def test_no_event_falls_back_to_the_table() -> None:
    rows = check_freshness(
        BOTH,
        now=NOW,
        asset_event_time=lambda ref: None,
        run_max_query=lambda: (None, False),
    )
    context = dict(zip(rows.columns, rows.rows[0], strict=True))
    assert context["status"] == "ALERT" and context["source"] == "query"
    assert (
        context["note"]
        == "no event recorded for s3://w/orders, and no row of orders has a loaded_at"
    )


def test_an_asset_only_check_outside_airflow_says_what_to_add() -> None:
    only = FreshnessCheck(asset=AssetRef(name="orders"), within=WITHIN)
    with pytest.raises(QueryError, match=r"add `table` and `column` to the alert's `freshness:`"):
        check_freshness(only, now=NOW, asset_event_time=None, run_max_query=None)
    inside = check_freshness(only, now=NOW, asset_event_time=lambda ref: None, run_max_query=None)
    assert inside.rows[0][-1] == "no event recorded for {name: orders}"


@pytest.mark.parametrize(
    ("written_in", "runs_in", "table", "expected"),
    [
        ("postgres", "postgres", "Sales.Orders", 'FROM "sales"."orders"'),
        ("postgres", "postgres", '"Sales"."Orders"', 'FROM "Sales"."Orders"'),
        ("mysql", "mysql", "`odd name`.t", "FROM `odd name`.`t`"),
        (None, "mysql", '"odd name".t', "FROM `odd name`.`t`"),
        ("sqlite", "sqlite", 'main."Load Log"', 'FROM "main"."load log"'),
        ("postgres", "postgres", 'x."y""z"', 'FROM "x"."y""z"'),
    ],
)
def test_the_max_query_quotes_every_name_for_the_database(
    written_in: str | None, runs_in: str, table: str, expected: str
) -> None:
    sql = max_query(table, "loaded_at", written_in=written_in, runs_in=runs_in)
    assert sql.endswith(expected), sql


def test_a_check_is_described_for_people() -> None:
    berlin = BOTH.model_copy(update={"timezone": "Europe/Berlin"})
    assert describe_check(berlin) == (
        "the last event of asset s3://w/orders, else MAX(loaded_at) of orders "
        "(naive times in Europe/Berlin): at most 6h old"
    )
    only = FreshnessCheck(asset=AssetRef(name="orders"), within=timedelta(days=1))
    assert describe_check(only) == "the last event of asset {name: orders}: at most 1d old"
