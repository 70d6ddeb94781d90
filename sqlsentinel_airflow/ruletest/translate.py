"""An alert's SQL, written for its own database, translated for the embedded engine (DuckDB).

sqlglot does the translation. SQLite's date and time functions (``datetime(x, '-1 hour')``,
``julianday(x)``...) take modifiers sqlglot passes through as they are, so they are rewritten
here into DuckDB expressions of the same meaning (typed values instead of SQLite's text:
comparisons and arithmetic give the same answers on fixture tables with typed columns).

What cannot be translated faithfully raises :class:`EngineUnsupported`, which names the
construct and suggests running the test on the real database (``--conn``): a test that
silently means something else than the alert would be worse than none.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from sqlsentinel_airflow.errors import SentinelError

__all__ = ["CONN_HINT", "EngineUnsupported", "to_duckdb"]

CONN_HINT = "run this test on the real database with `sqlsentinel test --conn CONN_ID`"


class EngineUnsupported(SentinelError):
    """The embedded engine cannot run this query as its database would (names the construct)."""

    def __init__(self, construct: str, why: str) -> None:
        self.construct = construct
        super().__init__(f"the embedded engine (DuckDB) cannot run {construct}: {why}; {CONN_HINT}")


_SQLITE_FUNCTIONS = frozenset({"DATE", "TIME", "DATETIME", "JULIANDAY", "UNIXEPOCH", "STRFTIME"})
_SHIFT = re.compile(
    r"^\s*([+-]?\d+(?:\.\d+)?)\s+(second|minute|hour|day|month|year)s?\s*$", re.IGNORECASE
)
_START_OF = re.compile(r"^\s*start of (day|month|year)\s*$", re.IGNORECASE)


def to_duckdb(sql: str, dialect: str | None) -> str:
    """``sql`` (in ``dialect``) as DuckDB SQL; raises EngineUnsupported naming the construct."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError as exc:
        raise EngineUnsupported(
            "this query", f"sqlglot cannot read it as {dialect}: {exc}"
        ) from exc
    _refuse_live_clock(tree, dialect)
    if dialect == "sqlite":
        tree = tree.transform(_sqlite_time_function)
    try:
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise EngineUnsupported("this query", str(exc)) from exc


# What reads the clock, as sqlglot parses it in any dialect. After ``sqlclock`` froze the
# query none should be left; one that is would read the machine's clock in DuckDB and make
# the test depend on the day it runs, so it is refused instead.
_CLOCK_NODES: tuple[type[exp.Expression], ...] = (
    exp.CurrentTimestamp,
    exp.CurrentTimestampLTZ,
    exp.CurrentDate,
    exp.CurrentDatetime,
    exp.CurrentTime,
    exp.Localtime,
    exp.Localtimestamp,
    exp.Systimestamp,
    exp.UtcDate,
    exp.UtcTime,
    exp.UtcTimestamp,
)
_CLOCK_NAMES = frozenset(
    {
        "NOW",
        "SYSDATE",
        "GETDATE",
        "GETUTCDATE",
        "SYSDATETIME",
        "SYSUTCDATETIME",
        "SYSDATETIMEOFFSET",
        "STATEMENT_TIMESTAMP",
        "TRANSACTION_TIMESTAMP",
        "CLOCK_TIMESTAMP",
        "CURDATE",
        "CURTIME",
        "TODAY",
        "GET_CURRENT_TIMESTAMP",
        "TIMEOFDAY",
    }
)


def _refuse_live_clock(tree: exp.Expr, dialect: str | None) -> None:
    for node in tree.find_all(exp.Func):
        anonymous = isinstance(node, exp.Anonymous) and str(node.this).upper() in _CLOCK_NAMES
        if isinstance(node, _CLOCK_NODES) or anonymous:
            raise EngineUnsupported(
                node.sql(dialect=dialect),
                "this clock function is not frozen for the dialect "
                f"{dialect or '(unknown)'}, so the test would depend on when it runs",
            )


def _sqlite_time_function(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Date) and not isinstance(node.this, exp.Cast):
        return _date_function(node, "DATE", [node.this, *node.expressions])
    if isinstance(node, exp.Anonymous) and str(node.this).upper() in _SQLITE_FUNCTIONS:
        name = str(node.this).upper()
        return _date_function(node, name, list(node.expressions))
    return node


def _date_function(node: exp.Expression, name: str, args: list[exp.Expression]) -> exp.Expression:
    written = node.sql(dialect="sqlite")
    fmt: exp.Expression | None = None
    if name == "STRFTIME":
        if len(args) < 2:
            raise EngineUnsupported(written, "strftime() needs a format and a time value")
        fmt, args = args[0], args[1:]
    if not args:
        raise EngineUnsupported(written, "a time value is needed ('now' or a column)")
    value: exp.Expression = exp.cast(args[0], exp.DataType.Type.TIMESTAMP)
    for modifier in args[1:]:
        value = _apply(value, modifier, written)
    if name == "DATETIME":
        return value
    if name == "DATE":
        return exp.cast(value, exp.DataType.Type.DATE)
    if name == "TIME":
        return exp.cast(value, exp.DataType.Type.TIME)
    epoch = exp.Anonymous(this="EPOCH", expressions=[value])
    if name == "UNIXEPOCH":
        return exp.cast(epoch, exp.DataType.Type.BIGINT)
    if name == "JULIANDAY":  # days since noon UTC, 24 November 4714 BC: exact, unlike julian()
        days = exp.Div(this=epoch, expression=exp.Literal.number("86400.0"))
        return exp.paren(exp.Add(this=days, expression=exp.Literal.number("2440587.5")))
    assert fmt is not None
    return exp.Anonymous(this="STRFTIME", expressions=[value, fmt])


def _apply(value: exp.Expression, modifier: exp.Expression, written: str) -> exp.Expression:
    if not (isinstance(modifier, exp.Literal) and modifier.is_string):
        raise EngineUnsupported(written, "only literal modifiers can be translated")
    text = modifier.this
    shift = _SHIFT.match(text)
    if shift:
        amount, unit = shift.group(1), shift.group(2).upper()
        interval = exp.Interval(this=exp.Literal.string(amount), unit=exp.var(unit))
        return exp.Add(this=value, expression=interval)
    start = _START_OF.match(text)
    if start:
        part = exp.Literal.string(start.group(1).lower())
        return exp.Anonymous(this="DATE_TRUNC", expressions=[part, value])
    if text.strip().lower() == "utc":  # the embedded engine's clock is UTC already
        return value
    raise EngineUnsupported(
        written,
        f"the modifier {text!r} is not translated (supported: '±N unit', 'start of "
        "day|month|year', 'utc')",
    )
