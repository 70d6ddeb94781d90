"""Hostile and legitimate alert SQL for PostgreSQL 15 (sqlglot dialect ``postgres``).

Written from the PostgreSQL manual: lexical structure (nested ``/* */`` comments, ``--`` ended
by CR or LF, ``E''`` strings, dollar quoting, ``U&"..."`` identifiers with ``UESCAPE``, string
continuation across a newline, ``standard_conforming_strings``), system administration
functions (settings, signalling, backup control, replication slots and origins, generic file
access, advisory locks, index maintenance), statistics resets, server-side large objects,
dblink, tablefunc (``crosstab`` / ``connectby`` take SQL text), the XML mapping functions and
``ts_stat`` / ``ts_rewrite`` (also SQL text), adminpack, ``COPY ... PROGRAM``, ``DO``, ``CALL``,
``PREPARE``, ``LOCK``, cursors, ``LISTEN`` / ``NOTIFY``, sequences and transaction control.

Placeholders, filled in by the test: ``%DB%`` the victim database, ``%DIR%`` the watched
directory the server may write (no trailing slash), ``%APP%`` the victim session's
application_name, ``%CHAN%`` the channel it listens on, ``%SLOT%`` the victim replication
slot, ``%LO%`` the victim large object's oid, ``%RO%`` the read-only role and ``%TAG%`` a
random suffix that names everything an attack would create (``sst_evil_%TAG%``).
"""

from __future__ import annotations

from readonly_corpus import Corpus, HostileCase, ReadCase

_CORPUS = Corpus()
_h = _CORPUS.add

#: The victim session's pid, as an alert would look it up.
PID = "(SELECT pid FROM pg_stat_activity WHERE application_name = '%APP%')"
EVIL = "sst_evil_%TAG%"
UDF = "a user-defined function: its body is not in the text; the read-only transaction stops it"

# --- data changes the parser must see -------------------------------------------------------
_h("dml", "DELETE FROM victim", "deletes every victim row")
_h("dml", "UPDATE victim SET v = 'pwned' WHERE id < 10", "rewrites victim rows")
_h("dml", "INSERT INTO victim_log (msg) VALUES ('pwned')", "adds a row")
_h(
    "dml",
    "INSERT INTO victim_log (msg) SELECT v FROM victim RETURNING 'OK' AS status",
    "INSERT ... RETURNING shaped like an alert",
)
_h(
    "dml",
    "MERGE INTO victim t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE",
    "PostgreSQL 15 MERGE deleting a row",
)
_h(
    "dml",
    "UPDATE pg_settings SET setting = 'off' WHERE name = 'default_transaction_read_only'",
    "the pg_settings update rule calls set_config",
)
_h("dml", "TRUNCATE victim", "empties the victim table")
_h("dml", "TRUNCATE victim_log RESTART IDENTITY CASCADE", "empties and resets the identity")
_h("dml", "EXPLAIN ANALYZE DELETE FROM victim", "EXPLAIN ANALYZE executes the DELETE")
_h(
    "dml",
    "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE victim SET v = 'pwned'",
    "EXPLAIN ANALYZE with options executes the UPDATE",
)
_h("dml", "SELECT * INTO " + EVIL + " FROM victim", "SELECT INTO creates a table")
_h("dml", "SELECT 'OK' AS status INTO TEMP " + EVIL, "SELECT INTO TEMP creates a table")

# --- data-modifying CTEs -------------------------------------------------------------------
_h(
    "cte",
    "WITH d AS (DELETE FROM victim RETURNING id) SELECT 'OK' AS status, count(*) FROM d",
    "DELETE inside WITH, counted like an alert",
)
_h(
    "cte",
    "WITH u AS (UPDATE victim SET v = 'pwned' RETURNING 1) SELECT 'OK' AS status FROM u LIMIT 1",
    "UPDATE inside WITH",
)
_h(
    "cte",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3), "
    "i AS (INSERT INTO victim_log (msg) SELECT 'r' || n FROM r RETURNING 1) "
    "SELECT 'OK' AS status FROM i",
    "INSERT fed by a recursive CTE",
)
_h(
    "cte",
    "WITH a AS (SELECT 1 AS x), b AS MATERIALIZED (DELETE FROM victim_log RETURNING id) "
    "SELECT 'OK' AS status FROM a LEFT JOIN b ON true",
    "the DELETE is the second, MATERIALIZED CTE",
)
_h(
    "cte",
    "WITH m AS (MERGE INTO victim t USING victim s ON t.id = s.id WHEN MATCHED THEN "
    "UPDATE SET v = 'pwned') SELECT 'OK' AS status",
    "MERGE inside WITH (PostgreSQL 17 syntax, an error on 15)",
)

# --- row and table locks -------------------------------------------------------------------
_h("lock", "SELECT 'OK' AS status FROM victim FOR UPDATE", "row locks")
_h("lock", "SELECT id FROM victim FOR NO KEY UPDATE SKIP LOCKED", "row locks, skipping")
_h("lock", "SELECT id FROM victim FOR SHARE NOWAIT", "shared row locks")
_h("lock", "SELECT v.id FROM victim v FOR KEY SHARE OF v", "key-share row locks on one table")
_h(
    "lock",
    "SELECT 'OK' AS status FROM (SELECT id FROM victim FOR UPDATE) s",
    "row locks inside a subquery",
)
_h(
    "lock",
    "WITH l AS (SELECT id FROM victim FOR UPDATE) SELECT 'OK' AS status FROM l",
    "row locks inside a CTE",
)
_h("lock", "LOCK TABLE victim IN ACCESS EXCLUSIVE MODE", "blocks every reader of victim")
_h("lock", "LOCK victim_log NOWAIT", "LOCK without TABLE, default ACCESS EXCLUSIVE")

# --- DDL -----------------------------------------------------------------------------------
_h("ddl", "DROP TABLE victim", "drops the victim table")
_h("ddl", "ALTER TABLE victim ADD COLUMN evil int", "changes the table")
_h("ddl", "CREATE INDEX " + EVIL + " ON victim (v)", "creates an index")
_h("ddl", "CREATE TABLE " + EVIL + " AS SELECT * FROM victim", "copies the table")
_h("ddl", "CREATE TEMP TABLE " + EVIL + " AS SELECT 1 AS a", "a temporary table")
_h(
    "ddl",
    "CREATE OR REPLACE FUNCTION victim_write_fn() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$",
    "replaces a victim function",
)
_h("ddl", "CREATE EXTENSION IF NOT EXISTS pgrowlocks", "installs an extension")
_h("ddl", "DROP EXTENSION dblink CASCADE", "drops an extension")
_h("ddl", "COMMENT ON TABLE victim IS 'pwned'", "a catalog write")
_h("ddl", "ALTER SEQUENCE victim_seq RESTART WITH 1000", "resets the sequence")
_h("ddl", "REFRESH MATERIALIZED VIEW victim_mv", "rewrites the materialized view")
_h("ddl", "CREATE DATABASE " + EVIL, "a new database")
_h("ddl", "CREATE ROLE " + EVIL + " SUPERUSER LOGIN", "a new superuser")
_h("ddl", "CREATE TABLESPACE " + EVIL + " LOCATION '%DIR%'", "a tablespace in the watched dir")
_h("ddl", "CREATE PUBLICATION " + EVIL + " FOR ALL TABLES", "publishes every table")
_h("ddl", "ALTER DATABASE %DB% SET default_transaction_read_only = off", "a database default")
_h("ddl", "ALTER ROLE %RO% SET default_transaction_read_only = off", "a role default")
_h("ddl", "ALTER ROLE CURRENT_USER PASSWORD 'pwned'", "changes the login's password")
_h("ddl", "ALTER SYSTEM SET work_mem = '77MB'", "writes postgresql.auto.conf")
_h("ddl", "ALTER SYSTEM RESET ALL", "empties postgresql.auto.conf")

