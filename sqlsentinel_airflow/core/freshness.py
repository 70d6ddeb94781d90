"""Freshness checks: "has this table (or asset) been updated within the last N?" (docs/freshness.md).

Pure pieces, no Airflow and no database:
- :func:`check_table` / :func:`check_column`: is a written name one SQL identifier (a table
  may be dotted: ``schema.table``, ``catalog.schema.table``; quoting as the dialect quotes);
- :func:`max_query`: ``SELECT MAX(column) AS last_updated_at FROM table`` with every identifier
  quoted by sqlglot for the database it runs on (unquoted names first folded the way that
  database folds them, so ``Analytics.Orders`` still means ``analytics.orders`` on PostgreSQL);
- :func:`last_updated_at`: the MAX value read as an aware time (module rules below);
- :func:`freshness_rows`: the query-contract result (docs/query-contract.md) of one check, so
  the state machine, history, UI and messages treat it like any alert query's result.

The age is reported in minutes (``actual_value``, one decimal) against ``within`` in minutes
(``threshold``): a check of hours reads ``actual_value 412.5 > threshold 360``, and the
context adds ``age`` and ``within`` spelled as durations (``6h52m30s``, ``6h``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlsentinel_airflow.errors import QueryError

if TYPE_CHECKING:
    from sqlsentinel_airflow.core.config.assets import AssetRef
    from sqlsentinel_airflow.core.config.models import FreshnessCheck

__all__ = [
    "LAST_UPDATED_COLUMN",
    "SOURCE_ASSET_EVENT",
    "SOURCE_QUERY",
    "AssetEventTime",
    "FreshnessRows",
    "IdentifierError",
    "check_column",
    "check_freshness",
    "check_table",
    "describe_check",
    "freshness_rows",
    "last_updated_at",
    "max_query",
]

SOURCE_ASSET_EVENT = "asset event"
SOURCE_QUERY = "query"
LAST_UPDATED_COLUMN = "last_updated_at"
_MAX_TABLE_PARTS = 3  # catalog.schema.table


class IdentifierError(ValueError):
    """A written table or column name that is not a SQL identifier; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _parse_table(text: str, dialect: str | None) -> Any:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        table = sqlglot.parse_one(text, into=exp.Table, dialect=dialect)
    except SqlglotError:
        return None
    if not isinstance(table, exp.Table):
        return None
    if any(key not in {"this", "db", "catalog"} for key, v in table.args.items() if v):
        return None
    parts = table.parts
    if not parts or not all(isinstance(p, exp.Identifier) for p in parts):
        return None
    return table


def _language(dialect: str | None) -> str:
    return f"{dialect} SQL" if dialect else "SQL"


def check_table(text: str, dialect: str | None) -> None:
    """Raise :class:`IdentifierError` unless ``text`` names one table in ``dialect``."""
    table = _parse_table(text, dialect)
    if table is None:
        raise IdentifierError(
            f"{text!r} is not a table name in {_language(dialect)}",
            "write a table, optionally with its schema: analytics.orders; quote a name with "
            'spaces or capitals as the database does ("Order Table", or `Order Table` on MySQL)',
        )
    if len(table.parts) > _MAX_TABLE_PARTS:
        raise IdentifierError(
            f"{text!r} has {len(table.parts)} dotted parts; a table name has at most "
            f"{_MAX_TABLE_PARTS} (catalog.schema.table)",
            "quote a name that holds a dot",
        )


def check_column(text: str, dialect: str | None) -> None:
    """Raise :class:`IdentifierError` unless ``text`` is one column name in ``dialect``."""
    table = _parse_table(text, dialect)
    if table is None or len(table.parts) != 1:
        raise IdentifierError(
            f"{text!r} is not a column name in {_language(dialect)}",
            "write one column of the table, e.g. loaded_at (no table prefix, no expression); "
            "quote a name with spaces or capitals as the database does",
        )


def max_query(table: str, column: str, *, written_in: str | None, runs_in: str | None) -> str:
    """``SELECT MAX(column) AS last_updated_at FROM table`` for the ``runs_in`` dialect.

    ``written_in``: the dialect the names were checked in (their quoting); ``runs_in``: the
    dialect of the database the query runs on (None: generic SQL, double quotes).
    """
    from sqlglot import exp
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    parsed_table = _parse_table(table, written_in)
    parsed_column = _parse_table(column, written_in)
    if parsed_table is None or parsed_column is None:  # checked when the config was loaded
        raise QueryError(f"freshness: {table!r}.{column!r} are not SQL names")
    target = normalize_identifiers(parsed_table, dialect=runs_in)
    name = normalize_identifiers(parsed_column.this.copy(), dialect=runs_in)
    select = exp.select(exp.Max(this=exp.Column(this=name)).as_(LAST_UPDATED_COLUMN))
    return select.from_(target).sql(dialect=runs_in, identify=True)


def _zone(name: str) -> zoneinfo.ZoneInfo | timezone:
    return timezone.utc if name == "UTC" else zoneinfo.ZoneInfo(name)


