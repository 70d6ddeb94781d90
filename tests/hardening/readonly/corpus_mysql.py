"""Hostile and legitimate alert SQL for MariaDB (sqlglot dialect ``mysql``).

Written from the MariaDB manual: comment syntax (``#``, ``-- `` needs whitespace after it,
``/* */`` does not nest, executable ``/*! */``, ``/*!50000 */``, ``/*M! */``), string literals
(backslash escapes, ``"`` strings, ``_charset''``, ``N''``, ``X''``, ``0x``), backtick
identifiers, SQL modes, multiple statements, ``INTO OUTFILE``, ``LOAD_FILE``, ``LOAD DATA``,
transaction control, user-level and row locks, ``KILL``, sequences, stored programs,
``HANDLER``, ``LOCK TABLES``, ``FLUSH``, ``RESET``, ``SHUTDOWN``, plugins, ``EXECUTE
IMMEDIATE``, ``PREPARE``, compound statements, XA, events and ``SET STATEMENT``.

Placeholders, filled in by the test: ``%DB%`` the victim database, ``%DIR%`` the watched
directory the server may write, ``%CANARY%`` a file in it whose content must never come back,
``%CANARYHEX%`` that path as a hex literal, ``%VICTIM%`` the victim connection's id and
``%RO%`` the read-only user.
"""

from __future__ import annotations

from readonly_corpus import Corpus, HostileCase, ReadCase, add_size_cases

_CORPUS = Corpus()
_h = _CORPUS.add

OPT_IN_BODY = "a function or view body runs with the opted-in login's rights"


STORED_FN = "the function body is not in the text; the read-only transaction stops its write"

# --- several statements, transaction control between them --------------------------------
_h("multi", "SELECT 'OK' AS status; DELETE FROM victim", "a DELETE after the alert")
_h("multi", "SELECT 'OK' AS status;DROP TABLE victim", "DROP with no space after ;")
_h(
    "multi",
    "SELECT 'OK' AS status; COMMIT; DELETE FROM victim; COMMIT",
    "COMMIT ends the read-only transaction, then a DELETE",
)
_h(
    "multi",
    "SELECT 'OK' AS status; SET SESSION TRANSACTION READ WRITE; COMMIT; "
    "START TRANSACTION READ WRITE; DELETE FROM victim; COMMIT",
    "session made read-write, new read-write transaction, DELETE committed",
)
_h(
    "multi",
    "SELECT 'OK' AS status; ROLLBACK; SET SESSION transaction_read_only = 0; "
    "START TRANSACTION; UPDATE victim SET v = 'pwned'; COMMIT",
    "transaction_read_only switched off between transactions",
)
_h(
    "multi",
    "SELECT 'OK' AS status; SET @@session.tx_read_only = OFF; COMMIT; "
    "INSERT INTO victim (id, v) VALUES (99, 'pwned'); COMMIT",
    "the old tx_read_only name",
)
_h(
    "multi",
    "SELECT 'OK' AS status; SET autocommit = 1; SET SESSION TRANSACTION READ WRITE; "
    "COMMIT; DELETE FROM victim",
    "autocommit on so the DELETE commits itself",
)
_h(
    "multi",
    "COMMIT; SET SESSION TRANSACTION READ WRITE; DELETE FROM victim; COMMIT; SELECT 'OK' AS status",
    "the write first, the alert's SELECT last",
)
_h(
    "multi",
    "SELECT 'OK' AS status; RELEASE SAVEPOINT x; SAVEPOINT y; "
    "SET TRANSACTION READ WRITE; BEGIN; TRUNCATE victim",
    "savepoints and BEGIN around a TRUNCATE",
)
_h(
    "multi",
    "SELECT 'OK' AS status; CREATE TABLE evil_multi (a INT)",
    "DDL commits implicitly",
)
_h(
    "multi",
    "SELECT 'OK' AS status; SET SESSION TRANSACTION READ WRITE; COMMIT; "
    "CREATE TABLE evil_multi2 AS SELECT * FROM victim",
    "CREATE TABLE ... AS SELECT after leaving read-only",
)
_h(
    "multi",
    "SELECT 'OK' AS status; SELECT * FROM victim INTO OUTFILE '%DIR%/multi.txt'",
    "a file written by the second statement",
)
_h(
    "multi",
    "SELECT 'OK' AS status; COMMIT; XA START 'sst_evil_xa'; "
    "SELECT * FROM victim FOR UPDATE; XA END 'sst_evil_xa'; XA PREPARE 'sst_evil_xa'",
    "a prepared XA transaction keeps row locks after the connection closes",
)
_h(
    "multi",
    "SELECT 'OK' AS status; KILL %VICTIM%",
    "kills another session",
)
_h("multi", "SELECT 'OK' AS status; SHUTDOWN", "stops the server", server_wide=True)
_h(
    "multi",
    "SELECT 'OK' AS status; DO GET_LOCK('sst_evil_lock', 0); DO SLEEP(0)",
    "takes a user-level lock in a second statement",
)
_h(
    "multi",
    "SELECT 'a;b' AS status; UPDATE victim SET v = 'pwned'",
    "a ; inside the string, then a real one",
)
_h(
    "multi",
    "SELECT 'OK' AS status\r\n;\r\nDELETE FROM victim\r\n",
    "CRLF line ends around the ;",
)
_h(
    "multi",
    "SELECT 'OK' AS status;\tREPLACE INTO victim (id, v) VALUES (1, 'pwned')",
    "REPLACE after a tab",
)
_h(
    "multi",
    "SELECT 'OK' AS status;;;; DELETE FROM victim",
    "empty statements between",
)

