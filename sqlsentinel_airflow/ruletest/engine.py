"""Where a rule test's query runs: the embedded engine (DuckDB, in memory) or a real database.

Both load the step's fixture tables, run the alert's query with its clock frozen, and return
the columns and rows, or raise ``QueryError`` for a query the database rejects (a real run
records that as an ERROR evaluation, and so does the test). The embedded engine raises
``EngineUnsupported`` instead for SQL it cannot run the way the alert's database would: the
test then errors, naming the construct, and suggests ``--conn``.

:class:`EmbeddedEngine` keeps one DuckDB database per test and (re)creates a table only when
the step's fixture for it changes. The session time zone is UTC, as the frozen clock is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlsentinel_airflow.core.sqlclock import ClockRewriteError, rewrite_clock
from sqlsentinel_airflow.errors import QueryError, SentinelError
from sqlsentinel_airflow.ruletest.loader import LoadedTable
from sqlsentinel_airflow.ruletest.translate import EngineUnsupported, to_duckdb

__all__ = ["EmbeddedEngine", "Engine", "Rows", "quote"]


@dataclass(frozen=True)
class Rows:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


class Engine(Protocol):
    def load(self, tables: Mapping[str, LoadedTable]) -> None: ...
    def run(self, sql: str, dialect: str, at: Any, max_rows: int) -> Rows: ...
    def close(self) -> None: ...


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def frozen(sql: str, dialect: str, at: Any) -> str:
    """The query with its clock frozen at ``at``; EngineUnsupported when that cannot be done."""
    try:
        return rewrite_clock(sql, dialect, at).sql
    except ClockRewriteError as exc:
        raise EngineUnsupported("a clock function", str(exc)) from exc


class EmbeddedEngine:
    """An in-memory DuckDB database holding the fixtures of one test."""

    def __init__(self) -> None:
        try:
            import duckdb
        except ImportError:
            raise SentinelError(
                "the embedded engine needs DuckDB: pip install 'sqlsentinel-airflow[ruletest]' "
                "(or run the tests on a real database with --conn CONN_ID)"
            ) from None

        self._duckdb = duckdb
        self._db = duckdb.connect(":memory:")
        self._db.execute("SET TimeZone = 'UTC'")
        self._loaded: dict[str, LoadedTable] = {}
        self._translated: dict[tuple[str, str], str] = {}

    def load(self, tables: Mapping[str, LoadedTable]) -> None:
        for name in [n for n in self._loaded if n not in tables]:
            self._db.execute(f"DROP TABLE {quote(name)}")
            del self._loaded[name]
        for name, table in tables.items():
            if self._loaded.get(name) is table:
                continue
            columns = ", ".join(f"{quote(c)} {t}" for c, t in table.columns)
            self._db.execute(f"CREATE OR REPLACE TABLE {quote(name)} ({columns})")
            if table.rows:
                marks = ", ".join("?" for _ in table.columns)
                self._db.executemany(
                    f"INSERT INTO {quote(name)} VALUES ({marks})", [list(r) for r in table.rows]
                )
            self._loaded[name] = table

    def run(self, sql: str, dialect: str, at: Any, max_rows: int) -> Rows:
        text = frozen(sql, dialect, at)
        key = (text, dialect)
        translated = self._translated.get(key)
        if translated is None:
            translated = self._translated[key] = to_duckdb(text, dialect)
        try:
            cursor = self._db.execute(translated)
            rows = cursor.fetchmany(max_rows + 1)
        except self._duckdb.Error as exc:
            message = str(exc).split("\n", 1)[0]
            if _unsupported(exc, message):
                raise EngineUnsupported("this query", f"DuckDB says {message!r}") from exc
            raise QueryError(f"the query failed in the embedded engine: {message}") from exc
        columns = [d[0] for d in cursor.description or ()]
        return Rows(columns, rows)

    def close(self) -> None:
        self._db.close()


def _unsupported(exc: Exception, message: str) -> bool:
    """DuckDB lacks the construct (a function, a syntax), rather than the query being wrong."""
    name = type(exc).__name__
    if name in ("ParserException", "NotImplementedException"):
        return True
    return name == "CatalogException" and "Function with name" in message
