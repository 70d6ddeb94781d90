"""The read-only promise on PostgreSQL, judged by facts in the database, not by exit codes.

Every hostile case of ``corpus_pg`` runs against a dedicated database (``sst_hostile_<tag>``)
holding victim objects: tables with rows, a materialized view, a sequence, a BRIN index, a
writing function, a SECURITY DEFINER one and a procedure, a large object, the extensions
dblink, tablefunc, pg_stat_statements and adminpack; a physical replication slot; a victim
session that LISTENs on a channel; a watched directory the server may write. The database
defaults to ``standard_conforming_strings = off``, so the executor must set what the SQL
check assumes. Before and after each case, a separate superuser connection snapshots
everything an attack could change (:meth:`Sandbox.facts`): rows and checksums, relations,
functions, schemas, roles, databases, extensions, settings and postgresql.auto.conf,
replication slots and origins, prepared transactions, large objects, the sequences, reset
timestamps of every statistics view and the victim tables' write counters, advisory locks,
the victim session (alive, no NOTIFY received), WAL switches, the watched directory and the
data directory's top level. A case passes when the snapshots are equal.

Modes: A the product path (``check_query``, then ``QueryRunner`` as the superuser with
``allow_privileged=True``); B the execution layer alone (``check_sql=False``) with a
least-privilege read-only role; C the superuser without the opt-in is refused before
anything runs; D the checker alone refuses every case not marked ``db_layer_only``. A read
corpus runs through the product path with the read-only role and counts false refusals.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.config import UnsafeQuery, check_query
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook
from sqlsentinel_airflow.execution.privileges import forget_checked_logins

sys.path.insert(0, str(Path(__file__).parent))
from corpus_pg import HOSTILE, READS
from readonly_corpus import HostileCase, fact_changes

pytestmark = pytest.mark.postgres

TIMEOUT = timedelta(seconds=2)
MAX_ROWS = 100
#: A run returns within the timeout, the watchdog's grace and a margin, or it hangs.
RUN_BOUND_S = TIMEOUT.total_seconds() + 2.0 + 3.0
#: Read-corpus queries the product refuses today (the measured number; see the report).
MAX_FALSE_REFUSALS = 0
#: Mode C: representative cases a privileged login must not get to run.
MODE_C_CASES = ("signal-01", "wal-01", "file-07", "stats-02", "dml-01", "sqltext-01")
ALLOW_ENV = "AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS"
SU_CONN_ID = "sst_hostile_pg_su"
RO_CONN_ID = "sst_hostile_pg_ro"

_ADMIN_URL = sa.engine.make_url(
    os.environ.get(
        "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    )
)
HOST, PORT = _ADMIN_URL.host or "127.0.0.1", int(_ADMIN_URL.port or 5432)
SUPERUSER = _ADMIN_URL.username or "postgres"

VICTIM_OBJECTS = [
    "CREATE TABLE victim (id int PRIMARY KEY, v text, amount numeric(10, 2), "
    "created timestamptz, tags jsonb) WITH (autovacuum_enabled = false)",
    "INSERT INTO victim SELECT g, chr(97 + g % 3), g * 1.5, "
    "timestamptz '2026-01-01' + g * interval '1 day', "
    "jsonb_build_object('team', CASE WHEN g % 2 = 0 THEN 'ops' ELSE 'data' END) "
    "FROM generate_series(1, 40) g",
    "CREATE INDEX victim_brin ON victim USING brin (created)",
    "CREATE TABLE victim_log (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, msg text) "
    "WITH (autovacuum_enabled = false)",
    "INSERT INTO victim_log (msg) VALUES ('first'), ('second')",
    "CREATE MATERIALIZED VIEW victim_mv AS SELECT v, count(*) AS n FROM victim GROUP BY v",
    "CREATE SEQUENCE victim_seq",
    "SELECT nextval('victim_seq'), nextval('victim_seq'), nextval('victim_seq')",
    "CREATE FUNCTION victim_write_fn() RETURNS text LANGUAGE plpgsql AS "
    "$$ BEGIN INSERT INTO victim_log (msg) VALUES ('written'); RETURN 'OK'; END $$",
    "CREATE FUNCTION victim_definer_fn() RETURNS text LANGUAGE plpgsql SECURITY DEFINER "
    "SET search_path = public AS "
    "$$ BEGIN DELETE FROM victim WHERE id = 1; RETURN 'OK'; END $$",
    "CREATE PROCEDURE victim_proc() LANGUAGE plpgsql AS $$ BEGIN DELETE FROM victim; END $$",
    "CREATE EXTENSION dblink",
    "CREATE EXTENSION tablefunc",
    "CREATE EXTENSION pg_stat_statements",
    "CREATE EXTENSION adminpack",
]
VICTIM_TABLES = ("victim", "victim_log", "victim_mv")

# One snapshot, one round trip. ``{ro}`` and ``{lo}`` are filled in per sandbox.
FACTS_SQL = """
WITH watched AS (SELECT %(dir)s::text AS dir),
     mine AS (SELECT oid FROM pg_roles WHERE rolname IN (%(su)s, %(ro)s)
              OR rolname LIKE 'sst\\_evil%%')
