"""evaluate_result: the query contract of docs/query-contract.md, rule by rule."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

from sqlsentinel_airflow.core.model import InstanceResult, Outcome, QueryEvaluation
from sqlsentinel_airflow.core.result import check_columns, evaluate_result, instance_key


def _single(columns: list[str], row: list[Any]) -> QueryEvaluation:
    return evaluate_result(columns, [row], max_rows=1)


def _only(evaluation: QueryEvaluation) -> InstanceResult:
    assert evaluation.error is None, evaluation.error
    (instance,) = evaluation.instances
    return instance


# --- single-row alerts ----------------------------------------------------------------


def test_single_row_alert_becomes_one_instance_with_empty_key() -> None:
    evaluation = _single(
        ["status", "actual_value", "threshold", "region"],
        ["ALERT", Decimal("9500.25"), 10000, "EU"],
    )
    assert evaluation.ok
    assert evaluation.columns == ("status", "actual_value", "threshold", "region")
    assert evaluation.row_count == 1
    assert evaluation.instances == (
        InstanceResult(
            key="",
            key_values={},
            status=Outcome.ALERT,
            actual_value=9500.25,
            threshold=10000,
            context={"region": "EU"},
        ),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ALERT", Outcome.ALERT),
        ("alert", Outcome.ALERT),
        ("  Alert \n", Outcome.ALERT),
        ("OK", Outcome.OK),
        ("ok", Outcome.OK),
        (b"OK", Outcome.OK),
    ],
)
def test_status_is_matched_in_any_case_with_spaces(raw: Any, expected: Outcome) -> None:
    assert _only(_single(["status"], [raw])).status is expected


def test_special_columns_are_matched_case_insensitively_context_keeps_names() -> None:
    instance = _only(_single(["STATUS", "Actual_Value", "THRESHOLD", "Table"], ["ok", 1, 2, "t"]))
    assert (instance.status, instance.actual_value, instance.threshold) == (Outcome.OK, 1, 2)
    assert instance.context == {"Table": "t"}


def test_value_and_threshold_are_optional() -> None:
    instance = _only(_single(["status"], ["OK"]))
    assert (instance.actual_value, instance.threshold, instance.context) == (None, None, {})


def test_a_template_looking_column_name_stays_a_plain_context_key() -> None:
    instance = _only(_single(["status", "{{ 7*7 }}"], ["OK", "{% raise %}"]))
    assert instance.context == {"{{ 7*7 }}": "{% raise %}"}


def test_values_are_converted_to_json() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    ident = uuid.UUID(int=7)
    instance = _only(
        _single(
            ["status", "actual_value", "threshold", "day", "at", "id", "raw", "nan", "doc", "big"],
            [
                "ALERT",
                Decimal("10"),
                float("nan"),
                date(2024, 5, 1),
                when,
                ident,
                b"\x00\x01",
                float("inf"),
                {"nested": [Decimal("1.5"), {"deep": None}]},
                "x" * 5000,
            ],
        )
    )
    assert instance.actual_value == 10
    assert instance.threshold is None
    assert instance.context["day"] == "2024-05-01"
    assert instance.context["at"] == "2024-05-01T12:00:00+00:00"
    assert instance.context["id"] == str(ident)
    assert instance.context["raw"] == "base64:AAE="
    assert instance.context["nan"] is None
    assert instance.context["doc"] == {"nested": [1.5, {"deep": None}]}
    assert len(instance.context["big"]) == 4000
    assert instance.context["big"].endswith("chars]")


def test_zero_rows_without_key_columns_is_an_error() -> None:
    evaluation = evaluate_result(["status"], [], max_rows=1)
    assert evaluation.error is not None
    assert evaluation.error.startswith("the query returned no rows;")
    assert "set key_columns if no rows means OK" in evaluation.error
    assert evaluation.instances == ()
    assert evaluation.row_count == 0


def test_two_rows_without_key_columns_is_an_error() -> None:
    evaluation = evaluate_result(["status"], [["OK"], ["ALERT"]], max_rows=1)
    assert evaluation.error == (
        "the query returned more than 1 row; an alert without key_columns must return exactly "
        "one row: add key_columns for multi-row alerts, or aggregate / LIMIT 1"
    )
    assert evaluation.instances == ()
    assert evaluation.row_count == 2


def test_missing_status_column_lists_the_columns_that_came_back() -> None:
    evaluation = _single(["state", "actual_value"], ["ALERT", 3])
    assert evaluation.error is not None
    assert evaluation.error.startswith(
        "the result has no 'status' column; the query returned columns 'state', 'actual_value';"
    )
    assert "AS status" in evaluation.error


def test_null_status_names_the_row() -> None:
    evaluation = evaluate_result(
        ["t", "status"], [["a", "OK"], ["b", None]], key_columns=["t"], max_rows=10
    )
    assert evaluation.error == (
        "row 2: status is NULL; the status column must be 'ALERT' or 'OK' (any case) in every row"
    )
    assert evaluation.instances == ()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("FIRING", "'FIRING'"),
        (1, "1"),
        ("", "''"),
        ("W" * 500, "'WWWW"),
    ],
)
def test_unknown_status_is_shown_truncated(raw: Any, shown: str) -> None:
    evaluation = _single(["status"], [raw])
    assert evaluation.error is not None
    assert evaluation.error.startswith(f"row 1: unknown status {shown}")
    assert evaluation.error.endswith("the status column must be 'ALERT' or 'OK' (any case)")
    assert len(evaluation.error) < 200


@pytest.mark.parametrize(
    "columns",
    [["status", "x", "x"], ["status", "Status"], ["status", "a", "A"]],
)
def test_duplicate_column_names_are_an_error(columns: list[str]) -> None:
    evaluation = _single(columns, ["OK"] * len(columns))
    assert evaluation.error is not None
    assert evaluation.error.startswith(f"duplicate column names: {columns[-1]!r}")
    assert "give every column its own alias" in evaluation.error


def test_row_width_must_match_the_columns() -> None:
    evaluation = _single(["status", "a"], ["OK"])
    assert evaluation.error is not None
    assert evaluation.error.startswith("row 1 has 1 values but the result has 2 columns")


def test_max_rows_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_rows must be at least 1, got 0"):
        evaluate_result(["status"], [["OK"]], max_rows=0)


# --- keyed alerts ---------------------------------------------------------------------


def test_keyed_rows_become_instances_keyed_by_canonical_json() -> None:
    evaluation = evaluate_result(
        ["table_name", "schema", "status", "actual_value", "lag"],
        [["orders", "public", "ALERT", 7, 1.5], ["users", None, "ok", 0, 0]],
        key_columns=["schema", "table_name"],
        max_rows=1000,
    )
    assert evaluation.ok
    first, second = evaluation.instances
    assert first.key == '{"schema":"public","table_name":"orders"}'
    assert first.key_values == {"schema": "public", "table_name": "orders"}
    assert first.context == {"lag": 1.5}  # key columns are not context
    assert (first.status, first.actual_value) == (Outcome.ALERT, 7)
    assert second.key == '{"schema":null,"table_name":"users"}'
    assert second.status is Outcome.OK


def test_key_uses_the_configured_names_whatever_case_the_database_returns() -> None:
    evaluation = evaluate_result(
        ["TABLE_NAME", "STATUS"], [["orders", "OK"]], key_columns=["table_name"], max_rows=5
    )
    assert _only(evaluation).key == '{"table_name":"orders"}'


def test_key_values_are_converted_like_other_values() -> None:
    evaluation = evaluate_result(
        ["day", "status"], [[date(2024, 1, 31), "OK"]], key_columns=["day"], max_rows=5
    )
    instance = _only(evaluation)
    assert instance.key == '{"day":"2024-01-31"}'
    assert instance.key == instance_key(["day"], instance.key_values)


def test_zero_rows_with_key_columns_is_valid_and_has_no_instances() -> None:
    evaluation = evaluate_result(["t", "status"], [], key_columns=["t"], max_rows=1000)
    assert evaluation.ok
    assert evaluation.instances == ()


def test_more_rows_than_max_rows_is_an_error() -> None:
    rows = [[str(i), "OK"] for i in range(1001)]
    evaluation = evaluate_result(["t", "status"], rows, key_columns=["t"], max_rows=1000)
    assert evaluation.error is not None
    assert evaluation.error.startswith("the query returned more than 1000 rows (max_rows);")
    assert evaluation.row_count == 1001
    exactly = evaluate_result(["t", "status"], rows[:1000], key_columns=["t"], max_rows=1000)
    assert len(exactly.instances) == 1000


def test_missing_key_column_is_an_error() -> None:
    evaluation = evaluate_result(
        ["table", "status"], [["orders", "OK"]], key_columns=["table_name"], max_rows=5
    )
    assert evaluation.error == (
        "key column 'table_name' is not in the result; the query returned columns "
        "'table', 'status'; select it or fix key_columns"
    )


def test_duplicate_keys_are_an_error() -> None:
    evaluation = evaluate_result(
        ["t", "status"],
        [["orders", "OK"], ["users", "OK"], ["orders", "ALERT"]],
        key_columns=["t"],
        max_rows=10,
    )
    assert evaluation.error == (
        'rows 1 and 3 have the same key {"t":"orders"}; key_columns must identify one row each '
        "(add columns to key_columns, or GROUP BY them)"
    )
    assert evaluation.instances == ()


def test_null_keys_are_distinct_from_text_null() -> None:
    evaluation = evaluate_result(
        ["t", "status"], [[None, "OK"], ["null", "OK"]], key_columns=["t"], max_rows=10
    )
    assert [i.key for i in evaluation.instances] == ['{"t":null}', '{"t":"null"}']


@pytest.mark.parametrize(
    ("key_columns", "message"),
    [
        (["status"], "key column 'status' cannot be a key: status, actual_value and threshold"),
        (["t", "T"], "key column 't' is listed twice in key_columns"),
    ],
)
def test_invalid_key_columns(key_columns: list[str], message: str) -> None:
    evaluation = evaluate_result(
        ["t", "status"], [["a", "OK"]], key_columns=key_columns, max_rows=10
    )
    assert evaluation.error is not None
    assert evaluation.error.startswith(message)


def test_check_columns_checks_only_the_columns() -> None:
    assert check_columns(["status", "x"]) is None
    assert check_columns(["t", "status"], key_columns=["t"]) is None
    assert check_columns(["x"]) == (
        "the result has no 'status' column; the query returned columns 'x'; add one, e.g. "
        "CASE WHEN <condition> THEN 'ALERT' ELSE 'OK' END AS status"
    )
    message = check_columns(["status"], key_columns=["t"])
    assert message is not None
    assert message.startswith("key column 't' is not in the result")