# --- privileges ----------------------------------------------------------------------------
_h("dcl", "GRANT ALL ON victim TO PUBLIC", "opens the victim table to everyone")
_h("dcl", "REVOKE SELECT ON victim FROM %RO%", "takes a grant away")
_h("dcl", "GRANT pg_write_server_files TO %RO%", "lets the read-only role write files")
_h("dcl", "ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC", "default privileges")
_h("dcl", "REASSIGN OWNED BY %RO% TO postgres", "ownership change")

# --- several statements, transaction control between them ---------------------------------
_h("multi", "SELECT 'OK' AS status; DELETE FROM victim", "a DELETE after the alert")
_h("multi", "SELECT 'OK' AS status;DROP TABLE victim", "no space after ;")
_h(
    "multi",
    "SELECT 'OK' AS status; COMMIT; DELETE FROM victim",
    "COMMIT ends the read-only transaction, then a DELETE",
)
_h(
    "multi",
    "SELECT 'OK' AS status; COMMIT; BEGIN READ WRITE; DELETE FROM victim; COMMIT",
    "a new read-write transaction after COMMIT",
)
_h(
    "multi",
    "COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; "
    "START TRANSACTION READ WRITE; UPDATE victim SET v = 'pwned'; COMMIT; "
    "SELECT 'OK' AS status",
    "the session made read-write, then an UPDATE committed",
)
_h(
    "multi",
    "SET TRANSACTION READ WRITE; DELETE FROM victim",
    "SET TRANSACTION READ WRITE before any query",
)
_h(
    "multi",
    "ROLLBACK; BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE; "
    "INSERT INTO victim_log (msg) VALUES ('pwned'); COMMIT",
    "ROLLBACK, then a serializable read-write transaction",
)
_h(
    "multi",
    "SELECT 'OK' AS status; SELECT set_config('default_transaction_read_only', 'off', false); "
    "COMMIT; INSERT INTO victim_log (msg) VALUES ('pwned'); COMMIT",
    "the session default turned off through set_config",
)
_h(
    "multi",
    "END; BEGIN; SET LOCAL transaction_read_only = off; DELETE FROM victim; END",
    "END and BEGIN spellings, SET LOCAL",
)
_h(
    "multi",
    "SAVEPOINT s; ROLLBACK TO SAVEPOINT s; RELEASE s; DELETE FROM victim",
    "savepoint juggling then a DELETE",
)
_h(
    "multi",
    "SELECT 1 AS status; COMMIT; SELECT pg_notify('%CHAN%', 'pwned'); COMMIT",
    "a NOTIFY delivered to the victim session once committed (any login may)",
)
_h("multi", "COMMIT; NOTIFY %CHAN%, 'pwned'; COMMIT", "NOTIFY statement, committed")
_h(
    "multi",
    "COMMIT; BEGIN READ WRITE; SELECT lo_create(0); COMMIT",
    "any login may create a large object in a read-write transaction",
)
_h(
    "multi",
    "COMMIT; SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; "
    "ALTER ROLE CURRENT_USER SET statement_timeout = 0; COMMIT",
    "an ordinary role may change its own defaults",
)
_h(
    "multi",
    "BEGIN; DELETE FROM victim; PREPARE TRANSACTION '" + EVIL + "'",
    "a prepared transaction outlives the session",
)
_h("multi", "SELECT 'OK' AS status;;;; DELETE FROM victim", "empty statements in between")
_h("multi", "SELECT 'OK' AS status\n;\nDROP TABLE victim\n", "statements on their own lines")
_h(
    "multi",
    "SET statement_timeout = 0; SELECT pg_sleep(30) AS status",
    "turns the timeout off, then sleeps",
)
_h(
    "multi",
    "SELECT 'OK' AS status; COPY victim TO '%DIR%/" + EVIL + "_multi.csv'",
    "a server file written after the alert",
)
_h(
    "multi",
    "SELECT 'OK' AS status; COMMIT; SELECT pg_advisory_lock(4242); COMMIT",
    "a session-level advisory lock after COMMIT",
)

# --- transaction and session control alone ---------------------------------------------------
_h("txn", "BEGIN READ WRITE", "opens a read-write transaction")
_h("txn", "START TRANSACTION READ WRITE, ISOLATION LEVEL READ COMMITTED", "the START spelling")
_h("txn", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "the session default")
_h("txn", "SET default_transaction_read_only = off", "the session default by name")
_h("txn", "SET transaction_read_only TO off", "the current transaction by name")
_h("txn", "RESET ALL", "resets every session setting, the executor's too")
_h("txn", "DISCARD ALL", "resets the session")
_h("txn", "SET SESSION AUTHORIZATION %RO%", "changes the session user")
_h("txn", "SET ROLE postgres", "changes the current role")
_h("txn", "COMMIT PREPARED '" + EVIL + "'", "commits a prepared transaction")
_h("txn", "CHECKPOINT", "forces a checkpoint")
_h("txn", "LOAD 'auto_explain'", "loads a shared library into the session")
_h(
    "txn",
    "DECLARE c CURSOR WITH HOLD FOR SELECT * FROM victim",
    "a cursor that outlives the transaction",
)
_h("txn", "PREPARE p AS DELETE FROM victim", "a prepared DELETE")
_h("txn", "PREPARE p AS SELECT 1; EXECUTE p", "PREPARE then EXECUTE")
_h("txn", "LISTEN %CHAN%", "listens on the victim's channel")
_h("txn", "NOTIFY %CHAN%, 'pwned'", "notifies the victim session")
_h(
    "txn",
    "SELECT pg_notify('%CHAN%', 'pwned') AS status",
    "notifies the victim session if the transaction commits",
)
_h("txn", "VACUUM FULL victim", "rewrites the table")
_h("txn", "ANALYZE victim", "writes pg_statistic")
_h("txn", "CLUSTER victim USING victim_pkey", "rewrites the table in index order")
_h("txn", "REINDEX TABLE victim", "rebuilds the indexes")

