"""The read-only promise on MariaDB, judged by facts in the database, not by exit codes.

Every hostile case of ``corpus_mysql`` runs against a dedicated database holding victim
objects (tables with rows, a NOCACHE sequence, writing stored programs, an event) and a
victim connection that holds a user-level lock. Before and after each case, a separate root
connection snapshots everything an attack could change (:func:`facts`): rows and checksums,
schemas, tables, routines, events, triggers, users and grants, global variables, plugins,
UDFs, servers, the sequence, the victim connection, user-level locks, prepared XA
transactions, whether the victim rows can still be locked, the files in a watched directory
and in the database's data directory, and whether status counters were flushed. A case
passes when the snapshots are equal and no returned row carries the canary file's secret.

Modes: A the product path (``check_query`` then ``QueryRunner`` as root with
``allow_privileged=True``); B the execution layer alone (``check_sql=False``) with a
SELECT-only login; C a privileged login without the opt-in is refused before anything runs;
D the checker alone refuses every case not marked ``db_layer_only``. A read corpus runs
through the product path with the read-only login and counts false refusals.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import MySQLdb
import pytest

from sqlsentinel_airflow.core.config import UnsafeQuery, check_query
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook
from sqlsentinel_airflow.execution.privileges import forget_checked_logins

sys.path.insert(0, str(Path(__file__).parent))
from corpus_mysql import HOSTILE, READS
from readonly_corpus import HostileCase, fact_changes

pytestmark = pytest.mark.mysql

TIMEOUT = timedelta(seconds=2)
#: A run returns within the timeout, the watchdog's grace and a margin, or it hangs.
RUN_BOUND_S = TIMEOUT.total_seconds() + 2.0 + 3.0
DATADIR = Path("/var/lib/mysql")
ROOT = {"host": "127.0.0.1", "port": 3306, "user": "root", "passwd": ""}
#: Databases other tests create on the shared server (tests/conftest.py), left out of facts.
OTHER_TESTS_DB = re.compile(r"^sst_[0-9a-f]{12}$")
LOCK_NAMES = ("sst_evil_lock", "sst_victim_lock")
#: Read-corpus queries the product refuses today (the measured number; see the report).
MAX_FALSE_REFUSALS = 1
#: Mode C: representative cases a privileged login must not get to run (the SQL check is
#: off, so the refusal seen is the privilege check's), and a plain read.
MODE_C_CASES = ("dml-01", "file-write-01", "routine-01", "multi-03", "kill-01", "routine-06")

SETUP = [
    "CREATE TABLE victim (id INT PRIMARY KEY, v VARCHAR(40), amount DECIMAL(10, 2), "
    "created_at DATETIME, tags JSON) ENGINE=InnoDB",
    "INSERT INTO victim VALUES "
    "(1, 'a', 10.50, '2026-03-30 08:00:00', '{\"team\": \"ops\"}'), "
    "(2, 'b', 99.00, '2026-03-28 12:30:00', '{\"team\": \"data\"}'), "
    "(3, 'a', 1.25, '2026-03-21 00:00:00', '{\"team\": \"ops\", \"sev\": 2}'), "
    "(4, 'c', 250.00, '2026-03-31 09:15:00', '{}'), (5, 'b', 0.00, '2026-02-19 23:59:59', '[]')",
    "CREATE TABLE victim_log (id INT PRIMARY KEY, note VARCHAR(40)) ENGINE=InnoDB",
    "INSERT INTO victim_log VALUES (1, 'first'), (3, 'third'), (9, 'ninth')",
    "CREATE SEQUENCE victim_seq NOCACHE",
    "CREATE FUNCTION evil_fn() RETURNS VARCHAR(2) MODIFIES SQL DATA "
    "BEGIN DELETE FROM victim; RETURN 'OK'; END",
    "CREATE FUNCTION evil_global_fn() RETURNS VARCHAR(2) "
    "BEGIN SET GLOBAL net_read_timeout = 33; RETURN 'OK'; END",
    "CREATE PROCEDURE evil_proc() MODIFIES SQL DATA BEGIN DELETE FROM victim; END",
    "CREATE EVENT victim_ev ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM victim_log",
    "CREATE FUNCTION evil_read_fn() RETURNS TEXT READS SQL DATA RETURN LOAD_FILE('%CANARY%')",
    "CREATE SQL SECURITY DEFINER VIEW canary_view AS SELECT LOAD_FILE('%CANARY%') AS s",
    "CREATE SQL SECURITY DEFINER VIEW victim_wview AS SELECT evil_fn() AS s",
]
VICTIM_TABLES = ("victim", "victim_log")


# --- the victim world ------------------------------------------------------------------------


@dataclass
class World:
    db: str
    watched: Path
    canary: Path
    secret: str
    ro_user: str
    ro_password: str
    root_conn_id: str
    ro_conn_id: str
    admin: Any = None
    victim: Any = None
    victim_id: int = 0
    volatile: frozenset[str] = frozenset()
    flush_base: tuple[float, float] = (0.0, 0.0)  # (Uptime_since_flush_status, monotonic)
    baseline: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, str]] = field(default_factory=dict)

    def fill(self, sql: str) -> str:
        return (
            sql.replace("%DB%", self.db)
            .replace("%DIR%", str(self.watched))
            .replace("%CANARYHEX%", "0x" + str(self.canary).encode().hex())
            .replace("%CANARY%", str(self.canary))
            .replace("%VICTIM%", str(self.victim_id))
            .replace("%RO%", self.ro_user)
        )

    def record(self, mode: str, case: str, outcome: str) -> None:
        self.results.setdefault(mode, {})[case] = outcome


def _root(db: str | None = None) -> Any:
    try:
        conn = MySQLdb.connect(**ROOT, **({"db": db} if db else {}), autocommit=True)
    except MySQLdb.OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(f"MariaDB on 127.0.0.1:3306 is required and unreachable: {exc}")
    return conn


def _exec(conn: Any, *statements: str) -> None:
    cur = conn.cursor()
    try:
        for statement in statements:
            cur.execute(statement)
    finally:
        cur.close()


def _rows(conn: Any, sql: str, args: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    try:
        cur.execute(sql, args)
        return [tuple(row) for row in cur.fetchall()]
    finally:
        cur.close()


#: Files the server keeps in a database's directory; anything else was left by an OUTFILE.
SERVER_FILES = re.compile(r".*\.(frm|ibd|opt|MYD|MYI|MAD|MAI|CSV|CSM|TRG|TRN|par)$")


def _build_database(world: World) -> None:
    admin = world.admin
    folder = DATADIR / world.db
    if folder.is_dir():  # DROP DATABASE refuses to remove a directory with foreign files
        for entry in folder.iterdir():
            if not SERVER_FILES.match(entry.name):
                entry.unlink()
    _exec(admin, "USE mysql", f"DROP DATABASE IF EXISTS `{world.db}`")
    setup = [world.fill(statement) for statement in SETUP]
    _exec(admin, f"CREATE DATABASE `{world.db}`", f"USE `{world.db}`", *setup)


def _create_ro_user(world: World) -> None:
    user = f"'{world.ro_user}'@'%'"
    _exec(
        world.admin,
        f"DROP USER IF EXISTS {user}",
        f"CREATE USER {user} IDENTIFIED BY '{world.ro_password}'",
        f"GRANT SELECT ON `{world.db}`.* TO {user}",
    )


def _open_victim(world: World) -> None:
    if world.victim is not None:
        with contextlib.suppress(MySQLdb.Error):
            world.victim.close()
    world.victim = _root()
    world.victim_id = int(world.victim.thread_id())
    assert _rows(world.victim, "SELECT GET_LOCK('sst_victim_lock', 0)") == [(1,)]


def _reset_files(world: World) -> None:
    for entry in world.watched.iterdir():
        if entry != world.canary:
            entry.unlink()


# --- facts ----------------------------------------------------------------------------------


def _global_variables(admin: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in _rows(admin, "SHOW GLOBAL VARIABLES")}


def _files(folder: Path, *, content: bool) -> list[tuple[str, int, str]]:
    if not folder.is_dir():
        return [("<missing>", 0, "")]
    listed = []
    for entry in sorted(folder.iterdir()):
        digest = ""
        if content and entry.is_file():
            digest = hashlib.sha256(entry.read_bytes()).hexdigest()[:16]
        listed.append((entry.name, entry.stat().st_size if content else 0, digest))
    return listed


def _visible_schema(name: Any) -> bool:
    return not OTHER_TESTS_DB.match(str(name))


def _visible_user(world: World, user: Any) -> bool:
    name = str(user)
    return not name.startswith("sst_") or name.startswith("sst_evil") or name == world.ro_user


def facts(world: World) -> dict[str, Any]:
    """Everything a hostile case could change, read through the admin connection."""
    admin = world.admin
    f: dict[str, Any] = {}
    db = world.db
    for table in VICTIM_TABLES:
        try:
            f[f"{table}.rows"] = _rows(admin, f"SELECT COUNT(*) FROM `{db}`.`{table}`")
            f[f"{table}.checksum"] = _rows(admin, f"CHECKSUM TABLE `{db}`.`{table}`")[0][1]
        except MySQLdb.Error as exc:
            f[f"{table}.rows"] = f"error {exc.args[0]}"
    try:
        f["sequence"] = _rows(admin, f"SELECT next_not_cached_value FROM `{db}`.victim_seq")
    except MySQLdb.Error as exc:
        f["sequence"] = f"error {exc.args[0]}"
    f["schemas"] = [
        s
        for (s,) in _rows(admin, "SELECT schema_name FROM information_schema.schemata")
        if _visible_schema(s)
    ]
    f["schemas"].sort()
    f["tables"] = sorted(
        r
        for r in _rows(
            admin,
            "SELECT table_schema, table_name, table_type, engine FROM information_schema.tables",
        )
        if _visible_schema(r[0])
    )
    f["columns"] = _rows(
        admin,
        "SELECT table_name, column_name, column_type FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (db,),
    )
    f["indexes"] = _rows(
        admin,
        "SELECT table_name, index_name, column_name FROM information_schema.statistics "
        "WHERE table_schema = %s ORDER BY 1, 2, 3",
        (db,),
    )
    f["routines"] = sorted(
        r
        for r in _rows(
            admin,
            "SELECT routine_schema, routine_name, routine_type, MD5(routine_definition) "
            "FROM information_schema.routines",
        )
        if _visible_schema(r[0])
    )
    f["events"] = sorted(
        r
        for r in _rows(
            admin, "SELECT event_schema, event_name, status FROM information_schema.events"
        )
        if _visible_schema(r[0])
    )
    f["triggers"] = sorted(
        r
        for r in _rows(
            admin, "SELECT trigger_schema, trigger_name FROM information_schema.triggers"
        )
        if _visible_schema(r[0])
    )
    f["schema_charset"] = _rows(
        admin,
        "SELECT default_character_set_name FROM information_schema.schemata WHERE schema_name = %s",
        (db,),
    )
    # password_last_changed moves when the read-only login is re-created by restore()
    f["users"] = sorted(
        (r[0], r[1], re.sub(r'"password_last_changed":\d+', "", str(r[2])))
        for r in _rows(admin, "SELECT user, host, priv FROM mysql.global_priv")
        if _visible_user(world, r[0])
    )
    for grant_table in ("db", "tables_priv", "columns_priv", "procs_priv", "proxies_priv"):
        f[f"mysql.{grant_table}"] = sorted(
            tuple(str(c) for c in r)
            for r in _rows(admin, f"SELECT * FROM mysql.{grant_table}")
            if _visible_user(world, r[2] if grant_table != "proxies_priv" else r[1])
        )
    f["roles_mapping"] = sorted(_rows(admin, "SELECT * FROM mysql.roles_mapping"))
    f["udfs"] = sorted(_rows(admin, "SELECT name, dl FROM mysql.func"))
    f["servers"] = sorted(_rows(admin, "SELECT server_name, host FROM mysql.servers"))
    f["plugins"] = sorted(
        _rows(admin, "SELECT plugin_name, plugin_status FROM information_schema.plugins")
    )
    variables = _global_variables(admin)
    f["globals"] = {k: v for k, v in variables.items() if k not in world.volatile}
    status = dict(_rows(admin, "SHOW GLOBAL STATUS LIKE 'Uptime_since_flush_status'"))
    since_flush = float(status.get("Uptime_since_flush_status", 0))
    base_since, base_clock = world.flush_base
    f["status_flushed"] = since_flush + 3 < base_since + (time.monotonic() - base_clock)
    f["xa_prepared"] = _rows(admin, "XA RECOVER")
    f["locks"] = {
        name: _lock_holder(world, _rows(admin, "SELECT IS_USED_LOCK(%s)", (name,))[0][0])
        for name in LOCK_NAMES
    }
    f["victim_alive"] = _victim_alive(world)
    f["rows_lockable"] = _rows_lockable(world)
    f["watched_dir"] = _files(world.watched, content=True)
    f["datadir_files"] = _files(DATADIR / db, content=False)
    return f


def _lock_holder(world: World, holder: Any) -> str:
    if holder is None:
        return "free"
    return "victim" if int(holder) == world.victim_id else f"connection {holder}"


def _victim_alive(world: World) -> bool:
    try:
        ok = _rows(world.victim, "SELECT 1") == [(1,)]
    except MySQLdb.Error:
        return False
    ids = {int(i) for (i,) in _rows(world.admin, "SELECT id FROM information_schema.processlist")}
    return ok and world.victim_id in ids


def _rows_lockable(world: World) -> bool:
    """Can a writer still lock every victim row right now (no lock left behind)?"""
    try:
        _exec(world.admin, "START TRANSACTION")
        _rows(world.admin, f"SELECT id FROM `{world.db}`.victim FOR UPDATE NOWAIT")
        return True
    except MySQLdb.Error:
        return False
    finally:
        _exec(world.admin, "ROLLBACK")


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return fact_changes(before, after)


def restore(world: World, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Put the shared server and the victim world back after a case that changed them."""
    admin = world.admin
    for row in _rows(admin, "XA RECOVER"):
        xid = row[3] if isinstance(row[3], str) else row[3].decode()
        if xid.startswith("sst_evil"):
            with contextlib.suppress(MySQLdb.Error):  # XA_RBROLLBACK: already rolled back
                _exec(admin, f"XA ROLLBACK '{xid}'")
    old_globals, new_globals = before["globals"], after["globals"]
    for name in sorted(old_globals):
        if new_globals.get(name) != old_globals[name]:
            value = old_globals[name]
            literal = value if re.fullmatch(r"-?\d+(\.\d+)?", value) else f"'{value}'"
            try:
                _exec(admin, f"SET GLOBAL {name} = {literal}")
            except MySQLdb.Error as exc:
                print(f"could not restore global {name}={value!r}: {exc}")
    for name, _status in set(after["plugins"]) - set(before["plugins"]):
        try:
            _exec(admin, f"UNINSTALL PLUGIN `{name}`")
        except MySQLdb.Error as exc:
            print(f"could not uninstall plugin {name}: {exc}")
    for name, _dl in set(after["udfs"]) - set(before["udfs"]):
        _exec(admin, f"DROP FUNCTION IF EXISTS `{name}`")
    for schema in set(after["schemas"]) - set(before["schemas"]):
        if str(schema).startswith("sst_evil"):
            _exec(admin, f"DROP DATABASE IF EXISTS `{schema}`")
    for user, host, _priv in set(after["users"]) - set(before["users"]):
        if str(user).startswith("sst_evil"):
            _exec(admin, f"DROP USER IF EXISTS '{user}'@'{host}'")
    if _ro_grants(world, before) != _ro_grants(world, after):
        _exec(admin, "DROP ROLE IF EXISTS sst_evil_role")
        _create_ro_user(world)
    if "roles_mapping" in diff_keys(before, after):
        _exec(admin, "DROP ROLE IF EXISTS sst_evil_role")
    _build_database(world)
    _reset_files(world)
    if not after["victim_alive"] or after["locks"] != before["locks"]:
        _open_victim(world)
    relative = DATADIR / "sst_evil_relative.txt"
    if relative.exists():
        relative.unlink()


