"""SQL safety corpus (docs/reliability.md): writes are refused or fail read-only; reads all run.

Each write statement targets a canary (a table ``canary`` with one row, plus a sequence, a
function or procedure that writes, on the real PostgreSQL, MariaDB and SQLite). It must be
refused by ``check_query`` in its dialect, or, if validation lets it through (a function
call cannot be judged from its name), fail with a QueryError inside QueryRunner's read-only
transaction on the real database. Either way the canary is checked afterwards: the write
must not have happened. Every legitimate read must pass ``check_query`` and run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.config import UnsafeQuery, check_query
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

EVIL_FILE = Path("/tmp/sqlsentinel-hardening-evil.out")

COMMON_WRITES = [
    "DELETE FROM canary",
    "UPDATE canary SET v = 'pwned'",
    "INSERT INTO canary VALUES (2, 'pwned')",
    "INSERT INTO canary SELECT id + 1, v FROM canary",
    "DROP TABLE canary",
    "CREATE TABLE evil (a INT)",
    "CREATE VIEW evil AS SELECT 1 AS a",
    "CREATE INDEX evil_idx ON canary (id)",
    "ALTER TABLE canary ADD COLUMN evil INT",
    "SELECT 1 AS status; DELETE FROM canary",
    "SELECT 'OK' AS status; -- harmless\nDROP TABLE canary",
    "SELECT 1 AS status /* ; */ ; UPDATE canary SET v = 'pwned'",
    "/* looks like a comment */ DELETE FROM canary -- trailing",
    "SELECT 1 AS status -- hidden\n; DELETE FROM canary",
    "DROP TABLE IF EXISTS canary; SELECT 1 AS status",
    "BEGIN; DELETE FROM canary; COMMIT",
    "SELECT 'x; DELETE FROM canary' AS status; DELETE FROM canary",
]

POSTGRES_WRITES = [
    "WITH d AS (DELETE FROM canary RETURNING *) SELECT 'OK' AS status FROM d",
    "WITH u AS (UPDATE canary SET v = 'pwned' RETURNING id) SELECT id FROM u",
    "WITH i AS (INSERT INTO canary VALUES (3, 'pwned') RETURNING id) SELECT id FROM i",
    "SELECT * INTO evil FROM canary",
    "SELECT * FROM canary FOR UPDATE",
    "SELECT * FROM canary FOR SHARE",
    "TRUNCATE canary",
    f"COPY canary TO '{EVIL_FILE}'",
    "COPY canary FROM PROGRAM 'echo 9,pwned'",
    "CALL evil_proc()",
    "DO $$ BEGIN DELETE FROM canary; END $$",
    "SELECT evil_fn() AS status",
    "SELECT nextval('evil_seq') AS status",
    "SELECT setval('evil_seq', 100) AS status",
    "SELECT set_config('transaction_read_only', 'off', true), evil_fn() AS status",
    "SELECT lo_import('/etc/hostname') AS status",
    "GRANT SELECT ON canary TO PUBLIC",
    "SET default_transaction_read_only = off",
    "LOCK TABLE canary",
    "EXPLAIN ANALYZE DELETE FROM canary",
    "PREPARE p AS DELETE FROM canary",
    "CREATE TEMP TABLE evil AS SELECT 1 AS a",
    "VACUUM canary",
    "REFRESH MATERIALIZED VIEW evil_mv",
]

MYSQL_WRITES = [
    "REPLACE INTO canary VALUES (1, 'pwned')",
    "INSERT INTO canary VALUES (1, 'x') ON DUPLICATE KEY UPDATE v = 'pwned'",
    "DELETE canary FROM canary JOIN (SELECT 1 AS id) k ON k.id = canary.id",
    "SELECT id INTO @x FROM canary",
    f"SELECT * FROM canary INTO OUTFILE '{EVIL_FILE}'",
    "SELECT * FROM canary FOR UPDATE",
    "SELECT * FROM canary LOCK IN SHARE MODE",
    "CALL evil_proc()",
    "SELECT evil_fn() AS status",
    "TRUNCATE TABLE canary",
    "RENAME TABLE canary TO evil",
    "SET SESSION TRANSACTION READ WRITE",
    "SET @@session.transaction_read_only = 0",
    f"LOAD DATA INFILE '{EVIL_FILE}' INTO TABLE canary",
    "HANDLER canary OPEN",
    "LOCK TABLES canary WRITE",
    "DO evil_fn()",
    "UPDATE canary SET v = 'pwned' ORDER BY id LIMIT 1",
    # MySQL/MariaDB execute the text of /*! */ and /*M! */ comments; the parser skips them
    f"SELECT 'OK' AS status FROM canary /*! INTO OUTFILE '{EVIL_FILE}' */",
    "SELECT v AS status FROM canary /*!50000 FOR UPDATE */",
    "SELECT 'OK' AS status /*M! , evil_fn() */",
]

SQLITE_WRITES = [
    "WITH d AS (SELECT 1) DELETE FROM canary",
    "REPLACE INTO canary VALUES (1, 'pwned')",
    "INSERT OR REPLACE INTO canary VALUES (1, 'pwned')",
    "UPDATE OR IGNORE canary SET v = 'pwned'",
    f"ATTACH DATABASE '{EVIL_FILE}' AS evil",
    "PRAGMA query_only = 0",
    "PRAGMA user_version = 7",
    f"VACUUM INTO '{EVIL_FILE}'",
    "ANALYZE",
    "REINDEX",
    "CREATE TRIGGER evil AFTER INSERT ON canary BEGIN DELETE FROM canary; END",
    "DELETE FROM canary RETURNING *",
    "CREATE TEMP TABLE evil AS SELECT 1 AS a",
]

POSTGRES_READS = [
    "SELECT id, ROW_NUMBER() OVER (PARTITION BY v ORDER BY id) AS rn FROM canary",
    "WITH s AS (SELECT COUNT(*) AS n FROM canary) SELECT n, 'OK' AS status FROM s",
    "SELECT '42'::int AS n, now()::date AS d",
    "SELECT DISTINCT ON (v) v, id FROM canary ORDER BY v, id",
    "SELECT id FROM canary ORDER BY id LIMIT 1 OFFSET 0",
    """SELECT '{"a": {"b": 1}}'::jsonb -> 'a' ->> 'b' AS b""",
    "SELECT x FROM generate_series(1, 3) AS g(x) WHERE x = ANY(ARRAY[1, 2])",
    "SELECT COUNT(*) FILTER (WHERE id > 0) AS n FROM canary",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT MAX(n) FROM r",
    "SELECT c.id, l.x FROM canary c CROSS JOIN LATERAL (SELECT c.id * 2 AS x) l",
    "SELECT $$dollar; DELETE FROM canary$$ AS status",
    "SELECT now() - interval '1 day' AS yesterday",
    "TABLE canary",
]

MYSQL_READS = [
    "SELECT `id`, `v` FROM `canary`",
    "SELECT id FROM canary ORDER BY id LIMIT 1 OFFSET 0",
    "SELECT id FROM canary LIMIT 0, 1",
    "SELECT IF(COUNT(*) > 0, 'ALERT', 'OK') AS status FROM canary",
    """SELECT JSON_VALUE('{"a": {"b": 1}}', '$.a.b') AS b""",
    "SELECT id, RANK() OVER (ORDER BY id DESC) AS r FROM canary",
    "WITH s AS (SELECT COUNT(*) AS n FROM canary) SELECT n FROM s",
    "SELECT GROUP_CONCAT(v SEPARATOR ',') AS vs FROM canary",
    "SELECT DATE_SUB(NOW(), INTERVAL 1 DAY) AS yesterday",
    "SELECT 'x; DELETE FROM canary' AS status",
]

SQLITE_READS = [
    "SELECT julianday('now') - julianday('2026-01-01') AS days",
    """SELECT json_extract('{"a": {"b": 1}}', '$.a.b') AS b""",
    """SELECT '{"a": 1}' ->> '$.a' AS a""",
    "SELECT id, SUM(id) OVER (ORDER BY id) AS running FROM canary",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT MAX(n) FROM r",
    "SELECT strftime('%Y', 'now') AS y, IIF(1 > 0, 'ALERT', 'OK') AS status",
    "SELECT id FROM canary ORDER BY id LIMIT 1 OFFSET 0",
    "SELECT \"id\" FROM [canary] WHERE `v` = 'orig'",
]


@dataclass
class Backend:
    """One real database with the canary objects and a way to read their state back."""

    dialect: str
    conn_id: str
    reset: Callable[[], None]
    snapshot: Callable[[], Any]


def runner(conn_id: str) -> QueryRunner:
    return QueryRunner(resolve_db_hook(conn_id), timeout=timedelta(seconds=10), max_rows=1000)


def define_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, **fields: Any) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
    return conn_id


PG_SETUP = [
    "DROP TABLE IF EXISTS canary, evil CASCADE",
    "DROP MATERIALIZED VIEW IF EXISTS evil_mv",
    "DROP VIEW IF EXISTS evil",
    "DROP SEQUENCE IF EXISTS evil_seq",
    "CREATE TABLE canary (id INT PRIMARY KEY, v TEXT)",
    "INSERT INTO canary VALUES (1, 'orig')",
    "CREATE SEQUENCE evil_seq",
    "CREATE MATERIALIZED VIEW evil_mv AS SELECT 1 AS a",
    "CREATE OR REPLACE FUNCTION evil_fn() RETURNS TEXT LANGUAGE plpgsql AS "
    "$$ BEGIN DELETE FROM canary; RETURN 'OK'; END $$",
    "CREATE OR REPLACE PROCEDURE evil_proc() LANGUAGE plpgsql AS "
    "$$ BEGIN DELETE FROM canary; END $$",
    "SELECT lo_unlink(oid) FROM pg_largeobject_metadata",
]
PG_SNAPSHOT = """
SELECT (SELECT json_agg(c ORDER BY id) FROM canary c)::text,
       to_regclass('evil') IS NULL, (SELECT last_value FROM evil_seq),
       (SELECT count(*) FROM pg_largeobject_metadata),
       (SELECT count(*) FROM pg_indexes WHERE indexname = 'evil_idx'),
       (SELECT string_agg(column_name, ',') FROM information_schema.columns
        WHERE table_name = 'canary'),
       has_table_privilege('public', 'canary', 'SELECT')