# --- procedural code -----------------------------------------------------------------------
_h("procedural", "DO $$ BEGIN DELETE FROM victim; END $$", "an anonymous block")
_h(
    "procedural",
    "DO LANGUAGE plpgsql $body$ BEGIN EXECUTE 'DELETE FROM ' || 'victim'; END $body$",
    "dynamic SQL in an anonymous block",
)
_h(
    "procedural",
    "DO $$ BEGIN PERFORM pg_terminate_backend(" + PID + "); END $$",
    "signals the victim from an anonymous block",
)
_h("procedural", "CALL victim_proc()", "a procedure that deletes")
_h("procedural", "SELECT victim_write_fn() AS status", "a function that inserts", db_layer_only=UDF)
_h(
    "procedural",
    "SELECT victim_definer_fn() AS status",
    "a SECURITY DEFINER function owned by the superuser that inserts",
    db_layer_only=UDF,
)
_h(
    "procedural",
    "SELECT 'OK' AS status FROM victim WHERE victim_write_fn() IS NOT NULL LIMIT 1",
    "the writing function hidden in WHERE",
    db_layer_only=UDF,
)
_h(
    "procedural",
    "SELECT s.status FROM victim_write_fn() AS s(status)",
    "the writing function in FROM",
    db_layer_only=UDF,
)

# --- signalling other sessions -------------------------------------------------------------
_h(
    "signal",
    "SELECT pg_terminate_backend(pid) AS status FROM pg_stat_activity "
    "WHERE application_name = '%APP%'",
    "kills the victim session",
)
_h("signal", "SELECT pg_cancel_backend(" + PID + ") AS status", "cancels the victim's query")
_h(
    "signal",
    "SELECT 'OK' AS status FROM pg_stat_activity "
    "WHERE application_name = '%APP%' AND pg_catalog.pg_terminate_backend(pid)",
    "schema-qualified, hidden in WHERE",
)
_h(
    "signal",
    "SELECT 'OK' AS status FROM pg_stat_activity a, LATERAL pg_terminate_backend(a.pid) k "
    "WHERE a.application_name = '%APP%'",
    "in a LATERAL function call",
)
_h(
    "signal",
    "SELECT 'OK' AS status FROM pg_stat_activity WHERE application_name = '%APP%' "
    "ORDER BY pg_terminate_backend(pid)",
    "in ORDER BY",
)
_h(
    "signal",
    "WITH k AS (SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity "
    "WHERE application_name = '%APP%') SELECT 'OK' AS status FROM k",
    "in a CTE",
)
_h(
    "signal",
    'SELECT U&"pg\\005fterminate\\005fbackend"(' + PID + ") AS status",
    "the name spelled with U& escapes",
)
_h(
    "signal",
    "SELECT U&\"!0070g_terminate_backend\" UESCAPE '!' (" + PID + ") AS status",
    "U& escapes with a custom UESCAPE character",
)
_h(
    "signal",
    'SELECT "pg_terminate_backend"(' + PID + ") AS status",
    "the name in double quotes",
)
_h("signal", "SELECT PG_TERMINATE_BACKEND(" + PID + ") AS status", "the name in capitals")
_h(
    "signal",
    "SELECT pg_catalog . /* gap */ pg_terminate_backend (" + PID + ") AS status",
    "a comment between schema and name",
)
_h(
    "signal",
    "SELECT pg_terminate_backend(pid => " + PID + ", timeout => 100) AS status",
    "named arguments",
)
_h(
    "signal",
    "SELECT CASE WHEN true THEN pg_terminate_backend(" + PID + ") END AS status",
    "inside CASE",
)
_h(
    "signal",
    "SELECT COALESCE(NULL, pg_terminate_backend(" + PID + ")) AS status",
    "inside COALESCE",
)
_h("signal", "VALUES (pg_terminate_backend(" + PID + "))", "in VALUES")
_h(
    "signal",
    "SELECT * FROM ROWS FROM (pg_catalog.pg_terminate_backend(" + PID + ")) AS t(status)",
    "in ROWS FROM",
)
_h(
    "signal",
    "SELECT ARRAY(SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE application_name = '%APP%') AS status",
    "in an ARRAY subquery",
)
_h(
    "signal",
    "SELECT bool_and(pg_terminate_backend(pid)) FILTER (WHERE application_name = '%APP%') "
    "AS status FROM pg_stat_activity",
    "as an aggregate argument with FILTER",
)
_h(
    "signal",
    "SELECT 'OK' AS status FROM pg_stat_activity GROUP BY 1 "
    "HAVING bool_or(application_name = '%APP%' AND pg_terminate_backend(pid))",
    "in HAVING",
)
_h(
    "signal",
    "SELECT xmlelement(name status, pg_terminate_backend(" + PID + "))",
    "inside xmlelement",
)
_h(
    "signal",
    "SELECT row_to_json(ROW(pg_terminate_backend(" + PID + "))) AS status",
    "inside a row constructor",
)
_h(
    "signal",
    "SELECT 'OK' AS status WHERE EXISTS (SELECT pg_terminate_backend(pid) "
    "FROM pg_stat_activity WHERE application_name = '%APP%')",
    "in EXISTS",
)
_h(
    "signal",
    "SELECT 'OK' AS status FROM generate_series(1, 1) g JOIN pg_stat_activity a "
    "ON a.application_name = '%APP%' AND pg_terminate_backend(a.pid)",
    "in a JOIN condition",
)
_h(
    "signal",
    "SELECT pg_terminate_backend(" + PID + ")::text AS status",
    "with a cast",
)
_h(
    "signal",
    "SELECT pg_log_backend_memory_contexts(" + PID + ") AS status",
    "signals the victim to log its memory",
)
_h("signal", "SELECT pg_reload_conf() AS status", "signals the postmaster to reload")
_h("signal", "SELECT pg_rotate_logfile() AS status", "signals the logger")
_h("signal", "SELECT pg_promote(false) AS status", "asks a standby to promote")
_h("signal", "SELECT pg_wal_replay_pause() AS status", "pauses recovery on a standby")

# --- settings ------------------------------------------------------------------------------
_h(
    "settings",
    "SELECT set_config('default_transaction_read_only', 'off', false) AS status",
    "the session default through a function",
)
_h(
    "settings",
    "SELECT pg_catalog.set_config('transaction_read_only', 'off', true) AS status",
    "the current transaction through a function",
)
_h(
    "settings",
    "SELECT \"set_config\"('session_replication_role', 'replica', false) AS status",
    "disables triggers for the session",
)
_h(
    "settings",
    "SELECT 'OK' AS status FROM pg_settings "
    "WHERE set_config('statement_timeout', '0', false) IS NOT NULL LIMIT 1",
    "set_config hidden in WHERE",
)
_h(
    "settings",
    "SELECT set_config('statement_timeout', '0', false), pg_sleep(3) AS status",
    "turns the timeout off in the same statement, then sleeps",
)

