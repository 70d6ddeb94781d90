"""Instances as people read and write them: one label, and ``--instance`` / ``instance_key``
read back into the stored key (checked against the alert's key columns)."""

from __future__ import annotations

import pytest

from sqlsentinel_airflow.core.instances import (
    instance_label,
    key_label,
    key_values_of,
    parse_instance,
    resolve_instance_key,
    value_text,
)
from sqlsentinel_airflow.core.result import instance_key


def test_label_is_key_value_pairs_in_key_column_order() -> None:
    assert instance_label({"table_name": "customers"}) == "table_name=customers"
    assert instance_label({"region": "eu", "id": 3, "x": None}) == "region=eu, id=3, x=null"
    assert instance_label({}) == ""
    assert instance_label({"t": "a" * 100}, 10) == "t=" + "a" * 9 + "…"
    assert value_text(2.0) == "2" and value_text(True) == "true" and value_text([1]) == "[1]"
    assert value_text("two\n  lines") == "two lines"


def test_label_of_a_stored_key() -> None:
    key = instance_key(["table_name", "region"], {"table_name": "orders", "region": "eu"})
    assert key_values_of(key) == {"table_name": "orders", "region": "eu"}
    assert key_label(key) == "table_name=orders, region=eu"
    assert key_label(None) is None
    assert key_label("not json") == "not json"
    assert key_values_of("") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("table_name=customers", {"table_name": "customers", "region": None}),
        ("Region = eu , TABLE_NAME=orders", {"table_name": "orders", "region": "eu"}),
        ('{"region": "eu", "table_name": "a,b"}', {"table_name": "a,b", "region": "eu"}),
    ],
)
def test_parse_both_forms_in_key_column_order(text: str, expected: dict[str, object]) -> None:
    columns = ["table_name", "region"]
    if expected["region"] is None:
        columns = ["table_name"]
        expected = {"table_name": expected["table_name"]}
    parsed = parse_instance(text, columns)
    assert parsed == expected
    assert list(parsed) == columns


@pytest.mark.parametrize(
    ("text", "columns", "message"),
    [
        ("table_name=x", [], "has no key_columns, so it has a single instance"),
        (
            "tabel_name=x",
            ["table_name"],
            "names 'tabel_name', which is not a key column of this "
            "alert; its key_columns are table_name: write table_name=...",
        ),
        ("customers", ["table_name"], "'customers' is not key=value; write it as table_name=..."),
        (
            "a=1",
            ["a", "b"],
            "leaves out b: an instance is one value of every key column; write a=...,b=...",
        ),
        ("a=1,A=2", ["a"], "gives 'a' twice"),
        ("{nope", ["a"], "is not a JSON object"),
        ("[1]", ["a"], "is not key=value"),
        ("  ", ["a"], "the instance is empty; write it as a=..."),
    ],
)
def test_parse_errors_say_what_to_write(text: str, columns: list[str], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_instance(text, columns)
    assert message in str(caught.value)


def test_resolve_finds_a_known_instance_with_numeric_values() -> None:
    known = [{"region_id": 3}, {"region_id": 4}]
    assert resolve_instance_key("region_id=3", ["region_id"], known) == '{"region_id":3}'
    # not seen yet: the value stays text; the JSON form is exact
    assert resolve_instance_key("region_id=5", ["region_id"], known) == '{"region_id":"5"}'
    assert resolve_instance_key('{"region_id": 5}', ["region_id"], known) == '{"region_id":5}'
    assert resolve_instance_key('{"region_id": "3"}', ["region_id"], known) == '{"region_id":"3"}'
    assert resolve_instance_key("table_name=customers", ["table_name"]) == instance_key(
        ["table_name"], {"table_name": "customers"}
    )
