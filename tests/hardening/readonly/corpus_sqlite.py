"""Hostile and legitimate alert SQL for SQLite (sqlglot dialect ``sqlite``).

Written from the SQLite manual: ATTACH/DETACH (ATTACH creates its file even with
``query_only``), VACUUM INTO, PRAGMA (the writable ones, schema-qualified and quoted forms,
table-valued pragma functions), load_extension, the CLI's readfile/writefile/edit (absent in
Python, refused anyway), fts3_tokenizer, savepoints and transaction control, temporary and
virtual tables, triggers, REINDEX/ANALYZE, comments (``--``, ``/* */``, an unterminated
``/*`` at the end is valid), quoting with ``"``, ``[ ]`` and backticks, blobs, and bounded
resource bombs.

Placeholders, filled in by the test: ``%DIR%`` a watched folder. Relative file names land in
the victim's folder (the test runs with it as the working directory).
"""

from __future__ import annotations

from readonly_corpus import Corpus, HostileCase, ReadCase, add_size_cases

_CORPUS = Corpus()
_h = _CORPUS.add

READ_BOUNDED = "a read: the timeout and the length limit bound it, there is no side effect"
NO_SIDE_EFFECT_PRAGMA = "table-valued pragma functions exist only for pragmas without side effects"

# --- ATTACH / DETACH: files created even under query_only --------------------------------
_h("attach", "ATTACH DATABASE '%DIR%/a1.db' AS evil", "creates a database file")
_h("attach", "ATTACH '%DIR%/a2.db' AS evil", "without DATABASE")
_h("attach", "attach database 'a3.db' as evil", "a relative file, lower case")
_h("attach", "ATTACH ('%DIR%/' || 'a4.db') AS evil", "the file name as an expression")
_h("attach", "ATTACH 'file:%DIR%/a5.db?mode=rwc' AS evil", "a URI file name")
_h("attach", "ATTACH ':memory:' AS m", "an in-memory schema")
_h("attach", "ATTACH '' AS t", "a temporary on-disk schema")
_h("attach", "/* c */ ATTACH '%DIR%/a8.db' AS \"evil\" -- c", "comments around it")
_h("attach", "DETACH DATABASE temp", "detaches a schema")
_h("attach", "SELECT 'OK' AS status; ATTACH '%DIR%/a10.db' AS evil", "after the alert")
_h("attach", "ATTACH X'2f746d702f612e6462' AS evil", "the file name as a blob")

# --- VACUUM ------------------------------------------------------------------------------
_h("vacuum", "VACUUM INTO '%DIR%/v1.db'", "copies the database to a new file")
_h("vacuum", "VACUUM main INTO '%DIR%/v2.db'", "schema-qualified")
_h("vacuum", "vacuum into 'v3.db'", "a relative file")
_h("vacuum", "VACUUM INTO ('%DIR%/' || 'v4.db')", "an expression")
_h("vacuum", "VACUUM", "rewrites the database file")
_h("vacuum", "VACUUM temp", "rewrites the temp schema")

