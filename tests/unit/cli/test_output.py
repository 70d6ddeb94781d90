"""cli.output: table cells. Numbers and times have fast paths; they must print as the general
path does (``json.dumps`` for values, ``strftime`` for times)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from enum import StrEnum

import pytest

from sqlsentinel_airflow.cli.output import format_table, human_time, short


@pytest.mark.parametrize(
    "value",
    [0, 7, -12, 10**30, 55.3, -0.0, 1e-7, 1e22, 0.1 + 0.2, float("nan"), float("inf"), True],
)
def test_a_number_is_shown_as_json_writes_it(value: object) -> None:
    assert short(value) == json.dumps(value)


def test_long_numbers_and_texts_are_cut_to_the_width() -> None:
    assert short(1234567.125, width=5) == "1234…"
    assert short("a  b\\n c", width=40) == "a b\\n c"
    assert short("a  b\n\t c") == "a b c"
    assert short({"k": [1, 2]}) == '{"k": [1, 2]}'
    assert short(None) == "-"


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 12, 6, 17, 3, 4, 999999, tzinfo=timezone.utc),
        datetime(2026, 1, 2, 3, 4, 5),  # naive: UTC
        datetime(2026, 12, 6, 23, 30, tzinfo=timezone(timedelta(hours=-5))),  # next day in UTC
        datetime(999, 5, 6, 7, 8, 9, tzinfo=timezone.utc),
    ],
)
def test_a_time_is_shown_in_utc_as_strftime_writes_it(value: datetime) -> None:
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    expected = aware.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert human_time(value) == expected == short(value)


def test_a_table_aligns_its_cells() -> None:
    table = format_table(["a", "value"], [["x", 1.5], ["long name", None]])
    assert table.splitlines() == ["A          VALUE", "x          1.5", "long name  -"]


def test_a_text_cell_is_cut_at_60_and_an_enum_text_shown_as_its_value() -> None:
    class Word(StrEnum):
        FIRING = "FIRING"

    table = format_table(["what", "state"], [["x" * 70, Word.FIRING]])
    assert table.splitlines()[1] == "x" * 59 + "…  FIRING"
    assert short(Word.FIRING) == "FIRING"


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="a row of 1 cells under 2 headers"):
        format_table(["a", "b"], [["only one"]])
