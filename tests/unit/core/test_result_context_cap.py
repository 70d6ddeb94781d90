"""The context of one evaluation, all instances together, fits MAX_CONTEXT_BYTES of stored JSON."""

from __future__ import annotations

import json
from typing import Any

from sqlsentinel_airflow.core.jsonvalues import MAX_TEXT, fit_mappings, stored_size
from sqlsentinel_airflow.core.model import Outcome, QueryEvaluation
from sqlsentinel_airflow.core.result import MAX_CONTEXT_BYTES, evaluate_result

MARKER_KEY = "…"


def stored_context(evaluation: QueryEvaluation) -> int:
    """What history keeps: one JSON context per instance, written as the store writes it."""
    return sum(len(json.dumps(i.context, separators=(",", ":"))) for i in evaluation.instances)


def wide_result(rows: int, columns: int, width: int) -> tuple[list[str], list[list[Any]]]:
    names = ["table_name", "status", "actual_value", *(f"col_{c}" for c in range(columns))]
    data = [
        [
            f"t{r:04d}",
            "ALERT" if r % 3 else "OK",
            r,
            *(f"{r}:{c}:" + "v" * width for c in range(columns)),
        ]
        for r in range(rows)
    ]
    return names, data


def test_a_narrow_result_keeps_every_context_column() -> None:
    names, data = wide_result(rows=100, columns=3, width=10)

    evaluation = evaluate_result(names, data, key_columns=["table_name"], max_rows=1000)

    assert evaluation.ok and len(evaluation.instances) == 100
    assert stored_context(evaluation) < MAX_CONTEXT_BYTES
    assert all(MARKER_KEY not in i.context and len(i.context) == 3 for i in evaluation.instances)


def test_1000_instances_of_wide_context_stay_under_the_cap() -> None:
    names, data = wide_result(rows=1000, columns=40, width=200)  # ~8.5 MB of context as read

    evaluation = evaluate_result(names, data, key_columns=["table_name"], max_rows=1000)

    assert evaluation.ok and evaluation.error is None
    assert len(evaluation.instances) == 1000
    assert stored_context(evaluation) <= MAX_CONTEXT_BYTES
    assert [i.key for i in evaluation.instances][:2] == [
        '{"table_name":"t0000"}',
        '{"table_name":"t0001"}',
    ]
    statuses = {i.status for i in evaluation.instances}
    assert statuses == {Outcome.ALERT, Outcome.OK}  # status, value and key are never cut
    assert [i.actual_value for i in evaluation.instances] == list(range(1000))
    for instance in evaluation.instances:
        marker = instance.context[MARKER_KEY]
        kept = len(instance.context) - 1
        assert marker == f"[{40 - kept} of 40 columns cut]"


def test_the_cut_is_deterministic_and_keeps_small_contexts_whole() -> None:
    names, data = wide_result(rows=300, columns=10, width=100)
    for row in data[:50]:  # 50 instances with a short context: kept whole
        row[3:] = ["x"] * 10

    first = evaluate_result(names, data, key_columns=["table_name"], max_rows=1000)
    second = evaluate_result(names, data, key_columns=["table_name"], max_rows=1000)

    assert first == second
    assert stored_context(first) <= MAX_CONTEXT_BYTES
    assert all(i.context == {f"col_{c}": "x" for c in range(10)} for i in first.instances[:50])
    cut = first.instances[50:]
    assert all(i.context[MARKER_KEY].endswith(" of 10 columns cut]") for i in cut)
    for instance in cut:  # the columns kept are the first ones, in order, unchanged
        kept = [k for k in instance.context if k != MARKER_KEY]
        assert kept == [f"col_{c}" for c in range(len(kept))]


def test_one_row_with_huge_context_is_cut_not_an_error() -> None:
    names = ["status", *(f"c{i}" for i in range(100))]
    row = ["ALERT", *("z" * 10_000 for _ in range(100))]  # each value cut to MAX_TEXT first

    evaluation = evaluate_result(names, [row], max_rows=1)

    assert evaluation.ok
    [instance] = evaluation.instances
    assert stored_context(evaluation) <= MAX_CONTEXT_BYTES
    assert len(instance.context[f"c{0}"]) == MAX_TEXT  # whole values are kept or dropped
    kept = len(instance.context) - 1
    assert 10 <= kept < 100
    assert instance.context[MARKER_KEY] == f"[{100 - kept} of 100 columns cut]"


def test_fit_mappings_leaves_mappings_under_the_limit_alone() -> None:
    mappings = [{"a": 1}, {"b": "two"}]

    assert fit_mappings(mappings, 100) == mappings
    assert fit_mappings([], 0) == []


def test_fit_mappings_counts_non_ascii_as_the_store_writes_it() -> None:
    mappings = [{"emoji": "📉" * 50}]  # 50 characters, 600 as ASCII-escaped JSON

    cut = fit_mappings(mappings, 400)

    assert stored_size(mappings[0]) > 400 >= stored_size(cut[0])
    assert cut == [{MARKER_KEY: "[1 of 1 column cut]"}]


def test_more_instances_than_markers_fit_still_say_what_was_cut() -> None:
    names, data = wide_result(rows=5000, columns=5, width=50)

    evaluation = evaluate_result(names, data, key_columns=["table_name"], max_rows=5000)

    assert evaluation.ok and len(evaluation.instances) == 5000
    assert all(i.context == {MARKER_KEY: "[5 of 5 columns cut]"} for i in evaluation.instances)
    assert stored_context(evaluation) <= 5000 * 40  # the markers alone, about 32 bytes each