# --- writable PRAGMAs --------------------------------------------------------------------
_h("pragma", "PRAGMA query_only = 0", "lifts the read-only guard")
_h("pragma", "PRAGMA query_only = OFF", "OFF")
_h("pragma", "pRaGmA QuErY_OnLy = false", "mixed case")
_h("pragma", 'PRAGMA "query_only" = 0', "a quoted pragma name")
_h("pragma", "PRAGMA main.query_only = 0", "schema-qualified")
_h("pragma", "PRAGMA user_version = 7", "writes the header")
_h("pragma", "PRAGMA main.user_version = 8", "schema-qualified header write")
_h("pragma", 'PRAGMA "main"."user_version" = 9', "quoted schema and name")
_h("pragma", "PRAGMA [user_version] = 10", "bracket-quoted name")
_h("pragma", "PRAGMA application_id = 7", "writes the application id")
_h("pragma", "PRAGMA journal_mode = WAL", "switches to WAL: new files, header change")
_h("pragma", "PRAGMA main.journal_mode = OFF", "journal off")
_h("pragma", "PRAGMA page_size = 512", "page size for the next VACUUM")
_h("pragma", "PRAGMA auto_vacuum = FULL", "auto-vacuum mode")
_h("pragma", "PRAGMA writable_schema = ON", "makes sqlite_schema writable")
_h("pragma", "PRAGMA schema_version = 100", "corrupts the schema cookie")
_h("pragma", "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint")
_h("pragma", "PRAGMA incremental_vacuum", "frees pages")
_h("pragma", "PRAGMA optimize", "may run ANALYZE")
_h("pragma", "PRAGMA foreign_keys = ON", "session setting")
_h("pragma", "PRAGMA locking_mode = EXCLUSIVE", "holds the file lock until close")
_h("pragma", "PRAGMA synchronous = OFF", "durability off")
_h("pragma", "PRAGMA secure_delete = ON", "session setting")
_h("pragma", "PRAGMA case_sensitive_like = 1", "changes LIKE for later queries")
_h("pragma", "PRAGMA recursive_triggers = ON", "session setting")
_h("pragma", "PRAGMA ignore_check_constraints = ON", "session setting")
_h("pragma", "PRAGMA trusted_schema = ON", "trusts schema functions")
_h("pragma", "PRAGMA legacy_alter_table = ON", "session setting")
_h("pragma", "PRAGMA mmap_size = 1073741824", "memory-maps the file")
_h("pragma", "PRAGMA soft_heap_limit = 1000000", "process-wide heap limit")
_h("pragma", "PRAGMA threads = 8", "worker threads")
_h("pragma", "PRAGMA shrink_memory", "frees caches")
_h("pragma", "PRAGMA wal_autocheckpoint = 1", "checkpoint interval")
_h("pragma", "PRAGMA journal_size_limit = 0", "journal size")
_h("pragma", "PRAGMA busy_timeout = 100000", "waits a long time for locks")
_h("pragma", "PRAGMA temp.user_version = 1", "the temp schema's header")
_h("pragma", "PRAGMA max_page_count = 1", "caps the file")
_h("pragma", "PRAGMA temp_store = FILE", "temp store on disk")
_h("pragma", "PRAGMA cache_size = -2000000", "a 2 GB cache")
_h("pragma", "PRAGMA analysis_limit = 1", "ANALYZE limit")
_h("pragma", "PRAGMA defer_foreign_keys = ON", "session setting")
_h(
    "pragma",
    "SELECT * FROM pragma_user_version",
    "table-valued pragma (a read)",
    db_layer_only=NO_SIDE_EFFECT_PRAGMA,
)
_h(
    "pragma",
    "SELECT query_only AS status FROM pragma_query_only(0)",
    "a table-valued pragma with an argument",
    db_layer_only=NO_SIDE_EFFECT_PRAGMA,
)

# --- extensions and CLI functions --------------------------------------------------------
_h("extension", "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libm.so.6')", "loads a library")
_h("extension", "SELECT load_extension('%DIR%/evil.so', 'sqlite3_evil_init')", "an entry point")
_h("extension", "select LOAD_EXTENSION('x') AS status", "upper case")
_h("extension", "SELECT \"load_extension\"('x') AS status", "a double-quoted function name")
_h("extension", "SELECT [load_extension]('x') AS status", "a bracket-quoted function name")
_h("extension", "SELECT `load_extension`('x') AS status", "a backticked function name")
_h(
    "extension",
    "WITH x AS (SELECT load_extension('x') AS s) SELECT s AS status FROM x",
    "in a CTE",
)
_h(
    "extension",
    "SELECT v AS status FROM victim ORDER BY load_extension('x')",
    "in ORDER BY",
)
_h("cli-function", "SELECT writefile('%DIR%/w1.txt', 'pwned') AS status", "writes a file")
_h("cli-function", "SELECT readfile('/etc/hostname') AS status", "reads a file")
_h("cli-function", "SELECT edit('x', 'vi') AS status", "starts an editor")
_h(
    "cli-function",
    "SELECT 'OK' AS status FROM victim WHERE writefile('%DIR%/w2.txt', v) > 0",
    "in WHERE",
)
_h(
    "cli-function",
    "SELECT writefile('w3.txt', readfile('/etc/hostname')) AS status",
    "copies a file",
)
_h(
    "cli-function",
    "SELECT * FROM victim ORDER BY (SELECT writefile('%DIR%/w4.txt', 'x'))",
    "in a scalar subquery in ORDER BY",
)
_h("cli-function", "SELECT fts3_tokenizer('simple') AS status", "exposes a pointer")
_h(
    "cli-function",
    "SELECT fts3_tokenizer('evil', X'0000000000000000') AS status",
    "registers a tokenizer at an address",
)
_h("cli-function", "SELECT * FROM fsdir('/etc')", "the CLI's directory listing")
_h(
    "cli-function",
    "SELECT * FROM sqlite_dbpage('main')",
    "raw pages of the database (the vtab is writable through INSERT/UPDATE)",
    db_layer_only="a SELECT of it only reads; writing it takes an INSERT or UPDATE",
)