# --- comments: what the server runs and the parser does not see --------------------------
_h(
    "comment",
    "SELECT 2 --1; DELETE FROM victim",
    "`--1` is minus minus one for MariaDB (no space after --), a comment for a naive lexer",
)
_h(
    "comment",
    "SELECT 'OK' AS status, 2 --1\n; DELETE FROM victim",
    "the same, with the DELETE on the next line",
)
_h(
    "comment",
    "SELECT 1 AS status /* /* */ ; DELETE FROM victim; /* */",
    "/* */ does not nest in MariaDB: the first */ ends the comment",
)
_h(
    "comment",
    "SELECT 'OK' AS status # comment ; \n; DELETE FROM victim",
    "a # comment then a DELETE on the next line",
)
_h(
    "comment",
    "SELECT 'OK' AS status -- ;\n; DELETE FROM victim",
    "a -- comment then a DELETE",
)
_h(
    "comment",
    "SELECT 'OK' AS status /* ; */ ; UPDATE victim SET v = 'pwned'",
    "a ; in a block comment, then a real one",
)
_h(
    "comment",
    "/* looks like a header */ DELETE FROM victim -- trailing",
    "a DELETE wrapped in comments",
)
_h(
    "comment",
    "SELECT 'OK' AS status --\t\n; DELETE FROM victim",
    "-- followed by a tab is a comment for MariaDB",
)
_h(
    "comment",
    "SELECT 'OK' AS status #\n; DELETE FROM victim",
    "a # comment ends at the newline; the DELETE follows",
)
_h(
    "comment",
    "SELECT 'OK' AS status /*+ MAX_EXECUTION_TIME(0) */; DELETE FROM victim",
    "an optimizer-hint comment then a DELETE",
)
_h(
    "comment",
    "SELECT 'OK' AS status /* unterminated ; DELETE FROM victim",
    "an unterminated comment swallowing a DELETE",
)

# --- executable comments: MariaDB runs their text ------------------------------------------
_h(
    "exec-comment",
    "SELECT 'OK' AS status /*!; DELETE FROM victim */",
    "an executable comment holding a second statement",
)
_h(
    "exec-comment",
    "SELECT 'OK' AS status FROM victim /*!50000 INTO OUTFILE '%DIR%/ec50000.txt' */",
    "versioned executable comment writes a file",
)
_h(
    "exec-comment",
    "SELECT 'OK' AS status /*M!100100 , (SELECT evil_fn()) */",
    "MariaDB-only versioned comment calls a writing function",
)
_h(
    "exec-comment",
    "SELECT 'OK' AS status /*M! ; TRUNCATE victim */",
    "MariaDB-only comment with a TRUNCATE",
)
_h(
    "exec-comment",
    "SELECT v AS status FROM victim /*!40000 FOR UPDATE */",
    "row locks from a versioned comment",
)
_h(
    "exec-comment",
    "/*!SELECT 'OK' AS status; DELETE FROM victim*/",
    "the whole text in an executable comment",
)
_h(
    "exec-comment",
    "SELECT 'OK' AS status /*!\n, GET_LOCK('sst_evil_lock', 0) */",
    "an executable comment spanning lines",
)
_h(
    "exec-comment",
    "SELECT 'OK' AS status /*!99999 ; DELETE FROM victim */",
    "a version above the server's (ignored by it, refused anyway)",
)
_h(
    "exec-comment",
    "SELECT 'OK' AS status /*!32302 INTO @x */",
    "SELECT INTO a variable from an executable comment",
)

LEXICAL = (
    "one SELECT in the sql_mode the product pins; hostile only in a session with "
    "NO_BACKSLASH_ESCAPES or ANSI_QUOTES (see test_lexical_modes_of_the_login...)"
)

# --- strings: lexical modes the parser and the server may read differently --------------
_h(
    "string",
    "SELECT 'OK\\' AS status; DELETE FROM victim; -- ' AS s2",
    "one string with backslash escapes; two statements under NO_BACKSLASH_ESCAPES",
    db_layer_only=LEXICAL,
)
_h(
    "string",
    'SELECT "a\\" AS status; DELETE FROM victim; -- "',
    "a double-quoted string; an identifier and two statements under ANSI_QUOTES",
    db_layer_only=LEXICAL,
)
_h(
    "string",
    "SELECT 'x;y' AS status FROM victim WHERE v = 'a''';DELETE FROM victim;--'",
    "a doubled quote closing the string early, then a DELETE",
)
_h(
    "string",
    "SELECT _binary'OK\\'; DELETE FROM victim; -- ' AS status",
    "a charset introducer with an escaped quote",
    db_layer_only=LEXICAL,
)
_h(
    "string",
    "SELECT N'x'; DELETE FROM victim",
    "a national string then a DELETE",
)
_h(
    "string",
    "SELECT X'4f4b' AS status; DELETE FROM victim",
    "a hex string then a DELETE",
)
_h(
    "string",
    "SELECT 'OK' AS status FROM victim WHERE v = _latin1'a' 'b'; DELETE FROM victim",
    "adjacent string concatenation then a DELETE",
)
_h(
    "string",
    'SELECT "OK" AS status; DELETE FROM victim WHERE v = "a\\"b"',
    "double-quoted strings with an escaped double quote",
)

# --- identifiers -------------------------------------------------------------------------
_h(
    "identifier",
    "SELECT 1 AS `a\\`; DELETE FROM victim; -- `",
    "a backslash does not escape inside backticks",
)
_h(
    "identifier",
    "SELECT 1 AS `a``;DELETE FROM victim;--`; DELETE FROM victim",
    "a doubled backtick inside the alias, then a DELETE",
)
_h(
    "identifier",
    "DELETE FROM `%DB%`.`victim`",
    "a schema-qualified quoted table",
)
_h(
    "identifier",
    "dElEtE fRoM ViCtIm",
    "case changed keywords (table names are case sensitive here)",
)
_h(
    "identifier",
    "SELECT `status` FROM (SELECT 'OK' AS `status`) `t`; DELETE FROM `victim`",
    "backticks everywhere",
)

# --- control characters ------------------------------------------------------------------
_h(
    "control-char",
    "SELECT 'OK' AS status;\x0bDELETE FROM victim",
    "a vertical tab as the separator",
)
_h(
    "control-char",
    "SELECT 'OK' AS status;\x0cDELETE FROM victim",
    "a form feed as the separator",
)
_h(
    "control-char",
    "SELECT 'OK' AS status --\x01\n; DELETE FROM victim",
    "-- followed by a control character is a comment for MariaDB",
)
_h(
    "control-char",
    "SELECT 'OK' AS status\x00; DELETE FROM victim",
    "a NUL byte before the ;",
)
_h(
    "control-char",
    "SELECT 'OK\x00' AS status; DELETE FROM victim",
    "a NUL byte inside a string",
)
_h(
    "control-char",
    "SELECT 'OK' AS status;\u2028DELETE FROM victim",
    "a Unicode line separator",
)