SELECT json_build_object(
  'tables', (SELECT json_object_agg(t, r) FROM (
      SELECT 'victim' AS t, (SELECT count(*) || ' rows ' || md5(coalesce(string_agg(x::text, '|'
        ORDER BY x.id), '')) FROM victim x) AS r
      UNION ALL SELECT 'victim_log', (SELECT count(*) || ' rows ' || md5(coalesce(
        string_agg(x::text, '|' ORDER BY x.id), '')) FROM victim_log x)
      UNION ALL SELECT 'victim_mv', (SELECT count(*) || ' rows ' || md5(coalesce(
        string_agg(x::text, '|' ORDER BY x.v), '')) FROM victim_mv x)) s),
  'storage', (SELECT json_agg(format('%%s filenode=%%s pages=%%s tuples=%%s natts=%%s',
      relname, relfilenode, relpages, reltuples, relnatts) ORDER BY relname)
      FROM pg_class WHERE relnamespace = 'public'::regnamespace
      AND relname IN ('victim', 'victim_log', 'victim_mv', 'victim_pkey', 'victim_brin')),
  'relations', (SELECT json_agg(x ORDER BY x) FROM (
      SELECT format('%%s.%%s kind=%%s owner=%%s acl=%%s', n.nspname, c.relname, c.relkind,
        c.relowner::regrole, c.relacl) AS x
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')) s),
  'functions', (SELECT json_agg(x ORDER BY x) FROM (
      SELECT format('%%s owner=%%s secdef=%%s acl=%%s src=%%s', p.oid::regprocedure,
        p.proowner::regrole, p.prosecdef, p.proacl, md5(p.prosrc)) AS x
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')) s),
  'schemas', (SELECT json_agg(format('%%s owner=%%s acl=%%s', nspname, nspowner::regrole,
      nspacl) ORDER BY nspname) FROM pg_namespace),
  'extensions', (SELECT json_agg(extname || ' ' || extversion ORDER BY extname)
      FROM pg_extension),
  'catalog_rows', json_build_object(
      'pg_class', (SELECT count(*) FROM pg_class),
      'pg_attribute', (SELECT count(*) FROM pg_attribute),
      'pg_proc', (SELECT count(*) FROM pg_proc),
      'pg_type', (SELECT count(*) FROM pg_type),
      'pg_trigger', (SELECT count(*) FROM pg_trigger),
      'pg_event_trigger', (SELECT count(*) FROM pg_event_trigger),
      'pg_rewrite', (SELECT count(*) FROM pg_rewrite),
      'pg_policy', (SELECT count(*) FROM pg_policy),
      'pg_constraint', (SELECT count(*) FROM pg_constraint),
      'pg_index', (SELECT count(*) FROM pg_index),
      'pg_statistic', (SELECT count(*) FROM pg_statistic),
      'pg_statistic_ext', (SELECT count(*) FROM pg_statistic_ext),
      'pg_description', (SELECT count(*) FROM pg_description),
      'pg_collation', (SELECT count(*) FROM pg_collation),
      'pg_cast', (SELECT count(*) FROM pg_cast),
      'pg_operator', (SELECT count(*) FROM pg_operator),
      'pg_default_acl', (SELECT count(*) FROM pg_default_acl),
      'pg_publication', (SELECT count(*) FROM pg_publication),
      'pg_foreign_server', (SELECT count(*) FROM pg_foreign_server),
      'pg_user_mapping', (SELECT count(*) FROM pg_user_mapping),
      'pg_seclabel', (SELECT count(*) FROM pg_seclabel),
      'pg_subscription', (SELECT count(*) FROM pg_subscription),
      'pg_tablespace', (SELECT count(*) FROM pg_tablespace),
      'pg_shdescription', (SELECT count(*) FROM pg_shdescription)),
  'roles', (SELECT json_agg(x ORDER BY x) FROM (
      SELECT format('%%s super=%%s login=%%s repl=%%s createrole=%%s createdb=%%s bypassrls=%%s '
        'conn=%%s valid=%%s pw=%%s', rolname, rolsuper, rolcanlogin, rolreplication,
        rolcreaterole, rolcreatedb, rolbypassrls, rolconnlimit, rolvaliduntil,
        md5(coalesce(rolpassword, '-'))) AS x
      FROM pg_authid WHERE oid IN (SELECT oid FROM mine)) s),
  'memberships', (SELECT json_agg(x ORDER BY x) FROM (
      SELECT format('%%s in %%s admin=%%s', member::regrole, roleid::regrole, admin_option) AS x
      FROM pg_auth_members WHERE member IN (SELECT oid FROM mine)
      OR roleid IN (SELECT oid FROM mine)) s),
  'role_settings', (SELECT json_agg(x ORDER BY x) FROM (
      SELECT format('db=%%s role=%%s %%s', setdatabase, setrole, setconfig) AS x
      FROM pg_db_role_setting
      WHERE setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
      AND (setrole = 0 OR setrole IN (SELECT oid FROM mine))) s),
  'databases', (SELECT json_agg(format('%%s allowconn=%%s connlimit=%%s template=%%s acl=%%s',
      datname, datallowconn, datconnlimit, datistemplate, datacl) ORDER BY datname)
      FROM pg_database WHERE datname IN (current_database(), 'postgres', 'template0',
      'template1') OR datname LIKE 'sst\\_evil%%'),
  'tablespaces', (SELECT json_agg(spcname ORDER BY spcname) FROM pg_tablespace),
  'settings', (SELECT json_object_agg(name, setting ORDER BY name) FROM pg_settings),
  'file_settings', (SELECT json_agg(format('%%s:%%s %%s=%%s applied=%%s error=%%s', sourcefile,
      sourceline, name, setting, applied, error) ORDER BY sourcefile, sourceline)
      FROM pg_file_settings),
  'auto_conf', md5(pg_read_file('postgresql.auto.conf')),
  'slots', (SELECT json_agg(format('%%s type=%%s plugin=%%s db=%%s temp=%%s restart=%%s',
      slot_name, slot_type, plugin, database, temporary, restart_lsn) ORDER BY slot_name)
      FROM pg_replication_slots),
  'origins', (SELECT json_agg(roname ORDER BY roname) FROM pg_replication_origin),
  'prepared_xacts', (SELECT json_agg(gid ORDER BY gid) FROM pg_prepared_xacts),
  'large_objects', (SELECT json_agg(oid ORDER BY oid) FROM pg_largeobject_metadata),
  'victim_lo', (SELECT md5(lo_get(oid)) FROM pg_largeobject_metadata WHERE oid = %(lo)s),
  'sequences', (SELECT json_agg(format('%%s.%%s last=%%s', schemaname, sequencename,
      last_value) ORDER BY schemaname, sequencename) FROM pg_sequences),
  'stats_reset', json_build_object(
      'database', (SELECT stats_reset FROM pg_stat_database
                   WHERE datname = current_database()),
      'shared_objects', (SELECT stats_reset FROM pg_stat_database WHERE datid = 0),
      'bgwriter', (SELECT stats_reset FROM pg_stat_bgwriter),
      'archiver', (SELECT stats_reset FROM pg_stat_archiver),
      'wal', (SELECT stats_reset FROM pg_stat_wal),
      'recovery_prefetch', (SELECT stats_reset FROM pg_stat_recovery_prefetch),
      'slru', (SELECT json_agg(name || ' ' || coalesce(stats_reset::text, '-') ORDER BY name)
               FROM pg_stat_slru),
      'replication_slots', (SELECT json_agg(slot_name || ' ' || coalesce(stats_reset::text,
               '-') ORDER BY slot_name) FROM pg_stat_replication_slots)),
  'write_counters', (SELECT json_agg(format('%%s ins=%%s upd=%%s del=%%s hot=%%s vacuum=%%s '
      'analyze=%%s', relname, n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd, vacuum_count,
      analyze_count) ORDER BY relname) FROM pg_stat_user_tables),
  'advisory_locks', (SELECT json_agg(format('%%s/%%s/%%s %%s granted=%%s', classid, objid,
      objsubid, mode, granted) ORDER BY classid, objid) FROM pg_locks
      WHERE locktype = 'advisory'),
  'other_backends', (SELECT json_agg(format('%%s %%s', usename, application_name)
      ORDER BY pid) FROM pg_stat_activity WHERE backend_type = 'client backend'
      AND pid <> pg_backend_pid() AND application_name <> %(app)s
      AND (datname = current_database() OR usename = %(ro)s)),
  'victim_session', (SELECT count(*) FROM pg_stat_activity WHERE application_name = %(app)s),
  'data_directory', (SELECT json_agg(f ORDER BY f) FROM pg_ls_dir('.') AS f
      WHERE f NOT LIKE 'pgsql\\_tmp%%'),
  'watched_dir', (SELECT json_agg(f || ' ' || md5(pg_read_binary_file(w.dir || '/' || f))
      ORDER BY f) FROM watched w, pg_ls_dir(w.dir) AS f),
  'wal', json_build_object('segment', pg_walfile_name(pg_current_wal_insert_lsn()),
      'lsn', pg_current_wal_insert_lsn())
)::text
"""


def _admin_connect(dbname: str, application_name: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=HOST,
        port=PORT,
        user=SUPERUSER,
        dbname=dbname,
        autocommit=True,
        application_name=application_name,
        options="-c standard_conforming_strings=on -c statement_timeout=30000",
    )


_WAL_LINE = re.compile(r"lsn: (?P<lsn>[0-9A-F]+/[0-9A-F]+), prev [^,]+, desc: (?P<desc>.*)$")
_JUDGE_PREFIX = "sst_hostile_judge"
_LASTING_WAL_RECORDS = ("SWITCH", "RESTORE_POINT", "BACKUP_END", "MESSAGE non-transactional")


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def _waldump() -> str | None:
    found = shutil.which("pg_waldump")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_waldump"), reverse=True):
        return str(candidate)
    return None


class Sandbox:
    """The victim database, its objects, the victim session and the watched directory."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.db = f"sst_hostile_{self.tag}"
        self.ro = f"sst_hostile_ro_{self.tag}"
        self.app = f"sst_hostile_victim_{self.tag}"
        self.chan = f"sst_hostile_chan_{self.tag}"
        self.slot = f"sst_hostile_slot_{self.tag}"
        self.dir = Path(f"/tmp/sst_hostile_pg_{self.tag}")
        self.lo = 0
        self.notifies: list[str] = []
        self.victim: psycopg.Connection[Any] | None = None
        self.admin: psycopg.Connection[Any] | None = None
        self.data_directory = ""
        self._last: dict[str, Any] | None = None
        self._original_auto_conf: list[tuple[str, str]] = []

    # -- set-up and tear-down ------------------------------------------------------------------

    def create(self) -> None:
        self.dir.mkdir(mode=0o777)
        self.dir.chmod(0o777)  # the server runs as its own OS user
        self._write_victim_file()
        with _admin_connect("postgres", f"sst_hostile_setup_{self.tag}") as conn:
            conn.execute(f'CREATE DATABASE "{self.db}"')
            conn.execute(f"CREATE ROLE \"{self.ro}\" LOGIN PASSWORD 'any'")
            conn.execute(
                "SELECT pg_create_physical_replication_slot(%s)", (self.slot,)
            )  # not reserving WAL: it holds nothing back
            self._original_auto_conf = self._auto_conf(conn)
        self._create_objects()
        self.admin = _admin_connect(self.db, f"sst_hostile_admin_{self.tag}")
        row = self.admin.execute("SHOW data_directory").fetchone()
        self.data_directory = str(row[0]) if row else ""
        self._open_victim()
        self.wait_quiet()

    def _create_objects(self) -> None:
        with _admin_connect(self.db, f"sst_hostile_setup_{self.tag}") as conn:
            for statement in VICTIM_OBJECTS:
                conn.execute(statement)
            row = conn.execute("SELECT lo_from_bytea(0, 'victim large object')").fetchone()
            assert row is not None
            self.lo = int(row[0])
            for statement in (
                f'REVOKE ALL ON DATABASE "{self.db}" FROM PUBLIC',
                f'GRANT CONNECT ON DATABASE "{self.db}" TO "{self.ro}"',
                f'GRANT USAGE ON SCHEMA public TO "{self.ro}"',
                f'GRANT SELECT ON victim, victim_log, victim_mv, victim_seq TO "{self.ro}"',
                # Legacy string syntax: the executor, not the database, decides how text reads.
                f'ALTER DATABASE "{self.db}" SET standard_conforming_strings = off',
            ):
                conn.execute(statement)

    def _open_victim(self) -> None:
        self.victim = _admin_connect(self.db, self.app)
        self.victim.add_notify_handler(lambda n: self.notifies.append(f"{n.channel}:{n.payload}"))
        self.victim.execute(f'LISTEN "{self.chan}"')

    def _write_victim_file(self) -> None:
        victim = self.dir / "victim.txt"
        victim.write_text("victim file\n")
        victim.chmod(0o666)

    def destroy(self) -> None:
        for conn in (self.victim, self.admin):
            if conn is not None:
                conn.close()
        try:
            with _admin_connect(self.db, f"sst_hostile_setup_{self.tag}") as conn:
                self._reassign_ro(conn)
        except psycopg.Error as exc:
            print(f"could not reassign what {self.ro} owns: {exc}", file=sys.stderr)
        with _admin_connect("postgres", f"sst_hostile_setup_{self.tag}") as conn:
            self._drop_evil_globals(conn)
            for sql in (
                f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)',
                f'DROP ROLE IF EXISTS "{self.ro}"',
            ):
                conn.execute(sql)
            if conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)
            ).fetchone():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (self.slot,))
            self._restore_auto_conf(conn)
        shutil.rmtree(self.dir, ignore_errors=True)
        self._remove_evil_data_files()

    def _reassign_ro(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(f'REASSIGN OWNED BY "{self.ro}" TO "{SUPERUSER}"')
        conn.execute(f'DROP OWNED BY "{self.ro}"')

    def _drop_evil_globals(self, conn: psycopg.Connection[Any]) -> None:
        """Whatever an attack created outside the victim database (``sst_evil_<tag>``)."""
        like = f"sst\\_evil\\_{self.tag}%"
        steps = [
            ("SELECT gid FROM pg_prepared_xacts WHERE gid LIKE %s", "ROLLBACK PREPARED '{}'"),
            (
                "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE %s",
                "SELECT pg_drop_replication_slot('{}')",
            ),
            (
                "SELECT roname FROM pg_replication_origin WHERE roname LIKE %s",
                "SELECT pg_replication_origin_drop('{}')",
            ),
            (
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                'DROP DATABASE IF EXISTS "{}" WITH (FORCE)',
            ),
            ("SELECT spcname FROM pg_tablespace WHERE spcname LIKE %s", 'DROP TABLESPACE "{}"'),
            ("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", 'DROP ROLE IF EXISTS "{}"'),
        ]
        for query, drop in steps:
            for (name,) in conn.execute(query, (like,)).fetchall():
                try:
                    conn.execute(drop.format(name))
                except psycopg.Error as exc:
                    print(f"could not drop {name}: {exc}", file=sys.stderr)

    def _remove_evil_data_files(self) -> None:
        if not self.data_directory or not Path(self.data_directory).is_dir():
            return
        for path in Path(self.data_directory).glob(f"sst_evil_{self.tag}*"):
            path.unlink(missing_ok=True)

    @staticmethod
    def _auto_conf(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
        return [
            (str(name), str(setting))
            for name, setting in conn.execute(
                "SELECT name, setting FROM pg_file_settings "
                "WHERE sourcefile LIKE '%postgresql.auto.conf' ORDER BY sourceline"
            ).fetchall()
        ]

    def _restore_auto_conf(self, conn: psycopg.Connection[Any]) -> None:
        current = self._auto_conf(conn)
        if current == self._original_auto_conf:
            return
        for name, _ in current:
            conn.execute(f"ALTER SYSTEM RESET {name}")
        for name, setting in self._original_auto_conf:
            conn.execute(f"ALTER SYSTEM SET {name} = %s", (setting,))
        conn.execute("SELECT pg_reload_conf()")

    # -- after a case that changed something -------------------------------------------------

    def repair(self) -> None:
        """Put every victim back as it was, so the next case starts from a known state: the
        victim database is dropped and made again (nothing an attack left in it survives)."""
        for conn in (self.victim, self.admin):
            if conn is not None:
                conn.close()
        with _admin_connect("postgres", f"sst_hostile_setup_{self.tag}") as conn:
            self._drop_evil_globals(conn)
            if not conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (self.slot,)
            ).fetchone():
                conn.execute("SELECT pg_create_physical_replication_slot(%s)", (self.slot,))
            self._restore_auto_conf(conn)
            for (granted,) in conn.execute(
                "SELECT roleid::regrole::text FROM pg_auth_members WHERE member = %s::regrole",
                (self.ro,),
            ).fetchall():
                conn.execute(f'REVOKE {granted} FROM "{self.ro}"')
            for sql in (
                f'ALTER ROLE "{self.ro}" RESET ALL',
                f"ALTER ROLE \"{self.ro}\" PASSWORD 'any'",
                f'DROP DATABASE "{self.db}" WITH (FORCE)',
                f'CREATE DATABASE "{self.db}"',
            ):
                conn.execute(sql)
        self._create_objects()
        for path in self.dir.iterdir():
            if path.name != "victim.txt":
                path.unlink()
        self._write_victim_file()
        self._remove_evil_data_files()
        self.admin = _admin_connect(self.db, f"sst_hostile_admin_{self.tag}")
        self._open_victim()
        self.notifies.clear()
        self._last = None
        self.wait_quiet()

    # -- facts --------------------------------------------------------------------------------

    def wait_quiet(self, limit_s: float = 5.0) -> None:
        """Wait until no session but ours is left in the victim database (or as the read-only
        role): a closed connection's backend exits, flushes its statistics and releases its
        locks a moment after the client is gone."""
        assert self.admin is not None
        deadline = time.monotonic() + limit_s
        while True:
            row = self.admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid() AND application_name <> %s "
                "AND (datname = %s OR usename = %s)",
                (self.app, self.db, self.ro),
            ).fetchone()
            if row is None or row[0] == 0 or time.monotonic() > deadline:
                return
            time.sleep(0.005)

    def _victim_alive(self) -> bool:
        if self.victim is None or self.victim.closed:
            return False
        try:
            self.victim.execute("SELECT 1")  # also delivers pending notifications
        except psycopg.Error:
            return False
        return True

    def facts(self, *, quiet_s: float = 5.0) -> dict[str, Any]:
        assert self.admin is not None
        self.wait_quiet(quiet_s)
        # pg_waldump reads files, and a record nobody committed after may sit in the WAL
        # buffers: a committed transaction that wrote WAL flushes everything before it.
        with self.admin.transaction():
            self.admin.execute("SELECT pg_logical_emit_message(true, %s, '')", (_JUDGE_PREFIX,))
        row = self.admin.execute(
            FACTS_SQL,
            {"dir": str(self.dir), "su": SUPERUSER, "ro": self.ro, "lo": self.lo, "app": self.app},
        ).fetchone()
        assert row is not None
        facts: dict[str, Any] = json.loads(row[0])
        facts["victim_session_answers"] = self._victim_alive()
        facts["victim_notifications"] = list(self.notifies)
        self._last = facts
        return facts

    def baseline(self) -> dict[str, Any]:
        """The facts after the previous case (unchanged by it), or fresh ones."""
        return self._last if self._last is not None else self.facts()

    def differences(self, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
        lines = self._wal_records(before["wal"], after["wal"]) if "wal" in before else []
        others = [k for k in set(before) | set(after) if k != "wal"]
        return lines + fact_changes(
            {k: before.get(k) for k in others}, {k: after.get(k) for k in others}
        )

    def _wal_records(self, before: dict[str, str], after: dict[str, str]) -> list[str]:
        """WAL records that outlive a rollback: a segment switch, a restore point, the end of
        a backup, a non-transactional logical message. Other sessions on the shared server
        write WAL too (and checkpoint), so the records between the two snapshots are read
        and only these kinds count. Without pg_waldump or read access to pg_wal, a changed
        segment name is all that can be seen."""
        waldump = _waldump()
        wal_dir = Path(self.data_directory) / "pg_wal"
        if waldump is None or not os.access(wal_dir, os.R_OK):
            if before["segment"] != after["segment"]:
                return [f"wal segment: {before['segment']} -> {after['segment']}"]
            return []
        start, end = _lsn(before["lsn"]), _lsn(after["lsn"])
        if start == end:
            return []
        done = subprocess.run(
            [
                waldump,
                "-p",
                str(wal_dir),
                "-s",
                before["lsn"],
                "-r",
                "XLOG",
                "-r",
                "LogicalMessage",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        found = []
        judged = False
        for line in done.stdout.splitlines():
            match = _WAL_LINE.search(line)
            if match is None or not start <= _lsn(match["lsn"]) < end:
                continue
            desc = match["desc"]
            judged = judged or f'prefix "{_JUDGE_PREFIX}"' in desc
            if desc.startswith(_LASTING_WAL_RECORDS):
                found.append(f"wal record at {match['lsn']}: {desc[:120]}")
        if not judged:  # the snapshot's own message must be there, or nothing was read
            found.append(f"wal from {before['lsn']} to {after['lsn']} could not be read")
        return found

    def render(self, sql: str) -> str:
        for key, value in (
            ("%DB%", self.db),
            ("%DIR%", str(self.dir)),
            ("%APP%", self.app),
            ("%CHAN%", self.chan),
            ("%SLOT%", self.slot),
            ("%LO%", str(self.lo)),
            ("%RO%", self.ro),
            ("%TAG%", self.tag),
        ):
            sql = sql.replace(key, value)
        return sql


# --- fixtures -------------------------------------------------------------------------------

RESULTS: dict[str, dict[str, str]] = {"A": {}, "B": {}, "C": {}, "D": {}, "reads": {}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    started = time.monotonic()
    try:
        box.create()
    except psycopg.OperationalError as exc:  # pragma: no cover - environment failure
        box.destroy()
        pytest.fail(f"PostgreSQL on {HOST}:{PORT} is required and unreachable: {exc}")
    with pytest.MonkeyPatch.context() as mp:
        for conn_id, login in ((SU_CONN_ID, SUPERUSER), (RO_CONN_ID, box.ro)):
            fields = {
                "conn_type": "postgres",
                "host": HOST,
                "port": PORT,
                "login": login,
                "password": "any",
                "schema": box.db,
            }
            mp.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
        mp.delenv(ALLOW_ENV, raising=False)
        try:
            yield box
        finally:
            box.destroy()
            _report(time.monotonic() - started)


@pytest.fixture(scope="module")
def su_hook(sandbox: Sandbox) -> Any:
    return resolve_db_hook(SU_CONN_ID)


@pytest.fixture(scope="module")
def ro_hook(sandbox: Sandbox) -> Any:
    return resolve_db_hook(RO_CONN_ID)


def _report(elapsed_s: float) -> None:
    """Per-mode counts (shown with ``-s`` or on failure); every outcome as JSON in the file
    ``SST_READONLY_PG_REPORT`` names, if set."""
    lines = [
        "",
        f"=== read-only corpus, PostgreSQL: {len(HOSTILE)} hostile, {len(READS)} reads,"
        f" {elapsed_s:.1f}s ===",
    ]
    for mode, outcomes in RESULTS.items():
        counts: dict[str, int] = {}
        for outcome in outcomes.values():
            kind = outcome.split(":", 1)[0]
            counts[kind] = counts.get(kind, 0) + 1
        lines.append(f"mode {mode}: {len(outcomes)} runs {counts}")
    report = os.environ.get("SST_READONLY_PG_REPORT")
    if report:
        Path(report).write_text(json.dumps(RESULTS, indent=1, sort_keys=True))
    print("\n".join(lines))


# --- running one case -----------------------------------------------------------------------


def _run(runner: QueryRunner, sql: str) -> str:
    started = time.monotonic()
    try:
        rows = runner.run(sql)
        outcome = f"ran OK: {len(rows.rows)} row(s)"
    except QueryError as exc:
        outcome = f"failed in DB: {exc}"
    elapsed = time.monotonic() - started
    assert elapsed < RUN_BOUND_S, f"the run took {elapsed:.1f}s: {outcome}"
    return outcome


def _judge(
    box: Sandbox, case: HostileCase, mode: str, before: dict[str, Any], outcome: str
) -> None:
    after = box.facts()
    changed = box.differences(before, after)
    if changed:
        box.repair()
    RESULTS[mode][case.name] = outcome
    assert not changed, (
        f"mode {mode}, case {case.name} ({case.klass}: {case.note}) changed facts "
        f"although the run reported {outcome[:200]!r}:\n  "
        + "\n  ".join(changed)
        + f"\nSQL: {box.render(case.sql)[:500]}"
    )


def _case_id(case: HostileCase) -> str:
    return case.name


# --- mode A: the product path, superuser allowed ----------------------------------------------


@pytest.mark.parametrize("case", HOSTILE, ids=_case_id)
def test_mode_a_product_path_as_superuser(
    sandbox: Sandbox, su_hook: Any, case: HostileCase
) -> None:
    sql = sandbox.render(case.sql)
    try:
        check_query(sql, "postgres")
    except UnsafeQuery as exc:
        RESULTS["A"][case.name] = f"refused by checker: {exc.message[:120]}"
        return
    before = sandbox.baseline()
    runner = QueryRunner(su_hook, timeout=TIMEOUT, max_rows=MAX_ROWS, allow_privileged=True)
    _judge(sandbox, case, "A", before, _run(runner, sql))


# --- mode B: the execution layer alone, least-privilege login ----------------------------------


@pytest.mark.parametrize("case", HOSTILE, ids=_case_id)
def test_mode_b_execution_layer_as_read_only_role(
    sandbox: Sandbox, ro_hook: Any, case: HostileCase, request: pytest.FixtureRequest
) -> None:
    if case.db_layer_gap:
        request.applymarker(pytest.mark.xfail(strict=True, reason=case.db_layer_gap))
    sql = sandbox.render(case.sql)
    before = sandbox.baseline()
    runner = QueryRunner(ro_hook, timeout=TIMEOUT, max_rows=MAX_ROWS, check_sql=False)
    outcome = _run(runner, sql)
    assert "privileged" not in outcome, f"the read-only role was refused: {outcome}"
    _judge(sandbox, case, "B", before, outcome)


# --- mode C: a privileged login without the opt-in is refused before anything runs --------------

_MODE_C = [case for case in HOSTILE if case.name in MODE_C_CASES]


@pytest.mark.parametrize("case", _MODE_C, ids=_case_id)
def test_mode_c_superuser_refused_without_opt_in(
    sandbox: Sandbox, su_hook: Any, case: HostileCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    forget_checked_logins()
    try:
        before = sandbox.baseline()
        runner = QueryRunner(su_hook, timeout=TIMEOUT, max_rows=MAX_ROWS, check_sql=False)
        with pytest.raises(QueryError, match="privileged") as raised:
            runner.run(sandbox.render(case.sql))
        _judge(sandbox, case, "C", before, f"refused as privileged: {raised.value}")
    finally:
        forget_checked_logins()


def test_mode_c_superuser_read_refused_and_read_only_role_not(
    sandbox: Sandbox, su_hook: Any, ro_hook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    forget_checked_logins()
    try:
        with pytest.raises(QueryError, match="privileged"):
            QueryRunner(su_hook, timeout=TIMEOUT, max_rows=MAX_ROWS).run("SELECT 1 AS status")
        rows = QueryRunner(ro_hook, timeout=TIMEOUT, max_rows=MAX_ROWS).run(
            "SELECT count(*) AS n FROM victim"
        )
        assert rows.rows == [(40,)]
        monkeypatch.setenv(ALLOW_ENV, f"other_conn, {SU_CONN_ID}")
        forget_checked_logins()
        rows = QueryRunner(su_hook, timeout=TIMEOUT, max_rows=MAX_ROWS).run("SELECT 1 AS status")
        assert rows.rows == [(1,)]
    finally:
        forget_checked_logins()


# --- mode D: the checker alone ------------------------------------------------------------------


@pytest.mark.parametrize("case", HOSTILE, ids=_case_id)
def test_mode_d_checker_refuses(sandbox: Sandbox, case: HostileCase) -> None:
    sql = sandbox.render(case.sql)
    try:
        check_query(sql, "postgres")
    except UnsafeQuery as exc:
        RESULTS["D"][case.name] = f"refused by checker: {exc.message[:120]}"
        return
    RESULTS["D"][case.name] = "accepted by checker"
    if case.db_layer_only:
        return
    pytest.fail(f"check_query accepted {case.name} ({case.klass}: {case.note}):\n{sql[:500]}")


# --- the read corpus ------------------------------------------------------------------------------


def test_read_corpus_runs_with_read_only_role(sandbox: Sandbox, ro_hook: Any) -> None:
    before = sandbox.baseline()
    refused: list[str] = []
    for read in READS:
        try:
            check_query(read.sql, "postgres")
            QueryRunner(ro_hook, timeout=TIMEOUT, max_rows=MAX_ROWS).run(read.sql)
            RESULTS["reads"][read.note] = "ran OK"
        except (UnsafeQuery, QueryError) as exc:
            message = exc.message if isinstance(exc, UnsafeQuery) else str(exc)
            RESULTS["reads"][read.note] = f"false refusal: {message[:160]}"
            refused.append(f"{read.note}: {read.sql!r}\n    -> {message[:300]}")
    after = sandbox.facts()
    changed = sandbox.differences(before, after)
    if changed:
        sandbox.repair()
    assert not changed, "the read corpus changed facts:\n  " + "\n  ".join(changed)
    print(f"{len(refused)} false refusal(s) of {len(READS)} reads:\n" + "\n".join(refused))
    assert len(refused) <= MAX_FALSE_REFUSALS, "\n".join(refused)


# --- the facts themselves: every kind of side effect shows ------------------------------------

#: (what a superuser does directly, the facts that must show it)
SIDE_EFFECTS = [
    ("DELETE FROM victim WHERE id = 1", "tables"),
    ("SELECT nextval('victim_seq')", "sequences"),
    ("SELECT lo_create(0)", "large_objects"),
    ("SELECT pg_stat_reset()", "stats_reset"),
    ("SELECT pg_create_physical_replication_slot('sst_evil_%TAG%')", "slots"),
    ("SELECT pg_replication_origin_create('sst_evil_%TAG%')", "origins"),
    ("NOTIFY %CHAN%, 'fact check'", "victim_notifications"),
    ("SELECT pg_logical_emit_message(false, 'sst', 'fact check')", "wal"),
    ("SELECT pg_file_write('%DIR%/sst_evil_%TAG%.txt', 'x', false)", "watched_dir"),
    ("SELECT pg_file_write('sst_evil_%TAG%.txt', 'x', false)", "data_directory"),
    ("ALTER ROLE %RO% SET work_mem = '7MB'", "role_settings"),
    ("CREATE ROLE sst_evil_%TAG%", "roles"),
    ("GRANT pg_signal_backend TO %RO%", "memberships"),
    ("COMMENT ON TABLE victim IS 'fact check'", "catalog_rows"),
    ("CREATE TABLE sst_evil_%TAG% ()", "relations"),
    ("CREATE FUNCTION sst_evil_%TAG%() RETURNS int LANGUAGE sql AS 'SELECT 1'", "functions"),
    ("CREATE SCHEMA sst_evil_%TAG%", "schemas"),
    ("CREATE EXTENSION pgrowlocks", "extensions"),
    ("CREATE DATABASE sst_evil_%TAG%", "databases"),
    ("VACUUM FULL victim_log", "storage"),
    ("ALTER SYSTEM SET log_min_duration_statement = 123456", "file_settings"),
    ("SELECT pg_advisory_lock(4242)", "advisory_locks"),
    (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '%APP%'",
        "victim_session",
    ),
]


def test_facts_show_every_kind_of_side_effect(sandbox: Sandbox) -> None:
    """A judge that cannot see a change proves nothing: each side effect, done directly by a
    superuser, must show in the facts (the advisory lock's session is still open)."""
    before = sandbox.facts()
    with _admin_connect(sandbox.db, f"sst_hostile_attacker_{sandbox.tag}") as attacker:
        for sql, _ in SIDE_EFFECTS:
            attacker.execute(sandbox.render(sql))
        time.sleep(0.2)  # the victim backend exits after its SIGTERM
        after = sandbox.facts(quiet_s=0)
    changed = sandbox.differences(before, after)
    sandbox.repair()
    seen = {line.split(":", 1)[0].split(".", 1)[0].split(" ", 1)[0] for line in changed}
    missing = [key for _, key in SIDE_EFFECTS if key not in seen]
    assert not missing, f"facts missed {missing}; saw:\n  " + "\n  ".join(changed)
    assert "other_backends" in seen and "victim_session_answers" in seen


def test_corpus_is_large_and_named_uniquely() -> None:
    assert len(HOSTILE) >= 150 and len(READS) >= 60
    assert len({case.name for case in HOSTILE}) == len(HOSTILE)
    assert all(re.fullmatch(r"[a-z]+-\d\d", case.name) for case in HOSTILE)