# --- transaction control -----------------------------------------------------------------
_h("transaction", "BEGIN", "opens a transaction")
_h("transaction", "BEGIN IMMEDIATE", "takes the write lock")
_h("transaction", "BEGIN EXCLUSIVE TRANSACTION", "takes an exclusive lock")
_h("transaction", "COMMIT", "commits")
_h("transaction", "END TRANSACTION", "END")
_h("transaction", "ROLLBACK", "rolls back")
_h("transaction", "SAVEPOINT s1", "a savepoint opens a transaction")
_h("transaction", "RELEASE s1", "releases a savepoint")
_h("transaction", "ROLLBACK TO s1", "rolls back to a savepoint")
_h(
    "transaction",
    "SELECT 'OK' AS status; COMMIT; PRAGMA query_only = 0; DELETE FROM victim",
    "several statements leaving the guard",
)

# --- temp and virtual tables, triggers ---------------------------------------------------
_h("temp", "CREATE TEMP TABLE evil AS SELECT * FROM victim", "a temp table")
_h("temp", "CREATE TEMPORARY TABLE evil (a)", "TEMPORARY")
_h("temp", "CREATE TABLE temp.evil (a)", "schema temp")
_h("temp", "CREATE TEMP VIEW evil AS SELECT 1 AS a", "a temp view")
_h(
    "temp",
    "CREATE TEMP TRIGGER evil AFTER DELETE ON main.victim BEGIN SELECT 1; END",
    "a temp trigger on a main table",
)
_h("virtual", "CREATE VIRTUAL TABLE evil USING fts5(a)", "an FTS5 table")
_h("virtual", "CREATE VIRTUAL TABLE evil USING fts4(a)", "an FTS4 table")
_h("virtual", "CREATE VIRTUAL TABLE evil USING rtree(id, x0, x1)", "an R-tree")
_h("virtual", "CREATE VIRTUAL TABLE temp.evil USING fts4(a)", "in temp")

# --- DDL ---------------------------------------------------------------------------------
_h("ddl", "CREATE TABLE evil (a)", "creates a table")
_h("ddl", "CREATE TABLE IF NOT EXISTS victim (a)", "a no-op CREATE")
_h("ddl", "DROP TABLE victim", "drops the victim")
_h("ddl", "DROP TABLE IF EXISTS evil_none", "a no-op DROP")
_h("ddl", "ALTER TABLE victim ADD COLUMN evil TEXT", "adds a column")
_h("ddl", "ALTER TABLE victim RENAME TO evil", "renames the victim")
_h("ddl", "ALTER TABLE victim RENAME COLUMN v TO evil", "renames a column")
_h("ddl", "ALTER TABLE victim DROP COLUMN tags", "drops a column")
_h("ddl", "CREATE INDEX evil_idx ON victim (v)", "adds an index")
_h("ddl", "DROP INDEX victim_idx", "drops an index")
_h("ddl", "CREATE VIEW evil_v AS SELECT 1 AS a", "creates a view")
_h("ddl", "DROP VIEW victim_view", "drops a view")
_h(
    "ddl",
    "CREATE TRIGGER evil AFTER INSERT ON victim BEGIN DELETE FROM victim; END",
    "creates a trigger",
)
_h("ddl", "REINDEX", "rebuilds every index")
_h("ddl", "REINDEX victim", "rebuilds an index")
_h("ddl", "ANALYZE", "writes sqlite_stat1")
_h("ddl", "ANALYZE main.victim", "one table")