# --- plain writes ------------------------------------------------------------------------
_h("dml", "DELETE FROM victim", "deletes every row")
_h("dml", "UPDATE victim SET v = 'pwned'", "changes every row")
_h("dml", "INSERT INTO victim (id, v) VALUES (99, 'pwned')", "adds a row")
_h("dml", "REPLACE INTO victim (id, v) VALUES (1, 'pwned')", "replaces a row")
_h(
    "dml",
    "INSERT INTO victim (id, v) VALUES (1, 'x') ON DUPLICATE KEY UPDATE v = 'pwned'",
    "upsert",
)
_h("dml", "INSERT IGNORE INTO victim (id, v) SELECT id + 100, v FROM victim", "copies rows")
_h("dml", "DELETE FROM victim RETURNING id AS status", "MariaDB DELETE ... RETURNING")
_h(
    "dml",
    "INSERT INTO victim (id, v) VALUES (98, 'pwned') RETURNING id AS status",
    "MariaDB INSERT ... RETURNING",
)
_h("dml", "UPDATE victim SET v = 'pwned' ORDER BY id LIMIT 1", "UPDATE with ORDER BY LIMIT")
_h(
    "dml",
    "DELETE victim FROM victim JOIN (SELECT 1 AS id) k ON k.id = victim.id",
    "multi-table DELETE",
)
_h(
    "dml",
    "UPDATE victim a JOIN victim b ON a.id = b.id SET a.v = 'pwned'",
    "multi-table UPDATE",
)
_h(
    "dml",
    "WITH s AS (SELECT 1 AS id) DELETE FROM victim WHERE id IN (SELECT id FROM s)",
    "WITH ... DELETE",
)
_h(
    "dml",
    "INSERT INTO victim (id, v) WITH s AS (SELECT 97 AS id) SELECT id, 'pwned' FROM s",
    "INSERT ... WITH ... SELECT",
)
_h("dml", "DELETE HISTORY FROM victim", "system-versioning history delete")
_h("dml", "UPDATE LOW_PRIORITY IGNORE victim SET v = 'pwned'", "UPDATE with modifiers")
_h(
    "dml",
    "LOAD DATA INFILE '%CANARY%' INTO TABLE victim (v)",
    "loads a server file into the table",
)
_h(
    "dml",
    "LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE victim (v)",
    "loads a client file into the table",
)
_h(
    "dml",
    "LOAD XML INFILE '%CANARY%' INTO TABLE victim",
    "loads XML from a server file",
)

# --- DDL ---------------------------------------------------------------------------------
_h("ddl", "CREATE TABLE evil_t (a INT)", "creates a table")
_h("ddl", "CREATE TABLE evil_t2 AS SELECT * FROM victim", "creates a table from a query")
_h("ddl", "DROP TABLE victim", "drops the victim")
_h("ddl", "TRUNCATE TABLE victim", "empties the victim")
_h("ddl", "ALTER TABLE victim ADD COLUMN evil INT", "changes the victim's columns")
_h("ddl", "RENAME TABLE victim TO evil_renamed", "renames the victim")
_h("ddl", "CREATE OR REPLACE TABLE victim (a INT)", "replaces the victim")
_h("ddl", "CREATE VIEW evil_v AS SELECT * FROM victim", "creates a view")
_h("ddl", "CREATE INDEX evil_idx ON victim (v)", "adds an index")
_h("ddl", "CREATE DATABASE sst_evil_db", "creates a database")
_h(
    "ddl",
    "CREATE TRIGGER evil_tr BEFORE INSERT ON victim FOR EACH ROW SET NEW.v = 'pwned'",
    "creates a trigger",
)
_h("ddl", "CREATE SEQUENCE evil_seq", "creates a sequence")
_h("ddl", "ALTER SEQUENCE victim_seq RESTART WITH 1000", "restarts the victim sequence")
_h("ddl", "CREATE TEMPORARY TABLE evil_tmp AS SELECT 1 AS a", "a session temporary table")
_h("ddl", "OPTIMIZE TABLE victim", "rebuilds the table")
_h("ddl", "REPAIR TABLE victim", "repairs the table")
_h("ddl", "ANALYZE TABLE victim PERSISTENT FOR ALL", "rewrites engine-independent statistics")
_h(
    "ddl",
    "CREATE FUNCTION evil_made() RETURNS INT RETURN 1",
    "creates a stored function",
)
_h(
    "ddl",
    "CREATE PROCEDURE evil_made_p() DELETE FROM victim",
    "creates a stored procedure",
)
_h(
    "ddl",
    "ALTER DATABASE `%DB%` CHARACTER SET latin1",
    "changes the database's default charset",
)

# --- users and privileges ----------------------------------------------------------------
_h("privileges", "CREATE USER 'sst_evil_user'@'%'", "creates a login")
_h("privileges", "GRANT ALL ON *.* TO '%RO%'@'%'", "makes the read-only login all-powerful")
_h("privileges", "REVOKE SELECT ON `%DB%`.* FROM '%RO%'@'%'", "revokes a grant")
_h(
    "privileges",
    "SET PASSWORD FOR '%RO%'@'%' = PASSWORD('pwned')",
    "changes another login's password",
)
_h("privileges", "ALTER USER '%RO%'@'%' ACCOUNT LOCK", "locks another login")
_h("privileges", "CREATE ROLE sst_evil_role", "creates a role")
_h("privileges", "RENAME USER '%RO%'@'%' TO 'sst_evil_user'@'%'", "renames a login")
_h("privileges", "DROP USER '%RO%'@'%'", "drops a login")
_h("privileges", "SET DEFAULT ROLE NONE FOR '%RO%'@'%'", "changes a login's default role")
_h("privileges", "FLUSH PRIVILEGES", "reloads the grant tables")

