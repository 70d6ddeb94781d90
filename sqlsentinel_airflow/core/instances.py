"""An instance of a keyed alert as people read and write it: ``table_name=customers``.

A keyed alert (``key_columns``) has one instance per result row; its stored key is the
canonical JSON of the key values (``core.result.instance_key``: ``{"table_name":"customers"}``).
People read and write it as a *label*, ``key=value`` pairs in key-column order joined by
``, `` (``table_name=customers, region=eu``). This module is the one place that formats a
label (the CLI tables, the read model the UI shows, and the messages all use
:func:`instance_label`) and that reads what a person wrote back into a key
(:func:`parse_instance`, :func:`resolve_instance_key`): the CLI's ``--instance`` and the UI
API's ``instance_key`` both go through it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlsentinel_airflow.core.model import JsonValue
from sqlsentinel_airflow.core.result import instance_key

__all__ = [
    "instance_label",
    "key_label",
    "key_values_of",
    "parse_instance",
    "resolve_instance_key",
    "value_text",
]


def value_text(value: Any, width: int | None = None) -> str:
    """A key or context value on one line: strings as they are, ``null``, ``true``, numbers,
    JSON for lists and objects; cut to ``width`` characters (with ``…``) when given."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    elif isinstance(value, str):
        text = value
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    text = " ".join(text.split())
    if width is not None and len(text) > width:
        return text[: max(width - 1, 0)] + "…"
    return text


def instance_label(key_values: Mapping[str, Any], width: int | None = None) -> str:
    """``table_name=customers, region=eu``; ``""`` for a single-row alert (no key values).

    ``width`` cuts each value (messages use 80), never the names.
    """
    return ", ".join(f"{name}={value_text(value, width)}" for name, value in key_values.items())


def key_values_of(key: str) -> dict[str, JsonValue]:
    """The key values a stored instance key holds (``{}`` for ``""`` or a key that is not a
    JSON object, which no release writes)."""
    if not key:
        return {}
    try:
        data = json.loads(key)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def key_label(key: str | None) -> str | None:
    """The label of a stored instance key; None for None, the key itself if it is no object."""
    if key is None:
        return None
    values = key_values_of(key)
    return instance_label(values) if values else key


def _example(key_columns: Sequence[str]) -> str:
    return ",".join(f"{name}=..." for name in key_columns)


def parse_instance(text: str, key_columns: Sequence[str]) -> dict[str, JsonValue]:
    """What a person wrote for one instance, as key values in ``key_columns`` order.

    Two forms: ``table_name=customers`` (``key=value`` pairs separated by ``,``; values are
    text) and the stored JSON form ``{"table_name": "customers"}`` (exact values: use it for
    numbers, null, or a value with a comma). Every key column must be given, and nothing else
    (names are matched without regard to case). Raises ValueError saying what to write.
    """
    if not key_columns:
        raise ValueError(
            "this alert has no key_columns, so it has a single instance: silence the whole "
            "alert (leave the instance out)"
        )
    written = text.strip()
    if not written:
        raise ValueError(f"the instance is empty; write it as {_example(key_columns)}")
    given: dict[str, JsonValue] = {}
    if written.startswith("{"):
        try:
            data = json.loads(written)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"the instance {written!r} is not a JSON object ({exc.msg}); write it as "
                f'{_example(key_columns)} or as JSON like {{"{key_columns[0]}": ...}}'
            ) from None
        if not isinstance(data, dict):
            raise ValueError(f"the instance {written!r} must be a JSON object")
        pairs: list[tuple[str, JsonValue]] = [(str(k), v) for k, v in data.items()]
    else:
        pairs = []
        for part in written.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(
                    f"the instance {written!r}: {part.strip()!r} is not key=value; write it as "
                    f"{_example(key_columns)} (the JSON form takes values with commas)"
                )
            pairs.append((name.strip(), value.strip()))
    by_folded = {name.lower(): name for name in key_columns}
    for name, value in pairs:
        column = by_folded.get(name.lower())
        if column is None:
            raise ValueError(
                f"the instance names {name!r}, which is not a key column of this alert; its "
                f"key_columns are {', '.join(key_columns)}: write {_example(key_columns)}"
            )
        if column in given:
            raise ValueError(f"the instance gives {column!r} twice")
        given[column] = value
    missing = [name for name in key_columns if name not in given]
    if missing:
        raise ValueError(
            f"the instance leaves out {', '.join(missing)}: an instance is one value of every "
            f"key column; write {_example(key_columns)}"
        )
    return {name: given[name] for name in key_columns}


def resolve_instance_key(
    text: str,
    key_columns: Sequence[str],
    known: Iterable[Mapping[str, JsonValue]] = (),
) -> str:
    """The stored key of the instance ``text`` names (see :func:`parse_instance`).

    A ``key=value`` value is text, but a key column may hold numbers: when one of the
    ``known`` instances (their key values) shows the same text for every column, its exact
    key is used, so ``region_id=3`` finds ``{"region_id":3}``. An instance not seen yet gets
    the values as text. The JSON form is taken as written.
    """
    values = parse_instance(text, key_columns)
    if not text.strip().startswith("{"):
        for candidate in known:
            if list(candidate) == list(key_columns) and all(
                value_text(candidate[name]) == value_text(values[name]) for name in key_columns
            ):
                return instance_key(key_columns, dict(candidate))
    return instance_key(key_columns, values)
