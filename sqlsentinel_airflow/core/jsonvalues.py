"""Query values made JSON-serialisable and bounded, for history, state and notification payloads.

A DB-API driver hands back whatever its column types map to: ``Decimal``, ``datetime``,
``bytes``, ``UUID``, dicts and lists for JSON/ARRAY columns, NaN floats, and sometimes a
megabyte of text. Everything downstream (the state DB, webhook bodies, Jinja templates,
XCom) needs plain JSON of a sane size, so every value crosses :func:`to_json_value` once,
right where the query result is checked (``core.result``).

Decisions
- Numbers keep their magnitude: an integral ``Decimal`` becomes ``int``, another ``float``;
  a number beyond ±1e300 (or below 1e-300) would become infinity or zero as a float, or
  trouble JSON readers as an int, so it is kept as a decimal string (exact, or in
  scientific notation with 50 significant digits when the exact spelling is very long).
  NaN and infinities become ``None`` (JSON has no spelling for them).
- Text longer than :data:`MAX_TEXT` characters is cut, ending with a visible
  ``…[truncated N chars]`` marker, so nobody mistakes the cut text for the whole value.
- Control characters are *kept* (they are data, ``json.dumps`` escapes them, templates
  escape HTML) except two that no store accepts: NUL (PostgreSQL ``text`` and ``jsonb``
  reject it) and lone UTF-16 surrogates (they cannot be encoded as UTF-8). Both become
  U+FFFD, the replacement character, so the damage stays visible.
- Containers (JSON and ARRAY columns) are converted recursively, at most :data:`MAX_ITEMS`
  items per container and :data:`MAX_DEPTH` levels; a value with more than
  :data:`MAX_NODES` nodes or :data:`MAX_TOTAL_TEXT` characters of text in total becomes one
  abbreviated, truncated string instead. Dict keys become strings.
- Anything else becomes ``str(v)``, truncated.
- Several mappings stored side by side (the context columns of every instance of one
  evaluation) can be fitted into one size budget together (:func:`fit_mappings`): whole
  entries are dropped, never an exception, and each cut mapping says so in a ``…`` entry.

The conversion is idempotent: ``to_json_value(to_json_value(v)) == to_json_value(v)``.
"""

from __future__ import annotations

import base64
import json
import math
import numbers
import re
import reprlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlsentinel_airflow.core.model import JsonValue

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_KEY",
    "MAX_NODES",
    "MAX_TEXT",
    "MAX_TOTAL_TEXT",
    "as_number",
    "fit_mappings",
    "json_dumps",
    "stored_size",
    "to_json_value",
    "truncate_text",
]

MAX_TEXT = 4000
"""Longest string kept (characters, marker included)."""
MAX_BYTES = 1024
"""Longest binary value kept (bytes, before base64)."""
MAX_KEY = 200
"""Longest dict key kept (characters, marker included)."""
MAX_ITEMS = 100
"""Most items kept per list or dict (a marker item included)."""
MAX_DEPTH = 8
"""Deepest nesting of lists and dicts kept."""
MAX_NODES = 2000
"""Most values (scalars and containers) in one converted value."""
MAX_TOTAL_TEXT = 64_000
"""Most characters of text (strings and keys) in one converted value."""

_MAX_MAGNITUDE_EXPONENT = 300  # beyond 1e300 a float overflows soon and JS readers give up
_MAX_NUMBER_TEXT = 60  # a longer exact spelling gives way to scientific notation
_REPLACED = re.compile("[\x00\ud800-\udfff]")
_TRUNCATED_ITEMS_KEY = "…"


