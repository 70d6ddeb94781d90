"""The read-only promise on SQLite, judged by facts on disk, not by exit codes.

Every hostile case of ``corpus_sqlite`` runs against a victim database file in its own
folder (the working directory during the module, so relative file names land there too).
Before and after each case :func:`facts` records the sha256 of the database file and of its
-journal/-wal/-shm, every file in the victim's folder and in a watched folder, and, through a
separate read-only connection, the row counts, the schema, the header fields and whether a
writer can still take the write lock. A case passes when the snapshots are equal.

Modes: A the product path (``check_query`` then ``QueryRunner``); B the execution layer
alone (``check_sql=False``); D the checker alone. SQLite has no logins, so there is no mode C.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.core.config import UnsafeQuery, check_query
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

sys.path.insert(0, str(Path(__file__).parent))
from corpus_sqlite import HOSTILE, READS
from readonly_corpus import HostileCase

TIMEOUT = timedelta(seconds=2)
RUN_BOUND_S = TIMEOUT.total_seconds() + 2.0 + 3.0
#: Read-corpus queries the product refuses today (the measured number; see the report).
MAX_FALSE_REFUSALS = 1

SETUP = """
CREATE TABLE victim (id INTEGER PRIMARY KEY, v TEXT, amount REAL, created_at TEXT, tags TEXT);
INSERT INTO victim VALUES
  (1, 'a', 10.5, '2026-03-30 08:00:00', '{"team": "ops"}'),
  (2, 'b', 99.0, '2026-03-28 12:30:00', '{"team": "data"}'),
  (3, 'a', 1.25, '2026-03-21 00:00:00', '{"team": "ops", "sev": 2}'),
  (4, 'c', 250.0, '2026-03-31 09:15:00', '{}'),
  (5, 'b', 0.0, '2026-02-19 23:59:59', '[]');