# --- server files: write ---------------------------------------------------------------
_h("file-write", "SELECT 'OK' AS status INTO OUTFILE '%DIR%/o1.txt'", "INTO OUTFILE")
_h(
    "file-write",
    "SELECT * FROM victim INTO DUMPFILE '%DIR%/d1.bin'",
    "INTO DUMPFILE of one row",
)
_h(
    "file-write",
    "SELECT id, v FROM victim INTO OUTFILE '%DIR%/o2.csv' "
    "FIELDS TERMINATED BY ',' ENCLOSED BY '\"' LINES TERMINATED BY '\\n'",
    "INTO OUTFILE with export options",
)
_h(
    "file-write",
    "SELECT 'OK' AS status FROM victim LIMIT 1 INTO OUTFILE '%DIR%/o3.txt'",
    "INTO OUTFILE after LIMIT",
)
_h(
    "file-write",
    "SELECT 'OK' AS status INTO OUTFILE 'sst_evil_relative.txt'",
    "a relative path lands in the data directory",
)
_h(
    "file-write",
    "SELECT 0x3c3f706870206576616c28293b203f3e INTO DUMPFILE '%DIR%/shell.php'",
    "drops a web shell from a hex literal",
)
_h(
    "file-write",
    "SELECT 'a' AS status UNION SELECT 'b' INTO OUTFILE '%DIR%/o4.txt'",
    "INTO OUTFILE after a UNION",
)
_h(
    "file-write",
    "(SELECT 'OK' AS status) INTO OUTFILE '%DIR%/o5.txt'",
    "INTO OUTFILE after a parenthesised SELECT",
)
_h(
    "file-write",
    "SELECT 'OK' AS status INTO OUTFILE '%DIR%/o6.txt' CHARACTER SET utf8mb4",
    "INTO OUTFILE with a charset",
)
_h(
    "file-write",
    "SELECT 'OK' AS status INTO @status",
    "SELECT INTO a user variable",
)
_h(
    "file-write",
    "SELECT 'OK', 1 INTO @a, @b FROM victim LIMIT 1",
    "SELECT INTO variables before FROM",
)
_h(
    "file-write",
    "SELECT 'OK' AS status INTO OUTFILE '%DIR%/o7.txt' -- harmless",
    "INTO OUTFILE with a trailing comment",
)

# --- server files: read ------------------------------------------------------------------
_h("file-read", "SELECT LOAD_FILE('%CANARY%') AS status", "reads a server file")
_h("file-read", "SELECT load_file('%CANARY%') AS status", "lower case")
_h("file-read", "SELECT `LOAD_FILE`('%CANARY%') AS status", "a backticked built-in name")
_h("file-read", "SELECT LOAD_FILE(%CANARYHEX%) AS status", "the path as a hex literal")
_h(
    "file-read",
    "SELECT LOAD_FILE(CONCAT('%DIR%', '/canary', '.txt')) AS status",
    "the path assembled",
)
_h(
    "file-read",
    "SELECT status FROM (SELECT LOAD_FILE('%CANARY%') AS status) t",
    "in a derived table",
)
_h(
    "file-read",
    "WITH f AS (SELECT LOAD_FILE('%CANARY%') AS status) SELECT status FROM f",
    "in a CTE",
)
_h(
    "file-read",
    "SELECT v AS status FROM victim UNION ALL SELECT LOAD_FILE('%CANARY%')",
    "in a UNION branch",
)
_h(
    "file-read",
    "SELECT 'OK' AS status, (SELECT LOAD_FILE('%CANARY%')) AS x FROM victim LIMIT 1",
    "in a scalar subquery",
)
_h(
    "file-read",
    "SELECT LOAD_FILE /* gap */ ('%CANARY%') AS status",
    "a comment between the name and the parenthesis",
)

# --- global settings ---------------------------------------------------------------------
_h(
    "global",
    "SET GLOBAL max_connections = 152",
    "changes a global setting",
    server_wide=True,
)
_h(
    "global",
    "SET @@global.net_read_timeout = 31",
    "the @@global form",
    server_wide=True,
)
_h(
    "global",
    "SELECT @@global.net_write_timeout := 61 AS status",
    "assignment to a global from a SELECT",
    db_layer_only="MariaDB has no := for system variables: a syntax error on the server",
)
_h(
    "global",
    "SET GLOBAL general_log_file = '%DIR%/general.php'",
    "redirects the general log (a web-shell trick)",
    server_wide=True,
)
_h(
    "global",
    "SELECT 'OK' AS status; SET GLOBAL read_only = ON",
    "turns the whole server read-only",
    server_wide=True,
)
_h(
    "global",
    "SET GLOBAL event_scheduler = ON",
    "starts the event scheduler",
    server_wide=True,
)
_h(
    "global",
    "SET PERSIST max_connections = 153",
    "MySQL's SET PERSIST",
    server_wide=True,
)
_h(
    "global",
    "SELECT 'OK' AS status; SET @@GLOBAL.sql_mode = 'ANSI_QUOTES'",
    "changes every new session's lexical mode",
    server_wide=True,
)

# --- session settings and the statement timeout ------------------------------------------
_h("session", "SET SESSION TRANSACTION READ WRITE", "makes the session read-write")
_h("session", "SET autocommit = 1", "turns autocommit on")
_h("session", "SET sql_mode = 'NO_BACKSLASH_ESCAPES'", "changes the session's lexical mode")
_h(
    "session",
    "SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(3) AS status",
    "lifts the statement timeout for one statement",
)
_h(
    "session",
    "SET STATEMENT transaction_read_only = 0 FOR DELETE FROM victim",
    "lifts read-only for one statement",
)
_h("session", "SET @@session.max_statement_time = 0", "lifts the statement timeout")
_h("session", "START TRANSACTION READ WRITE", "a read-write transaction")
_h("session", "COMMIT", "commits the guard's transaction")
_h("session", "USE mysql", "switches the default database")

