"""The query contract (docs/query-contract.md): from a raw result set to alert instances,
or one clear error.

The executor hands over the column names and at most ``max_rows + 1`` rows (one more than
allowed, so "too many rows" is detectable without reading everything). This module decides
whether the result honours the contract and turns each row into an
:class:`~sqlsentinel_airflow.core.model.InstanceResult`. It never raises for a bad result:
a broken contract is a :class:`~sqlsentinel_airflow.core.model.QueryEvaluation` with
``error`` set, which the state machine treats like a failed query (state not advanced).

The contract
- Column names are matched case-insensitively (databases fold unquoted names differently),
  so two columns whose names differ only in case are duplicates.
- ``status`` is required: ``'ALERT'`` or ``'OK'``, any case, surrounding spaces ignored.
  ``actual_value`` and ``threshold`` are optional; every other column except the key
  columns is context, under the name the query gave it.
- Without ``key_columns`` the query returns exactly one row; the instance key is ``""``.
- With ``key_columns`` every row is one instance, keyed by the canonical compact JSON
  object of its key values in ``key_columns`` order (``{"table_name":"orders"}``), names as
  configured. NULL key values are allowed (JSON ``null``); two rows with the same key are
  an error. **Zero rows is a valid result**: there are no instances, so every instance
  seen before counts as MISSING and resolves. This is deliberate: keyed queries usually
  return only the offending rows (``SELECT table_name, 'ALERT' AS status ... WHERE late``),
  and an empty result then means "all is well".
- Every value goes through :func:`~sqlsentinel_airflow.core.jsonvalues.to_json_value`.
- The context of all instances together is at most :data:`MAX_CONTEXT_BYTES` of stored
  JSON (history keeps it per instance, for every evaluation): beyond it, whole context
  columns are dropped (small contexts are kept whole, the large ones share the rest) and a
  cut context says so in a ``…`` entry. A wide result is still a valid evaluation.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from sqlsentinel_airflow.core.jsonvalues import fit_mappings, to_json_value, truncate_text
from sqlsentinel_airflow.core.model import InstanceResult, JsonValue, Outcome, QueryEvaluation

__all__ = [
    "ACTUAL_VALUE_COLUMN",
    "MAX_CONTEXT_BYTES",
    "STATUS_COLUMN",
    "THRESHOLD_COLUMN",
    "check_columns",
    "evaluate_result",
    "instance_key",
]

STATUS_COLUMN = "status"
ACTUAL_VALUE_COLUMN = "actual_value"
THRESHOLD_COLUMN = "threshold"
_SPECIAL_COLUMNS = (STATUS_COLUMN, ACTUAL_VALUE_COLUMN, THRESHOLD_COLUMN)
_SHOWN_STATUS_CHARS = 60
MAX_CONTEXT_BYTES = 64 * 1024
"""Most stored JSON (ASCII-escaped, as the state store writes it) for the context of all
instances of one evaluation together. Only past about 1,700 cut contexts do their markers
(about 40 bytes each) alone take more."""
_STATUS_HINT = "the status column must be 'ALERT' or 'OK' (any case)"


class _ContractError(Exception):
    """Internal: one broken rule, carried to ``evaluate_result`` which reports it."""


def _listing(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names) if names else "(none)"


def _column_positions(columns: Sequence[str], key_columns: Sequence[str]) -> dict[str, int]:
    """Lower-cased name -> position of the status, value, threshold and key columns."""
    positions: dict[str, int] = {}
    duplicates: list[str] = []
    for index, name in enumerate(columns):
        folded = name.lower()
        if folded in positions:
            duplicates.append(name)
        else:
            positions[folded] = index
    if duplicates:
        raise _ContractError(
            f"duplicate column names: {_listing(duplicates)} (names are compared "
            f"case-insensitively; give every column its own alias, e.g. AS table_name_2)"
        )
    if STATUS_COLUMN not in positions:
        raise _ContractError(
            f"the result has no 'status' column; the query returned columns {_listing(columns)}; "
            "add one, e.g. CASE WHEN <condition> THEN 'ALERT' ELSE 'OK' END AS status"
        )
    folded_keys = [k.lower() for k in key_columns]
    for key in key_columns:
        if key.lower() in _SPECIAL_COLUMNS:
            raise _ContractError(
                f"key column {key!r} cannot be a key: status, actual_value and threshold are "
                "reserved; list the columns that identify an instance (e.g. table_name)"
            )
        if folded_keys.count(key.lower()) > 1:
            raise _ContractError(f"key column {key!r} is listed twice in key_columns")
        if key.lower() not in positions:
            raise _ContractError(
                f"key column {key!r} is not in the result; the query returned columns "
                f"{_listing(columns)}; select it or fix key_columns"
            )
    return positions


def check_columns(columns: Sequence[str], *, key_columns: Sequence[str] = ()) -> str | None:
    """The column part of the contract alone (for ``validate --check-connections``, LIMIT 0).

    Returns the error message, or None when the columns are acceptable.
    """
    try:
        _column_positions([str(c) for c in columns], key_columns)
    except _ContractError as exc:
        return str(exc)
    return None


def _parse_status(raw: Any, row_number: int) -> Outcome:
    if raw is None:
        raise _ContractError(f"row {row_number}: status is NULL; {_STATUS_HINT} in every row")
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else raw
    if isinstance(text, str):
        normalised = text.strip().upper()
        if normalised == Outcome.ALERT.value:
            return Outcome.ALERT
        if normalised == Outcome.OK.value:
            return Outcome.OK
    shown = truncate_text(repr(text if isinstance(text, str) else raw), _SHOWN_STATUS_CHARS)
    raise _ContractError(f"row {row_number}: unknown status {shown}; {_STATUS_HINT}")


def instance_key(key_columns: Sequence[str], key_values: dict[str, JsonValue]) -> str:
    """The instance key: ``""`` for single-row alerts, else compact JSON in key_columns order."""
    if not key_columns:
        return ""
    ordered = {name: key_values[name] for name in key_columns}
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _instances(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    key_columns: Sequence[str],
    positions: dict[str, int],
) -> tuple[InstanceResult, ...]:
    status_at = positions[STATUS_COLUMN]
    value_at = positions.get(ACTUAL_VALUE_COLUMN)
    threshold_at = positions.get(THRESHOLD_COLUMN)
    key_at = [positions[k.lower()] for k in key_columns]
    not_context = {status_at, *key_at}
    not_context.update(p for p in (value_at, threshold_at) if p is not None)
    context_at = [i for i in range(len(columns)) if i not in not_context]

    instances: list[InstanceResult] = []
    first_row_of_key: dict[str, int] = {}
    for row_number, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise _ContractError(
                f"row {row_number} has {len(row)} values but the result has {len(columns)} "
                "columns (a driver problem: report it with the query)"
            )
        status = _parse_status(row[status_at], row_number)
        key_values = {
            name: to_json_value(row[at]) for name, at in zip(key_columns, key_at, strict=True)
        }
        key = instance_key(key_columns, key_values)
        if key in first_row_of_key:
            raise _ContractError(
                f"rows {first_row_of_key[key]} and {row_number} have the same key "
                f"{truncate_text(key, 200)}; key_columns must identify one row each "
                "(add columns to key_columns, or GROUP BY them)"
            )
        first_row_of_key[key] = row_number
        instances.append(
            InstanceResult(
                key=key,
                key_values=key_values,
                status=status,
                actual_value=to_json_value(row[value_at]) if value_at is not None else None,
                threshold=to_json_value(row[threshold_at]) if threshold_at is not None else None,
                context={columns[i]: to_json_value(row[i]) for i in context_at},
            )
        )
    return _bounded_context(instances)


def _bounded_context(instances: list[InstanceResult]) -> tuple[InstanceResult, ...]:
    """The instances with their contexts fitted into :data:`MAX_CONTEXT_BYTES` together."""
    contexts = fit_mappings([i.context for i in instances], MAX_CONTEXT_BYTES)
    return tuple(
        inst if context is inst.context else dataclasses.replace(inst, context=context)
        for inst, context in zip(instances, contexts, strict=True)
    )


def _check_row_count(row_count: int, *, keyed: bool, max_rows: int) -> None:
    if keyed:
        if row_count > max_rows:
            raise _ContractError(
                f"the query returned more than {max_rows} rows (max_rows); return only the "
                "rows that matter (e.g. only the offending ones) or raise max_rows"
            )
        return
    if row_count == 0:
        raise _ContractError(
            "the query returned no rows; an alert without key_columns must return exactly one "
            "row with a status column (aggregate, e.g. SELECT CASE WHEN COUNT(*) > 0 THEN "
            "'ALERT' ELSE 'OK' END AS status ...), or set key_columns if no rows means OK"
        )
    if row_count > 1:
        raise _ContractError(
            "the query returned more than 1 row; an alert without key_columns must return "
            "exactly one row: add key_columns for multi-row alerts, or aggregate / LIMIT 1"
        )


def evaluate_result(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key_columns: Sequence[str] = (),
    max_rows: int,
) -> QueryEvaluation:
    """Check one query result against the contract (module docstring) and build its instances.

    ``rows`` holds at most ``max_rows + 1`` rows (the caller fetches one more than allowed).
    Without ``key_columns`` exactly one row is allowed whatever ``max_rows`` says.
    A broken rule gives a ``QueryEvaluation`` with ``error`` set and no instances.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    names = tuple(str(c) for c in columns)
    try:
        positions = _column_positions(names, key_columns)
        _check_row_count(len(rows), keyed=bool(key_columns), max_rows=max_rows)
        instances = _instances(names, rows, key_columns, positions)
    except _ContractError as exc:
        return QueryEvaluation(error=str(exc), columns=names, row_count=len(rows))
    return QueryEvaluation(instances=instances, columns=names, row_count=len(rows))