def last_updated_at(
    value: Any, *, column: str, tz: str = "UTC", text_is_time: bool = False
) -> datetime | None:
    """``MAX(column)`` as an aware time: None when the table is empty (or the column all NULL).

    An aware timestamp is taken as is; a naive one is read in ``tz``; a DATE is its midnight
    in ``tz``. ``text_is_time``: the database keeps times as ISO 8601 text (SQLite), which is
    then read like a timestamp. Anything else is a :class:`QueryError` naming the column and
    the type found.
    """
    if value is None:
        return None
    if text_is_time and isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise QueryError(
                f"freshness: column {column!r} holds {value[:40]!r}, which is not an ISO 8601 "
                "date-time (SQLite keeps times as text such as 2026-12-06 14:00:00)"
            ) from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=_zone(tz))
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=_zone(tz))
    raise QueryError(
        f"freshness: column {column!r} is of type {type(value).__name__} "
        f"(value {str(value)[:40]!r}); it must be a timestamp or a date"
    )


@dataclass(frozen=True)
class FreshnessRows:
    """One check's query-contract result (``evaluation.QueryResultLike``)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


def freshness_rows(
    updated: datetime | None,
    *,
    within: timedelta,
    now: datetime,
    source: str,
    nothing_recorded: str | None = None,
) -> FreshnessRows:
    """ALERT when ``updated`` is older than ``within`` at ``now``, or is None (never updated:
    ``nothing_recorded`` then says what was looked at, in the context's ``note``).

    A time in the future (clock skew between the warehouse and this host) counts as age 0.
    """
    from sqlsentinel_airflow.core.clock import rfc3339
    from sqlsentinel_airflow.core.durations import format_duration

    row: dict[str, Any] = {"status": "ALERT", "actual_value": None}
    if updated is not None:
        age = max(now - updated, timedelta(0))
        row["status"] = "ALERT" if age > within else "OK"
        row["actual_value"] = _minutes(age)
    row["threshold"] = _minutes(within)
    row[LAST_UPDATED_COLUMN] = rfc3339(updated) if updated is not None else None
    row["source"] = source
    if updated is not None:
        row["age"] = format_duration(age)
    row["within"] = format_duration(within)
    if updated is None:
        row["note"] = nothing_recorded or "nothing recorded"
    return FreshnessRows(tuple(row), [tuple(row.values())])


AssetEventTime = Callable[["AssetRef"], "datetime | None"]
"""The time of an asset's last event (None: none recorded); given only inside Airflow."""


def check_freshness(
    check: FreshnessCheck,
    *,
    now: datetime,
    asset_event_time: AssetEventTime | None,
    run_max_query: Callable[[], tuple[Any, bool]] | None,
) -> FreshnessRows:
    """One freshness check (docs/freshness.md): the asset's last event if there is one, else
    ``MAX(column)`` of the table, else ALERT ("no event recorded for ...").

    ``asset_event_time`` is None outside Airflow (``sqlsentinel run``): there are no asset
    events there, so an asset-only check is a QueryError saying what to add.
    ``run_max_query()`` runs :func:`max_query` and returns (the value, whether the database
    keeps times as text).
    """
    if check.asset is not None and asset_event_time is not None:
        updated = asset_event_time(check.asset)
        if updated is not None:
            return freshness_rows(updated, within=check.within, now=now, source=SOURCE_ASSET_EVENT)
    if check.table is not None and check.column is not None:
        if run_max_query is None:  # pragma: no cover - the service always gives one
            raise QueryError("freshness: no query runner")
        value, text_is_time = run_max_query()
        updated = last_updated_at(
            value, column=check.column, tz=check.timezone, text_is_time=text_is_time
        )
        empty = f"no row of {check.table} has a {check.column}"
        if check.asset is not None:
            empty = f"no event recorded for {check.asset.describe()}, and {empty}"
        return freshness_rows(
            updated, within=check.within, now=now, source=SOURCE_QUERY, nothing_recorded=empty
        )
    assert check.asset is not None
    if asset_event_time is None:
        raise QueryError(
            f"freshness of asset {check.asset.describe()} is read from its Airflow asset "
            "events, which exist only inside Airflow (not in `sqlsentinel run` or a rule "
            "test); to check it there too, add `table` and `column` to the alert's "
            "`freshness:`"
        )
    return freshness_rows(
        None,
        within=check.within,
        now=now,
        source=SOURCE_ASSET_EVENT,
        nothing_recorded=f"no event recorded for {check.asset.describe()}",
    )


def describe_check(check: FreshnessCheck) -> str:
    """One line for people: what is checked, from where, against what age."""
    from sqlsentinel_airflow.core.durations import format_duration

    sources = []
    if check.asset is not None:
        sources.append(f"the last event of asset {check.asset.describe()}")
    if check.table is not None:
        where = "else " if sources else ""
        sources.append(f"{where}MAX({check.column}) of {check.table}")
    zone = f" (naive times in {check.timezone})" if check.table and check.timezone != "UTC" else ""
    return f"{', '.join(sources)}{zone}: at most {format_duration(check.within)} old"
