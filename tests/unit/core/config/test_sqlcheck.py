"""Alert SQL must be one read-only statement: a table of accepted and refused queries."""

from __future__ import annotations

import re

import pytest

from sqlsentinel_airflow.core.config.sqlcheck import (
    READ_ONLY_RULE,
    QueryCheck,
    UnsafeQuery,
    check_query,
    dialect_for_conn_type,
    dialect_for_url,
)

ACCEPTED: list[tuple[str | None, str]] = [
    (None, "SELECT 'OK' AS status"),
    (None, "select 'ALERT' as status, 3 as actual_value;"),
    (None, "-- comment first\nSELECT 1 AS status /* ; DROP TABLE x */"),
    (None, "(SELECT 1 AS status)"),
    (None, "SELECT 'OK' AS status UNION ALL SELECT 'ALERT'"),
    (None, "SELECT a FROM t INTERSECT SELECT a FROM u"),
    (None, "SELECT a FROM t EXCEPT SELECT a FROM u"),
    (None, "SELECT 'x; DELETE FROM t' AS status"),
    (None, "SELECT delete_count AS status FROM updates"),
    ("postgres", "WITH s AS (SELECT SUM(a) AS v FROM t) SELECT v, 'OK' AS status FROM s"),
    ("postgres", "VALUES ('OK', 1)"),
    ("postgres", "SELECT a::int, b->>'k' FROM t WHERE d > now() - interval '1 day'"),
    ("postgres", "SELECT DISTINCT ON (a) a FROM t ORDER BY a, b"),
    ("postgres", "SELECT $$dollar ${VAR} quoted$$ AS status"),
    ("mysql", "SELECT `table_name`, 'OK' AS status FROM information_schema.tables LIMIT 1, 2"),
    ("mysql", "SELECT IF(COUNT(*) > 0, 'ALERT', 'OK') AS status FROM t"),
    (
        "sqlite",
        "SELECT CASE WHEN julianday('now') - julianday(MAX(ts)) > 1 THEN 'ALERT' END AS status FROM t",
    ),
    ("snowflake", "SELECT a FROM t QUALIFY ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) = 1"),
    ("bigquery", "SELECT COUNTIF(x IS NULL) AS n FROM `project.dataset.table`"),
    ("tsql", "SELECT TOP 1 [status] FROM dbo.checks WITH (NOLOCK)"),
    ("duckdb", "FROM t SELECT a"),
    ("trino", "SELECT approx_distinct(a) FROM t"),
    ("redshift", "SELECT GETDATE() AS now, 'OK' AS status"),
    ("oracle", "SELECT 'OK' AS status FROM dual"),
    ("databricks", "SELECT a FROM delta.`/path/to/table`"),
]