"""


@pytest.fixture
def postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Backend:
    url = sa.engine.make_url(pg_url)
    conn_id = define_conn(
        monkeypatch, "hardening_pg", conn_type="postgres", host="127.0.0.1", port=5432,
        login="postgres", schema=url.database,
    )  # fmt: skip
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)

    def reset() -> None:
        with engine.connect() as conn:
            for statement in PG_SETUP:
                conn.exec_driver_sql(statement.replace("%", "%%"))

    def snapshot() -> Any:
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(PG_SNAPSHOT).one())

    return Backend("postgres", conn_id, reset, snapshot)


MYSQL_SETUP = [
    "DROP TABLE IF EXISTS canary, evil",
    "DROP VIEW IF EXISTS evil",
    "DROP FUNCTION IF EXISTS evil_fn",
    "DROP PROCEDURE IF EXISTS evil_proc",
    "CREATE TABLE canary (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB",
    "INSERT INTO canary VALUES (1, 'orig')",
    "CREATE FUNCTION evil_fn() RETURNS VARCHAR(2) MODIFIES SQL DATA "
    "BEGIN DELETE FROM canary; RETURN 'OK'; END",
    "CREATE PROCEDURE evil_proc() MODIFIES SQL DATA BEGIN DELETE FROM canary; END",
]
MYSQL_SNAPSHOT = """
SELECT (SELECT GROUP_CONCAT(CONCAT(id, ':', v) ORDER BY id) FROM canary),
       (SELECT COUNT(*) FROM information_schema.tables
        WHERE table_schema = DATABASE() AND table_name = 'evil'),
       (SELECT GROUP_CONCAT(column_name ORDER BY column_name) FROM information_schema.columns
        WHERE table_schema = DATABASE() AND table_name = 'canary')