# --- comments the parser and the server might read differently -------------------------------
_h(
    "comment",
    "SELECT 'OK' AS status -- harmless\n; DELETE FROM victim",
    "the second statement after a line comment",
)
_h(
    "comment",
    "SELECT 'OK' AS status /* ; */ , pg_terminate_backend(" + PID + ") AS x",
    "a call after a block comment holding ;",
)
_h(
    "comment",
    "SELECT /* outer /* inner */ still a comment */ pg_terminate_backend(" + PID + ") AS status",
    "nested block comments (PostgreSQL nests them)",
)
_h(
    "comment",
    "SELECT /* /* */ */ pg_terminate_backend(" + PID + ") AS status",
    "a nested comment that closes twice",
)
_h(
    "comment",
    "SELECT 'OK' AS status, --\r pg_terminate_backend(" + PID + ") AS x",
    "a line comment ended by a lone CR (PostgreSQL ends it there)",
)
_h(
    "comment",
    "SELECT 'OK' AS status --\r; DELETE FROM victim",
    "a second statement after a CR-ended comment",
)
_h(
    "comment",
    "SELECT --\n pg_terminate_backend(" + PID + ") AS status",
    "the call on the line after a comment",
)
_h(
    "comment",
    "/* leading */ DELETE FROM victim -- trailing",
    "a DELETE between comments",
)
_h("comment", "-- only a comment\nDELETE FROM victim", "a DELETE after a comment line")
_h(
    "comment",
    "SELECT 'OK' AS status /* unterminated ; DELETE FROM victim",
    "an unterminated block comment",
)

# --- string literals -------------------------------------------------------------------------
_h(
    "string",
    "SELECT '\\' AS status, pg_terminate_backend(" + PID + ") AS x, '\\' AS y",
    "backslash as an ordinary character in a standard string",
)
_h(
    "string",
    "SELECT E'\\'' AS status, pg_terminate_backend(" + PID + ") AS x",
    "an escaped quote in an E'' string",
)
_h(
    "string",
    "SELECT E'\\\\' AS status, pg_terminate_backend(" + PID + ") AS x --'",
    "an escaped backslash closing an E'' string",
)
_h(
    "string",
    "SELECT 'a\\'' AS status, pg_switch_wal() AS x --'",
    "with standard_conforming_strings off (the victim database's default) the string ends "
    "at \\' and the call runs; with it on, all of it is one string",
    db_layer_only="read as the executor pins it (standard_conforming_strings on), the call "
    "is inside the string: nothing to refuse, as long as the session is pinned",
)
_h(
    "string",
    "SELECT $$ ' $$ AS status, pg_terminate_backend(" + PID + ") AS x --'",
    "a quote inside dollar quoting",
)
_h(
    "string",
    "SELECT $x$ $$ $x$ AS status, pg_terminate_backend(" + PID + ") AS x",
    "$$ inside a tagged dollar quote",
)
_h(
    "string",
    "SELECT $tag$it's$tag$ AS status, pg_switch_wal() AS x",
    "a tagged dollar quote holding a quote",
)
_h(
    "string",
    "SELECT U&'\\0041' AS status, pg_terminate_backend(" + PID + ") AS x",
    "a U& string",
)
_h(
    "string",
    "SELECT U&'d!0061t!+000061' UESCAPE '!' AS status, pg_terminate_backend(" + PID + ") AS x",
    "a U& string with UESCAPE",
)
_h(
    "string",
    "SELECT N'OK' AS status, pg_terminate_backend(" + PID + ") AS x",
    "a national string",
)
_h(
    "string",
    "SELECT X'1F' AS status, B'101' AS b, pg_terminate_backend(" + PID + ") AS x",
    "bit strings",
)
_h(
    "string",
    "SELECT 'O'\n'K' AS status, pg_terminate_backend(" + PID + ") AS x",
    "string continuation across a newline",
)
_h(
    "string",
    "SELECT e'\\x27' AS status, pg_terminate_backend(" + PID + ") AS x",
    "a hex-escaped quote in a lower-case e'' string",
)
_h(
    "string",
    "SELECT 'it''s' AS status, pg_switch_wal() AS x",
    "a doubled quote",
)
_h(
    "string",
    "SELECT 1 AS x$a$, pg_terminate_backend(" + PID + ") AS k, 'OK' AS status$a$",
    "$ inside identifiers, which is not dollar quoting",
)

# --- names spelled differently -----------------------------------------------------------------
_h("name", 'SELECT pg_catalog."pg_switch_wal"() AS status', "quoted, schema-qualified")
_h("name", 'SELECT "pg_catalog"."pg_switch_wal"() AS status', "both parts quoted")
_h("name", 'SELECT U&"pg_switch\\005fwal"() AS status', "U& escape in the name")
_h("name", "SELECT * FROM pg_switch_wal() AS status", "as a table function")
_h("name", "SELECT pg_switch_wal\n(\n) AS status", "newlines between name and parentheses")
_h("name", "SELECT pg_catalog.pg_switch_wal/**/() AS status", "a comment before the parenthesis")
_h("name", "SELECT Pg_Switch_Wal() AS status", "mixed case")

# --- WAL, backups, replication ---------------------------------------------------------------
_h("wal", "SELECT pg_switch_wal() AS status", "forces a WAL segment switch")
_h(
    "wal",
    "SELECT pg_create_physical_replication_slot('" + EVIL + "') AS status",
    "a replication slot, not transactional",
)
_h(
    "wal",
    "SELECT pg_create_physical_replication_slot('" + EVIL + "', true, false) AS status",
    "a slot that reserves WAL from now on",
)
_h(
    "wal",
    "SELECT pg_create_logical_replication_slot('" + EVIL + "', 'test_decoding') AS status",
    "a logical slot (needs wal_level=logical)",
)
_h("wal", "SELECT pg_drop_replication_slot('%SLOT%') AS status", "drops the victim slot")
_h(
    "wal",
    "SELECT pg_copy_physical_replication_slot('%SLOT%', '" + EVIL + "') AS status",
    "copies the victim slot",
)
_h(
    "wal",
    "SELECT pg_replication_slot_advance('%SLOT%', pg_current_wal_lsn()) AS status",
    "advances the victim slot",
)
_h(
    "wal",
    "SELECT pg_replication_origin_create('" + EVIL + "') AS status",
    "a replication origin",
)
_h("wal", "SELECT pg_create_restore_point('" + EVIL + "') AS status", "a restore point")
_h("wal", "SELECT pg_backup_start('" + EVIL + "', true) AS status", "starts a base backup")
_h("wal", "SELECT * FROM pg_backup_stop() AS status", "stops a base backup")
_h(
    "wal",
    "SELECT pg_logical_emit_message(false, 'sst', 'pwned') AS status",
    "a non-transactional WAL message, kept after the rollback",
    db_layer_gap="PUBLIC may execute pg_logical_emit_message and a read-only transaction "
    "allows it: the record stays in the WAL for logical decoding consumers",
)
_h("wal", "SELECT pg_export_snapshot() AS status", "exports the snapshot to other sessions")
_h(
    "wal",
    "SELECT pg_logical_emit_message(true, 'sst', 'pwned') AS status",
    "a transactional WAL message (decoded only if the transaction commits)",
)