REFUSED: list[tuple[str | None, str, str]] = [
    (None, "", "query is empty; " + READ_ONLY_RULE),
    (None, "   \n  ", "query is empty; " + READ_ONLY_RULE),
    (None, "-- nothing but a comment", "query is empty (only comments or `;`); " + READ_ONLY_RULE),
    (None, ";", "query is empty (only comments or `;`); " + READ_ONLY_RULE),
    (None, "DELETE FROM t", "query is a DELETE statement; " + READ_ONLY_RULE),
    (None, "INSERT INTO t VALUES (1)", "query is an INSERT statement; " + READ_ONLY_RULE),
    (None, "UPDATE t SET a = 1", "query is an UPDATE statement; " + READ_ONLY_RULE),
    (
        None,
        "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
        "query is a MERGE statement; " + READ_ONLY_RULE,
    ),
    (None, "CREATE TABLE t (a INT)", "query is a CREATE statement; " + READ_ONLY_RULE),
    (None, "DROP TABLE t", "query is a DROP statement; " + READ_ONLY_RULE),
    (None, "ALTER TABLE t ADD COLUMN b INT", "query is an ALTER statement; " + READ_ONLY_RULE),
    (None, "TRUNCATE TABLE t", "query is a TRUNCATE statement; " + READ_ONLY_RULE),
    ("postgres", "GRANT SELECT ON t TO bob", "query is a GRANT statement; " + READ_ONLY_RULE),
    ("postgres", "COPY t TO '/tmp/out.csv'", "query is a COPY statement; " + READ_ONLY_RULE),
    ("postgres", "CALL refresh_everything()", "query is a CALL statement; " + READ_ONLY_RULE),
    ("postgres", "EXECUTE prepared_plan", "query is an EXECUTE statement; " + READ_ONLY_RULE),
    ("tsql", "EXEC sp_who", "query is an EXECUTE statement; " + READ_ONLY_RULE),
    (None, "SET search_path = evil", "query is a SET statement; " + READ_ONLY_RULE),
    ("sqlite", "PRAGMA journal_mode = DELETE", "query is a PRAGMA statement; " + READ_ONLY_RULE),
    (
        "postgres",
        "SELECT * INTO backup FROM t",
        "query is a SELECT ... INTO statement; " + READ_ONLY_RULE,
    ),
    (
        "tsql",
        "SELECT * INTO #tmp FROM t",
        "query is a SELECT ... INTO statement; " + READ_ONLY_RULE,
    ),
    (
        "postgres",
        "SELECT * FROM t FOR UPDATE",
        "query is a SELECT ... FOR UPDATE statement; " + READ_ONLY_RULE,
    ),
    (
        "postgres",
        "SELECT * FROM t FOR SHARE SKIP LOCKED",
        "query is a SELECT ... FOR SHARE statement; " + READ_ONLY_RULE,
    ),
    (
        "mysql",
        "SELECT * FROM t LOCK IN SHARE MODE",
        "query is a SELECT ... FOR SHARE statement; " + READ_ONLY_RULE,
    ),
    (
        "postgres",
        "WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone",
        "query contains a DELETE statement; " + READ_ONLY_RULE,
    ),
    (
        "postgres",
        "WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x",
        "query contains an INSERT statement; " + READ_ONLY_RULE,
    ),
    (
        "postgres",
        "WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x",
        "query contains an UPDATE statement; " + READ_ONLY_RULE,
    ),
    (None, "SELECT 1; SELECT 2", "query contains 2 statements (SELECT, SELECT); " + READ_ONLY_RULE),
    (
        None,
        "SELECT 'OK' AS status -- harmless\n; DROP TABLE t",
        "query contains 2 statements (SELECT, DROP); " + READ_ONLY_RULE,
    ),
    (
        "mysql",
        "SELECT 1 /* */; DELETE FROM t; SELECT 2",
        "query contains 3 statements (SELECT, DELETE, SELECT); " + READ_ONLY_RULE,
    ),
    ("postgres", "BEGIN", "query is a BEGIN statement; " + READ_ONLY_RULE),
    ("postgres", "VACUUM t", "query is a VACUUM statement; " + READ_ONLY_RULE),
    ("mysql", "SHOW TABLES", "query is a SHOW statement; " + READ_ONLY_RULE),
    ("sqlite", "ATTACH DATABASE 'x.db' AS x", "query is an ATTACH statement; " + READ_ONLY_RULE),
]

UNPARSEABLE: list[tuple[str | None, str, str]] = [
    (None, "SELEC 1", "query does not parse as SQL: Invalid expression / Unexpected token"),
    ("postgres", "SELECT (1", "query does not parse as postgres SQL: Expecting )"),
    ("mysql", "SELECT 'unterminated", "query does not parse as mysql SQL: "),
]


@pytest.mark.parametrize(("dialect", "sql"), ACCEPTED)
def test_read_only_queries_are_accepted(dialect: str | None, sql: str) -> None:
    assert check_query(sql, dialect) == QueryCheck(dialect)


@pytest.mark.parametrize(("dialect", "sql", "message"), REFUSED)
def test_unsafe_queries_are_refused_naming_the_statement(
    dialect: str | None, sql: str, message: str
) -> None:
    with pytest.raises(UnsafeQuery) as caught:
        check_query(sql, dialect)
    assert caught.value.message == message


@pytest.mark.parametrize(("dialect", "sql", "start"), UNPARSEABLE)
def test_unparseable_queries_report_the_parser_message(
    dialect: str | None, sql: str, start: str
) -> None:
    with pytest.raises(UnsafeQuery) as caught:
        check_query(sql, dialect)
    assert caught.value.message.startswith(start)
    assert "\x1b" not in caught.value.message  # no terminal colour codes from sqlglot


def test_table_is_big_enough() -> None:
    assert len(ACCEPTED) + len(REFUSED) + len(UNPARSEABLE) >= 60


def test_no_fallback_to_a_more_lenient_dialect() -> None:
    with pytest.raises(UnsafeQuery, match=r"query does not parse as tsql SQL: ") as raised:
        check_query("SELECT IF(a, 'ALERT', 'OK') AS status FROM t", "tsql")
    assert "into a view" in (raised.value.hint or "")


