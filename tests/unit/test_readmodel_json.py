"""Every view writes the JSON its fields' rules say (readmodel/views.py): the writer made once
per class from the fields' types must answer what a walk of the values answers, for every
view, with its optional fields empty and filled, and with values a type does not promise
(a JsonValue holding a time, an enum or a tuple)."""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.model import Outcome
from sqlsentinel_airflow.readmodel.views import View

NOW = datetime(2026, 11, 1, 9, 0, 0, 250000, tzinfo=timezone.utc)
# what a JsonValue field may hold, read back from a store or a query
ODD_JSON = {"n": 1.5, "times": (NOW, Outcome.ALERT), "list": [1, "x"], "none": None}


def walk(value: object) -> object:
    """The rules of readmodel/views.py, value by value."""
    if isinstance(value, View):
        return {f.name: walk(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, enum.Enum):
        return str(value.value).lower()
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, tuple):
        return [walk(v) for v in value]
    return value


def sample(kind: Any, filled: bool) -> Any:
    """A value of type ``kind``: optional ones None unless ``filled``."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        others = [a for a in args if a is not type(None)]
        return sample(others[0], filled) if filled or len(others) == len(args) else None
    if typing.get_origin(kind) is tuple:
        return (sample(args[0], filled), sample(args[0], filled)) if filled else ()
    if typing.get_origin(kind) is dict:
        return dict(ODD_JSON) if filled else {}
    if kind is Any:
        return (NOW, Outcome.OK, 3) if filled else 7
    if isinstance(kind, type) and issubclass(kind, View):
        return build(kind, filled)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return list(kind)[-1]
    return {
        str: "text",
        int: 3,
        float: 2.5,
        bool: True,
        datetime: NOW + timedelta(hours=1) if filled else NOW.replace(tzinfo=None),
    }[kind]


def build(view: type[View], filled: bool) -> View:
    hints = typing.get_type_hints(view)
    return view(**{f.name: sample(hints[f.name], filled) for f in fields(view)})


@pytest.mark.parametrize("filled", [False, True], ids=["empty", "filled"])
@pytest.mark.parametrize("view", readmodel.VIEWS, ids=lambda v: v.__name__)
def test_every_view_writes_what_its_values_say(view: type[View], filled: bool) -> None:
    built = build(view, filled)
    assert built.to_json() == walk(built)
    assert list(built.to_json()) == [f.name for f in fields(view)]  # the fields' order


def test_a_value_its_type_does_not_promise_is_written_by_the_rules_too() -> None:
    """A plain string where an enum is declared stays as it is (the walk's rule)."""
    series = readmodel.SparkSeries(
        at=(1.5,),
        value=(None,),
        threshold=(2.0,),
        outcome=("ALERT",),  # type: ignore[arg-type]
    )
    assert series.to_json()["outcome"] == ["ALERT"] == walk(series)["outcome"]  # type: ignore[index]