# --- statistics ----------------------------------------------------------------------------------
_h("stats", "SELECT pg_stat_reset() AS status", "resets this database's statistics")
_h("stats", "SELECT pg_stat_reset_shared('bgwriter') AS status", "resets bgwriter statistics")
_h("stats", "SELECT pg_stat_reset_shared('archiver') AS status", "resets archiver statistics")
_h("stats", "SELECT pg_stat_reset_shared('wal') AS status", "resets WAL statistics")
_h(
    "stats",
    "SELECT pg_stat_reset_single_table_counters('victim'::regclass) AS status",
    "resets the victim table's counters",
)
_h(
    "stats",
    "SELECT pg_stat_reset_single_function_counters('victim_write_fn'::regproc) AS status",
    "resets a function's counters",
)
_h("stats", "SELECT pg_stat_reset_slru(NULL) AS status", "resets SLRU statistics")
_h("stats", "SELECT pg_stat_reset_replication_slot(NULL) AS status", "resets slot statistics")
_h("stats", "SELECT pg_stat_statements_reset() AS status", "forgets every recorded statement")
_h(
    "stats",
    "SELECT 'OK' AS status FROM victim WHERE pg_catalog.pg_stat_reset() IS NULL LIMIT 1",
    "a reset hidden in WHERE",
)

# --- large objects -------------------------------------------------------------------------------
_h("lo", "SELECT lo_import('/etc/hostname') AS status", "reads a server file into a large object")
_h(
    "lo",
    "SELECT lo_export(%LO%, '%DIR%/" + EVIL + "_lo.out') AS status",
    "writes a large object to a server file",
)
_h("lo", "SELECT lo_unlink(%LO%) AS status", "deletes the victim large object")
_h("lo", "SELECT lo_create(0) AS status", "a new large object")
_h("lo", "SELECT lo_creat(-1) AS status", "a new large object, old spelling")
_h("lo", "SELECT lo_from_bytea(0, 'pwned') AS status", "a new large object with content")
_h("lo", "SELECT lo_put(%LO%, 0, 'pwned') AS status", "overwrites the victim large object")
_h(
    "lo",
    "SELECT lowrite(lo_open(%LO%, 131072), 'pwned') AS status",
    "writes through a descriptor",
)
_h(
    "lo",
    "SELECT lo_truncate(lo_open(%LO%, 131072), 0) AS status",
    "truncates the victim large object",
)
_h(
    "lo",
    "SELECT pg_catalog.lo_export(%LO%, '%DIR%/" + EVIL + "_lo2.out') AS status",
    "schema-qualified export",
)

# --- server files --------------------------------------------------------------------------------
_h("file", "SELECT pg_read_file('/etc/passwd') AS status", "reads a server file")
_h(
    "file",
    "SELECT pg_read_binary_file('postgresql.auto.conf') AS status",
    "reads a file of the data directory",
)
_h("file", "SELECT * FROM pg_ls_dir('.') AS status", "lists the data directory")
_h("file", "SELECT pg_stat_file('%DIR%/victim.txt') AS status", "stats a server file")
_h("file", "SELECT * FROM pg_ls_waldir() AS status", "lists the WAL directory")
_h("file", "SELECT * FROM pg_ls_tmpdir() AS status", "lists the temporary directory")
_h(
    "file",
    "SELECT pg_file_write('" + EVIL + ".txt', 'pwned', false) AS status",
    "adminpack writes into the data directory",
)
_h(
    "file",
    "SELECT pg_file_write('%DIR%/" + EVIL + ".txt', 'pwned', false) AS status",
    "adminpack writes into the watched directory",
)
_h(
    "file",
    "SELECT pg_file_rename('%DIR%/victim.txt', '%DIR%/" + EVIL + "_renamed.txt') AS status",
    "adminpack renames a file",
)
_h("file", "SELECT pg_file_unlink('%DIR%/victim.txt') AS status", "adminpack deletes a file")
_h("file", "SELECT pg_file_sync('%DIR%/victim.txt') AS status", "adminpack fsyncs a file")
_h("file", "SELECT * FROM pg_logdir_ls() AS status", "adminpack lists the log directory")
_h("file", "COPY victim TO '%DIR%/" + EVIL + "_copy.csv'", "COPY to a server file")
_h(
    "file",
    "COPY (SELECT 'OK' AS status) TO PROGRAM 'touch %DIR%/" + EVIL + "_program'",
    "COPY to a shell command",
)
_h("file", "COPY victim_log (msg) FROM PROGRAM 'echo pwned'", "COPY from a shell command")
_h("file", "COPY victim_log (msg) FROM '/etc/hostname'", "COPY from a server file")
_h(
    "file",
    "SELECT * FROM pg_hba_file_rules",
    "reads pg_hba.conf",
)
_h(
    "file",
    "SELECT * FROM pg_show_all_file_settings() AS status",
    "reads every configuration file",
)
_h(
    "file",
    'SELECT xmlparse(document \'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    "<x>&e;</x>') AS status",
    "an XML external entity pointing at a server file",
    db_layer_only="not a call the parser can judge: PostgreSQL's XML parser never loads "
    "external entities",
)

# --- functions that run SQL text -----------------------------------------------------------------
_h(
    "sqltext",
    "SELECT query_to_xml('SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
    "WHERE application_name = ''%APP%''', true, false, '') AS status",
    "the signal runs from SQL text",
)
_h(
    "sqltext",
    "SELECT query_to_xml('SELECT pg_switch_wal()', true, false, '') AS status",
    "a WAL switch from SQL text",
)
_h(
    "sqltext",
    "SELECT query_to_xml_and_xmlschema('SELECT pg_create_physical_replication_slot("
    "''" + EVIL + "'')', true, false, '') AS status",
    "a slot from SQL text",
)
_h(
    "sqltext",
    "SELECT query_to_xmlschema('SELECT pg_stat_reset()', true, false, '') AS status",
    "a stats reset from SQL text (the schema function runs it too)",
)
_h(
    "sqltext",
    "SELECT * FROM ts_stat('SELECT to_tsvector(pg_terminate_backend(pid)::text) "
    "FROM pg_stat_activity WHERE application_name = ''%APP%''') AS status",
    "ts_stat runs its argument",
)
_h(
    "sqltext",
    "SELECT ts_rewrite('a & b'::tsquery, 'SELECT ''a''::tsquery, ''c''::tsquery "
    "FROM pg_stat_activity WHERE application_name = ''%APP%'' AND pg_terminate_backend(pid)') "
    "AS status",
    "ts_rewrite runs its second argument",
)
_h(
    "sqltext",
    "SELECT * FROM crosstab('SELECT ''a''::text, ''b''::text, pg_switch_wal()::text') "
    "AS t(status text, b text)",
    "tablefunc crosstab runs its argument",
)
_h(
    "sqltext",
    "SELECT * FROM connectby('victim', 'id', 'id', '1', 0) AS t(id int, parent int, lvl int)",
    "tablefunc connectby builds SQL from a relation name",
)
_h(
    "sqltext",
    "SELECT cursor_to_xml('c', 1, false, false, '') AS status",
    "reads from a cursor by name",
)
_h(
    "sqltext",
    "SELECT schema_to_xml('public', true, false, '') AS status",
    "runs a SELECT over every table of a schema",
)
_h(
    "sqltext",
    "SELECT \"query_to_xml\"('SELECT pg_stat_reset()', true, false, '') AS status",
    "quoted name of the SQL-text function",
)
_h(
    "sqltext",
    "WITH q AS (SELECT 'SELECT pg_switch_wal()' AS t) "
    "SELECT query_to_xml(q.t, true, false, '') AS status FROM q",
    "the SQL text built in a CTE",
)