def test_mysql_double_dash_without_space_is_no_comment() -> None:
    # The generic dialect reads `--1; ...` as a comment; MySQL reads `1 - -1` and then the
    # next statement. Parsed as MySQL, the hidden statements are seen.
    sql = "SELECT 'OK' AS status, 1--1; COMMIT; DELETE FROM t; COMMIT; )("
    with pytest.raises(UnsafeQuery, match="does not parse as mysql SQL"):
        check_query(sql, "mysql")
    with pytest.raises(UnsafeQuery, match=r"calls load_file\(\)"):
        check_query("SELECT 'OK' AS status, 1--1, load_file('/etc/passwd')", "mysql")


@pytest.mark.parametrize(
    ("conn_type", "dialect"),
    [
        ("postgres", "postgres"),
        ("postgresql", "postgres"),
        ("mysql", "mysql"),
        ("mariadb", "mysql"),
        ("sqlite", "sqlite"),
        ("snowflake", "snowflake"),
        ("gcpbigquery", "bigquery"),
        ("redshift", "redshift"),
        ("trino", "trino"),
        ("duckdb", "duckdb"),
        ("mssql", "tsql"),
        ("oracle", "oracle"),
        ("databricks", "databricks"),
        ("Postgres", "postgres"),
        ("http", None),
        ("", None),
        (None, None),
    ],
)
def test_dialect_for_conn_type(conn_type: str | None, dialect: str | None) -> None:
    assert dialect_for_conn_type(conn_type) == dialect


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("postgresql+psycopg2://u:p@h/db", "postgres"),
        ("mysql+mysqldb://root@127.0.0.1/test", "mysql"),
        ("sqlite:///tmp/x.db", "sqlite"),
        ("mssql+pyodbc://dsn", "tsql"),
        ("bigquery://project", "bigquery"),
        ("snowflake://acct/db", "snowflake"),
        ("unknown://x", None),
        ("not a url", None),
    ],
)
def test_dialect_for_url(url: str, dialect: str | None) -> None:
    assert dialect_for_url(url) == dialect


@pytest.mark.parametrize(
    ("sql", "dialect", "function"),
    [
        ("SELECT lo_import('/etc/passwd') AS status", "postgres", "lo_import"),
        ("SELECT pg_read_file('/etc/passwd') AS status", "postgres", "pg_read_file"),
        (
            "SELECT 'OK' AS status FROM dblink('host=x', 'select 1') AS t(a int)",
            "postgres",
            "dblink",
        ),
        ("SELECT pg_terminate_backend(42) AS status", "postgres", "pg_terminate_backend"),
        ("SELECT LOAD_FILE('/etc/passwd') AS status", "mysql", "load_file"),
        ("SELECT `load_file`('/etc/passwd') AS status", "mysql", "load_file"),
        ("SELECT \"PG_READ_FILE\"('/etc/passwd') AS status", "postgres", "pg_read_file"),
        ("SELECT pg_catalog.pg_stat_reset() AS status", "postgres", "pg_stat_reset"),
        ("SELECT pg_stat_reset_shared('bgwriter') AS status", "postgres", "pg_stat_reset_shared"),
        ("SELECT query_to_xml('delete from t', true, false, '') AS s", "postgres", "query_to_xml"),
        ("SELECT * FROM ts_stat('select v from t') AS status", "postgres", "ts_stat"),
        (
            "SELECT pg_create_physical_replication_slot('x') AS s",
            "postgres",
            "pg_create_physical_replication_slot",
        ),
        ("SELECT pg_switch_wal() AS status", "postgres", "pg_switch_wal"),
        ("SELECT pg_advisory_lock(1) AS status", "postgres", "pg_advisory_lock"),
        ("SELECT set_config('statement_timeout', '0', false) AS s", "postgres", "set_config"),
        ("SELECT dblink_exec('dbname=x', 'delete from t') AS s", "postgres", "dblink_exec"),
        ("SELECT GET_LOCK('x', 1) AS status", "mysql", "get_lock"),
        ("SELECT load_extension('x') AS status", "sqlite", "load_extension"),
        ("SELECT writefile('/tmp/x', 'y') AS status", None, "writefile"),
    ],
)
def test_functions_with_side_effects_are_refused_by_family(
    sql: str, dialect: str | None, function: str
) -> None:
    with pytest.raises(UnsafeQuery, match=rf"query calls {function}\(\), which "):
        check_query(sql, dialect)


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT U&"pg_terminate\\005fbackend"(1) AS status',
        "SELECT u&\"PG_READ_FILE\"('/etc/passwd') AS status",
        "SELECT U&\"pg_read!005ffile\" UESCAPE '!' ('/etc/passwd') AS status",
        "SELECT U&\"pg_read\\+00005ffile\"('/etc/passwd') AS status",
        'SELECT /* U&"x" */ U&"lo\\005fexport"(1, \'/tmp/x\') AS status',
    ],
)
def test_unicode_escaped_identifiers_are_resolved_before_the_rules(sql: str) -> None:
    with pytest.raises(
        UnsafeQuery, match=r"query calls (pg_terminate_backend|pg_read_file|lo_export)\(\)"
    ):
        check_query(sql, "postgres")


