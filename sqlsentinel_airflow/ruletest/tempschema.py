"""``sqlsentinel test --conn ID``: run the tests on a real database, in a temporary schema.

For a query the embedded engine cannot run (docs/rule-tests.md, "Embedded engine or a real
database"). The connection is resolved like an alert's (``execution.resolve_db_hook``). The
fixtures go into a schema made for this run (``sst_test_<random>``; on MySQL/MariaDB, where a
schema is a database, a database of that name), created when the engine opens and dropped
with everything in it when it closes, also after a failure. The alert's query, its clock
frozen in its own dialect, reads the fixtures there: its unqualified table names are
qualified with the schema (sqlglot; names of its own CTEs are left alone).

The query then runs through the same guarded runner as a real evaluation (``QueryRunner``:
the read-only SQL check, one statement, a read-only transaction, the statement timeout).
The runner's least-privilege refusal is waived (``allow_privileged=True``): a login that
may create a schema is privileged by definition, and this connection is a scratch database
the test writes itself - point ``--conn`` at one, never at production.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlsentinel_airflow.errors import SentinelError
from sqlsentinel_airflow.ruletest.engine import Rows, frozen
from sqlsentinel_airflow.ruletest.loader import LoadedTable

__all__ = ["ConnectionEngine", "connection_engine", "qualify_tables"]

_SUPPORTED = {"postgres": "postgres", "mysql": "mysql"}
_TIMEOUT = timedelta(minutes=1)


def connection_engine(conn_id: str) -> tuple[Callable[[], ConnectionEngine], str]:
    """(a factory of engines on ``conn_id``, the SQL dialect of its database)."""
    from sqlsentinel_airflow.core.config.sqlcheck import dialect_for_conn_type
    from sqlsentinel_airflow.execution import conn_type_of

    dialect = dialect_for_conn_type(conn_type_of(conn_id))
    family = _SUPPORTED.get(dialect or "")
    if family is None:
        raise SentinelError(
            f"--conn {conn_id}: rule tests run on PostgreSQL or MySQL/MariaDB connections, "
            f"not {dialect or 'this connection type'} (without --conn they run on the "
            "embedded engine)"
        )
    return (lambda: ConnectionEngine(conn_id, family)), family


def qualify_tables(sql: str, dialect: str, schema: str) -> str:
    """``sql`` with every table that names no schema read from ``schema`` (CTEs excepted)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read=dialect)
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") and table.name and table.name.lower() not in ctes:
            table.set("db", exp.to_identifier(schema, quoted=True))
    return tree.sql(dialect=dialect)


class ConnectionEngine:
    """A temporary schema on ``conn_id``'s database: fixtures in, queries through the runner."""

    def __init__(self, conn_id: str, dialect: str) -> None:
        from sqlsentinel_airflow.execution import resolve_db_hook

        self.conn_id = conn_id
        self.dialect = dialect
        self.schema = f"sst_test_{uuid.uuid4().hex[:10]}"
        self._hook = resolve_db_hook(conn_id)
        self._loaded: dict[str, LoadedTable] = {}
        self._conn: Any = self._hook.get_conn()
        kind = "DATABASE" if dialect == "mysql" else "SCHEMA"
        self._write([f"CREATE {kind} {self._quote(self.schema)}"])

    def _quote(self, name: str) -> str:
        from sqlglot import exp

        return exp.to_identifier(name, quoted=True).sql(dialect=self.dialect)

    def _table(self, name: str) -> str:
        return f"{self._quote(self.schema)}.{self._quote(name)}"

    def _write(self, statements: list[str], rows: tuple[str, list[Any]] | None = None) -> None:
        cursor = self._conn.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
            if rows is not None:
                cursor.executemany(rows[0], rows[1])
            self._conn.commit()
        except Exception as exc:
            self._conn.rollback()
            raise SentinelError(
                f"--conn {self.conn_id}: loading the fixtures failed: {exc}"
            ) from exc
        finally:
            cursor.close()

    def load(self, tables: Mapping[str, LoadedTable]) -> None:
        from sqlglot import exp

        for name in [n for n in self._loaded if n not in tables]:
            self._write([f"DROP TABLE {self._table(name)}"])
            del self._loaded[name]
        placeholder = getattr(self._hook, "placeholder", "%s") or "%s"
        for name, table in tables.items():
            if self._loaded.get(name) is table:
                continue
            columns = ", ".join(
                f"{self._quote(c)} {exp.DataType.build(t, dialect='duckdb').sql(dialect=self.dialect)}"
                for c, t in table.columns
            )
            statements = [
                f"DROP TABLE IF EXISTS {self._table(name)}",
                f"CREATE TABLE {self._table(name)} ({columns})",
            ]
            marks = ", ".join(placeholder for _ in table.columns)
            insert = (
                f"INSERT INTO {self._table(name)} VALUES ({marks})",
                [list(r) for r in table.rows],
            )
            self._write(statements, insert if table.rows else None)
            self._loaded[name] = table

    def run(self, sql: str, dialect: str, at: datetime, max_rows: int) -> Rows:
        from sqlsentinel_airflow.execution import QueryRunner

        text = qualify_tables(frozen(sql, dialect, at), dialect, self.schema)
        runner = QueryRunner(self._hook, timeout=_TIMEOUT, max_rows=max_rows, allow_privileged=True)
        result = runner.run(text)  # QueryError: the evaluation records it, as a real run does
        return Rows(list(result.columns), list(result.rows))

    def close(self) -> None:
        """Drop the schema and everything in it; then close the connection."""
        kind = "DATABASE" if self.dialect == "mysql" else "SCHEMA"
        cascade = "" if self.dialect == "mysql" else " CASCADE"
        try:
            self._write([f"DROP {kind} IF EXISTS {self._quote(self.schema)}{cascade}"])
        finally:
            self._conn.close()