# --- dblink: another session, outside the read-only transaction ----------------------------------
CONNSTR = "host=127.0.0.1 dbname=%DB% user=postgres"
_h(
    "dblink",
    "SELECT * FROM dblink('" + CONNSTR + "', 'DELETE FROM victim RETURNING 1') AS t(x int)",
    "a DELETE through another session",
)
_h(
    "dblink",
    "SELECT dblink_exec('" + CONNSTR + "', 'DELETE FROM victim') AS status",
    "dblink_exec runs a DELETE",
)
_h(
    "dblink",
    "SELECT dblink_connect('evil', '" + CONNSTR + "'), "
    "dblink_send_query('evil', 'UPDATE victim SET v = ''pwned''') AS status",
    "an asynchronous UPDATE on a named connection",
)
_h(
    "dblink",
    "SELECT public.dblink_exec('" + CONNSTR + "', 'INSERT INTO victim_log (msg) "
    "VALUES (''pwned'')') AS status",
    "schema-qualified dblink_exec",
)
_h(
    "dblink",
    "SELECT dblink_connect_u('evil', '" + CONNSTR + "') AS status",
    "the unsafe connect",
)
_h(
    "dblink",
    "WITH r AS (SELECT * FROM dblink('" + CONNSTR + "', 'SELECT pg_terminate_backend(pid) "
    "FROM pg_stat_activity WHERE application_name = ''%APP%''') AS t(k bool)) "
    "SELECT 'OK' AS status FROM r",
    "the victim killed from another session, in a CTE",
)
_h(
    "dblink",
    "SELECT dblink_exec('host=127.0.0.1 dbname=postgres user=postgres', "
    "'CREATE DATABASE " + EVIL + "') AS status",
    "a database created from another session",
)
_h(
    "dblink",
    "SELECT 'OK' AS status FROM victim v, LATERAL dblink('" + CONNSTR + "', "
    "'UPDATE victim SET v = v RETURNING 1') AS t(x int) LIMIT 1",
    "dblink in a LATERAL join",
)

# --- sequences -------------------------------------------------------------------------------
_h("sequence", "SELECT nextval('victim_seq') AS status", "advances the sequence")
_h("sequence", "SELECT setval('victim_seq', 1000) AS status", "sets the sequence")
_h(
    "sequence",
    "SELECT 'OK' AS status FROM victim WHERE nextval('victim_seq') > 0",
    "advances the sequence once per row",
)
_h(
    "sequence",
    "SELECT nextval(pg_get_serial_sequence('victim_log', 'id')) AS status",
    "advances an identity's sequence",
)
_h("sequence", "SELECT pg_catalog.setval('victim_seq'::regclass, 1, false) AS status", "resets it")

# --- advisory locks --------------------------------------------------------------------------
_h("advisory", "SELECT pg_advisory_lock(4242) AS status", "a session-level advisory lock")
_h(
    "advisory",
    "SELECT pg_try_advisory_lock_shared(4242) AS status",
    "a shared session-level advisory lock",
)
_h(
    "advisory",
    "SELECT 'OK' AS status FROM victim WHERE pg_advisory_lock(id) IS NOT NULL",
    "one advisory lock per row",
)
_h(
    "advisory",
    "SELECT pg_catalog.pg_advisory_lock(hashtext('%TAG%')) AS status",
    "schema-qualified",
)
_h("advisory", "SELECT pg_advisory_xact_lock(4242) AS status", "a transaction-level lock")

# --- index maintenance, xids and other writes behind the transaction ---------------------------
_h(
    "index",
    "SELECT brin_summarize_new_values('victim_brin') AS status",
    "summarizes BRIN ranges outside the transaction",
)
_h("index", "SELECT pg_import_system_collations('public') AS status", "creates collations")
_h("index", "SELECT txid_current() AS status", "assigns a transaction id")

# --- runaway statements: the timeout bounds them --------------------------------------------
_h(
    "sleep",
    "SELECT pg_sleep(30) AS status",
    "sleeps past the timeout",
    db_layer_only="sleeping has no side effect; the statement timeout stops it",
)
_h(
    "sleep",
    "SELECT 'OK' AS status FROM pg_sleep_for('30 seconds')",
    "sleeps in FROM",
    db_layer_only="sleeping has no side effect; the statement timeout stops it",
)

# --- control characters ------------------------------------------------------------------------
_h(
    "control",
    "SELECT 'OK' AS status\x0c, pg_terminate_backend(" + PID + ") AS x",
    "a form feed, white space to PostgreSQL",
)
_h(
    "control",
    "SELECT 'OK' AS status --\x0b\n, pg_switch_wal() AS x",
    "a vertical tab in a comment",
)
_h("control", "SELECT 'OK' AS status;\x00 DELETE FROM victim", "a NUL byte")
_h(
    "control",
    "SELECT 'OK' AS status;\r DELETE FROM victim",
    "a CR as the only separator",
)
_h(
    "control",
    "SELECT 'OK' AS status\x1b, pg_switch_wal() AS x",
    "an ESC character",
)

# --- very long or deeply nested inputs ---------------------------------------------------------
_h(
    "long",
    "SELECT 'OK' AS status, "
    + "(" * 3000
    + "pg_terminate_backend("
    + PID
    + ")"
    + ")" * 3000
    + " AS x",
    "the call inside 3000 parentheses",
)
_h(
    "long",
    "SELECT 'OK' AS status" + ", 1" * 20000 + ", pg_switch_wal() AS x",
    "the call after 20000 columns",
)
_h(
    "long",
    "SELECT '" + "x" * 500_000 + "' AS status, pg_switch_wal() AS x",
    "the call after a 500 kB string",
)
_h(
    "long",
    "SELECT status FROM "
    + "(SELECT status FROM " * 150
    + "(SELECT pg_switch_wal()::text AS status) s0"
    + ") s" * 150,
    "the call in the innermost of 150 nested subqueries",
)
_h(
    "long",
    "WITH "
    + ", ".join(f"c{i} AS (SELECT {i} AS n)" for i in range(400))
    + ", k AS (SELECT pg_switch_wal() AS w) SELECT 'OK' AS status FROM k",
    "the call in the last of 401 CTEs",
)
_h(
    "long",
    "SELECT 'OK' AS status FROM victim WHERE id IN ("
    + ", ".join(str(i) for i in range(10000))
    + ") OR pg_stat_reset() IS NULL",
    "the call after a 10000-item IN list",
)
_h(
    "long",
    "/*" + " comment" * 20000 + " */ SELECT 'OK' AS status; DELETE FROM victim",
    "a second statement after a 160 kB comment",
)
_h(
    "long",
    "SELECT 'OK' AS status WHERE "
    + " AND ".join(["true"] * 5000)
    + " AND pg_terminate_backend("
    + PID
    + ")",
    "the call at the end of 5000 ANDs",
)