# --- DML ---------------------------------------------------------------------------------
_h("dml", "DELETE FROM victim", "deletes every row")
_h("dml", "UPDATE victim SET v = 'pwned'", "changes every row")
_h("dml", "INSERT INTO victim (id, v) VALUES (99, 'pwned')", "adds a row")
_h("dml", "REPLACE INTO victim (id, v) VALUES (1, 'pwned')", "replaces a row")
_h("dml", "INSERT OR REPLACE INTO victim (id, v) VALUES (1, 'pwned')", "INSERT OR REPLACE")
_h("dml", "UPDATE OR IGNORE victim SET v = 'pwned'", "UPDATE OR IGNORE")
_h("dml", "DELETE FROM victim RETURNING id AS status", "DELETE ... RETURNING")
_h("dml", "INSERT INTO victim DEFAULT VALUES", "DEFAULT VALUES")
_h("dml", "WITH d AS (SELECT 1) DELETE FROM victim", "WITH ... DELETE")
_h(
    "dml",
    "INSERT INTO victim SELECT id + 100, v, amount, created_at, tags FROM victim",
    "copies rows",
)
_h("dml", "UPDATE victim SET v = s.x FROM (SELECT 'pwned' AS x) AS s", "UPDATE ... FROM")
_h(
    "dml",
    "INSERT INTO victim (id, v) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v = 'pwned'",
    "upsert",
)
_h("dml", "UPDATE sqlite_master SET sql = 'x' WHERE name = 'victim'", "edits the schema table")
_h("dml", 'DELETE FROM "victim"', "a quoted table")
_h("dml", "DELETE FROM [victim]", "a bracket-quoted table")
_h("dml", "DELETE FROM `main`.`victim`", "backticks, schema-qualified")
_h("dml", "dElEtE fRoM ViCtIm", "mixed case")

# --- several statements and comments -----------------------------------------------------
_h("multi", "SELECT 'OK' AS status; DELETE FROM victim", "a DELETE after the alert")
_h("multi", "SELECT 'OK' AS status -- c\n; DELETE FROM victim", "after a -- comment")
_h("multi", "SELECT 'OK' AS status /* ; */ ; DELETE FROM victim", "a ; in a comment")
_h("multi", "SELECT 'OK' AS status; DELETE FROM victim /* unterminated", "unterminated")
_h("multi", "SELECT 'OK' AS status; /* */ DROP TABLE victim --", "comments around DROP")
_h("multi", "SELECT 'a;b' AS status; UPDATE victim SET v = 'pwned'", "a ; in a string")
_h("multi", 'SELECT "OK" AS status; DELETE FROM "victim"', "double quotes")
_h(
    "multi",
    "SELECT [status] FROM (SELECT 'OK' AS [status]); DELETE FROM [victim]",
    "brackets",
)
_h(
    "multi",
    "SELECT `status` FROM (SELECT 'OK' AS `status`); DELETE FROM `victim`",
    "backticks",
)
_h("multi", "SELECT 'OK' AS status;\x0bDELETE FROM victim", "a vertical tab")
_h("multi", "SELECT 'OK' AS status;\x0cDELETE FROM victim", "a form feed")
_h("multi", "SELECT 'OK' AS status\x00; DELETE FROM victim", "a NUL byte")
_h("multi", "SELECT 'OK' AS status;\u2028DELETE FROM victim", "a Unicode line separator")
_h("multi", "SELECT X'4f4b' AS status; DELETE FROM victim", "a blob then a DELETE")
_h("multi", "SELECT 'OK' AS status; VACUUM INTO '%DIR%/m1.db'", "VACUUM INTO after the alert")
_h(
    "multi",
    "SELECT 'OK' AS status; ATTACH '%DIR%/m2.db' AS e; CREATE TABLE e.t (a)",
    "ATTACH and CREATE after the alert",
)
_h(
    "multi",
    "SELECT 1 AS status /* /* */ ; DELETE FROM victim; /* */",
    "/* */ does not nest",
)
_h("multi", "SELECT 2 --1\n; DELETE FROM victim", "-- with no space")
_h("multi", "SELECT 'OK' AS status #\n; DELETE FROM victim", "# is no comment in SQLite")
_h("multi", "SELECT 'OK' AS status;\r\nDELETE FROM victim\r\n", "CRLF")
_h(
    "multi",
    "SELECT 'it''s' AS status; PRAGMA writable_schema = 1; "
    "UPDATE sqlite_master SET sql = '' WHERE name = 'victim'",
    "doubled quote, then schema corruption",
)
_h("multi", "SELECT 'OK' AS status;;; DELETE FROM victim", "empty statements")
_h(
    "multi",
    "SELECT 'OK' AS status; SAVEPOINT a; DELETE FROM victim; RELEASE a",
    "a savepoint around a DELETE",
)

