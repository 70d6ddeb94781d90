"""to_json_value / json_dumps: every DB-API value becomes bounded, serialisable JSON."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sqlsentinel_airflow.core.jsonvalues import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_KEY,
    MAX_TEXT,
    json_dumps,
    to_json_value,
    truncate_text,
)


class Colour(str, enum.Enum):
    RED = "red"


class _Opaque:
    def __str__(self) -> str:
        return "opaque thing"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        (42, 42),
        ("text", "text"),
        (1.5, 1.5),
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        (Decimal("12.50"), 12.5),
        (Decimal("100"), 100),
        (Decimal("1E+2"), 100),
        (Decimal("-0"), 0),
        (Decimal("12345678901234567890123"), 12345678901234567890123),
        (Decimal("NaN"), None),
        (Decimal("-Infinity"), None),
        (Decimal("1E+301"), "1E+301"),
        (Decimal("1E-400"), "1E-400"),
        (Fraction(1, 4), 0.25),
        (date(2024, 2, 29), "2024-02-29"),
        (datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
        (
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-02T03:04:05+02:00",
        ),
        (time(13, 30, 0, 250000), "13:30:00.250000"),
        (timedelta(minutes=1, milliseconds=500), 60.5),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
        (b"\x00\xffhi", "base64:AP9oaQ=="),
        (bytearray(b"hi"), "base64:aGk="),
        (memoryview(b"hi"), "base64:aGk="),
        ((1, "a"), [1, "a"]),
        ({"b": [1, {"c": None}]}, {"b": [1, {"c": None}]}),
        ({1: "one", None: "none", 2.5: "x"}, {"1": "one", "null": "none", "2.5": "x"}),
        ({1: "first", "1": "second"}, {"1": "first"}),
        (frozenset({3, 1, 2}), [1, 2, 3]),
        (Colour.RED, "red"),
        (_Opaque(), "opaque thing"),
    ],
)
def test_converts_db_api_values(value: Any, expected: Any) -> None:
    converted = to_json_value(value)
    assert converted == expected
    assert type(converted) is type(expected)
    json.dumps(converted, allow_nan=False)  # raises if not JSON


def test_huge_integers_keep_their_magnitude_as_text() -> None:
    assert to_json_value(10**5000) == "1." + "0" * 50 + "e+5000"
    assert to_json_value(10**200) == 10**200  # still an ordinary JSON number


def test_long_text_is_cut_with_a_visible_marker() -> None:
    converted = to_json_value("x" * 10_000)
    assert len(converted) == MAX_TEXT
    assert converted.endswith(f"…[truncated {10_000 - converted.index('…')} chars]")
    assert converted.startswith("x" * 3900)
    assert to_json_value("x" * MAX_TEXT) == "x" * MAX_TEXT


def test_truncate_text_never_exceeds_the_limit() -> None:
    assert truncate_text("abcdefghij" * 10, 40) == "abcdefghijabcdefghi…[truncated 81 chars]"
    for length in range(30, 200):
        cut = truncate_text("z" * length, 40)
        assert len(cut) <= 40
        assert cut == "z" * length or cut.endswith(f"[truncated {length - cut.index('…')} chars]")


def test_nul_and_lone_surrogates_are_replaced_other_controls_kept() -> None:
    assert to_json_value("a\x00b\ud800c\x01\n\t") == "a\ufffdb\ufffdc\x01\n\t"
    # the result can be stored as UTF-8 text
    json_dumps("a\x00\udfff").encode("utf-8")


def test_bytes_are_truncated_with_a_marker() -> None:
    converted = to_json_value(b"\x01" * (MAX_BYTES + 10))
    assert converted.startswith("base64:AQEB")
    assert converted.endswith("…[truncated 10 bytes]")


def test_containers_are_bounded_in_width_and_depth() -> None:
    wide = to_json_value(list(range(MAX_ITEMS + 50)))
    assert len(wide) == MAX_ITEMS
    assert wide[-1] == "…[truncated 51 items]"
    wide_dict = to_json_value({f"k{i}": i for i in range(MAX_ITEMS + 5)})
    assert len(wide_dict) == MAX_ITEMS
    assert wide_dict["…"] == "[truncated 6 entries]"

    deep: Any = 1
    for _ in range(MAX_DEPTH + 3):
        deep = [deep]
    converted = to_json_value(deep)
    for _ in range(MAX_DEPTH):
        converted = converted[0]
    assert converted == f"…[nested deeper than {MAX_DEPTH} levels]"


def test_long_keys_are_truncated() -> None:
    converted = to_json_value({"k" * 1000: 1})
    (key,) = converted
    assert len(key) <= MAX_KEY
    assert "…[truncated" in key


def test_a_value_too_large_overall_becomes_one_abbreviated_string() -> None:
    big = [["y" * 3000] * 90] * 90  # 8,100 strings, 24 MB of text
    converted = to_json_value(big)
    assert isinstance(converted, str)
    assert len(converted) <= MAX_TEXT
    assert converted.endswith(" …[value too large for JSON, abbreviated]")
    assert converted.startswith("[['yyy")


def test_json_dumps_is_canonical_and_compact() -> None:
    assert json_dumps({"b": 1, "a": [Decimal("2.5"), None]}) == '{"a":[2.5,null],"b":1}'
    assert json_dumps({"é": "ü"}) == '{"é":"ü"}'
    assert json_dumps({"b": 1, "a": 2}, sort_keys=False) == '{"b":1,"a":2}'


_json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text()
    | st.binary()
    | st.datetimes()
    | st.uuids(),
    lambda children: (
        st.lists(children, max_size=120)
        | st.dictionaries(st.text(max_size=300) | st.integers(), children, max_size=120)
    ),
    max_leaves=300,
)


@given(_json_like)
def test_conversion_is_serialisable_and_idempotent(value: Any) -> None:
    converted = to_json_value(value)
    text = json.dumps(converted, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    assert "\\u0000" not in text
    assert to_json_value(converted) == converted