# --- user-level locks --------------------------------------------------------------------
_h("user-lock", "SELECT GET_LOCK('sst_evil_lock', 0) AS status", "takes a named lock")
_h("user-lock", "SELECT get_lock('sst_evil_lock', 0) AS status", "lower case")
_h("user-lock", "DO GET_LOCK('sst_evil_lock', 0)", "DO form")
_h(
    "user-lock",
    "SELECT 'OK' AS status FROM victim WHERE GET_LOCK('sst_evil_lock', 0) = 1",
    "in a WHERE clause",
)
_h(
    "user-lock",
    "SELECT RELEASE_LOCK('sst_victim_lock') AS status",
    "releases another session's lock",
)
_h("user-lock", "SELECT RELEASE_ALL_LOCKS() AS status", "releases all of the session's locks")
_h(
    "user-lock",
    "SELECT GET_LOCK('sst_victim_lock', 5) AS status",
    "waits for another session's lock (bounded by the timeout)",
)
_h(
    "user-lock",
    "SELECT IS_FREE_LOCK('x'), GET_LOCK('sst_evil_lock', 0) AS status ORDER BY 1",
    "next to a harmless lock function",
)

# --- row and table locks -----------------------------------------------------------------
_h("row-lock", "SELECT * FROM victim FOR UPDATE", "row locks")
_h("row-lock", "SELECT * FROM victim LOCK IN SHARE MODE", "shared row locks")
_h("row-lock", "SELECT * FROM victim FOR UPDATE NOWAIT", "row locks, no wait")
_h("row-lock", "SELECT * FROM victim FOR UPDATE SKIP LOCKED", "row locks, skip locked")
_h("row-lock", "SELECT * FROM victim FOR UPDATE WAIT 1", "row locks, wait 1 s")
_h(
    "row-lock",
    "SELECT * FROM (SELECT * FROM victim FOR UPDATE) t",
    "row locks in a derived table",
)
_h("table-lock", "LOCK TABLES victim WRITE", "a table write lock")
_h("table-lock", "LOCK TABLE victim READ", "a table read lock")
_h("table-lock", "FLUSH TABLES WITH READ LOCK", "a global read lock", server_wide=True)
_h("table-lock", "FLUSH TABLES victim WITH READ LOCK", "a table read lock via FLUSH")
_h("table-lock", "BACKUP STAGE START", "a backup lock", server_wide=True)
_h("table-lock", "HANDLER victim OPEN", "opens a low-level handler on the table")
_h("table-lock", "HANDLER victim OPEN AS h; HANDLER h READ FIRST", "reads through a handler")

# --- other sessions ----------------------------------------------------------------------
_h("kill", "KILL %VICTIM%", "kills the victim connection")
_h("kill", "KILL CONNECTION %VICTIM%", "KILL CONNECTION")
_h("kill", "KILL QUERY %VICTIM%", "KILL QUERY")
_h("kill", "KILL HARD %VICTIM%", "KILL HARD")
_h("kill", "KILL QUERY ID %VICTIM%", "KILL QUERY ID")
_h("kill", "KILL USER '%RO%'", "kills every session of a login")

# --- sequences ---------------------------------------------------------------------------
_h("sequence", "SELECT NEXTVAL(victim_seq) AS status", "advances the sequence")
_h("sequence", "SELECT NEXT VALUE FOR victim_seq AS status", "ANSI form")
_h("sequence", "SELECT SETVAL(victim_seq, 1000) AS status", "sets the sequence")
_h("sequence", "SELECT nextval(`%DB%`.`victim_seq`) AS status", "schema-qualified, quoted")
_h("sequence", "SELECT NeXtVaL(victim_seq) AS status", "mixed case")
_h(
    "sequence",
    "SELECT 'OK' AS status FROM victim WHERE id <> NEXTVAL(victim_seq)",
    "in a WHERE clause",
)
_h(
    "sequence",
    "WITH s AS (SELECT NEXTVAL(victim_seq) AS n) SELECT n AS status FROM s",
    "in a CTE",
)
_h(
    "sequence",
    "SELECT 'OK' AS status FROM victim ORDER BY NEXT VALUE FOR victim_seq",
    "in ORDER BY",
)
_h("sequence", "DO SETVAL(victim_seq, 500)", "DO form")

# --- stored programs ---------------------------------------------------------------------
_h(
    "routine",
    "SELECT evil_fn() AS status",
    "a stored function that deletes",
    db_layer_only=STORED_FN,
)
_h(
    "routine",
    "SELECT 'OK' AS status FROM victim WHERE evil_fn() = 'OK'",
    "a writing function in WHERE",
    db_layer_only=STORED_FN,
)
_h(
    "routine",
    "SELECT `%DB%`.`evil_fn`() AS status",
    "schema-qualified, quoted",
    db_layer_only=STORED_FN,
)
_h(
    "routine",
    "WITH x AS (SELECT EVIL_FN() AS status) SELECT status FROM x",
    "in a CTE, upper case",
    db_layer_only=STORED_FN,
)
_h(
    "routine",
    "SELECT evil_global_fn() AS status",
    "a stored function that changes a global setting (SET GLOBAL is not a table write)",
    db_layer_only="the function body is not in the text",
    opt_in_risk=OPT_IN_BODY,
)
_h(
    "routine",
    "SELECT evil_read_fn() AS status",
    "a stored function that returns LOAD_FILE of the canary",
    db_layer_only="the function body is not in the text",
    opt_in_risk=OPT_IN_BODY,
)
_h(
    "routine",
    "SELECT s AS status FROM canary_view",
    "a DEFINER view over LOAD_FILE: reads a server file with its definer's FILE privilege",
    db_layer_only="the view's definition is not in the text",
    opt_in_risk=OPT_IN_BODY,
)
_h(
    "routine",
    "SELECT s AS status FROM victim_wview",
    "a DEFINER view calling a writing function",
    db_layer_only=STORED_FN,
)
_h("routine", "CALL evil_proc()", "a stored procedure that deletes")
_h("routine", "DO evil_fn()", "DO form")
_h("routine", "SELECT 'OK' AS status; CALL evil_proc()", "CALL after the alert")