CREATE TABLE victim_log (id INTEGER PRIMARY KEY, note TEXT);
INSERT INTO victim_log VALUES (1, 'first'), (3, 'third'), (9, 'ninth');
CREATE INDEX victim_idx ON victim (v);
CREATE VIEW victim_view AS SELECT id, v FROM victim;
"""


@dataclass
class World:
    root: Path
    folder: Path
    watched: Path
    db: Path
    conn_id: str
    baseline: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, str]] = field(default_factory=dict)

    def fill(self, sql: str) -> str:
        return sql.replace("%DIR%", str(self.watched))

    def record(self, mode: str, case: str, outcome: str) -> None:
        self.results.setdefault(mode, {})[case] = outcome


def _build(world: World) -> None:
    for folder in (world.folder, world.watched):  # emptied, not removed: one is the cwd
        folder.mkdir(exist_ok=True)
        for entry in folder.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    conn = sqlite3.connect(world.db)
    try:
        conn.executescript(SETUP)
        conn.commit()
    finally:
        conn.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "absent"


def _listing(folder: Path) -> list[tuple[str, str]]:
    return sorted((p.name, _sha(p) if p.is_file() else "dir") for p in folder.iterdir())


def facts(world: World) -> dict[str, Any]:
    f: dict[str, Any] = {}
    for suffix in ("", "-journal", "-wal", "-shm"):
        f[f"file{suffix}"] = _sha(Path(str(world.db) + suffix))
    f["victim_folder"] = _listing(world.folder)
    f["watched_folder"] = _listing(world.watched)
    conn = sqlite3.connect(f"file:{world.db}?mode=ro", uri=True, timeout=0)
    try:
        for table in ("victim", "victim_log"):
            try:
                f[f"{table}.rows"] = conn.execute(f"SELECT count(*) FROM {table}").fetchall()
                f[f"{table}.content"] = conn.execute(f"SELECT * FROM {table}").fetchall()
            except sqlite3.Error as exc:
                f[f"{table}.rows"] = f"error: {exc}"
        f["schema"] = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        for pragma in ("user_version", "application_id", "journal_mode", "page_size"):
            f[pragma] = conn.execute(f"PRAGMA {pragma}").fetchall()
    except sqlite3.Error as exc:
        f["readable"] = f"error: {exc}"
    finally:
        conn.close()
    f["write_lock_free"] = _write_lock_free(world)
    return f


def _write_lock_free(world: World) -> bool:
    conn = sqlite3.connect(world.db, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [
        f"  {key}: {before.get(key)!r} -> {after.get(key)!r}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


@dataclass
class Outcome:
    text: str
    elapsed_s: float


def run(runner: QueryRunner, sql: str) -> Outcome:
    started = time.monotonic()
    try:
        result = runner.run(sql)
    except QueryError as exc:
        return Outcome(f"failed in DB: {exc}", time.monotonic() - started)
    return Outcome(f"ran OK ({len(result.rows)} rows)", time.monotonic() - started)


def judge(world: World, mode: str, case: HostileCase, outcome: Outcome) -> None:
    after = facts(world)
    changes = diff(world.baseline, after)
    problems = []
    if changes:
        problems.append("facts changed:\n" + "\n".join(c[:300] for c in changes))
    if outcome.elapsed_s > RUN_BOUND_S:
        problems.append(f"the run took {outcome.elapsed_s:.1f} s (timeout {TIMEOUT})")
    world.record(mode, case.name, outcome.text + (" [SIDE EFFECT]" if problems else ""))
    if changes:
        _build(world)
        world.baseline = facts(world)
    if problems:
        pytest.fail(
            f"mode {mode}, case {case.name} ({case.klass}: {case.note})\n"
            f"SQL: {world.fill(case.sql)[:400]!r}\noutcome: {outcome.text}\n" + "\n".join(problems)
        )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    root = Path(f"/tmp/sst_hostile_sqlite_{uuid.uuid4().hex[:10]}")
    root.mkdir()
    w = World(
        root=root,
        folder=root / "victim",
        watched=root / "watched",
        db=root / "victim" / "warehouse.db",
        conn_id="sst_hostile_sqlite",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(
            "AIRFLOW_CONN_SST_HOSTILE_SQLITE",
            f'{{"conn_type": "sqlite", "host": "{w.db}"}}',
        )
        try:
            _build(w)
            mp.chdir(w.folder)  # relative ATTACH / VACUUM INTO / writefile land here
            w.baseline = facts(w)
            yield w
        finally:
            _print_summary(w)
    shutil.rmtree(root, ignore_errors=True)


def _print_summary(world: World) -> None:
    lines = ["", "=== read-only corpus, SQLite ==="]
    for mode in sorted(world.results):
        outcomes = world.results[mode]
        counts: dict[str, int] = {}
        for text in outcomes.values():
            key = text.split(":")[0].split(" (")[0]
            counts[key] = counts.get(key, 0) + 1
        side = [name for name, text in outcomes.items() if "SIDE EFFECT" in text]
        lines.append(f"mode {mode}: {len(outcomes)} cases {counts}; side effects: {side}")
    print("\n".join(lines))


def runner(world: World, **guards: Any) -> QueryRunner:
    return QueryRunner(resolve_db_hook(world.conn_id), timeout=TIMEOUT, max_rows=100, **guards)


def test_the_corpus_is_large_and_named_uniquely() -> None:
    assert len(HOSTILE) >= 150 and len(READS) >= 60
    assert len({case.name for case in HOSTILE}) == len(HOSTILE)
    assert len({case.sql for case in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_mode_a_product_path(world: World, case: HostileCase) -> None:
    sql = world.fill(case.sql)
    try:
        check_query(sql, "sqlite")
    except UnsafeQuery:
        world.record("A", case.name, "refused by checker")
        return
    judge(world, "A", case, run(runner(world), sql))


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_mode_b_database_guards_alone(world: World, case: HostileCase) -> None:
    judge(world, "B", case, run(runner(world, check_sql=False), world.fill(case.sql)))


@pytest.mark.parametrize("case", HOSTILE, ids=lambda case: case.name)
def test_mode_d_checker_refuses(world: World, case: HostileCase) -> None:
    sql = world.fill(case.sql)
    try:
        check_query(sql, "sqlite")
    except UnsafeQuery as exc:
        world.record("D", case.name, f"refused by checker: {exc.message[:80]}")
        return
    world.record("D", case.name, "accepted" + (" (db_layer_only)" if case.db_layer_only else ""))
    if case.db_layer_only is None:
        pytest.fail(f"check_query accepted {case.name} ({case.note}): {sql[:300]!r}")


def test_read_corpus_runs(world: World) -> None:
    refused: list[str] = []
    for read in READS:
        try:
            check_query(read.sql, "sqlite")
        except UnsafeQuery as exc:
            refused.append(f"checker: {read.sql!r}: {exc.message}")
            continue
        try:
            runner(world).run(read.sql)
        except QueryError as exc:
            refused.append(f"database: {read.sql!r}: {exc}")
    world.record("reads", "false refusals", str(len(refused)))
    print(f"\n{len(refused)} of {len(READS)} reads refused:\n" + "\n".join(refused))
    assert len(refused) <= MAX_FALSE_REFUSALS, "\n".join(refused)
    assert diff(world.baseline, facts(world)) == []


CALIBRATION = [
    ("victim.rows", "DELETE FROM victim WHERE id = 5"),
    ("file", "UPDATE victim SET v = 'z' WHERE id = 5"),
    ("user_version", "PRAGMA user_version = 3"),
    ("schema", "CREATE TABLE evil (a)"),
    ("watched_folder", "ATTACH '%DIR%/cal.db' AS cal"),
    ("victim_folder", "VACUUM INTO 'cal.db'"),
    ("journal_mode", "PRAGMA journal_mode = WAL"),
]


@pytest.mark.parametrize(("key", "statement"), CALIBRATION, ids=[c[0] for c in CALIBRATION])
def test_the_judge_sees_each_kind_of_side_effect(world: World, key: str, statement: str) -> None:
    """A test that cannot fail is a defect: each fact must notice its own side effect."""
    conn = sqlite3.connect(world.db, isolation_level=None)
    try:
        conn.execute(world.fill(statement))
    finally:
        conn.close()
    after = facts(world)
    _build(world)
    world.baseline = facts(world)
    assert key in {k for k in after if after.get(k) != world.baseline.get(k)}


def test_the_judge_sees_a_held_write_lock(world: World) -> None:
    holder = sqlite3.connect(world.db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert facts(world)["write_lock_free"] is False
    finally:
        holder.close()
    assert diff(world.baseline, facts(world)) == []