"""


@pytest.fixture
def mysql(mysql_url: str, monkeypatch: pytest.MonkeyPatch) -> Backend:
    url = sa.engine.make_url(mysql_url)
    conn_id = define_conn(
        monkeypatch, "hardening_mysql", conn_type="mysql", host="127.0.0.1", port=3306,
        login="root", schema=url.database,
    )  # fmt: skip
    engine = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)

    def reset() -> None:
        with engine.connect() as conn:
            for statement in MYSQL_SETUP:
                conn.exec_driver_sql(statement)

    def snapshot() -> Any:
        with engine.connect() as conn:
            return tuple(conn.exec_driver_sql(MYSQL_SNAPSHOT).one())

    return Backend("mysql", conn_id, reset, snapshot)


@pytest.fixture
def sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Backend:
    path = tmp_path / "warehouse.db"
    conn_id = define_conn(monkeypatch, "hardening_sqlite", conn_type="sqlite", host=str(path))

    def reset() -> None:
        with sqlite3.connect(path) as conn:
            conn.executescript(
                "DROP TABLE IF EXISTS canary; DROP TABLE IF EXISTS evil; DROP TRIGGER IF EXISTS "
                "evil; CREATE TABLE canary (id INTEGER PRIMARY KEY, v TEXT); "
                "INSERT INTO canary VALUES (1, 'orig'); PRAGMA user_version = 0;"
            )
        conn.close()

    def snapshot() -> Any:
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT id, v FROM canary ORDER BY id").fetchall()
            schema = conn.execute("SELECT type, name FROM sqlite_master ORDER BY name").fetchall()
            version = conn.execute("PRAGMA user_version").fetchone()
            return (rows, schema, version)
        finally:
            conn.close()

    return Backend("sqlite", conn_id, reset, snapshot)


@dataclass
class WriteAudit:
    """What became of each write: refused, failed read-only, or ran (and was rolled back)."""

    broken: list[str]
    refused: int
    failed_read_only: int
    ran_rolled_back: list[str]


def audit_writes(backend: Backend, statements: list[str]) -> WriteAudit:
    """Run every statement the way an alert would; ``broken`` lists writes that happened."""
    audit = WriteAudit([], 0, 0, [])
    for sql in statements:
        backend.reset()
        EVIL_FILE.unlink(missing_ok=True)
        before = backend.snapshot()
        try:
            check_query(sql, backend.dialect)
        except UnsafeQuery as exc:
            assert "read-only SELECT" in exc.message or "does not parse" in exc.message, exc
            audit.refused += 1
            continue
        try:
            runner(backend.conn_id).run(sql)
        except QueryError:
            audit.failed_read_only += 1
        else:
            audit.ran_rolled_back.append(sql)
        after = backend.snapshot()
        if after != before or EVIL_FILE.exists():
            audit.broken.append(f"WROTE: {sql!r}: {before!r} -> {after!r}")
    EVIL_FILE.unlink(missing_ok=True)
    return audit


def audit_reads(backend: Backend, statements: list[str]) -> list[str]:
    backend.reset()
    broken: list[str] = []
    for sql in statements:
        try:
            check_query(sql, backend.dialect)
            rows = runner(backend.conn_id).run(sql)
        except (UnsafeQuery, QueryError) as exc:
            broken.append(f"{sql!r}: {exc}")
            continue
        if not rows.rows:
            broken.append(f"{sql!r}: no rows")
    return broken


def test_the_corpus_is_large_enough() -> None:
    writes = 3 * len(COMMON_WRITES) + len(POSTGRES_WRITES + MYSQL_WRITES + SQLITE_WRITES)
    reads = len(POSTGRES_READS + MYSQL_READS + SQLITE_READS)
    assert writes >= 60 and reads >= 30


@pytest.mark.postgres
def test_no_write_reaches_postgresql(postgres: Backend) -> None:
    audit = audit_writes(postgres, COMMON_WRITES + POSTGRES_WRITES)

    assert audit.broken == []
    # evil_fn ran read-only and failed; nextval, setval, set_config are refused by name now
    assert audit.failed_read_only == 1
    # lo_import is not stopped by a read-only transaction (it reads a server file as a
    # superuser login), so validation refuses it and its kind by name.
    assert audit.ran_rolled_back == []


@pytest.mark.mysql
def test_no_write_reaches_mariadb(mysql: Backend) -> None:
    audit = audit_writes(mysql, COMMON_WRITES + MYSQL_WRITES)

    assert audit.broken == []
    assert audit.ran_rolled_back == []
    assert audit.failed_read_only == 1  # SELECT evil_fn(): the stored function ran read-only


def test_no_write_reaches_sqlite(sqlite: Backend) -> None:
    audit = audit_writes(sqlite, COMMON_WRITES + SQLITE_WRITES)

    assert audit.broken == []
    assert audit.refused == len(COMMON_WRITES + SQLITE_WRITES)


@pytest.mark.postgres
def test_postgresql_reads_are_accepted_and_run(postgres: Backend) -> None:
    assert audit_reads(postgres, POSTGRES_READS) == []


@pytest.mark.mysql
def test_mariadb_reads_are_accepted_and_run(mysql: Backend) -> None:
    assert audit_reads(mysql, MYSQL_READS) == []


def test_sqlite_reads_are_accepted_and_run(sqlite: Backend) -> None:
    assert audit_reads(sqlite, SQLITE_READS) == []