def test_unicode_escapes_in_strings_and_comments_are_left_alone() -> None:
    sql = "SELECT 'OK' AS status, U&'\\0041' AS a, 'U&\"x\"' AS b, $$ U&\"y\" $$ AS c -- U&\"z\""
    assert check_query(sql, "postgres") == QueryCheck("postgres")


def test_invalid_unicode_escape_is_refused() -> None:
    with pytest.raises(UnsafeQuery, match="invalid Unicode escape"):
        check_query('SELECT U&"\\zzzz"(1) AS status', "postgres")


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x0c", "\x7f", "\xa0", "\u3000", "\u2028"])
def test_control_characters_and_unicode_spaces_are_refused_with_their_place(char: str) -> None:
    with pytest.raises(UnsafeQuery, match=r"character U\+.... at line 2, column 8 .*white space"):
        check_query(f"SELECT\n'OK' AS{char} status", "postgres")


def test_the_unicode_space_class_is_pythons_own() -> None:
    from sqlsentinel_airflow.core.config.sqllex import NON_ASCII_SPACE

    spaces = {c for c in map(chr, range(0x80, 0x110000)) if c.isspace()}
    matched = {
        c for c in map(chr, range(0x80, 0x110000)) if re.fullmatch(f"[{NON_ASCII_SPACE}]", c)
    }
    assert matched == spaces


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [
        # PostgreSQL reads U+00A0 as part of a name: `AS\u00a0$$` is no dollar quote there
        (
            "SELECT 'OK' AS status, 1 AS\u00a0$$, pg_terminate_backend(1) AS k, 2 AS\u00a0$$",
            "postgres",
        ),
        # MySQL starts a `--` comment only before ASCII white space
        ("SELECT 1 --\u00a0 AS x, load_file('/etc/hostname') AS status", "mysql"),
    ],
)
def test_lexer_disagreements_on_unicode_space_are_refused(sql: str, dialect: str) -> None:
    with pytest.raises(UnsafeQuery, match=r"character U\+00A0"):
        check_query(sql, dialect)


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        (
            "SELECT (pid).pg_terminate_backend AS status FROM pg_stat_activity",
            "pg_terminate_backend",
        ),
        ("SELECT ('/etc/hostname'::text).pg_read_file AS status", "pg_read_file"),
        ("SELECT ('bgwriter'::text).PG_STAT_RESET_SHARED AS status", "pg_stat_reset_shared"),
        ("SELECT f.pg_read_file AS status FROM unnest(ARRAY['/etc/hostname']) f", "pg_read_file"),
        ("SELECT f.\"pg_read_file\" AS status FROM unnest(ARRAY['x']) f", "pg_read_file"),
        ("SELECT (s.q).ts_stat AS status FROM (SELECT 'select 1'::text AS q) s", "ts_stat"),
        ("SELECT ((('/x'::text).lo_import)).lo_get AS status", "lo_get"),
    ],
)
def test_postgres_functional_notation_is_a_call(sql: str, function: str) -> None:
    with pytest.raises(UnsafeQuery, match=rf"PostgreSQL reads as a call of {function}\(\)"):
        check_query(sql, "postgres")


def test_columns_that_merely_look_like_a_family_stay_allowed() -> None:
    sql = "SELECT 'OK' AS status, t.lo_bound, t.set_config_name, t.nextval_at FROM t"
    assert check_query(sql, "postgres") == QueryCheck("postgres")