# --- resources ---------------------------------------------------------------------------
_h(
    "resource",
    "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
    "SELECT count(*) AS status FROM r",
    "an endless recursive CTE",
    db_layer_only=READ_BOUNDED,
)
_h(
    "resource",
    "SELECT count(*) AS status FROM victim a, victim b, victim c, victim d, victim e, "
    "victim f, victim g, victim h, victim i, victim j, victim k, victim l, victim m",
    "a cross-join bomb",
    db_layer_only=READ_BOUNDED,
)
_h(
    "resource",
    "SELECT length(zeroblob(2000000000)) AS status",
    "a 2 GB blob",
    db_layer_only=READ_BOUNDED,
)
_h(
    "resource",
    "SELECT length(randomblob(1000000000)) AS status",
    "a 1 GB random blob",
    db_layer_only=READ_BOUNDED,
)
_h(
    "resource",
    "SELECT length(printf('%.*c', 1000000000, 'x')) AS status",
    "a 1 GB string",
    db_layer_only=READ_BOUNDED,
)
_h(
    "resource",
    "SELECT length(replace(hex(zeroblob(100000000)), '00', 'xyz')) AS status",
    "a growing replace",
    db_layer_only=READ_BOUNDED,
)
_h(
    # One LIKE is one SQLite step, and SQLite compares pattern and value character by
    # character: 8e5 x 1.2e4 steps, about 10 s on one core, out of reach of the progress
    # handler and interrupt(). The runner stops waiting for it (execution/lane.py).
    "resource",
    "SELECT printf('%.*c', 800000, 'a') LIKE '%' || printf('%.*c', 12000, 'a') || 'b' AS status",
    "a LIKE that cannot be interrupted",
    db_layer_only=READ_BOUNDED,
)

# --- size and nesting --------------------------------------------------------------------
add_size_cases(_CORPUS)
_h(
    "size",
    "SELECT 'OK' AS status, " + ", ".join(f"'{i}'" for i in range(2000)) + "; VACUUM",
    "a wide select list then VACUUM",
)

HOSTILE: list[HostileCase] = _CORPUS.cases

