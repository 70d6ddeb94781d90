"""Freeze the clock in a query: every clock function replaced by a fixed time, per dialect.

Rule tests (``sqlsentinel test``, docs/rule-tests.md) and as-of backtests run an alert's own
query "as if it were" a given time: ``now()``, ``CURRENT_DATE``, ``GETDATE()``,
SQLite's ``datetime('now')``... become literals of that time, so a test means the same thing
tomorrow. The query is otherwise left exactly as written: the rewrite splices literals into
the original text at the positions sqlglot's tokenizer reports (no re-generation of the rest,
so comments, casing and dialect quirks survive), in the dialect the query is written in.

The frozen time is rendered in UTC: a timestamp construct becomes the instant ``at`` (typed
as the construct's own type: with time zone where the function returns one, else the UTC
wall-clock time), a date-only construct the UTC date of ``at``, a time-only one its UTC time.
BigQuery's ``CURRENT_DATE('Europe/Berlin')`` (a literal zone argument) is the one exception:
it asks for that zone, so it gets it. PostgreSQL's special inputs (``'now'::timestamptz``,
``timestamp 'today'``) are replaced by the frozen time as text, for the same cast to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import Token, TokenType

__all__ = ["ClockRewrite", "ClockRewriteError", "clock_functions", "rewrite_clock"]


class ClockRewriteError(ValueError):
    """A clock construct that cannot be frozen (an argument that is not a literal), or SQL
    the dialect's tokenizer rejects. The message names the construct as written."""


class _Kind(Enum):
    TZ = "timestamp with time zone"
    NAIVE = "timestamp (UTC wall clock)"
    DATE = "date"
    TIME = "time"
    TIMETZ = "time with time zone"
    EPOCH = "unix seconds"
    TEXT_TS = "text timestamp"  # SQLite's CURRENT_TIMESTAMP: 'YYYY-MM-DD HH:MM:SS'
    TEXT_DATE = "text date"
    TEXT_TIME = "text time"
    PG_INPUT = "PostgreSQL special input ('now', 'today'...), cast by its context"


# Parentheses: "call" = only with (), "bare" = only without, "any" = either way.
_Spec = tuple[_Kind, str]

_ANSI: dict[str, _Spec] = {
    "CURRENT_TIMESTAMP": (_Kind.TZ, "any"),
    "CURRENT_DATE": (_Kind.DATE, "any"),
    "CURRENT_TIME": (_Kind.TIMETZ, "any"),
    "LOCALTIMESTAMP": (_Kind.NAIVE, "any"),
    "LOCALTIME": (_Kind.TIME, "any"),
    "NOW": (_Kind.TZ, "call"),
}

_POSTGRES: dict[str, _Spec] = {
    **_ANSI,
    "STATEMENT_TIMESTAMP": (_Kind.TZ, "call"),
    "TRANSACTION_TIMESTAMP": (_Kind.TZ, "call"),
    "CLOCK_TIMESTAMP": (_Kind.TZ, "call"),
}

