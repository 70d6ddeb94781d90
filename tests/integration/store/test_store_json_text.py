"""JSON columns decode as ``json.loads`` does: the store reads them with the C scanner alone
(``tables.JsonText``) and falls back to ``json.loads`` for anything it does not take whole."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy.dialects import sqlite

from sqlsentinel_airflow.core.model import InstanceState, State
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.tables import JsonText

TEXTS = [
    "55.3",
    "100",
    "-0.0",
    "1e300",
    "123456789012345678901234567890",
    "{}",
    '{"table_name":"orders","shard":7}',
    '{"nested": {"a": [1, "b", null, true, false]}, "é": "日本"}',
    '"a string"',
    "null",
    "[]",
    "NaN",
    "-Infinity",
    " 42 ",  # whitespace around: the scanner leaves it, json.loads takes it
    "\n{}\t",
]


@pytest.mark.parametrize("text", TEXTS)
def test_a_json_column_decodes_as_json_loads_does(text: str) -> None:
    decoded = JsonText().process_result_value(text, sqlite.dialect())
    expected = json.loads(text)
    assert decoded == expected or (decoded != decoded and expected != expected)  # NaN
    assert type(decoded) is type(expected)


@pytest.mark.parametrize("text", ["", "1 2", "{", '{"a": 1} x', "tru", "01"])
def test_a_bad_json_text_raises_as_json_loads_does(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as raised:
        JsonText().process_result_value(text, sqlite.dialect())
    assert str(raised.value) == str(expected.value)


def test_json_values_of_a_state_round_trip(store: StateStore, now: datetime) -> None:
    saved = InstanceState(
        alert_name="odd_values",
        instance_key='{"table_name":"é"}',
        state=State.OK,
        last_evaluated_at=now,
        last_value=-0.0,
        last_threshold=123456789012345678901234567890,
        last_context={"nested": {"a": [1, "b", None, True]}, "日本": 1e300},
        key_values={"table_name": "é"},
    )
    with store.alert_transaction("odd_values") as tx:
        tx.save_state(saved)
    (read,) = store.list_states(alert_names=["odd_values"])
    assert read == saved
    assert type(read.last_threshold) is int and str(read.last_value) == "-0.0"


def test_json_text_a_driver_returns_as_bytes_decodes_too() -> None:
    decoded = JsonText().process_result_value(b'{"a": [1]}', sqlite.dialect())  # type: ignore[arg-type]
    assert decoded == {"a": [1]}