READS: list[ReadCase] = [
    ReadCase("SELECT count(*) AS n FROM victim", "count"),
    ReadCase('SELECT "id", "v" FROM "victim" ORDER BY "id"', "double-quoted identifiers"),
    ReadCase("SELECT [id], [v] FROM [victim]", "bracket identifiers"),
    ReadCase("SELECT `id` FROM `victim`", "backtick identifiers"),
    ReadCase("SELECT id FROM victim ORDER BY id LIMIT 2 OFFSET 1", "LIMIT OFFSET"),
    ReadCase("SELECT id FROM victim LIMIT 1, 2", "LIMIT a, b"),
    ReadCase("SELECT IIF(count(*) > 3, 'ALERT', 'OK') AS status FROM victim", "IIF"),
    ReadCase(
        "SELECT CASE WHEN sum(amount) > 100 THEN 'ALERT' ELSE 'OK' END AS status FROM victim",
        "CASE",
    ),
    ReadCase("SELECT v, sum(amount) FROM victim GROUP BY v HAVING sum(amount) > 0", "HAVING"),
    ReadCase("SELECT count(*) FILTER (WHERE amount > 10) AS big FROM victim", "FILTER"),
    ReadCase(
        "SELECT id, row_number() OVER (PARTITION BY v ORDER BY id) AS rn FROM victim",
        "row_number",
    ),
    ReadCase(
        "SELECT id, sum(amount) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
        "FROM victim",
        "window frame",
    ),
    ReadCase(
        "SELECT id, lag(amount) OVER w, lead(amount, 1, 0) OVER w FROM victim "
        "WINDOW w AS (ORDER BY id)",
        "named window",
    ),
    ReadCase(
        "SELECT id, rank() OVER (ORDER BY amount DESC), ntile(2) OVER (ORDER BY id) FROM victim",
        "rank, ntile",
    ),
    ReadCase(
        "SELECT id, first_value(v) OVER (ORDER BY id GROUPS BETWEEN 1 PRECEDING AND "
        "1 FOLLOWING EXCLUDE CURRENT ROW) FROM victim",
        "GROUPS frame, EXCLUDE",
    ),
    ReadCase("WITH s AS (SELECT count(*) AS n FROM victim) SELECT n FROM s", "CTE"),
    ReadCase(
        "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) "
        "SELECT max(n) FROM r",
        "recursive CTE",
    ),
    ReadCase(
        "WITH RECURSIVE d (x) AS (SELECT date('2026-01-01') UNION ALL "
        "SELECT date(x, '+1 day') FROM d WHERE x < '2026-01-07') SELECT count(*) FROM d",
        "recursive date series",
    ),
    ReadCase(
        "WITH a AS MATERIALIZED (SELECT id FROM victim) SELECT count(*) FROM a",
        "MATERIALIZED CTE",
    ),
    ReadCase("VALUES (1, 'a'), (2, 'b')", "VALUES"),
    ReadCase("SELECT * FROM (VALUES (1), (2)) AS t", "VALUES in FROM"),
    ReadCase("SELECT 1 AS n UNION ALL SELECT 2 UNION SELECT 3 ORDER BY n", "UNION"),
    ReadCase("SELECT id FROM victim INTERSECT SELECT id FROM victim_log", "INTERSECT"),
    ReadCase("SELECT id FROM victim EXCEPT SELECT id FROM victim_log", "EXCEPT"),
    ReadCase("""SELECT json_extract('{"a": {"b": 1}}', '$.a.b') AS b""", "json_extract"),
    ReadCase("SELECT tags ->> '$.team' AS team, tags -> '$.sev' FROM victim", "-> and ->>"),
    ReadCase("SELECT j.value FROM victim, json_each(victim.tags) AS j", "json_each"),
    ReadCase("SELECT key, value FROM json_tree('{\"a\": [1, 2]}')", "json_tree"),
    ReadCase(
        "SELECT json_object('id', id, 'v', v), json_array(id, v) FROM victim",
        "json_object",
    ),
    ReadCase("SELECT json_group_array(id), json_group_object(v, id) FROM victim", "json aggs"),
    ReadCase("SELECT json_valid(tags), json_type(tags) FROM victim", "json_valid"),
    ReadCase("SELECT date('now', '-1 day') AS yesterday, datetime('now')", "date"),
    ReadCase(
        "SELECT count(*) FROM victim WHERE created_at > datetime('now', '-7 days')",
        "date arithmetic",
    ),
    ReadCase("SELECT strftime('%Y-%m', created_at) AS m, count(*) FROM victim GROUP BY m", "%"),
    ReadCase(
        "SELECT julianday('now') - julianday(min(created_at)) AS age FROM victim",
        "julianday",
    ),
    ReadCase("SELECT unixepoch(created_at), time('12:00', '+1 hour') FROM victim", "unixepoch"),
    ReadCase("SELECT group_concat(v, ',') AS vs FROM victim", "group_concat"),
    ReadCase("SELECT upper(v), lower(v), length(v), substr(v, 1, 1) FROM victim", "strings"),
    ReadCase(
        "SELECT replace(v, 'a', 'b'), trim('  x  '), instr(v, 'a'), printf('%05d', id) FROM victim",
        "replace, printf",
    ),
    ReadCase("SELECT v FROM victim WHERE v LIKE 'a%' ESCAPE '!'", "LIKE ESCAPE"),
    ReadCase("SELECT v FROM victim WHERE v GLOB 'a*'", "GLOB"),
    ReadCase("SELECT coalesce(NULL, v), ifnull(NULL, 1), nullif(id, 1) FROM victim", "NULLs"),
    ReadCase(
        "SELECT round(avg(amount), 2), min(amount), max(amount), total(amount) FROM victim",
        "aggregates",
    ),
    ReadCase("SELECT count(DISTINCT v) FROM victim", "DISTINCT count"),
    ReadCase("SELECT v.id, l.note FROM victim v LEFT JOIN victim_log l ON l.id = v.id", "JOIN"),
    ReadCase(
        "SELECT v.id FROM victim v WHERE EXISTS (SELECT 1 FROM victim_log l WHERE l.id = v.id)",
        "EXISTS",
    ),
    ReadCase(
        "SELECT id FROM victim WHERE id IN (SELECT id FROM victim_log) "
        "AND amount > (SELECT avg(amount) FROM victim)",
        "subqueries",
    ),
    ReadCase(
        "SELECT t.v, t.n FROM (SELECT v, count(*) AS n FROM victim GROUP BY v) AS t",
        "derived table",
    ),
    ReadCase("SELECT 'OK' AS status -- trailing comment", "-- comment"),
    ReadCase("/* header */ SELECT count(*) /* rows */ FROM victim", "block comments"),
    ReadCase("SELECT 'OK' AS status /* an unterminated comment at the end", "unterminated /*"),
    ReadCase("SELECT 'x; DELETE FROM victim' AS status", "a ; in a string"),
    ReadCase("SELECT 'it''s' AS a, X'4f4b' AS b, x'00' AS c", "quotes and blobs"),
    ReadCase("SELECT CAST(amount AS INTEGER), CAST(id AS TEXT), typeof(tags) FROM victim", "CAST"),
    ReadCase("SELECT max(1, 2, 3), min(1, 2), abs(-1), 7 % 3, 7 / 2", "math"),
    ReadCase("SELECT random() IS NOT NULL, sqlite_version() IS NOT NULL", "builtins"),
    ReadCase("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", "schema"),
    ReadCase("SELECT * FROM victim WHERE id BETWEEN 1 AND 3 AND v IS NOT NULL", "BETWEEN"),
    ReadCase("SELECT DISTINCT v FROM victim ORDER BY v DESC NULLS LAST", "NULLS LAST"),
    ReadCase("SELECT id FROM victim INDEXED BY victim_idx WHERE v = 'a'", "INDEXED BY"),
    ReadCase("SELECT * FROM victim_view", "a view"),
    ReadCase("SELECT hex(randomblob(4)) IS NOT NULL, quote(v), unicode(v) FROM victim", "misc"),
    ReadCase(
        "SELECT v, count(*) FROM victim GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        "ordinals",
    ),
    ReadCase("SELECT id, iif(amount > 10, 'big', 'small') FROM victim", "iif"),
    ReadCase("SELECT name FROM pragma_table_info('victim')", "table-valued pragma read"),
    ReadCase("SELECT * FROM victim AS a CROSS JOIN victim_log AS b LIMIT 3", "CROSS JOIN"),
    ReadCase("SELECT * FROM victim NATURAL JOIN victim_log", "NATURAL JOIN"),
    ReadCase("SELECT * FROM victim FULL OUTER JOIN victim_log USING (id)", "FULL JOIN"),
]