def _ro_grants(world: World, f: dict[str, Any]) -> list[Any]:
    """The read-only login's rows in the user and grant tables."""
    rows: list[Any] = [r for r in f["users"] if r[0] == world.ro_user]
    for key in sorted(k for k in f if k.startswith("mysql.")):
        rows.extend(r for r in f[key] if world.ro_user in r)
    return rows


def diff_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in set(before) | set(after) if before.get(k) != after.get(k)]


# --- running a case ---------------------------------------------------------------------------


def make_runner(hook: Any, **guards: Any) -> QueryRunner:
    return QueryRunner(hook, timeout=TIMEOUT, max_rows=100, **guards)


def forget_logins() -> None:
    forget_checked_logins()


@dataclass
class Outcome:
    text: str
    rows: list[tuple[Any, ...]] | None
    elapsed_s: float


def run(runner: QueryRunner, sql: str) -> Outcome:
    started = time.monotonic()
    try:
        result = runner.run(sql)
    except QueryError as exc:
        return Outcome(f"failed in DB: {exc}", None, time.monotonic() - started)
    return Outcome(f"ran OK ({len(result.rows)} rows)", result.rows, time.monotonic() - started)


def leaked_secret(world: World, rows: list[tuple[Any, ...]] | None) -> bool:
    if not rows:
        return False
    text = repr(rows)
    marks = (world.secret, world.secret.encode().hex(), world.secret.encode().hex().upper())
    return any(mark in text for mark in marks)