# --- dynamic SQL and compound statements -------------------------------------------------
_h("dynamic", "EXECUTE IMMEDIATE 'DELETE FROM victim'", "executes a string")
_h(
    "dynamic",
    "EXECUTE IMMEDIATE CONCAT('DEL', 'ETE FROM victim')",
    "executes an assembled string",
)
_h(
    "dynamic",
    "EXECUTE IMMEDIATE 0x44454c4554452046524f4d2076696374696d",
    "executes a hex literal",
)
_h(
    "dynamic",
    "PREPARE s FROM 'DELETE FROM victim'; EXECUTE s",
    "prepares and executes",
)
_h(
    "dynamic",
    "SET @q = 'DELETE FROM victim'; PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s",
    "prepares from a variable",
)
_h("dynamic", "BEGIN NOT ATOMIC DELETE FROM victim; END", "an anonymous block")
_h("dynamic", "IF 1 THEN DELETE FROM victim; END IF", "a compound IF outside a routine")
_h(
    "dynamic",
    "CASE WHEN 1 THEN UPDATE victim SET v = 'pwned'; END CASE",
    "a compound CASE outside a routine",
)
_h("dynamic", "BINLOG 'AAAA'", "replays binary log events")

# --- administration, replication, plugins, events ----------------------------------------
_h("admin", "SHUTDOWN", "stops the server", server_wide=True)
_h("admin", "FLUSH LOGS", "rotates the logs", server_wide=True)
_h("admin", "FLUSH STATUS", "resets the status counters", server_wide=True)
_h("admin", "FLUSH HOSTS", "clears the host cache", server_wide=True)
_h("admin", "RESET QUERY CACHE", "empties the query cache", server_wide=True)
_h("admin", "RESET MASTER", "deletes the binary logs", server_wide=True)
_h("admin", "PURGE BINARY LOGS BEFORE NOW()", "deletes binary logs", server_wide=True)
_h(
    "admin",
    "CHANGE MASTER TO MASTER_HOST = '127.0.0.2'",
    "configures replication",
    server_wide=True,
)
_h("admin", "STOP SLAVE", "stops replication", server_wide=True)
_h(
    "admin",
    "SELECT MASTER_POS_WAIT('x', 4, 1) AS status",
    "waits on replication (read)",
    db_layer_only="a wait, bounded by the statement timeout, with no side effect",
)
_h(
    "plugin",
    "INSTALL SONAME 'ha_blackhole'",
    "loads a shared library into the server",
    server_wide=True,
)
_h(
    "plugin",
    "INSTALL PLUGIN BLACKHOLE SONAME 'ha_blackhole.so'",
    "INSTALL PLUGIN",
    server_wide=True,
)
_h(
    "plugin",
    "CREATE FUNCTION sst_evil_udf RETURNS STRING SONAME 'ha_blackhole.so'",
    "a user-defined function from a library",
    server_wide=True,
)
_h(
    "event",
    "CREATE EVENT evil_ev ON SCHEDULE EVERY 1 HOUR DO DELETE FROM victim",
    "a scheduled DELETE",
)
_h("event", "ALTER EVENT victim_ev DISABLE", "disables an existing event")
_h("event", "DROP EVENT victim_ev", "drops an existing event")
_h(
    "xa",
    "XA START 'sst_evil_xa'",
    "starts an XA transaction",
)
_h(
    "xa",
    "XA RECOVER",
    "lists prepared XA transactions (read, but administrative)",
)
_h(
    "xa",
    "XA START 'sst_evil_xa'; SELECT * FROM victim FOR UPDATE; XA END 'sst_evil_xa'; "
    "XA PREPARE 'sst_evil_xa'",
    "a prepared XA transaction outlives the connection with its row locks",
)

# --- bounded by the timeout --------------------------------------------------------------
READ_BOUNDED = "a read: the statement timeout bounds it, there is no side effect"
_h("resource", "SELECT SLEEP(5) AS status", "sleeps past the timeout", db_layer_only=READ_BOUNDED)
_h(
    "resource",
    "SELECT BENCHMARK(500000000, SHA2('x', 512)) AS status",
    "burns CPU past the timeout",
    db_layer_only=READ_BOUNDED,
)
_h(
    "resource",
    "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
    "SELECT COUNT(*) AS status FROM r",
    "an endless recursive CTE",
    db_layer_only=READ_BOUNDED,
)
_h(
    "resource",
    "SELECT COUNT(*) AS status FROM seq_1_to_100000000000",
    "the SEQUENCE engine's virtual table of 10^11 rows",
    db_layer_only=READ_BOUNDED,
)

# --- size and nesting --------------------------------------------------------------------
add_size_cases(_CORPUS)
_h(
    "size",
    "SELECT 'OK' AS status, " + ", ".join(f"'{i}'" for i in range(2000)) + " FROM victim "
    "INTO OUTFILE '%DIR%/wide.txt'",
    "a wide select list hiding INTO OUTFILE at the end",
)

# --- found by an attacking review (a later session) ------------------------------------------
_h(
    "redteam",
    "SELECT 1 --\u00a0 AS x, load_file('%CANARY%') AS status\nFROM (SELECT 1 AS `\u00a0`) d",
    "MariaDB opens a -- comment only before ASCII white space: the call is code to it",
)
_h(
    "redteam",
    "SELECT 1 --\u00a0 AS status INTO OUTFILE '%DIR%/nbsp.txt'\nFROM (SELECT 1 AS `\u00a0`) d",
    "the same disagreement hiding INTO OUTFILE",
)
_h(
    "redteam",
    "SELECT CASE WHEN SUM(compress_ops) > 0 THEN 'ALERT' ELSE 'OK' END AS status "
    "FROM information_schema.INNODB_CMP_RESET",
    "reading the table resets InnoDB compression statistics",
)

HOSTILE: list[HostileCase] = _CORPUS.cases