_FUNCTIONS: dict[str, dict[str, _Spec]] = {
    "postgres": _POSTGRES,
    "redshift": {
        **_POSTGRES,
        "GETDATE": (_Kind.NAIVE, "call"),
        "SYSDATE": (_Kind.NAIVE, "bare"),
    },
    "mysql": {
        "NOW": (_Kind.NAIVE, "call"),
        "SYSDATE": (_Kind.NAIVE, "call"),
        "CURRENT_TIMESTAMP": (_Kind.NAIVE, "any"),
        "LOCALTIMESTAMP": (_Kind.NAIVE, "any"),
        "LOCALTIME": (_Kind.NAIVE, "any"),  # a DATETIME in MySQL, not a TIME
        "UTC_TIMESTAMP": (_Kind.NAIVE, "any"),
        "CURDATE": (_Kind.DATE, "call"),
        "CURRENT_DATE": (_Kind.DATE, "any"),
        "UTC_DATE": (_Kind.DATE, "any"),
        "CURTIME": (_Kind.TIME, "call"),
        "CURRENT_TIME": (_Kind.TIME, "any"),
        "UTC_TIME": (_Kind.TIME, "any"),
        "UNIX_TIMESTAMP": (_Kind.EPOCH, "call"),
    },
    "sqlite": {
        "CURRENT_TIMESTAMP": (_Kind.TEXT_TS, "bare"),
        "CURRENT_DATE": (_Kind.TEXT_DATE, "bare"),
        "CURRENT_TIME": (_Kind.TEXT_TIME, "bare"),
    },
    "snowflake": {
        "CURRENT_TIMESTAMP": (_Kind.TZ, "any"),
        "LOCALTIMESTAMP": (_Kind.TZ, "any"),
        "GETDATE": (_Kind.TZ, "call"),
        "SYSTIMESTAMP": (_Kind.TZ, "call"),
        "SYSDATE": (_Kind.NAIVE, "call"),  # TIMESTAMP_NTZ in UTC
        "CURRENT_DATE": (_Kind.DATE, "any"),
        "CURRENT_TIME": (_Kind.TIME, "any"),
        "LOCALTIME": (_Kind.TIME, "any"),
    },
    "bigquery": {
        "CURRENT_TIMESTAMP": (_Kind.TZ, "any"),
        "CURRENT_DATETIME": (_Kind.NAIVE, "any"),
        "CURRENT_DATE": (_Kind.DATE, "any"),
        "CURRENT_TIME": (_Kind.TIME, "any"),
    },
    "tsql": {
        "GETDATE": (_Kind.NAIVE, "call"),
        "SYSDATETIME": (_Kind.NAIVE, "call"),
        "GETUTCDATE": (_Kind.NAIVE, "call"),
        "SYSUTCDATETIME": (_Kind.NAIVE, "call"),
        "CURRENT_TIMESTAMP": (_Kind.NAIVE, "bare"),
        "SYSDATETIMEOFFSET": (_Kind.TZ, "call"),
        "CURRENT_DATE": (_Kind.DATE, "bare"),
    },
    "duckdb": {
        **_ANSI,
        "GET_CURRENT_TIMESTAMP": (_Kind.TZ, "call"),
        "TODAY": (_Kind.DATE, "call"),
    },
}

# SQLite's date and time functions read the time value 'now' as the current UTC time.
_SQLITE_NOW_FUNCTIONS = frozenset(
    {"DATE", "TIME", "DATETIME", "JULIANDAY", "UNIXEPOCH", "STRFTIME", "TIMEDIFF"}
)
# PostgreSQL reads these input strings as the transaction's time when they are cast to a
# date/time type ('now'::timestamptz, timestamp 'today', CAST('yesterday' AS date)).
_PG_INPUTS = {"now": None, "today": 0, "tomorrow": 1, "yesterday": -1}
_PG_TYPES = frozenset(
    {
        TokenType.TIMESTAMP,
        TokenType.TIMESTAMPTZ,
        TokenType.TIMESTAMPLTZ,
        TokenType.DATE,
        TokenType.TIME,
        TokenType.TIMETZ,
        TokenType.DATETIME,
    }
)
_NOT_A_CALL = frozenset({TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER})


@dataclass(frozen=True)
class ClockRewrite:
    """A query with its clock frozen.

    ``sql``: the query with every clock construct replaced by a literal of the frozen time,
    in the dialect it was written in; ``functions``: the constructs found, as written
    (``"now()"``, ``"CURRENT_DATE"``, ``"datetime('now', '-1 hour')"``), each once.
    """

    sql: str
    functions: tuple[str, ...]

    @property
    def found(self) -> bool:
        return bool(self.functions)


@dataclass(frozen=True)
class _Hit:
    start: int  # first character replaced
    end: int  # one past the last character replaced
    written: str  # the whole construct as written, for ``functions``
    kind: _Kind
    zone: str | None = None
    days: int | None = None  # PG_INPUT: days from today's midnight; None: the instant itself


def clock_functions(sql: str, dialect: str | None) -> tuple[str, ...]:
    """The clock constructs in ``sql``, as written; () when the query does not read the clock."""
    return _dedupe(hit.written for hit in _find(sql, dialect))