# --- found by an attacking review (a later session): PostgreSQL reads (expr).f and t.f as f(expr)
# ("functional notation"), and U+00A0 as part of a name where the parser sees white space ---
_h(
    "redteam",
    "SELECT (pid).pg_terminate_backend AS status FROM pg_stat_activity "
    "WHERE application_name = '%APP%'",
    "functional notation kills the victim",
)
_h("redteam", "SELECT ('bgwriter'::text).pg_stat_reset_shared AS status", "resets bgwriter stats")
_h(
    "redteam",
    "SELECT f.pg_read_file AS status FROM unnest(ARRAY['/etc/hostname']) f",
    "a table function's alias as the argument",
)
_h(
    "redteam",
    'SELECT f."pg_create_physical_replication_slot" AS status '
    "FROM unnest(ARRAY['" + EVIL + "_slot'::name]) f",
    "a persistent slot through functional notation, quoted",
)
_h(
    "redteam",
    "SELECT (s.q).ts_stat AS status FROM (SELECT 'SELECT to_tsvector(pg_terminate_backend("
    "pid)::text) FROM pg_stat_activity WHERE application_name = ''%APP%''' AS q) s",
    "SQL text run by ts_stat through functional notation",
)
_h(
    "redteam",
    "SELECT 'OK' AS status, 1 AS\u00a0$$, pg_terminate_backend(" + PID + ") AS k, 2 AS\u00a0$$",
    "a no-break space: a name to PostgreSQL, so no dollar quote hides the call",
)
_h("redteam", "SELECT pg_read_file_old('/etc/hostname', 0, 100) AS status", "an old file reader")
_h(
    "redteam",
    "SELECT 'OK' AS status FROM cron.schedule('" + EVIL + "', '* * * * *', 'SELECT 1')",
    "pg_cron schedules a job (the extension is absent here: the name is refused regardless)",
)

HOSTILE: list[HostileCase] = _CORPUS.cases

# --- legitimate analytics ---------------------------------------------------------------------

