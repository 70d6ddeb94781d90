"""Is an alert query one read-only statement? Decided with a real SQL parser (sqlglot).

An alert query runs every few minutes with the connection's privileges, unattended. A
typo'd ``DELETE`` or a ``; DROP TABLE`` hidden after a comment must be refused when the
file is validated, not discovered in production. Regexes cannot see through comments,
string literals or CTEs, so we parse: the query must be exactly one statement whose tree
is a SELECT (or WITH ... SELECT, VALUES, a set operation, a parenthesised SELECT) with no
write anywhere inside it (``WITH x AS (DELETE ... RETURNING *) SELECT``), no
``SELECT ... INTO`` and no row locks (``FOR UPDATE``). The executor also runs queries in a
read-only transaction where the database supports it; this check is the first line.

The query is parsed in the dialect of its connection and in no other: a more lenient
dialect reads comments and strings differently from the database (``--x`` is no comment in
MySQL), so what it accepts is not what runs. A query the dialect cannot parse is refused.
Where validation does not know the connection's type, the generic dialect is used, and the
executor checks the query again in the live connection's dialect before running it. Names
are resolved as the database resolves them (``sqllex``) and function calls are refused by
family (``sqlfunctions``). This check is the first of several layers; docs/security.md says
which layer guarantees what.

Parsing costs about half a millisecond per query, most of the time of validating a large
file. Files of thousands of alerts are mostly generated from a few templates whose queries
differ only in literals (``region = 'eu'``, ``> 100``), so an *accepted* verdict is also
kept for the query's literal shape (:func:`literal_shape`) and reused, without parsing, for
queries of the same shape. Refusals are never reused: their messages quote the query.

Accepted verdicts can also be kept across loads of a file (:func:`verdicts_kept_in`): the
first parse after an edit then parses only the edited queries, and imports sqlglot (the
tree walk lives in :mod:`sqltree`) only if there is one. A kept verdict is trusted only from
a file written by this same checker: the same rules (this module and ``sqltree``, hashed)
and the same sqlglot; anything else is checked again.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import importlib.util
import json
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlsentinel_airflow.core.atomicfile import write_atomically

__all__ = [
    "READ_ONLY_RULE",
    "VERDICTS_FORMAT",
    "QueryCheck",
    "UnsafeQuery",
    "check_query",
    "dialect_for_conn_type",
    "dialect_for_url",
    "literal_shape",
    "verdicts_file",
    "verdicts_kept_in",
]

log = logging.getLogger(__name__)

READ_ONLY_RULE = "alert queries must be a single read-only SELECT"

_DIALECTS = {
    "postgres": "postgres",
    "postgresql": "postgres",
    "psycopg2": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "gcpbigquery": "bigquery",
    "google_cloud_platform": "bigquery",
    "redshift": "redshift",
    "trino": "trino",
    "presto": "presto",
    "duckdb": "duckdb",
    "mssql": "tsql",
    "sqlserver": "tsql",
    "tsql": "tsql",
    "oracle": "oracle",
    "databricks": "databricks",
    "spark": "spark",
    "clickhouse": "clickhouse",
    "athena": "athena",
}


@dataclass(frozen=True)
class QueryCheck:
    """A query that passed: the sqlglot dialect that parsed it (None = generic SQL)."""

    dialect: str | None


class UnsafeQuery(ValueError):
    """The query is not a single read-only statement, or does not parse."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def dialect_for_conn_type(conn_type: str | None) -> str | None:
    """The sqlglot dialect of an Airflow connection type (``postgres`` -> ``postgres``)."""
    if not conn_type:
        return None
    return _DIALECTS.get(conn_type.strip().lower().replace("-", "_"))


def dialect_for_url(url: str) -> str | None:
    """The sqlglot dialect of a SQLAlchemy URL's scheme (``mysql+mysqldb://`` -> ``mysql``)."""
    scheme, sep, _rest = url.strip().partition("://")
    if not sep:
        return None
    return dialect_for_conn_type(scheme.split("+", 1)[0])


