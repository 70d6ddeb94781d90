"""Dialect coverage of the clock rewrite: each dialect's clock functions, frozen and translated
into DuckDB (what ``sqlsentinel test`` runs), give the frozen time when executed."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

import duckdb
import pytest

from sqlsentinel_airflow.core.sqlclock import rewrite_clock
from sqlsentinel_airflow.ruletest.translate import EngineUnsupported, to_duckdb

AT = datetime(2026, 3, 1, 23, 30, 15, tzinfo=timezone.utc)
NAIVE = AT.replace(tzinfo=None)
DAY = date(2026, 3, 1)
HOUR_AGO = datetime(2026, 3, 1, 22, 30, 15)

CASES: dict[str, list[tuple[str, Any]]] = {
    "postgres": [
        ("now()", AT),
        ("CURRENT_TIMESTAMP", AT),
        ("current_date", DAY),
        ("LOCALTIMESTAMP", NAIVE),
        ("statement_timestamp()", AT),
        ("transaction_timestamp()", AT),
        ("clock_timestamp()", AT),
        ("now() - interval '1 hour' < now()", True),
        ("'now'::timestamptz", AT),
        ("CAST('yesterday' AS date)", date(2026, 2, 28)),
        ("timestamp 'today'", datetime(2026, 3, 1)),
    ],
    "mysql": [
        ("NOW()", NAIVE),
        ("SYSDATE()", NAIVE),
        ("CURDATE()", DAY),
        ("UTC_TIMESTAMP()", NAIVE),
        ("CURRENT_TIMESTAMP", NAIVE),
        ("DATE_SUB(NOW(), INTERVAL 1 HOUR)", HOUR_AGO),
        ("UNIX_TIMESTAMP()", int(AT.timestamp())),
    ],
    "sqlite": [
        ("datetime('now')", NAIVE),
        ("date('now')", DAY),
        ("CURRENT_TIMESTAMP", "2026-03-01 23:30:15"),
        ("datetime('now', '-1 hour')", HOUR_AGO),
        ("date('now', '-1 day')", date(2026, 2, 28)),
        ("datetime('now', 'start of month')", datetime(2026, 3, 1)),
        ("julianday('now') - julianday('2026-03-01 11:30:15')", 0.5),
        ("unixepoch('now')", int(AT.timestamp())),
    ],
    "snowflake": [
        ("CURRENT_TIMESTAMP()", AT),
        ("SYSDATE()", NAIVE),
        ("GETDATE()", AT),
        ("CURRENT_DATE", DAY),
        ("DATEADD(hour, -1, SYSDATE())", HOUR_AGO),
    ],
    "bigquery": [
        ("CURRENT_TIMESTAMP()", AT),
        ("CURRENT_DATE()", DAY),
        ("CURRENT_DATETIME()", NAIVE),
        ("CURRENT_DATE('Europe/Berlin')", date(2026, 3, 2)),
        ("DATETIME_SUB(CURRENT_DATETIME(), INTERVAL 1 HOUR)", HOUR_AGO),
    ],
    "tsql": [
        ("GETDATE()", NAIVE),
        ("SYSDATETIME()", NAIVE),
        ("GETUTCDATE()", NAIVE),
        ("SYSUTCDATETIME()", NAIVE),
        ("CURRENT_TIMESTAMP", NAIVE),
        ("DATEADD(hour, -1, GETDATE())", HOUR_AGO),
    ],
}


@pytest.fixture(scope="module")
def db() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:")
    conn.execute("SET TimeZone = 'UTC'")
    return conn


@pytest.mark.parametrize(
    ("dialect", "expression", "expected"),
    [(d, e, x) for d, cases in CASES.items() for e, x in cases],
    ids=[f"{d}:{e}" for d, cases in CASES.items() for e, _x in cases],
)
def test_frozen_clock_runs_in_duckdb_and_reads_the_frozen_time(
    db: duckdb.DuckDBPyConnection, dialect: str, expression: str, expected: Any
) -> None:
    frozen = rewrite_clock(f"SELECT {expression} AS v", dialect, AT)
    assert frozen.found
    ((value,),) = db.execute(to_duckdb(frozen.sql, dialect)).fetchall()
    if isinstance(expected, float):
        assert value == pytest.approx(expected, abs=1e-6)
    else:
        assert value == expected


def test_a_sqlite_modifier_duckdb_cannot_mean_the_same_is_named() -> None:
    frozen = rewrite_clock("SELECT datetime('now', 'localtime') AS v", "sqlite", AT)
    with pytest.raises(
        EngineUnsupported,
        match=r"cannot run DATETIME\('2026-03-01 23:30:15', 'localtime'\): the modifier "
        r"'localtime' is not translated .*--conn CONN_ID",
    ):
        to_duckdb(frozen.sql, "sqlite")


@pytest.mark.parametrize(
    ("dialect", "sql", "named"),
    [
        ("oracle", "SELECT SYSDATE FROM dual", "SYSDATE"),
        ("postgres", "SELECT timeofday()", "TIMEOFDAY()"),
    ],
)
def test_a_clock_left_unfrozen_is_refused_not_read(dialect: str, sql: str, named: str) -> None:
    frozen = rewrite_clock(sql, dialect, AT)
    with pytest.raises(EngineUnsupported, match=re.escape(f"cannot run {named}:")):
        to_duckdb(frozen.sql, dialect)
