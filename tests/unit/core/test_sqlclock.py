"""The clock rewrite, as text: what is found, what replaces it, what is left alone.

Executing the rewritten SQL (each dialect's texts translated into DuckDB) is in
tests/unit/ruletest/test_clock_dialects.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.core.sqlclock import ClockRewriteError, clock_functions, rewrite_clock

AT = datetime(2026, 3, 1, 23, 30, tzinfo=timezone.utc)


def test_postgres_functions_are_replaced_in_place_and_the_rest_is_untouched() -> None:
    sql = "SELECT now() - interval '1 hour' AS since, current_date -- now() in a comment\nFROM t"
    result = rewrite_clock(sql, "postgres", AT)
    assert result.sql == (
        "SELECT CAST('2026-03-01 23:30:00+00:00' AS TIMESTAMPTZ) - interval '1 hour' AS since, "
        "CAST('2026-03-01' AS DATE) -- now() in a comment\nFROM t"
    )
    assert result.functions == ("now()", "current_date")
    assert result.found


def test_names_that_are_not_clock_calls_are_left_alone() -> None:
    sql = "SELECT t.now, \"now\", 'now', now AS x, UNIX_TIMESTAMP(created) FROM t"
    assert clock_functions(sql, "postgres") == ()
    assert clock_functions(sql, "mysql") == ()
    assert rewrite_clock(sql, "postgres", AT).sql == sql
    assert not rewrite_clock(sql, "postgres", AT).found


def test_the_frozen_time_is_rendered_in_utc_including_the_date() -> None:
    berlin = AT.astimezone(timezone(timedelta(hours=1)))  # 2026-03-02 00:30 +01:00
    result = rewrite_clock("SELECT CURRENT_DATE, CURRENT_TIMESTAMP", "postgres", berlin)
    assert result.sql == (
        "SELECT CAST('2026-03-01' AS DATE), CAST('2026-03-01 23:30:00+00:00' AS TIMESTAMPTZ)"
    )


def test_sqlite_now_is_replaced_inside_date_functions_with_their_modifiers() -> None:
    sql = "SELECT datetime('now', '-1 hour'), julianday('NOW') - julianday(x), CURRENT_TIMESTAMP"
    result = rewrite_clock(sql, "sqlite", AT)
    assert result.sql == (
        "SELECT datetime('2026-03-01 23:30:00', '-1 hour'), "
        "julianday('2026-03-01 23:30:00') - julianday(x), '2026-03-01 23:30:00'"
    )
    assert result.functions == (
        "datetime('now', '-1 hour')",
        "julianday('NOW')",
        "CURRENT_TIMESTAMP",
    )


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        (
            "mysql",
            "SELECT NOW(6), CURDATE()",
            "SELECT CAST('2026-03-01 23:30:00' AS DATETIME), DATE '2026-03-01'",
        ),
        ("mysql", "SELECT UNIX_TIMESTAMP()", "SELECT 1772407800"),
        (
            "snowflake",
            "SELECT SYSDATE(), GETDATE()",
            "SELECT CAST('2026-03-01 23:30:00' AS TIMESTAMP_NTZ), "
            "CAST('2026-03-01 23:30:00+00:00' AS TIMESTAMP_TZ)",
        ),
        (
            "bigquery",
            "SELECT CURRENT_DATE('Europe/Berlin'), CURRENT_DATETIME()",
            "SELECT DATE '2026-03-02', DATETIME '2026-03-01 23:30:00'",
        ),
        (
            "tsql",
            "SELECT GETUTCDATE(), SYSDATETIMEOFFSET()",
            "SELECT CAST('2026-03-01 23:30:00' AS DATETIME2), "
            "CAST('2026-03-01 23:30:00+00:00' AS DATETIMEOFFSET)",
        ),
    ],
)
def test_each_dialect_gets_literals_of_its_own_types(dialect: str, sql: str, expected: str) -> None:
    assert rewrite_clock(sql, dialect, AT).sql == expected


def test_a_repeated_construct_is_listed_once_and_replaced_everywhere() -> None:
    result = rewrite_clock("SELECT GETDATE(), GETDATE()", "tsql", AT)
    assert result.functions == ("GETDATE()",)
    assert "GETDATE" not in result.sql


def test_a_computed_time_zone_argument_cannot_be_frozen() -> None:
    with pytest.raises(ClockRewriteError, match=r"CURRENT_DATE\(zone_col\): only a literal"):
        rewrite_clock("SELECT CURRENT_DATE(zone_col) FROM t", "bigquery", AT)


def test_an_unknown_literal_zone_is_named() -> None:
    with pytest.raises(ClockRewriteError, match="unknown time zone 'Mars/Olympus'"):
        rewrite_clock("SELECT CURRENT_DATE('Mars/Olympus')", "bigquery", AT)


def test_the_frozen_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="must be timezone-aware"):
        rewrite_clock("SELECT now()", "postgres", datetime(2026, 3, 1))


def test_postgres_special_inputs_are_frozen_where_a_cast_reads_them() -> None:
    sql = (
        "SELECT 'now'::timestamptz, timestamp 'today', CAST('yesterday' AS date), "
        "date 'tomorrow', 'now' AS plain_text"
    )
    result = rewrite_clock(sql, "postgres", AT)
    assert result.sql == (
        "SELECT '2026-03-01 23:30:00+00:00'::timestamptz, timestamp '2026-03-01 00:00:00+00:00', "
        "CAST('2026-02-28 00:00:00+00:00' AS date), date '2026-03-02 00:00:00+00:00', "
        "'now' AS plain_text"
    )
    assert result.functions == (
        "'now'::timestamptz",
        "timestamp 'today'",
        "CAST('yesterday' AS date)",
        "date 'tomorrow'",
    )