def judge(world: World, mode: str, case: HostileCase, outcome: Outcome) -> None:
    """Facts unchanged, no secret returned, no hang; restores the world and fails if not."""
    after = facts(world)
    before = world.baseline
    changes = diff(before, after)
    problems = []
    if changes:
        problems.append("facts changed:\n  " + "\n  ".join(changes))
    if leaked_secret(world, outcome.rows):
        problems.append("the canary file's secret came back in the rows (a server file read)")
    if outcome.elapsed_s > RUN_BOUND_S:
        problems.append(f"the run took {outcome.elapsed_s:.1f} s (timeout {TIMEOUT})")
    world.record(mode, case.name, outcome.text + (" [SIDE EFFECT]" if problems else ""))
    if changes:
        restore(world, before, after)
        world.baseline = facts(world)
    if problems:
        pytest.fail(
            f"mode {mode}, case {case.name} ({case.klass}: {case.note})\n"
            f"SQL: {world.fill(case.sql)[:400]!r}\noutcome: {outcome.text}\n" + "\n".join(problems)
        )


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    tag = uuid.uuid4().hex[:10]
    watched = Path(f"/tmp/sst_hostile_my_{tag}")
    watched.mkdir(mode=0o777)
    watched.chmod(0o777)
    secret = f"sst-canary-{uuid.uuid4().hex}"
    canary = watched / "canary.txt"
    canary.write_text(secret + "\n")
    canary.chmod(0o644)
    w = World(
        db=f"sst_hostile_{tag}",
        watched=watched,
        canary=canary,
        secret=secret,
        ro_user=f"sst_ro_{tag}",
        ro_password=uuid.uuid4().hex,
        root_conn_id="sst_hostile_root",
        ro_conn_id="sst_hostile_ro",
    )
    env = {
        "AIRFLOW_CONN_SST_HOSTILE_ROOT": {"login": "root", "password": ""},
        "AIRFLOW_CONN_SST_HOSTILE_RO": {"login": w.ro_user, "password": w.ro_password},
    }
    with pytest.MonkeyPatch.context() as mp:
        for name, login in env.items():
            fields = {"conn_type": "mysql", "host": "127.0.0.1", "port": 3306, "schema": w.db}
            mp.setenv(name, json.dumps({**fields, **login}))
        w.admin = _root()
        try:
            _build_database(w)
            _create_ro_user(w)
            _open_victim(w)
            first = _global_variables(w.admin)
            time.sleep(1.1)
            second = _global_variables(w.admin)
            w.volatile = frozenset(
                k for k in first if first[k] != second.get(k) or k.startswith("gtid_")
            )
            status = dict(_rows(w.admin, "SHOW GLOBAL STATUS LIKE 'Uptime_since_flush_status'"))
            w.flush_base = (float(status["Uptime_since_flush_status"]), time.monotonic())
            forget_logins()
            w.baseline = facts(w)
            yield w
        finally:
            _print_summary(w)
            _exec(w.admin, "USE mysql", f"DROP DATABASE IF EXISTS `{w.db}`")
            shutil.rmtree(DATADIR / w.db, ignore_errors=True)
            _exec(w.admin, f"DROP USER IF EXISTS '{w.ro_user}'@'%'")
            for row in _rows(w.admin, "XA RECOVER"):
                xid = row[3] if isinstance(row[3], str) else row[3].decode()
                if xid.startswith("sst_evil"):
                    with contextlib.suppress(MySQLdb.Error):
                        _exec(w.admin, f"XA ROLLBACK '{xid}'")
            if w.victim is not None:
                w.victim.close()
            w.admin.close()
            shutil.rmtree(watched, ignore_errors=True)
            forget_logins()