def check_query(sql: str, dialect: str | None = None) -> QueryCheck:
    """Accept one read-only statement or raise :class:`UnsafeQuery` naming what it is."""
    kept = _KEPT.get()
    key = ""
    if kept is not None:
        key = _verdict_key(sql, dialect)
        used = kept.known.get(key, _UNKNOWN)
        if used is None or used == dialect:  # a kept verdict names no other dialect
            kept.seen[key] = used
            return QueryCheck(used)
    dialect_used, problem = _check_cached(sql, dialect)
    if problem is not None:
        raise UnsafeQuery(*problem)
    if kept is not None:
        kept.seen[key] = dialect_used
    return QueryCheck(dialect_used)


@functools.lru_cache(maxsize=4096)
def _check_cached(
    sql: str, dialect: str | None
) -> tuple[str | None, tuple[str, str | None] | None]:
    """(dialect used, None) or (dialect, (message, hint)); cached, as files repeat queries."""
    if not sql.strip():
        return dialect, ("query is empty; " + READ_ONLY_RULE, None)
    shape = literal_shape(sql)
    if shape is not None:
        accepted = _ACCEPTED_SHAPES.get((shape, dialect), _UNKNOWN)
        if accepted is not _UNKNOWN:
            return accepted, None
    from sqlsentinel_airflow.core.config.sqltree import check_parsed  # imports sqlglot

    used, problem = check_parsed(sql, dialect)
    if shape is not None and problem is None:
        if len(_ACCEPTED_SHAPES) >= _MAX_SHAPES:
            _ACCEPTED_SHAPES.clear()
        _ACCEPTED_SHAPES[(shape, dialect)] = used
    return used, problem


# --- literal shapes: one parse for queries that differ only in literals --------------------
#
# Why an accepted verdict holds for every query of the same shape: two such queries differ
# only in the digits of unsigned numbers and in the text between the quotes of plain '...'
# strings. Outside those strings a shape has nothing that opens another lexical context in
# any dialect (comments, quoted identifiers, dollar quotes, backslash escapes, prefixed
# strings such as E'' or N'', triple quotes), so sqlglot's tokenizer cuts both queries into
# tokens of the same types in the same order. The parser picks statement kinds, INTO,
# locking clauses and function names from token types and identifiers, never from a
# literal's text, and never parses a string's text as SQL. Three exceptions make a query
# shapeless: a literal followed by `(` (after a dot sqlglot takes any token as a function
# name, so `x.'lo_import'(1)` calls lo_import), a string after a dot (`x.'lo_get'` is a field
# name, which PostgreSQL may read as a call) and the word INTERVAL (the text of '1 day'
# carries a unit, which changes how the tokens after it are read).
# tests/unit/core/config/test_sqlcheck_shapes.py compares shape verdicts with full parses.