READS: list[ReadCase] = [
    ReadCase("SELECT count(*) AS n, 'OK' AS status FROM victim", "a count"),
    ReadCase(
        "SELECT CASE WHEN count(*) > 100 THEN 'ALERT' ELSE 'OK' END AS status FROM victim",
        "CASE over an aggregate",
    ),
    ReadCase("TABLE victim", "TABLE shorthand"),
    ReadCase("SELECT * FROM ONLY victim ORDER BY id LIMIT 5", "ONLY"),
    ReadCase(
        "SELECT id, v, row_number() OVER (PARTITION BY v ORDER BY id) AS rn FROM victim",
        "a window function",
    ),
    ReadCase(
        "SELECT id, sum(amount) OVER w AS running, lag(amount) OVER w AS prev "
        "FROM victim WINDOW w AS (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
        "a named window with a frame",
    ),
    ReadCase(
        "SELECT v, percentile_cont(0.5) WITHIN GROUP (ORDER BY amount) AS median "
        "FROM victim GROUP BY v",
        "an ordered-set aggregate",
    ),
    ReadCase(
        "SELECT count(*) FILTER (WHERE amount > 10) AS big, count(*) AS total FROM victim",
        "FILTER",
    ),
    ReadCase(
        "SELECT v, date_trunc('day', created) AS d, sum(amount) AS s FROM victim "
        "GROUP BY GROUPING SETS ((v), (date_trunc('day', created)), ())",
        "GROUPING SETS",
    ),
    ReadCase("SELECT v, count(*) FROM victim GROUP BY ROLLUP (v)", "ROLLUP"),
    ReadCase("SELECT v, id % 2 AS odd, count(*) FROM victim GROUP BY CUBE (v, id % 2)", "CUBE"),
    ReadCase(
        "WITH s AS (SELECT v, sum(amount) AS total FROM victim GROUP BY v) "
        "SELECT v, total, 'OK' AS status FROM s WHERE total > 0",
        "a CTE",
    ),
    ReadCase(
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) "
        "SELECT max(n) AS n FROM r",
        "a recursive CTE",
    ),
    ReadCase(
        "WITH RECURSIVE chain(id, depth) AS (SELECT id, 0 FROM victim WHERE id = 1 "
        "UNION ALL SELECT v.id, c.depth + 1 FROM victim v JOIN chain c ON v.id = c.id + 1 "
        "WHERE c.depth < 5) SELECT count(*) FROM chain",
        "a recursive walk over a table",
    ),
    ReadCase(
        "WITH x AS MATERIALIZED (SELECT id FROM victim) SELECT count(*) FROM x",
        "a MATERIALIZED CTE",
    ),
    ReadCase("VALUES (1, 'a'), (2, 'b')", "VALUES"),
    ReadCase(
        "SELECT t.k, t.label FROM (VALUES (1, 'one'), (2, 'two')) AS t(k, label) ORDER BY t.k",
        "VALUES in FROM",
    ),
    ReadCase(
        "SELECT '{\"a\": {\"b\": 1}}'::jsonb -> 'a' ->> 'b' AS b",
        "jsonb operators",
    ),
    ReadCase(
        "SELECT jsonb_build_object('n', count(*), 'max', max(amount)) AS doc FROM victim",
        "jsonb_build_object",
    ),
    ReadCase(
        'SELECT e.key, e.value FROM jsonb_each(\'{"a": 1, "b": 2}\'::jsonb) AS e',
        "jsonb_each in FROM",
    ),
    ReadCase(
        "SELECT jsonb_path_query_array('{\"xs\": [1, 5, 9]}', '$.xs[*] ? (@ > 2)') AS big",
        "a JSON path",
    ),
    ReadCase("SELECT json_agg(v ORDER BY id) AS vs FROM victim", "json_agg with ORDER BY"),
    ReadCase(
        "SELECT tags ? 'ops' AS ops, tags @> '{\"team\": \"ops\"}' AS team FROM victim LIMIT 3",
        "jsonb containment",
    ),
    ReadCase("SELECT now() - interval '1 day' AS yesterday", "interval arithmetic"),
    ReadCase(
        "SELECT count(*) FROM victim WHERE created > now() - INTERVAL '7 days'",
        "a time window",
    ),
    ReadCase(
        "SELECT date_trunc('hour', created) AS h, count(*) FROM victim GROUP BY 1 ORDER BY 1",
        "date_trunc and positional GROUP BY",
    ),
    ReadCase("SELECT extract(epoch FROM now())::bigint AS ts", "extract epoch"),
    ReadCase(
        "SELECT age(timestamp '2026-01-01', timestamp '2025-06-15') AS a, "
        "make_interval(days => 3) AS i",
        "age and named arguments",
    ),
    ReadCase(
        "SELECT g::date AS day FROM generate_series(now() - interval '3 days', now(), "
        "interval '1 day') AS g",
        "generate_series of timestamps",
    ),
    ReadCase(
        "SELECT to_char(now(), 'YYYY-MM-DD') AS d, current_date - 1 AS yesterday",
        "to_char and date arithmetic",
    ),
    ReadCase(
        "SELECT v, id FROM victim v1 WHERE amount > (SELECT avg(amount) FROM victim v2 "
        "WHERE v2.v = v1.v)",
        "a correlated subquery",
    ),
    ReadCase(
        "SELECT id FROM victim WHERE id IN (SELECT id FROM victim WHERE amount > 1) "
        "AND EXISTS (SELECT 1 FROM victim_log)",
        "IN and EXISTS subqueries",
    ),
    ReadCase(
        "SELECT c.id, l.x FROM victim c CROSS JOIN LATERAL (SELECT c.id * 2 AS x) l",
        "LATERAL",
    ),
    ReadCase(
        "SELECT v.id, top.amount FROM victim v LEFT JOIN LATERAL (SELECT amount FROM victim w "
        "WHERE w.v = v.v ORDER BY amount DESC LIMIT 1) top ON true",
        "LEFT JOIN LATERAL top-1",
    ),
    ReadCase("SELECT DISTINCT ON (v) v, id FROM victim ORDER BY v, id DESC", "DISTINCT ON"),
    ReadCase(
        "SELECT upper(v) AS u, length(v) AS n, v || '-' || id AS label, "
        "replace(v, 'a', 'b') AS r FROM victim",
        "string functions",
    ),
    ReadCase(
        "SELECT split_part('a,b,c', ',', 2) AS p, regexp_replace('x1y2', '[0-9]', '', 'g') AS r, "
        "lpad('7', 3, '0') AS z",
        "more string functions",
    ),
    ReadCase("SELECT string_agg(v, ', ' ORDER BY id) AS vs FROM victim", "string_agg"),
    ReadCase(
        "SELECT format('%s has %s rows', 'victim', count(*)) AS msg FROM victim",
        "format",
    ),
    ReadCase("SELECT 'OK' AS status WHERE 'abc' ~ '^a' AND 'ABC' ILIKE 'a%'", "regex and ILIKE"),
    ReadCase(
        "SELECT x FROM unnest(ARRAY[3, 1, 2]) WITH ORDINALITY AS u(x, i) ORDER BY i",
        "unnest WITH ORDINALITY",
    ),
    ReadCase(
        "SELECT array_agg(id ORDER BY id) AS ids, cardinality(array_agg(id)) AS n FROM victim",
        "array_agg",
    ),
    ReadCase(
        "SELECT x FROM generate_series(1, 3) AS g(x) WHERE x = ANY(ARRAY[1, 2])",
        "ANY over an array",
    ),
    ReadCase(
        "SELECT id FROM victim UNION SELECT id FROM victim_log EXCEPT SELECT 99 INTERSECT SELECT 1",
        "set operations",
    ),
    ReadCase("(SELECT id FROM victim ORDER BY id LIMIT 1) UNION ALL (SELECT 0)", "parentheses"),
    ReadCase(
        "SELECT id FROM victim ORDER BY id OFFSET 1 ROWS FETCH FIRST 2 ROWS ONLY",
        "FETCH FIRST",
    ),
    ReadCase("SELECT id FROM victim ORDER BY amount DESC NULLS LAST LIMIT 3", "NULLS LAST"),
    ReadCase(
        "SELECT coalesce(max(amount), 0) AS m, nullif(count(*), 0) AS n, "
        "greatest(1, 2) AS g FROM victim",
        "COALESCE, NULLIF, GREATEST",
    ),
    ReadCase("SELECT '42'::int AS n, CAST('1.5' AS numeric) AS d, 3::float8 / 2 AS f", "casts"),
    ReadCase(
        "-- the daily check\nSELECT count(*) AS n /* rows */ FROM victim -- end",
        "comments in normal places",
    ),
    ReadCase(
        "/* header\n   two lines */\nSELECT 'OK' AS status",
        "a block comment header",
    ),
    ReadCase('SELECT "id", "v" AS "Value Name" FROM "victim"', "quoted identifiers"),
    ReadCase("SELECT $$dollar; DELETE FROM victim$$ AS status", "a dollar-quoted string"),
    ReadCase("SELECT E'tab\\there' AS s, 'it''s' AS t", "E'' and doubled quotes"),
    ReadCase(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'",
        "a monitoring query on pg_stat_activity",
    ),
    ReadCase(
        "SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY relname",
        "table statistics",
    ),
    ReadCase(
        "SELECT pg_size_pretty(pg_database_size(current_database())) AS size",
        "database size",
    ),
    ReadCase(
        "SELECT now() - pg_postmaster_start_time() AS uptime, version() AS v",
        "uptime and version",
    ),
    ReadCase("SELECT current_setting('statement_timeout') AS t", "reads a setting"),
    ReadCase("SELECT last_value FROM victim_seq", "reads a sequence without advancing it"),
    ReadCase(
        "SELECT id, amount, ntile(4) OVER (ORDER BY amount) AS q, "
        "percent_rank() OVER (ORDER BY amount) AS pr FROM victim",
        "ntile and percent_rank",
    ),
    ReadCase(
        "SELECT v, bool_or(amount > 100) AS any_big, every(amount >= 0) AS all_pos "
        "FROM victim GROUP BY v HAVING count(*) > 0",
        "boolean aggregates and HAVING",
    ),
    ReadCase(
        "SELECT id FROM victim TABLESAMPLE SYSTEM (100) REPEATABLE (1) LIMIT 1",
        "TABLESAMPLE",
    ),
    ReadCase(
        "SELECT t.* FROM victim t WHERE (t.id, t.v) IN (SELECT id, v FROM victim) LIMIT 2",
        "row comparison",
    ),
    ReadCase(
        "SELECT id::text || ':' || coalesce(v, '') AS k, tags #>> '{team}' AS team FROM victim",
        "text concatenation and #>>",
    ),
    ReadCase(
        'SELECT x.* FROM jsonb_to_recordset(\'[{"a": 1, "b": "x"}]\') AS x(a int, b text)',
        "jsonb_to_recordset",
    ),
    ReadCase(
        "SELECT count(*) AS n FROM victim WHERE created BETWEEN now() - interval '30 days' "
        "AND now() AND v IS DISTINCT FROM 'z'",
        "BETWEEN and IS DISTINCT FROM",
    ),
    ReadCase("SELECT md5(string_agg(v, '' ORDER BY id)) AS digest FROM victim", "md5 of rows"),
    ReadCase(
        "SELECT width_bucket(amount, 0, 300, 3) AS bucket, count(*) FROM victim GROUP BY 1",
        "width_bucket",
    ),
    ReadCase(
        "SELECT id FROM victim WHERE v LIKE 'a%' ESCAPE '\\' AND v SIMILAR TO '(a|b)%'",
        "LIKE ESCAPE and SIMILAR TO",
    ),
]