def _print_summary(world: World) -> None:
    lines = ["", "=== read-only corpus, MariaDB ==="]
    for mode in sorted(world.results):
        outcomes = world.results[mode]
        counts: dict[str, int] = {}
        for text in outcomes.values():
            key = text.split(":")[0].split(" (")[0]
            counts[key] = counts.get(key, 0) + 1
        side = [name for name, text in outcomes.items() if "SIDE EFFECT" in text]
        lines.append(f"mode {mode}: {len(outcomes)} cases {counts}; side effects: {side}")
    report = os.environ.get("SST_READONLY_REPORT")
    if report:
        Path(report).write_text(json.dumps(world.results, indent=1, sort_keys=True))
    print("\n".join(lines))


def _by_name(name: str) -> HostileCase:
    return next(case for case in HOSTILE if case.name == name)


# --- the tests --------------------------------------------------------------------------------


def test_the_corpus_is_large_and_named_uniquely() -> None:
    assert len(HOSTILE) >= 150 and len(READS) >= 60
    assert len({case.name for case in HOSTILE}) == len(HOSTILE)
    assert len({case.sql for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_mode_a_product_path_as_root(world: World, case: HostileCase) -> None:
    sql = world.fill(case.sql)
    try:
        check_query(sql, "mysql")
    except UnsafeQuery:
        world.record("A", case.name, "refused by checker")
        return
    if case.opt_in_risk:
        world.record("A", case.name, f"accepted by checker, not run as root: {case.opt_in_risk}")
        return
    if case.server_wide:
        world.record("A", case.name, "accepted by checker, not run [SIDE EFFECT]")
        pytest.fail(
            f"the checker accepted {case.name}, which would act on the whole server as root"
        )
    runner = make_runner(resolve_db_hook(world.root_conn_id), allow_privileged=True)
    judge(world, "A", case, run(runner, sql))


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_mode_b_database_guards_alone_read_only_login(world: World, case: HostileCase) -> None:
    runner = make_runner(resolve_db_hook(world.ro_conn_id), check_sql=False)
    judge(world, "B", case, run(runner, world.fill(case.sql)))


@pytest.mark.parametrize("name", MODE_C_CASES)
def test_mode_c_privileged_login_is_refused_before_running(
    world: World, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS", raising=False)
    forget_logins()
    case = _by_name(name)
    hook = resolve_db_hook(world.root_conn_id)
    outcome = run(make_runner(hook, check_sql=False, allow_privileged=None), world.fill(case.sql))
    judge(world, "C", case, outcome)
    assert outcome.text.startswith("failed in DB") and "privileged" in outcome.text, outcome.text


def test_mode_c_privileged_login_is_refused_even_for_a_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS", raising=False)
    forget_logins()
    runner = make_runner(resolve_db_hook(world.root_conn_id))
    with pytest.raises(QueryError, match="privileged"):
        runner.run("SELECT COUNT(*) AS n FROM victim")


def test_mode_c_read_only_login_is_not_refused(world: World) -> None:
    forget_logins()
    runner = make_runner(resolve_db_hook(world.ro_conn_id), allow_privileged=None)
    assert runner.run("SELECT COUNT(*) AS n FROM victim").rows == [(5,)]


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_mode_d_checker_refuses(world: World, case: HostileCase) -> None:
    sql = world.fill(case.sql)
    try:
        check_query(sql, "mysql")
    except UnsafeQuery as exc:
        world.record("D", case.name, f"refused by checker: {exc.message[:80]}")
        return
    world.record("D", case.name, "accepted" + (" (db_layer_only)" if case.db_layer_only else ""))
    if case.db_layer_only is None:
        pytest.fail(f"check_query accepted {case.name} ({case.note}): {sql[:300]!r}")


def test_lexical_modes_of_the_login_do_not_change_the_verdict(world: World) -> None:
    """A login whose session starts with ANSI_QUOTES and NO_BACKSLASH_ESCAPES (a server with
    that global sql_mode): the product must pin the lexical flags its checker assumes."""
    from airflow.providers.mysql.hooks.mysql import MySqlHook

    hook = MySqlHook(
        mysql_conn_id=world.root_conn_id,
        init_command="SET SESSION sql_mode = 'ANSI_QUOTES,NO_BACKSLASH_ESCAPES'",
    )
    failures = []
    for case in HOSTILE:
        if case.klass not in ("string", "identifier", "comment", "control-char"):
            continue
        sql = world.fill(case.sql)
        try:
            check_query(sql, "mysql")
        except UnsafeQuery:
            continue
        outcome = run(make_runner(hook, allow_privileged=True), sql)
        try:
            judge(world, "A-lexical", case, outcome)
        except pytest.fail.Exception as exc:
            failures.append(str(exc))
    assert failures == []


def test_read_corpus_runs_on_the_read_only_login(world: World) -> None:
    forget_logins()
    refused: list[str] = []
    hook = resolve_db_hook(world.ro_conn_id)
    for read in READS:
        try:
            check_query(read.sql, "mysql")
        except UnsafeQuery as exc:
            refused.append(f"checker: {read.sql!r}: {exc.message}")
            continue
        try:
            make_runner(hook).run(read.sql)
        except QueryError as exc:
            refused.append(f"database: {read.sql!r}: {exc}")
    world.record("reads", "false refusals", str(len(refused)))
    print(f"\n{len(refused)} of {len(READS)} reads refused:\n" + "\n".join(refused))
    assert len(refused) <= MAX_FALSE_REFUSALS, "\n".join(refused)


#: Side effects made directly as root, each of which the judge must see (under the key).
CALIBRATION = [
    ("victim.rows", ["DELETE FROM victim WHERE id = 5"]),
    ("victim.checksum", ["UPDATE victim SET v = 'z' WHERE id = 5"]),
    ("sequence", ["DO NEXTVAL(victim_seq)"]),
    ("watched_dir", ["SELECT 1 INTO OUTFILE '%DIR%/calibration.txt'"]),
    ("datadir_files", ["SELECT 1 INTO OUTFILE 'sst_evil_calibration.txt'"]),
    ("tables", ["CREATE TABLE evil_calibration (a INT)"]),
    ("columns", ["ALTER TABLE victim_log ADD COLUMN evil INT"]),
    ("indexes", ["CREATE INDEX evil_idx ON victim_log (note)"]),
    ("routines", ["CREATE PROCEDURE evil_calibration() SELECT 1"]),
    ("events", ["ALTER EVENT victim_ev ENABLE"]),
    ("triggers", ["CREATE TRIGGER evil_tr BEFORE INSERT ON victim_log FOR EACH ROW SET @x = 1"]),
    ("schemas", ["CREATE DATABASE sst_evil_calibration"]),
    ("users", ["CREATE USER 'sst_evil_calibration'@'%'"]),
    ("mysql.db", ["GRANT INSERT ON `%DB%`.* TO '%RO%'@'%'"]),
    ("globals", ["SET GLOBAL net_read_timeout = 34"]),
    ("victim_alive", ["KILL %VICTIM%"]),
    ("locks", ["DO RELEASE_LOCK('sst_victim_lock')", "HOLD", "DO GET_LOCK('sst_evil_lock', 0)"]),
    (
        "xa_prepared",
        [
            "XA START 'sst_evil_calibration'",
            "SELECT * FROM victim FOR UPDATE",
            "XA END 'sst_evil_calibration'",
            "XA PREPARE 'sst_evil_calibration'",
        ],
    ),
]


@pytest.mark.parametrize(("key", "statements"), CALIBRATION, ids=[c[0] for c in CALIBRATION])
def test_the_judge_sees_each_kind_of_side_effect(
    world: World, key: str, statements: list[str]
) -> None:
    """A test that cannot fail is a defect: each fact must notice its own side effect."""
    actor = _root(world.db)
    held = None
    try:
        for statement in statements:
            if statement == "HOLD":  # the lock below is held by a connection left open
                held, actor = actor, _root(world.db)
                continue
            _exec(actor if "RELEASE_LOCK" not in statement else world.victim, world.fill(statement))
    finally:
        actor.close()
    try:
        before = world.baseline
        after = facts(world)
        changed = diff_keys(before, after)
        assert key in changed, f"the judge missed {statements}: changed {changed}"
    finally:
        if held is not None:
            held.close()
        restore(world, before, after)
        world.baseline = facts(world)
        assert diff(world.baseline, before) == [] or key in ("victim_alive", "locks")


def test_facts_are_stable_with_nothing_run(world: World) -> None:
    """The judge itself: two snapshots with no case between them are equal."""
    assert diff(world.baseline, facts(world)) == []