@pytest.mark.parametrize(
    ("sql", "dialect", "message"),
    [
        ("SELECT cron.schedule('x', '* * * * *', 'delete from t') AS s", "postgres", "schema cron"),
        (
            "SELECT 1 AS s FROM cron.schedule('x', '* * * * *', 'delete from t')",
            "postgres",
            "schema cron",
        ),
        ("SELECT pg_read_file_old('/etc/hostname', 0, 10) AS s", "postgres", "pg_read_file_old"),
        ("SELECT * FROM xpath_table('a', 'b', 't', 'x', 'true') AS s", "postgres", "xpath_table"),
        (
            "SELECT heap_force_kill('t'::regclass, ARRAY['(0,1)']::tid[]) AS s",
            "postgres",
            "heap_force_kill",
        ),
        ("SELECT autoprewarm_dump_now() AS s", "postgres", "autoprewarm_dump_now"),
        ("SELECT pg_truncate_visibility_map('t') AS s", "postgres", "pg_truncate_visibility_map"),
        ("SELECT pg_log_standby_snapshot() AS s", "postgres", "pg_log_standby_snapshot"),
        (
            "SELECT SUM(compress_ops) AS status FROM information_schema.INNODB_CMP_RESET",
            "mysql",
            "INNODB_CMP_RESET",
        ),
    ],
)
def test_red_team_findings_are_refused(sql: str, dialect: str, message: str) -> None:
    with pytest.raises(UnsafeQuery, match=message):
        check_query(sql, dialect)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1 AS status /*! INTO OUTFILE '/tmp/sqlsentinel-evil.out' */",
        "SELECT v AS status FROM t /*!50000 FOR UPDATE */",
        "SELECT 'OK' AS status /*M! , SLEEP(100) */",
    ],
)
def test_mysql_executable_comments_are_refused_where_the_database_may_be_mysql(sql: str) -> None:
    for dialect in ("mysql", None):
        with pytest.raises(UnsafeQuery) as caught:
            check_query(sql, dialect)
        assert caught.value.message == (
            "query has a /*! ... */ comment, which MySQL and MariaDB execute as part of the "
            "statement; " + READ_ONLY_RULE
        )
    assert check_query(sql, "postgres") == QueryCheck("postgres")  # only a comment there


def test_comment_lookalikes_inside_strings_and_plain_comments_are_fine() -> None:
    assert check_query("SELECT '/*! x */' AS status", "mysql") == QueryCheck("mysql")
    assert check_query("SELECT 1 AS status /* ! not executable */", "mysql") == QueryCheck("mysql")
    assert check_query("SELECT 1 AS status -- /*! x */", "mysql") == QueryCheck("mysql")


def test_a_parser_crash_on_one_query_is_that_alert_s_located_error() -> None:
    from sqlsentinel_airflow.core.config.loader import load_config_text

    text = (
        "alerts:\n"
        "  - name: crashes_the_parser\n"
        "    conn_id: mssql_wh\n"
        "    schedule: '0 * * * *'\n"
        "    query: \"SELECT DATEDIFF('', a, b) AS status FROM t\"\n"
        "  - name: fine\n"
        "    conn_id: mssql_wh\n"
        "    schedule: '0 * * * *'\n"
        "    query: \"SELECT 'OK' AS status\"\n"
    )
    with pytest.raises(UnsafeQuery, match=r"the SQL parser failed on it \(ValueError: "):
        check_query("SELECT DATEDIFF('', a, b) AS status FROM t", "tsql")

    result = load_config_text(text, "alerts.yaml", conn_type_of=lambda _conn_id: "mssql")

    assert result.config is not None and [a.name for a in result.config.alerts] == ["fine"]
    (error,) = result.errors
    assert error.format().startswith(
        "alerts.yaml:5:12 alerts[0].query: query does not parse as tsql SQL: the SQL parser "
        "failed on it (ValueError: Cannot convert empty name into var"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT @@global.net_write_timeout := 61 AS status",
        "SELECT 'OK' AS status, (@@session.sql_mode := '') AS m",
    ],
)
def test_assigning_a_server_variable_is_refused(sql: str) -> None:
    with pytest.raises(UnsafeQuery, match=r"query assigns the server variable @@"):
        check_query(sql, "mysql")


def test_user_variables_stay_allowed() -> None:
    assert check_query("SELECT @n := 1 AS status, @@version AS v", "mysql") == QueryCheck("mysql")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'OK' AS status FROM pg_hba_file_rules",
        "SELECT 'OK' AS status FROM pg_catalog.PG_FILE_SETTINGS",
        "SELECT 'OK' AS status FROM (SELECT * FROM pg_ident_file_mappings) AS m",
    ],
)
def test_system_views_over_server_files_are_refused(sql: str) -> None:
    with pytest.raises(UnsafeQuery, match=r"a system table whose reading reads server files"):
        check_query(sql, "postgres")


@pytest.mark.parametrize("dialect", ["postgres", "mysql", "sqlite", None])
@pytest.mark.parametrize(
    "sql", ["SELECT 'SECRET-MARKER", 'SELECT "SECRET-MARKER', "SELECT 1 /* SECRET-MARKER"]
)
def test_an_unclosed_literal_is_refused_without_echoing_the_text(
    sql: str, dialect: str | None
) -> None:
    with pytest.raises(UnsafeQuery, match="a string, quoted name or comment is not closed") as e:
        check_query(sql, dialect)
    assert "SECRET" not in e.value.message and "SECRET" not in (e.value.hint or "")