# --- legitimate analytics ------------------------------------------------------------------
READS: list[ReadCase] = [
    ReadCase("SELECT COUNT(*) AS n FROM victim", "count"),
    ReadCase("SELECT `id`, `v` FROM `victim` ORDER BY `id`", "backticks"),
    ReadCase("SELECT id FROM victim ORDER BY id LIMIT 1 OFFSET 1", "LIMIT OFFSET"),
    ReadCase("SELECT id FROM victim LIMIT 1, 2", "MySQL LIMIT a, b"),
    ReadCase(
        "SELECT IF(COUNT(*) > 3, 'ALERT', 'OK') AS status FROM victim",
        "IF",
    ),
    ReadCase(
        "SELECT CASE WHEN SUM(amount) > 100 THEN 'ALERT' ELSE 'OK' END AS status FROM victim",
        "CASE",
    ),
    ReadCase(
        "SELECT v, SUM(amount) AS total FROM victim GROUP BY v HAVING SUM(amount) > 0",
        "GROUP BY HAVING",
    ),
    ReadCase("SELECT v, COUNT(*) FROM victim GROUP BY v WITH ROLLUP", "WITH ROLLUP"),
    ReadCase(
        "SELECT id, ROW_NUMBER() OVER (PARTITION BY v ORDER BY id) AS rn FROM victim",
        "ROW_NUMBER",
    ),
    ReadCase(
        "SELECT id, SUM(amount) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
        "AS moving FROM victim",
        "window frame",
    ),
    ReadCase(
        "SELECT id, LAG(amount) OVER (ORDER BY id) AS prev, "
        "LEAD(amount, 1) OVER (ORDER BY id) AS nxt FROM victim",
        "LAG/LEAD",
    ),
    ReadCase(
        "SELECT id, RANK() OVER w AS r, DENSE_RANK() OVER w AS dr FROM victim "
        "WINDOW w AS (ORDER BY amount DESC)",
        "named window",
    ),
    ReadCase(
        "SELECT id, NTILE(2) OVER (ORDER BY id) AS bucket, "
        "PERCENT_RANK() OVER (ORDER BY amount) AS pr FROM victim",
        "NTILE, PERCENT_RANK",
    ),
    ReadCase(
        "WITH s AS (SELECT COUNT(*) AS n FROM victim) SELECT n, 'OK' AS status FROM s",
        "CTE",
    ),
    ReadCase(
        "WITH a AS (SELECT id FROM victim), b AS (SELECT id FROM a WHERE id > 1) "
        "SELECT COUNT(*) FROM b",
        "two CTEs",
    ),
    ReadCase(
        "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) "
        "SELECT MAX(n) AS n FROM r",
        "recursive CTE",
    ),
    ReadCase(
        "WITH RECURSIVE d (dt) AS (SELECT DATE '2026-01-01' UNION ALL "
        "SELECT dt + INTERVAL 1 DAY FROM d WHERE dt < DATE '2026-01-07') SELECT COUNT(*) FROM d",
        "recursive date series",
    ),
    ReadCase("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t", "VALUES in FROM"),
    ReadCase("VALUES (1, 'a'), (2, 'b')", "a table value constructor alone"),
    ReadCase("SELECT 1 AS n UNION ALL SELECT 2 UNION SELECT 3 ORDER BY n", "UNION"),
    ReadCase("SELECT id FROM victim INTERSECT SELECT id FROM victim_log", "INTERSECT"),
    ReadCase("SELECT id FROM victim EXCEPT SELECT id FROM victim_log", "EXCEPT"),
    ReadCase(
        """SELECT JSON_VALUE('{"a": {"b": 1}}', '$.a.b') AS b""",
        "JSON_VALUE",
    ),
    ReadCase(
        "SELECT JSON_EXTRACT(tags, '$.team') AS team FROM victim",
        "JSON_EXTRACT on a column",
    ),
    ReadCase(
        "SELECT JSON_UNQUOTE(JSON_EXTRACT(tags, '$.team')) AS team, "
        "JSON_LENGTH(tags) AS n FROM victim",
        "JSON_UNQUOTE, JSON_LENGTH",
    ),
    ReadCase(
        "SELECT JSON_OBJECT('id', id, 'v', v) AS doc, JSON_ARRAY(id, v) AS arr FROM victim",
        "JSON_OBJECT, JSON_ARRAY",
    ),
    ReadCase(
        "SELECT jt.x FROM JSON_TABLE('[1, 2, 3]', '$[*]' COLUMNS (x INT PATH '$')) AS jt",
        "JSON_TABLE",
    ),
    ReadCase("SELECT JSON_ARRAYAGG(id) AS ids, JSON_OBJECTAGG(id, v) FROM victim", "JSON aggs"),
    ReadCase("SELECT DATE_SUB(NOW(), INTERVAL 1 DAY) AS yesterday", "DATE_SUB"),
    ReadCase(
        "SELECT COUNT(*) AS n FROM victim WHERE created_at > NOW() - INTERVAL 7 DAY",
        "interval arithmetic",
    ),
    ReadCase(
        "SELECT DATEDIFF(CURDATE(), MIN(created_at)) AS age_days, "
        "TIMESTAMPDIFF(HOUR, MIN(created_at), MAX(created_at)) AS span FROM victim",
        "DATEDIFF, TIMESTAMPDIFF",
    ),
    ReadCase(
        "SELECT DATE_FORMAT(created_at, '%Y-%m') AS month, COUNT(*) FROM victim "
        "GROUP BY DATE_FORMAT(created_at, '%Y-%m')",
        "DATE_FORMAT with % signs",
    ),
    ReadCase(
        "SELECT EXTRACT(YEAR FROM created_at) AS y, DAYOFWEEK(created_at) AS dow, "
        "LAST_DAY(created_at) AS eom FROM victim",
        "EXTRACT, DAYOFWEEK, LAST_DAY",
    ),
    ReadCase(
        "SELECT UNIX_TIMESTAMP(created_at) AS ts, FROM_UNIXTIME(0) AS epoch, "
        "CONVERT_TZ(created_at, '+00:00', '+02:00') AS local_ts FROM victim",
        "UNIX_TIMESTAMP, CONVERT_TZ",
    ),
    ReadCase(
        "SELECT STR_TO_DATE('2026-03-01', '%Y-%m-%d') AS d, "
        "ADDDATE(DATE '2026-01-31', INTERVAL 1 MONTH) AS next_month",
        "STR_TO_DATE, ADDDATE",
    ),
    ReadCase("SELECT GROUP_CONCAT(v ORDER BY id SEPARATOR ',') AS vs FROM victim", "GROUP_CONCAT"),
    ReadCase(
        "SELECT CONCAT_WS('-', v, id) AS k, UPPER(v), LOWER(v), LENGTH(v), "
        "CHAR_LENGTH(v) FROM victim",
        "string functions",
    ),
    ReadCase(
        "SELECT SUBSTRING_INDEX('a.b.c', '.', 2) AS s, REPLACE(v, 'a', 'b') AS r, "
        "LPAD(id, 5, '0') AS p FROM victim",
        "SUBSTRING_INDEX, REPLACE, LPAD",
    ),
    ReadCase(
        "SELECT REGEXP_REPLACE(v, '[aeiou]', '*') AS masked, v REGEXP '^a' AS starts_a FROM victim",
        "REGEXP",
    ),
    ReadCase("SELECT v FROM victim WHERE v LIKE 'a%' ESCAPE '!'", "LIKE ESCAPE"),
    ReadCase(
        "SELECT COALESCE(NULL, v) AS v, IFNULL(NULL, 1), NULLIF(id, 1) FROM victim",
        "COALESCE, IFNULL, NULLIF",
    ),
    ReadCase(
        "SELECT ROUND(AVG(amount), 2) AS avg_amount, STDDEV(amount), VARIANCE(amount), "
        "MIN(amount), MAX(amount) FROM victim",
        "aggregates",
    ),
    ReadCase(
        "SELECT COUNT(DISTINCT v) AS kinds, SUM(amount > 10) AS big FROM victim",
        "COUNT DISTINCT, boolean sum",
    ),
    ReadCase(
        "SELECT v.id, l.note FROM victim v LEFT JOIN victim_log l ON l.id = v.id",
        "LEFT JOIN",
    ),
    ReadCase(
        "SELECT v.id FROM victim v WHERE EXISTS (SELECT 1 FROM victim_log l WHERE l.id = v.id)",
        "EXISTS",
    ),
    ReadCase(
        "SELECT id FROM victim WHERE id IN (SELECT id FROM victim_log) "
        "AND amount > (SELECT AVG(amount) FROM victim)",
        "IN and scalar subqueries",
    ),
    ReadCase(
        "SELECT t.v, t.n FROM (SELECT v, COUNT(*) AS n FROM victim GROUP BY v) AS t WHERE t.n >= 1",
        "derived table",
    ),
    ReadCase(
        "SELECT v.id, (SELECT MAX(l.id) FROM victim_log l WHERE l.id <= v.id) AS prev_log "
        "FROM victim v",
        "correlated subquery (MariaDB has no LATERAL)",
    ),
    ReadCase(
        "SELECT 'OK' AS status -- a trailing comment\n",
        "-- comment",
    ),
    ReadCase(
        "# a header comment\nSELECT 'OK' AS status",
        "# comment",
    ),
    ReadCase(
        "/* owner: data team */ SELECT COUNT(*) AS n /* rows */ FROM victim",
        "block comments",
    ),
    ReadCase("SELECT 'x; DELETE FROM victim' AS status", "a ; in a string"),
    ReadCase("SELECT 'it''s' AS a, \"say \\\"hi\\\"\" AS b", "quotes in strings"),
    ReadCase("SELECT X'4f4b' AS hex_str, 0x4f4b AS hex_num, N'OK' AS nat", "literals"),
    ReadCase("SELECT _utf8mb4'OK' COLLATE utf8mb4_bin AS status", "charset introducer"),
    ReadCase("SELECT 1 AS `select`, 2 AS `from`", "reserved words as identifiers"),
    ReadCase(
        "SELECT CAST(amount AS DECIMAL(10, 2)) AS a, CONVERT(id, CHAR) AS s FROM victim",
        "CAST, CONVERT",
    ),
    ReadCase(
        "SELECT GREATEST(1, 2, 3) AS g, LEAST(1, 2) AS l, MOD(7, 3) AS m, 7 DIV 2 AS d",
        "math",
    ),
    ReadCase("SELECT UUID() IS NOT NULL AS u, RAND() < 2 AS r, VERSION() AS ver", "builtins"),
    ReadCase(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
        "information_schema",
    ),
    ReadCase("SELECT * FROM victim WHERE id BETWEEN 1 AND 3 AND v IS NOT NULL", "BETWEEN"),
    ReadCase("SELECT id FROM victim ORDER BY FIELD(v, 'c', 'b', 'a')", "FIELD"),
    ReadCase("SELECT DISTINCT v FROM victim ORDER BY v DESC", "DISTINCT"),
    ReadCase(
        "SELECT id FROM victim USE INDEX (PRIMARY) WHERE id > 0",
        "index hint",
    ),
    ReadCase("SELECT SQL_NO_CACHE COUNT(*) FROM victim", "SQL_NO_CACHE"),
    ReadCase("SELECT STRAIGHT_JOIN v.id FROM victim v JOIN victim_log l USING (id)", "JOIN USING"),
    ReadCase(
        "SELECT MEDIAN(amount) OVER () AS med FROM victim LIMIT 1",
        "MariaDB MEDIAN window",
    ),
    ReadCase(
        "SELECT v, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY amount) OVER (PARTITION BY v) "
        "AS p50 FROM victim",
        "PERCENTILE_CONT",
    ),
    ReadCase("SELECT @@version AS ver, @@session.time_zone AS tz", "system variables"),
    ReadCase("SELECT (SELECT COUNT(*) FROM victim) > 0 AS any_rows", "scalar subquery"),
    ReadCase("SELECT 'OK' AS status FROM DUAL", "DUAL"),
    ReadCase(
        "SELECT NOW() AS now_ts, CURRENT_TIMESTAMP(3) AS precise, UTC_DATE() AS today",
        "current time",
    ),
]