def rewrite_clock(sql: str, dialect: str | None, at: datetime) -> ClockRewrite:
    """``sql`` with every clock construct replaced by ``at`` (aware; rendered in UTC)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"the frozen time must be timezone-aware, got {at}")
    family = _family(dialect)
    hits = _find(sql, dialect)
    parts: list[str] = []
    position = 0
    for hit in hits:
        parts.append(sql[position : hit.start])
        parts.append(_render(hit, family, at))
        position = hit.end
    parts.append(sql[position:])
    return ClockRewrite(sql="".join(parts), functions=_dedupe(hit.written for hit in hits))


def _family(dialect: str | None) -> str:
    name = (dialect or "").lower()
    return name if name in _FUNCTIONS else {"mariadb": "mysql", "doris": "mysql"}.get(name, "")


def _dedupe(items: object) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))  # type: ignore[call-overload]


def _tokens(sql: str, dialect: str | None) -> list[Token]:
    try:
        return Dialect.get_or_raise(dialect).tokenize(sql)
    except (SqlglotError, ValueError) as exc:
        raise ClockRewriteError(f"cannot read the query's tokens: {exc}") from exc


def _find(sql: str, dialect: str | None) -> list[_Hit]:
    family = _family(dialect)
    table = _FUNCTIONS.get(family, _ANSI)
    tokens = _tokens(sql, dialect)
    hits: list[_Hit] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name = token.text.upper()
        after_dot = i > 0 and tokens[i - 1].token_type == TokenType.DOT
        if family in ("postgres", "redshift") and token.token_type == TokenType.STRING:
            hit = _postgres_input(sql, tokens, i)
            if hit is not None:
                hits.append(hit)
        if token.token_type in _NOT_A_CALL or after_dot:
            i += 1
            continue
        call = i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.L_PAREN
        if family == "sqlite" and call and name in _SQLITE_NOW_FUNCTIONS:
            close = _closing(tokens, i + 1)
            written = _written(sql, token, tokens[close])
            for arg in _top_level(tokens, i + 1, close):
                if arg.token_type == TokenType.STRING and arg.text.lower() == "now":
                    hits.append(_Hit(arg.start, arg.end + 1, written, _Kind.TEXT_TS))
            i += 1  # nested calls are looked at too
            continue
        spec = table.get(name)
        if spec is None:
            i += 1
            continue
        kind, parens = spec
        if call and parens != "bare":
            close = _closing(tokens, i + 1)
            args = tokens[i + 2 : close]
            if kind is _Kind.EPOCH and args:  # UNIX_TIMESTAMP(x) converts x, reads no clock
                i += 1
                continue
            written = _written(sql, token, tokens[close])
            hits.append(
                _Hit(token.start, tokens[close].end + 1, written, kind, _zone(args, written))
            )
            i = close + 1
            continue
        if not call and parens != "call":
            hits.append(_Hit(token.start, token.end + 1, _written(sql, token, token), kind))
        i += 1
    return hits


def _postgres_input(sql: str, tokens: list[Token], i: int) -> _Hit | None:
    """``'now'::timestamptz``, ``timestamp 'today'``, ``CAST('yesterday' AS date)``."""
    token = tokens[i]
    word = token.text.lower()
    if word not in _PG_INPUTS:
        return None
    before = tokens[i - 1] if i > 0 else None
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    written: str | None = None
    if after is not None and after.token_type == TokenType.DCOLON and i + 2 < len(tokens):
        written = _written(sql, token, tokens[i + 2])
    elif before is not None and before.token_type in _PG_TYPES:
        written = _written(sql, before, token)
    elif (
        before is not None
        and before.token_type == TokenType.L_PAREN
        and i >= 2
        and tokens[i - 2].text.upper() == "CAST"
        and after is not None
        and after.token_type == TokenType.ALIAS
    ):
        close = _closing(tokens, i - 1)
        written = _written(sql, tokens[i - 2], tokens[close])
    if written is None:
        return None  # a plain string 'now', not a time
    return _Hit(token.start, token.end + 1, written, _Kind.PG_INPUT, days=_PG_INPUTS[word])


def _closing(tokens: list[Token], open_index: int) -> int:
    depth = 0
    for j in range(open_index, len(tokens)):
        kind = tokens[j].token_type
        if kind == TokenType.L_PAREN:
            depth += 1
        elif kind == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return j
    raise ClockRewriteError("unbalanced parentheses after a clock function")


def _top_level(tokens: list[Token], open_index: int, close: int) -> list[Token]:
    out: list[Token] = []
    depth = 0
    for token in tokens[open_index + 1 : close]:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0:
            out.append(token)
    return out


def _written(sql: str, first: Token, last: Token) -> str:
    return " ".join(sql[first.start : last.end + 1].split())


def _zone(args: list[Token], written: str) -> str | None:
    """A literal time-zone argument (BigQuery), None for none or a precision; else an error."""
    if not args or (len(args) == 1 and args[0].token_type == TokenType.NUMBER):
        return None
    if len(args) == 1 and args[0].token_type == TokenType.STRING:
        try:
            ZoneInfo(args[0].text)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ClockRewriteError(f"{written}: unknown time zone {args[0].text!r}") from exc
        return args[0].text
    raise ClockRewriteError(
        f"{written}: only a literal precision or time zone can be frozen; "
        "write the argument as a literal"
    )


def _sql_text(value: datetime, *, date: bool = True) -> str:
    """The wall-clock text of ``value`` every dialect's literals read: ``2026-03-01 23:30:00``
    (SQL literal syntax, not the package's RFC 3339 of ``core.clock``)."""
    text = value.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    return f"{text}.{value.microsecond:06d}" if value.microsecond else text


def _render(hit: _Hit, family: str, at: datetime) -> str:
    local = at.astimezone(ZoneInfo(hit.zone) if hit.zone else timezone.utc)
    stamp, day, clock = _sql_text(local), local.strftime("%Y-%m-%d"), _sql_text(local, date=False)
    kind = hit.kind
    if kind in (_Kind.TEXT_TS, _Kind.TEXT_DATE, _Kind.TEXT_TIME):  # SQLite: text values
        value = {_Kind.TEXT_TS: stamp, _Kind.TEXT_DATE: day, _Kind.TEXT_TIME: clock}[kind]
        return f"'{value}'"
    if kind is _Kind.PG_INPUT:  # a text the surrounding cast reads
        if hit.days is None:
            return f"'{stamp}+00:00'"
        midnight = datetime.combine(local.date(), datetime.min.time()) + timedelta(days=hit.days)
        return f"'{_sql_text(midnight)}+00:00'"
    if kind is _Kind.EPOCH:
        return str(int(at.timestamp()))
    if family == "mysql" and kind is _Kind.NAIVE:  # a DATETIME, as NOW() returns
        precision = "(6)" if local.microsecond else ""
        return f"CAST('{stamp}' AS DATETIME{precision})"
    if family in ("mysql", "bigquery"):  # typed literals
        literal = {
            _Kind.TZ: ("TIMESTAMP", f"{stamp}+00:00"),
            _Kind.NAIVE: ("DATETIME", stamp),
            _Kind.DATE: ("DATE", day),
            _Kind.TIME: ("TIME", clock),
            _Kind.TIMETZ: ("TIME", clock),
        }[kind]
        return f"{literal[0]} '{literal[1]}'"
    types = {
        "snowflake": {
            _Kind.TZ: "TIMESTAMP_TZ",
            _Kind.NAIVE: "TIMESTAMP_NTZ",
            _Kind.TIMETZ: "TIME",
        },
        "tsql": {_Kind.TZ: "DATETIMEOFFSET", _Kind.NAIVE: "DATETIME2", _Kind.TIMETZ: "TIME"},
    }.get(family, {_Kind.TZ: "TIMESTAMPTZ", _Kind.NAIVE: "TIMESTAMP", _Kind.TIMETZ: "TIMETZ"})
    value = {
        _Kind.TZ: f"{stamp}+00:00",
        _Kind.NAIVE: stamp,
        _Kind.DATE: day,
        _Kind.TIME: clock,
        _Kind.TIMETZ: f"{clock}+00:00" if types[_Kind.TIMETZ] == "TIMETZ" else clock,
    }[kind]
    type_name = types.get(kind, {_Kind.DATE: "DATE", _Kind.TIME: "TIME"}.get(kind, ""))
    return f"CAST('{value}' AS {type_name})"