def truncate_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` if it fits ``limit`` characters, else its start and a ``…[truncated N chars]`` marker.

    The result is never longer than ``limit``, so truncating twice changes nothing.
    """
    if len(text) <= limit:
        return text
    # The marker's length depends on N, and N on how much the marker leaves room for.
    keep = limit
    while True:
        marker = f"…[truncated {len(text) - keep} chars]"
        if keep + len(marker) <= limit or keep == 0:
            return text[:keep] + marker
        keep = max(0, limit - len(marker))


def _clean_text(text: str, limit: int) -> str:
    if type(text) is not str:  # a str subclass (an enum member): its plain value
        text = str.__str__(text)
    if _REPLACED.search(text):
        text = _REPLACED.sub("\ufffd", text)
    return truncate_text(text, limit)


def _from_decimal(value: Decimal) -> JsonValue:
    if not value.is_finite():
        return None
    if value.is_zero():
        return 0
    exponent = value.adjusted()  # position of the most significant digit
    if abs(exponent) > _MAX_MAGNITUDE_EXPONENT:
        text = str(value)
        return text if len(text) <= _MAX_NUMBER_TEXT else f"{value:.{_MAX_NUMBER_TEXT - 10}e}"
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def _from_int(value: int) -> JsonValue:
    # Python refuses to print ints of more than 4,300 digits; huge ints go through Decimal.
    if value.bit_length() > 997:  # more than ~300 decimal digits
        return _from_decimal(Decimal(value))
    return value


def _from_float(value: float) -> JsonValue:
    return value if math.isfinite(value) else None


def _from_bytes(value: bytes | bytearray | memoryview) -> str:
    data = bytes(value)
    text = "base64:" + base64.b64encode(data[:MAX_BYTES]).decode("ascii")
    if len(data) > MAX_BYTES:
        text += f"…[truncated {len(data) - MAX_BYTES} bytes]"
    return text


def _scalar(value: Any) -> tuple[bool, JsonValue]:
    """Convert a non-container value; ``(False, None)`` when ``value`` is a container."""
    if value is None or isinstance(value, bool):
        return True, value
    if isinstance(value, str):
        return True, _clean_text(value, MAX_TEXT)
    if isinstance(value, int):
        return True, _from_int(int(value))
    if isinstance(value, float):
        return True, _from_float(float(value))
    if isinstance(value, Decimal):
        return True, _from_decimal(value)
    if isinstance(value, numbers.Integral):  # numpy and other integer types
        return True, _from_int(int(value))
    if isinstance(value, numbers.Real):  # Fraction, numpy floats
        return True, _from_float(float(value))
    if isinstance(value, datetime | date | time):  # aware datetimes keep their offset
        return True, value.isoformat()
    if isinstance(value, timedelta):
        return True, value.total_seconds()
    if isinstance(value, uuid.UUID):
        return True, str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return True, _from_bytes(value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return False, None
    return True, _clean_text(str(value), MAX_TEXT)


class _TooLarge(Exception):
    pass


class _Converter:
    """One conversion, counting nodes and text against the per-value budget."""

    def __init__(self) -> None:
        self.nodes = 0
        self.text = 0

    def _count(self, converted: JsonValue) -> None:
        self.nodes += 1
        if isinstance(converted, str):
            self.text += len(converted)
        if self.nodes > MAX_NODES or self.text > MAX_TOTAL_TEXT:
            raise _TooLarge

    def convert(self, value: Any, depth: int) -> JsonValue:
        done, converted = _scalar(value)
        if done:
            self._count(converted)
            return converted
        if depth >= MAX_DEPTH:
            converted = f"…[nested deeper than {MAX_DEPTH} levels]"
            self._count(converted)
            return converted
        self._count(None)
        if isinstance(value, Mapping):
            return self._convert_mapping(value, depth)
        items = list(value)
        if isinstance(value, set | frozenset):  # no order of their own: make one
            items.sort(key=lambda item: json_dumps(item))
        return self._convert_items(items, depth)

    def _convert_items(self, items: list[Any], depth: int) -> list[JsonValue]:
        out = [self.convert(item, depth + 1) for item in items[: _kept(len(items))]]
        if len(items) > MAX_ITEMS:
            out.append(self.convert(f"…[truncated {len(items) - len(out)} items]", depth + 1))
        return out

    def _convert_mapping(self, mapping: Mapping[Any, Any], depth: int) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {}
        entries = list(mapping.items())
        for key, item in entries[: _kept(len(entries))]:
            text_key = self._key(key)
            if text_key not in out:  # keys that convert alike (1 and "1"): the first one wins
                out[text_key] = self.convert(item, depth + 1)
        if len(entries) > MAX_ITEMS:
            dropped = len(entries) - MAX_ITEMS + 1
            self.text += len(_TRUNCATED_ITEMS_KEY)
            out[_TRUNCATED_ITEMS_KEY] = self.convert(f"[truncated {dropped} entries]", depth + 1)
        return out

    def _key(self, key: Any) -> str:
        done, converted = _scalar(key)
        if not done:  # a tuple key: rare, shown as text
            converted = str(key)
        text = converted if isinstance(converted, str) else json.dumps(converted)
        text = _clean_text(text, MAX_KEY)
        self.text += len(text)
        return text


def _kept(count: int) -> int:
    """How many items of a container fit beside the truncation marker."""
    return count if count <= MAX_ITEMS else MAX_ITEMS - 1


_preview = reprlib.Repr()
_preview.maxlevel = 3
_preview.maxstring = 200
_preview.maxother = 200
_preview.maxlong = 200


def to_json_value(value: Any) -> JsonValue:
    """Make any DB-API value JSON-serialisable and bounded (rules in the module docstring)."""
    converter = _Converter()
    try:
        return converter.convert(value, 0)
    except _TooLarge:
        suffix = " …[value too large for JSON, abbreviated]"
        return truncate_text(_preview.repr(value), MAX_TEXT - len(suffix)) + suffix


def json_dumps(value: Any, *, sort_keys: bool = True) -> str:
    """Canonical compact JSON of ``to_json_value(value)``: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(
        to_json_value(value),
        sort_keys=sort_keys,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def stored_size(value: JsonValue) -> int:
    """Characters of ``value`` as the state store writes it (compact, ASCII-escaped JSON)."""
    return len(json.dumps(value, separators=(",", ":")))


def fit_mappings(
    mappings: Sequence[dict[str, JsonValue]], limit: int
) -> list[dict[str, JsonValue]]:
    """``mappings`` (JSON values already) cut so that together they take ``limit`` characters.

    Sizes are :func:`stored_size`. Small mappings are kept whole; the large ones share what
    is left equally (each one's share is what remains divided by how many remain, smallest
    first). A cut mapping keeps its entries in order while they fit its share and ends with
    a ``"…": "[N of M columns cut]"`` entry. Deterministic: the same input gives the same
    cut. Only when there are so many mappings that their markers alone exceed ``limit``
    (about ``limit / 40``) does the total go over it, by the markers.
    """
    if stored_size(list(mappings)) <= limit + len(mappings) + 1:  # the list adds [ , ]
        return list(mappings)
    sizes = [stored_size(m) for m in mappings]
    out = list(mappings)
    remaining, left = limit, len(mappings)
    for index in sorted(range(len(mappings)), key=lambda i: (sizes[i], i)):
        share = max(0, remaining) // left
        left -= 1
        if sizes[index] > share and mappings[index]:
            out[index] = _cut_mapping(mappings[index], share)
            remaining -= stored_size(out[index])
        else:
            remaining -= sizes[index]
    return out


_SMALLEST_ENTRY = len('"":0,')


def _cut_marker(dropped: int, total: int) -> dict[str, JsonValue]:
    return {_TRUNCATED_ITEMS_KEY: f"[{dropped} of {total} column{'' if total == 1 else 's'} cut]"}


def _cut_mapping(mapping: dict[str, JsonValue], budget: int) -> dict[str, JsonValue]:
    """The entries of ``mapping`` that fit ``budget`` with the marker, in order, and the marker."""
    total = len(mapping)
    room = budget - stored_size(_cut_marker(total, total))  # the longest marker it may need
    kept: dict[str, JsonValue] = {}
    used = 2  # the braces
    for key, value in mapping.items():
        if used + _SMALLEST_ENTRY > room:
            break
        entry = stored_size({key: value}) - 2 + 1  # "key":value and a comma
        if used + entry <= room:
            kept[key] = value
            used += entry
    kept.update(_cut_marker(total - len(kept), total))
    return kept


def as_number(value: JsonValue) -> float | None:
    """A stored value as a float if it is a number or a numeric string (never a bool), else
    None: what a chart draws and what a peak compares."""
    kind = type(value)  # plain numbers first: 60,000 of them per SQL Sentinel page
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value.strip()))
        except (InvalidOperation, ValueError):
            return None
    return None