_UNKNOWN: Any = object()
_MAX_SHAPES = 4096
_ACCEPTED_SHAPES: dict[tuple[str, str | None], str | None] = {}
_LITERAL = re.compile(r"'[^'\\]*'|(?<![\w.@:?$#])[0-9]+(?:\.[0-9]+)?(?![\w.])")
_NO_SHAPE_OUTSIDE_STRINGS = re.compile(
    r"""[\\"`\[\]{}$#;']|--|/\*|\*/|//|\binterval\b|[\x01-\x03]\s*\(|\.\s*\x01""", re.I
)
_NO_SHAPE_ANYWHERE = re.compile(r"'''|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_STRING_MARK, _INTEGER_MARK, _DECIMAL_MARK = "\x01", "\x02", "\x03"


def literal_shape(sql: str) -> str | None:
    """``sql`` with its plain literals replaced by markers; None where that would not be sound.

    ``SELECT a FROM t WHERE r = 'eu' AND n > 10`` and ``... r = 'us' AND n > 7`` have the
    same shape. None when a literal's text could change how the query parses (see the
    comment above): comments, quoted identifiers, prefixed or escaped strings, ``$``, ``;``,
    ``INTERVAL``, a literal called like a function and control characters.
    """
    if _NO_SHAPE_ANYWHERE.search(sql):
        return None
    prefixed = False

    def mark(match: re.Match[str]) -> str:
        nonlocal prefixed
        text = match.group()
        if text[0] != "'":
            return _DECIMAL_MARK if "." in text else _INTEGER_MARK
        start = match.start()
        if start and (sql[start - 1].isalnum() or sql[start - 1] in "_&"):
            prefixed = True  # E'..', N'..', U&'..', _utf8'..', q'[..]': not plain strings
        return _STRING_MARK

    shape = _LITERAL.sub(mark, sql)
    if prefixed or _NO_SHAPE_OUTSIDE_STRINGS.search(shape):
        return None
    return shape


# --- verdicts kept across loads: after an edit, only the edited queries are parsed ---------

VERDICTS_FORMAT = 1


@dataclass
class _KeptVerdicts:
    known: dict[str, str | None]  # verdict key -> dialect used, read from the file
    seen: dict[str, str | None] = field(default_factory=dict)  # accepted in this load


_KEPT: contextvars.ContextVar[_KeptVerdicts | None] = contextvars.ContextVar(
    "sqlsentinel_kept_verdicts", default=None
)


def verdicts_file(directory: Path, source: Path) -> Path:
    """Where the accepted verdicts of one alerts file are kept: ``verdicts-<sha256>.json``."""
    name = hashlib.sha256(str(source.absolute()).encode("utf-8", "surrogatepass")).hexdigest()
    return directory / f"verdicts-{name}.json"


@contextlib.contextmanager
def verdicts_kept_in(path: Path | None) -> Iterator[None]:
    """Inside the block, :func:`check_query` reuses the accepted verdicts kept in ``path``;
    after it, ``path`` keeps the verdicts of the queries accepted in the block (so verdicts
    of queries no longer in the file are dropped). Refusals are never kept.

    The file is a cache: unreadable, foreign or stale (another checker) means empty, and a
    failed write is logged and ignored. It is written with mode 0600, and a file another
    user owns or others can write is not trusted. ``None`` keeps nothing. A block that
    raises, or accepts nothing (the file did not load), leaves the file as it was.
    """
    if path is None:
        yield
        return
    kept = _KeptVerdicts(_read_verdicts(path))
    token = _KEPT.set(kept)
    try:
        yield
    finally:
        _KEPT.reset(token)
    if kept.seen and kept.seen != kept.known:
        _write_verdicts(path, kept.seen)


def _verdict_key(sql: str, dialect: str | None) -> str:
    text = f"{dialect or ''}\x00{sql}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()[:40]


@functools.cache
def checker_id() -> str:
    """A hash of what decides a verdict: the rules' source and the sqlglot release."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("sqlcheck.py", "sqltree.py", "sqlfunctions.py", "sqllex.py"):
        digest.update((here / name).read_bytes())
    spec = importlib.util.find_spec("sqlglot")  # found, not imported
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    version = Path(folders[0]) / "_version.py" if folders else None
    if version is not None and version.is_file():
        digest.update(version.read_bytes())
    elif spec is not None and spec.origin:
        stat = os.stat(spec.origin)
        digest.update(f"{spec.origin}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _read_verdicts(path: Path) -> dict[str, str | None]:
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            getuid = getattr(os, "getuid", None)
            if (getuid is not None and stat.st_uid != getuid()) or stat.st_mode & 0o022:
                log.warning("sqlsentinel: ignoring %s: another user owns it or may write it", path)
                return {}
            data = json.loads(handle.read())
        checker = checker_id()
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.debug("sqlsentinel: SQL verdicts in %s not used: %s", path, exc)
        return {}
    if not isinstance(data, dict) or data.get("format") != VERDICTS_FORMAT:
        return {}
    accepted = data.get("accepted")
    if data.get("checker") != checker or not isinstance(accepted, dict):
        return {}
    return {
        key: used
        for key, used in accepted.items()
        if isinstance(key, str) and (used is None or isinstance(used, str))
    }


def _write_verdicts(path: Path, accepted: dict[str, str | None]) -> None:
    try:
        checker = checker_id()  # reads the rules' source: absent in a sourceless install
        text = json.dumps(
            {"format": VERDICTS_FORMAT, "checker": checker, "accepted": accepted},
            separators=(",", ":"),
        )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomically(path, text)  # mode 0600
    except OSError as exc:
        log.info("sqlsentinel: could not keep SQL verdicts in %s: %s", path, exc)
