"""A big state database, measured: the reads, one evaluation, purge, bytes.

Runs on a state database ``bench.bigstate --keep`` filled before (it never creates one: a
year of 1,000 alerts is ~80 GB); docs/benchmarks.md, "A big state database". Measured, each
call timed by wall clock and by this process's CPU time (the database server's CPU is not in
it), the first (cold) call apart from the median and maximum over ``--reps`` more:

1. the UI's reads, in-process: the functions the routes of ``ui/api.py`` call, below
   FastAPI and Airflow. The overview (``GET /alerts``) is ``api._summaries`` over every alert
   plus the response's encoding; an alert's tab is ``_summaries`` with its docs (states,
   silences, undelivered rows, recent values), ``store.history(limit=50)``,
   ``readmodel.incident_views(limit=5)`` and ``store.outbox(limit=50)``, each with its
   ``to_json``, for the busiest alert (every minute, keyed) and a quiet one (hourly). The
   catalog rows Airflow's metadata database would give are built from the same alerts
   (``bigstate.alerts_yaml``); that database's reads (catalog, auth, serialized docs) are
   not timed;
2. the CLI's reads, in-process through ``cli.main.main`` with ``--state-db URL`` (stdout
   discarded): ``status FILE``, ``history --alert <busiest>``, ``outbox --status pending``,
   ``report FILE`` (the monthly report, 90 days).
   ``status`` loads FILE (1,000 alerts) first: that load is also timed alone;
3. one evaluation of the busiest alert (20 instances, all OK: no state changes, no
   notifications) by ``evaluation.evaluate_alert`` as the operator calls it (scheduled run,
   ``confirm_commit``) with its query result precomputed, on the big database and on a fresh
   empty one created here, alternating, after a warm-up; its locked store transaction (plus
   the commit confirmation) is also timed alone. Each adds 20 history rows to the database;
4. with ``--purge`` (last: it deletes most of the data): ``store.purge`` of everything older
   than the newest generated evaluation minus ``--keep-days`` (30: 11 months of a year),
   while a child process evaluates the busiest alert every 0.2 s as in 3; the evaluations'
   latency before and during it, and (when ``purge`` takes ``on_batch``) each batch
   transaction's time;
5. bytes: each table's total size (heap, TOAST, indexes), its rows (``pg_class.reltuples``),
   bytes per history row, and the growth per no-change evaluation on the fresh database.

    .venv/bin/python -m bench.bigstate --alerts 1000 --days 2 --db ss_scale2 --keep
    .venv/bin/python -m bench.scale --reuse-db ss_scale2 --alerts 1000 --days 2 --purge \\
        --keep-days 1 --out bench/results/scale-2d.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import inspect
import io
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from bench import bigstate
from bench._stats import PYTHON, REPO, machine, markdown_table, median

T = TypeVar("T")

EVALUATION_INTERVAL_S = 0.2  # the purge's concurrent evaluator
GOAL_READ_MS = 300.0
GOAL_EVALUATION_RATIO = 1.2
GOAL_BATCH_S = 1.0


# --- timing ----------------------------------------------------------------------------------


def timed(work: Callable[[], object], reps: int) -> dict[str, Any]:
    """``work`` run ``reps + 1`` times: the first call apart, median and max of the rest, by
    wall clock and by this process's CPU time, in ms."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(reps + 1):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        work()
        wall.append((time.perf_counter() - wall0) * 1000)
        cpu.append((time.process_time() - cpu0) * 1000)
    return summary(wall, cpu)


def summary(wall_ms: Sequence[float], cpu_ms: Sequence[float]) -> dict[str, Any]:
    rest, rest_cpu = list(wall_ms[1:] or wall_ms), list(cpu_ms[1:] or cpu_ms)
    return {
        "first_ms": round(wall_ms[0], 1),
        "first_cpu_ms": round(cpu_ms[0], 1),
        "median_ms": round(median(rest), 1),
        "max_ms": round(max(rest), 1),
        "cpu_median_ms": round(median(rest_cpu), 1),
        "cpu_max_ms": round(max(rest_cpu), 1),
        "runs_ms": [round(t, 1) for t in wall_ms],
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; nan when empty."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1])


# --- 1. the UI's reads -------------------------------------------------------------------


@dataclasses.dataclass
class Ui:
    """What the routes of ``ui/api.py`` read through, over one state database."""

    ctx: Any  # ui.api.UiContext
    entries: dict[str, Any]  # name -> catalog.AlertEntry
    docs: dict[str, Any]  # name -> readmodel.DocsView

    @classmethod
    def over(cls, url: str, alerts: Sequence[bigstate.BigAlert], airflow_home: Path) -> Ui:
        from sqlsentinel_airflow.core.config import load_config_text
        from sqlsentinel_airflow.dags.factory import alert_doc_md
        from sqlsentinel_airflow.readmodel import AlertFacts
        from sqlsentinel_airflow.store.locator import STATE_DB_URL_ENV, StateDbLocator
        from sqlsentinel_airflow.ui.api import UiContext
        from sqlsentinel_airflow.ui.catalog import AlertEntry
        from sqlsentinel_airflow.ui.definitions import ManifestIndex, alert_docs
        from sqlsentinel_airflow.ui.stores import URL_CACHE_SECONDS, StateStores

        loaded = load_config_text(bigstate.alerts_yaml(list(alerts)))
        assert loaded.config is not None, loaded.errors
        entries, docs = {}, {}
        for alert in loaded.config.alerts:
            facts = AlertFacts.of_config(alert)
            fields = {f.name: getattr(facts, f.name) for f in dataclasses.fields(facts)}
            entries[alert.name] = AlertEntry(**fields)
            docs[alert.name] = alert_docs(alert_doc_md(alert))
        # the deployment's state database, as the api-server finds it (no airflow.cfg here)
        env = {STATE_DB_URL_ENV: url, "AIRFLOW_HOME": str(airflow_home)}
        locator = StateDbLocator(env=env, conn_url_of=None, cache_seconds=URL_CACHE_SECONDS)
        manifests = ManifestIndex(airflow_home / "no-manifests")
        return cls(UiContext(manifests=manifests, stores=StateStores(locator)), entries, docs)

    def close(self) -> None:
        self.ctx.stores.close()

    def _store(self) -> Any:
        return self.ctx.stores.for_reading(self.ctx.stores.url_for(None))

    def overview(self) -> bytes:
        """``GET /alerts``: every alert's summary, encoded as the route encodes it."""
        from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused
        from sqlsentinel_airflow.ui import api

        with cyclic_gc_paused():  # as the route pauses it
            alerts = api._summaries(self.ctx, list(self.entries.values()), set())
            response = api._json_response({"alerts": [a.to_json() for a in alerts]})
        return bytes(response.body)

    def alert(self, name: str) -> dict[str, Any]:
        """``GET /alerts/{dag_id}``: one alert with every instance, undelivered rows, docs."""
        from sqlsentinel_airflow.ui import api

        docs = self.docs[name]
        (summary_,) = api._summaries(self.ctx, [self.entries[name]], set(), docs=lambda _e: docs)
        return {"alert": summary_.to_json()}

    def history(self, name: str, limit: int = 50) -> dict[str, Any]:
        """``GET /alerts/{dag_id}/history?limit=50``."""
        from sqlsentinel_airflow import readmodel

        rows = self._store().history(name, limit=limit)
        return {"entries": [readmodel.evaluation_view(r).to_json() for r in rows]}

    def incidents(self, name: str, limit: int = 5) -> dict[str, Any]:
        """``GET /alerts/{dag_id}/incidents?limit=5``."""
        from sqlsentinel_airflow import readmodel

        views, _next = readmodel.incident_views(self._store(), name, limit=limit)
        return {"incidents": [v.to_json() for v in views]}

    def deliveries(self, name: str, limit: int = 50) -> dict[str, Any]:
        """``GET /alerts/{dag_id}/deliveries`` (every status)."""
        from sqlsentinel_airflow import readmodel

        rows = self._store().outbox(alert_name=name, limit=limit)
        return {"deliveries": [readmodel.delivery_view(r).to_json() for r in rows]}


def ui_reads(ui: Ui, busy: str, quiet: str, reps: int) -> dict[str, Any]:
    found: dict[str, Any] = {"overview (GET /alerts)": timed(ui.overview, reps)}
    found["overview (GET /alerts)"]["bytes"] = len(ui.overview())
    for label, name in (("busiest", busy), ("quiet hourly", quiet)):
        reads: dict[str, Callable[[], object]] = {
            "alert": functools.partial(ui.alert, name),
            "history limit 50": functools.partial(ui.history, name),
            "incidents limit 5": functools.partial(ui.incidents, name),
            "deliveries limit 50": functools.partial(ui.deliveries, name),
        }
        for what, read in reads.items():
            found[f"{label} alert: {what}"] = timed(read, reps)
    return found


# --- 2. the CLI's reads --------------------------------------------------------------------


def cli_call(argv: Sequence[str]) -> None:
    """``sqlsentinel ARGV`` in this process, its output discarded; raises on a failure."""
    from sqlsentinel_airflow.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code != 0:
        raise RuntimeError(f"sqlsentinel {' '.join(argv[:3])} exited {code}: {err.getvalue()}")


def cli_reads(url: str, alerts_file: Path, busy: str, reps: int) -> dict[str, Any]:
    from sqlsentinel_airflow.cli import commands

    state_db = ["--state-db", url]
    calls: dict[str, Callable[[], object]] = {
        "status FILE": lambda: cli_call(["status", str(alerts_file), *state_db]),
        "status: loading FILE alone": lambda: commands._load(str(alerts_file)),
        "history --alert <busiest>": lambda: cli_call(["history", "--alert", busy, *state_db]),
        "outbox --status pending": lambda: cli_call(["outbox", "--status", "pending", *state_db]),
        "report FILE": lambda: cli_call(["report", str(alerts_file), *state_db]),
    }
    return {f"sqlsentinel {what}": timed(call, reps) for what, call in calls.items()}


# --- the reads' plans -------------------------------------------------------------------------


@contextlib.contextmanager
def statements_sent() -> Iterator[list[tuple[str, Any]]]:
    """Every statement any engine of this process sends inside the block, with its parameters
    (the CLI opens an engine of its own per command)."""
    import sqlalchemy as sa

    sent: list[tuple[str, Any]] = []

    def seen(_conn: object, _cursor: object, statement: str, params: Any, *_rest: object) -> None:
        sent.append((statement, params))

    sa.event.listen(sa.Engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", seen)


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Relation Name" in node or "Index Name" in node:  # a Bitmap Index Scan has no relation
        backward = node.get("Scan Direction") == "Backward"
        yield {
            "node": node["Node Type"] + (" Backward" if backward else ""),
            "relation": node.get("Relation Name"),
            "index": node.get("Index Name"),
            "index_cond": node.get("Index Cond"),  # None: the whole index is read
        }
    for child in node.get("Plans", ()):
        yield from _scans(child)


def read_plans(
    url: str, read: Callable[[], object], *, analyze: bool = False, seqscan: bool = True
) -> list[dict[str, Any]]:
    """``EXPLAIN (FORMAT JSON)`` of every distinct SELECT of our tables that ``read`` sends
    (``analyze``: also run, with buffers), after the ``SET``s sent just before it (as
    ``recent_values`` turns JIT off); ``seqscan=False`` discourages sequential scans, as the
    planner would choose at full size. Each: the statement's start, how often it was sent,
    its scans and (``analyze``) its execution time."""
    import sqlalchemy as sa

    with statements_sent() as sent:
        read()
    found: dict[str, dict[str, Any]] = {}
    sets: list[str] = []
    engine = sa.create_engine(url)
    try:
        for statement, params in sent:
            text = " ".join(statement.split())
            if text.upper().startswith("SET "):
                sets.append(statement)
                continue
            if not text.upper().startswith("SELECT") or "sqlsentinel_" not in text:
                continue
            if text in found:
                found[text]["times"] += 1
            if text in found or "schema_version" in text:
                sets = []
                continue
            options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
            with engine.connect() as conn:
                if not seqscan:
                    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                for set_statement in sets:
                    conn.exec_driver_sql(set_statement)
                (plan,) = conn.exec_driver_sql(f"EXPLAIN ({options}) {statement}", params).one()
                conn.rollback()
            sets = []
            top = plan[0] if isinstance(plan, list) else json.loads(plan)[0]
            found[text] = {
                "statement": text[:160],
                "times": 1,
                "scans": list(_scans(top["Plan"])),
                **({"execution_ms": round(top["Execution Time"], 2)} if analyze else {}),
            }
    finally:
        engine.dispose()
    return list(found.values())


def seq_scans(plans: Sequence[dict[str, Any]], relations: Sequence[str]) -> list[dict[str, Any]]:
    """The sequential scans of ``relations`` in ``plans``."""
    return [
        s
        for p in plans
        for s in p["scans"]
        if s["node"] == "Seq Scan" and s["relation"] in relations
    ]


def planned_reads(
    url: str, ui: Ui, alerts_file: Path, busy: str
) -> dict[str, Callable[[], object]]:
    """The reads whose plans matter at size: the overview, an alert's deliveries, the CLI's."""
    state_db = ["--state-db", url]
    return {
        "overview (GET /alerts)": ui.overview,
        "busiest alert: deliveries limit 50": lambda: ui.deliveries(busy),
        "sqlsentinel status FILE": lambda: cli_call(["status", str(alerts_file), *state_db]),
        "sqlsentinel history --alert <busiest>": lambda: cli_call(
            ["history", "--alert", busy, *state_db]
        ),
        "sqlsentinel outbox --status pending": lambda: cli_call(
            ["outbox", "--status", "pending", *state_db]
        ),
        "sqlsentinel report FILE": lambda: cli_call(["report", str(alerts_file), *state_db]),
    }


# --- 3. one evaluation -----------------------------------------------------------------------


def busy_alert_config(alert: bigstate.BigAlert) -> Any:
    from sqlsentinel_airflow.core.config import load_config_text

    loaded = load_config_text(bigstate.alerts_yaml([alert]))
    assert loaded.config is not None, loaded.errors
    return loaded.config.alerts[0]


@dataclasses.dataclass(frozen=True)
class _Result:
    """The busiest alert's query result: every instance OK, below its threshold."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def ok_result(alert: bigstate.BigAlert) -> _Result:
    rows = tuple(
        (json.loads(key)["table_name"], "OK", bigstate.THRESHOLD // 2, bigstate.THRESHOLD)
        for key in alert.instance_keys()
    )
    return _Result(("table_name", "status", "actual_value", "threshold"), rows)


class TimedStore:
    """A ``StateStore`` whose locked transaction and commit confirmation are timed: the part
    of an evaluation the state database's size can change."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.wall_s = 0.0
        self.cpu_s = 0.0

    @contextlib.contextmanager
    def _clocked(self) -> Iterator[None]:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.wall_s += time.perf_counter() - wall0
            self.cpu_s += time.process_time() - cpu0

    def run_in_alert_transaction(self, alert_name: str, work: Callable[[Any], T]) -> T:
        with self._clocked():
            result: T = self.store.run_in_alert_transaction(alert_name, work)
            return result

    def confirm_commit(self, history_ids: Sequence[int]) -> int:
        with self._clocked():
            return int(self.store.confirm_commit(history_ids))

    def list_states(self, alert_name: str | None = None) -> list[Any]:
        return list(self.store.list_states(alert_name))

    def list_silences(self, now: datetime, include_inactive: bool = False) -> list[Any]:
        return list(self.store.list_silences(now, include_inactive))


def evaluate_once(alert: Any, store: TimedStore, result: _Result) -> tuple[float, float, float]:
    """One scheduled evaluation as the operator makes it: (wall s, CPU s, transaction s)."""
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert

    store.wall_s = store.cpu_s = 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    report = evaluate_alert(
        alert,
        fetch=lambda: result,
        store=store,  # type: ignore[arg-type]  # the StoreLike part of a StateStore
        run_type=RunType.SCHEDULED,
        run_id=f"scheduled__bench-{uuid.uuid4().hex[:12]}",
        confirm_commit=True,
    )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if report.error is not None:
        raise RuntimeError(f"evaluation of {alert.name} failed: {report.error}")
    return wall, cpu, store.wall_s


def table_bytes(store: Any) -> dict[str, dict[str, float]]:
    """Each sqlsentinel table's sizes and estimated rows."""
    import sqlalchemy as sa

    from sqlsentinel_airflow.store import tables

    found: dict[str, dict[str, float]] = {}
    with store.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            row = conn.execute(
                sa.text(
                    "SELECT pg_total_relation_size(c.oid), pg_relation_size(c.oid),"
                    " pg_indexes_size(c.oid), c.reltuples FROM pg_class c"
                    " WHERE c.oid = to_regclass(:name)"
                ),
                {"name": table.name},
            ).one_or_none()
            if row is not None:
                found[table.name] = {
                    "total_bytes": int(row[0]),
                    "heap_bytes": int(row[1]),
                    "index_bytes": int(row[2]),
                    "rows": max(0, int(row[3])),  # -1: never analysed
                }
    return found


def evaluations(
    big_url: str, alert: bigstate.BigAlert, reps: int, warmup: int = 3
) -> dict[str, Any]:
    """The busiest alert evaluated on the big database and on a fresh empty one, alternating
    (which goes first alternates too), after ``warmup`` evaluations on each."""
    from sqlsentinel_airflow.store import StateStore

    config = busy_alert_config(alert)
    result = ok_result(alert)
    empty_name = f"ss_scale_empty_{uuid.uuid4().hex[:8]}"
    empty_url = bigstate.create_database(empty_name)
    stores = {"big": StateStore.connect(big_url), "empty": StateStore.connect(empty_url)}
    try:
        timed_stores = {k: TimedStore(s) for k, s in stores.items()}
        for _ in range(warmup):
            for ts in timed_stores.values():
                evaluate_once(config, ts, result)
        before = table_bytes(stores["empty"])
        runs: dict[str, dict[str, list[float]]] = {
            k: {"wall": [], "cpu": [], "tx": []} for k in stores
        }
        for rep in range(reps):
            order = ("big", "empty") if rep % 2 == 0 else ("empty", "big")
            for kind in order:
                wall, cpu, tx = evaluate_once(config, timed_stores[kind], result)
                runs[kind]["wall"].append(wall * 1000)
                runs[kind]["cpu"].append(cpu * 1000)
                runs[kind]["tx"].append(tx * 1000)
        after = table_bytes(stores["empty"])
    finally:
        for store in stores.values():
            store.dispose()
        bigstate.drop_database(empty_name)
    found: dict[str, Any] = {"reps": reps, "warmup": warmup, "instances": len(result.rows)}
    for kind, r in runs.items():
        # no first call apart here: the warm-up was it
        found[kind] = {
            "median_ms": round(median(r["wall"]), 2),
            "max_ms": round(max(r["wall"]), 2),
            "p90_ms": round(percentile(r["wall"], 0.9), 2),
            "cpu_median_ms": round(median(r["cpu"]), 2),
            "transaction_median_ms": round(median(r["tx"]), 2),
            "transaction_max_ms": round(max(r["tx"]), 2),
            "runs_ms": [round(t, 2) for t in r["wall"]],
        }
    found["ratio"] = round(found["big"]["median_ms"] / found["empty"]["median_ms"], 3)
    found["transaction_ratio"] = round(
        found["big"]["transaction_median_ms"] / found["empty"]["transaction_median_ms"], 3
    )
    grown = {
        name: after[name]["total_bytes"] - before[name]["total_bytes"]
        for name in after
        if name in before
    }
    found["empty_db_growth_bytes_per_evaluation"] = {
        name: round(delta / reps) for name, delta in grown.items() if delta
    }
    found["empty_db_growth_bytes_per_evaluation_total"] = round(sum(grown.values()) / reps)
    return found


# --- 4. purge under load ----------------------------------------------------------------------


def evaluator_child(url: str, alerts: int, ready: Path, stop: Path) -> int:
    """The purge's concurrent evaluator: the busiest alert every ``EVALUATION_INTERVAL_S``
    until ``stop`` exists; prints one JSON line of ``[start (epoch s), wall s, tx s]``."""
    from sqlsentinel_airflow.store import StateStore

    alert = bigstate.busiest_alert(bigstate.big_alerts(alerts))
    config, result = busy_alert_config(alert), ok_result(alert)
    store = StateStore.connect(url)
    timed_store = TimedStore(store)
    done: list[tuple[float, float, float]] = []
    try:
        for _ in range(3):
            evaluate_once(config, timed_store, result)
        ready.touch()
        while not stop.exists():
            began = time.time()
            wall, _cpu, tx = evaluate_once(config, timed_store, result)
            done.append((began, wall, tx))
            time.sleep(max(0.0, EVALUATION_INTERVAL_S - wall))
    finally:
        store.dispose()
    print(json.dumps({"evaluations": done}))
    return 0


def _latencies(done: Sequence[Sequence[float]]) -> dict[str, Any]:
    walls = [d[1] * 1000 for d in done]
    return {
        "evaluations": len(walls),
        "median_ms": round(median(walls), 1),
        "p99_ms": round(percentile(walls, 0.99), 1),
        "max_ms": round(max(walls), 1) if walls else float("nan"),
    }


def newest_evaluation(url: str) -> datetime:
    """When the newest evaluation in the database was made."""
    import sqlalchemy as sa

    from sqlsentinel_airflow.store import tables

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.select(sa.func.max(tables.history.c.evaluated_at))
            newest: datetime | None = conn.execute(query).scalar_one()
    finally:
        engine.dispose()
    if newest is None:
        raise RuntimeError("the state database has no history")
    return newest


def purge_under_load(
    url: str, alerts: int, newest: datetime, keep_days: float, before_s: float
) -> dict[str, Any]:
    """``store.purge`` of what is older than ``newest`` (the newest generated evaluation)
    minus ``keep_days``, while a child process evaluates the busiest alert; the child runs
    ``before_s`` alone first."""
    from sqlsentinel_airflow.store import StateStore

    store = StateStore.connect(url)
    cutoff = newest - timedelta(days=keep_days)
    batches: list[tuple[str, int, float]] = []
    takes_batches = "on_batch" in inspect.signature(store.purge).parameters
    with tempfile.TemporaryDirectory(prefix="ss-scale-") as tmp:
        ready, stop = Path(tmp) / "ready", Path(tmp) / "stop"
        child = subprocess.Popen(
            [
                *(PYTHON, "-m", "bench.scale", "--evaluator-child", url),
                *("--alerts", str(alerts), "--ready-file", str(ready), "--stop-file", str(stop)),
            ],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            while not ready.exists():
                if child.poll() is not None:
                    _, err = child.communicate()
                    raise RuntimeError(f"the evaluator exited early:\n{err[-3000:]}")
                time.sleep(0.05)
            time.sleep(before_s)
            began = time.time()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if takes_batches:
                purged = store.purge(cutoff, on_batch=lambda *b: batches.append(b))  # type: ignore[call-arg]
            else:
                purged = store.purge(cutoff)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            ended = time.time()
            time.sleep(min(before_s, 2.0))
        finally:
            stop.touch()
            out, err = child.communicate(timeout=120)
        store.dispose()
    if child.returncode != 0:
        raise RuntimeError(f"the evaluator exited {child.returncode}:\n{err[-3000:]}")
    done = json.loads(out.strip().splitlines()[-1])["evaluations"]
    during = [d for d in done if d[0] < ended and d[0] + d[1] > began]
    found: dict[str, Any] = {
        "cutoff": cutoff.isoformat(),
        "newest_evaluation": newest.isoformat(),
        "keep_days": keep_days,
        "purge_s": round(wall, 2),
        "purge_cpu_s": round(cpu, 2),
        "rows_deleted": purged,
        "evaluations_before": _latencies([d for d in done if d[0] + d[1] <= began]),
        "evaluations_during": _latencies(during),
        "evaluations_after": _latencies([d for d in done if d[0] >= ended]),
        "batched": takes_batches,
    }
    if takes_batches:
        found["batches"] = len(batches)
        found["longest_batch_s"] = round(max((b[2] for b in batches), default=0.0), 3)
        found["longest_batch_table"] = max(batches, key=lambda b: b[2])[0] if batches else None
        found["batches_over_1s"] = sum(1 for b in batches if b[2] > GOAL_BATCH_S)
    return found


# --- 5. bytes and the rest --------------------------------------------------------------------


def database_facts(url: str) -> dict[str, Any]:
    import sqlalchemy as sa

    from sqlsentinel_airflow.store import StateStore, tables

    store = StateStore.connect(url)
    try:
        sizes = table_bytes(store)
        with store.engine.connect() as conn:
            size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
            version = conn.execute(sa.text("SHOW server_version")).scalar()
    finally:
        store.dispose()
    history = sizes.get(tables.history.name, {})
    rows = history.get("rows", 0)
    return {
        "database_bytes": int(size or 0),
        "postgresql": version,
        "tables": sizes,
        "history_bytes_per_row": round(history["total_bytes"] / rows, 1) if rows else None,
    }


# --- the report --------------------------------------------------------------------------------


def _goal(ms: float, goal: float = GOAL_READ_MS) -> str:
    return "ok" if ms <= goal else f"OVER {goal:g} ms"


def _history_bytes(facts: dict[str, Any], rows: int) -> str:
    per_row = facts["history_bytes_per_row"]
    return "?" if per_row is None else f"{per_row * rows:.0f}"


def _plans_line(plans: Sequence[dict[str, Any]]) -> str:
    shown = []
    for p in plans:
        scans = ", ".join(
            s["node"]
            + (f" of {s['relation'].removeprefix('sqlsentinel_')}" if s["relation"] else "")
            + (f" by {s['index']}" if s["index"] else "")
            for s in p["scans"]
        )
        times = f" x{p['times']}" if p["times"] > 1 else ""
        shown.append(f"{scans} ({p.get('execution_ms', '?')} ms{times})")
    return "; ".join(shown)


def report(result: dict[str, Any]) -> str:
    rows: list[list[object]] = []
    for section in ("ui", "cli"):
        for what, m in result[section].items():
            goal = "-" if "alone" in what else _goal(m["max_ms"])
            rows.append(
                [what, m["first_ms"], m["median_ms"], m["max_ms"], m["cpu_median_ms"], goal]
            )
    ev = result["evaluation"]
    for kind in ("empty", "big"):
        e = ev[kind]
        rows.append(
            [
                f"evaluation, {ev['instances']} instances, {kind} DB"
                f" (transaction {e['transaction_median_ms']} ms)",
                "-",
                e["median_ms"],
                e["max_ms"],
                e["cpu_median_ms"],
                "-"
                if kind == "empty"
                else f"{ev['ratio']}x" + (" ok" if ev["ratio"] <= GOAL_EVALUATION_RATIO else ""),
            ]
        )
    table = markdown_table(
        ["what", "first ms", "median ms", "max ms", "CPU median ms", "goal"], rows
    )
    facts = result["database"]
    lines = [table, ""]
    size_rows = [
        [name, round(t["total_bytes"] / 2**20, 1), round(t["index_bytes"] / 2**20, 1), t["rows"]]
        for name, t in facts["tables"].items()
    ]
    lines.append(markdown_table(["table", "total MB", "indexes MB", "rows (est.)"], size_rows))
    lines.append("")
    lines.append(
        f"database {facts['database_bytes'] / 2**30:.2f} GiB; history "
        f"{facts['history_bytes_per_row']} bytes per row (indexes included); a no-change "
        f"evaluation of {ev['instances']} instances grew the fresh database by "
        f"{ev['empty_db_growth_bytes_per_evaluation_total']} bytes (its history rows at the "
        f"big database's density: {_history_bytes(facts, ev['instances'])} bytes)"
    )
    for what, plans in result.get("plans", {}).items():
        lines.append(f"- plans of {what}: " + _plans_line(plans))
    purge = result.get("purge")
    if purge:
        b, d = purge["evaluations_before"], purge["evaluations_during"]
        batch = (
            f"; {purge['batches']} batches, the longest {purge['longest_batch_s']} s"
            if purge["batched"]
            else "; one transaction (purge takes no on_batch)"
        )
        lines.append(
            f"purge before {purge['cutoff']}: {purge['purge_s']} s, {purge['rows_deleted']}"
            f"{batch}. Evaluations before it: median {b['median_ms']} ms, p99 {b['p99_ms']}, "
            f"max {b['max_ms']} ({b['evaluations']}); during it: median {d['median_ms']} ms, "
            f"p99 {d['p99_ms']}, max {d['max_ms']} ({d['evaluations']})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse-db", help="the state database bench.bigstate --keep filled")
    parser.add_argument("--alerts", type=int, default=1000, help="as generated")
    parser.add_argument("--days", type=float, default=365.0, help="as generated (recorded)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--evaluation-reps", type=int, default=20)
    parser.add_argument("--purge", action="store_true", help="purge at the end (deletes data)")
    parser.add_argument("--keep-days", type=float, default=30.0, help="what purge keeps")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale.json")
    parser.add_argument("--evaluator-child", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stop-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.evaluator_child:
        return evaluator_child(args.evaluator_child, args.alerts, args.ready_file, args.stop_file)
    if not args.reuse_db:
        parser.error("--reuse-db DB is required (fill it with bench.bigstate --keep first)")
    result = run(
        bigstate.database_url(args.reuse_db),
        alerts=args.alerts,
        reps=args.reps,
        evaluation_reps=args.evaluation_reps,
        purge=args.purge,
        keep_days=args.keep_days,
    )
    result = {"db": args.reuse_db, "days": args.days, **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    table = report(result)
    args.out.with_suffix(".md").write_text(
        f"{args.alerts} alerts, {args.days:g} days of history, {args.reps} reps "
        f"({result['machine']['when']})\n\n{table}\n",
        encoding="utf-8",
    )
    print(table)
    return 0


@contextlib.contextmanager
def _setenv(name: str, value: str) -> Iterator[None]:
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def run(
    url: str,
    *,
    alerts: int,
    reps: int,
    evaluation_reps: int = 20,
    purge: bool = False,
    keep_days: float = 30.0,
    purge_before_s: float = 5.0,
) -> dict[str, Any]:
    """Every measurement of the module doc on the state database at ``url``."""
    generated = bigstate.big_alerts(alerts)
    busy = bigstate.busiest_alert(generated)
    quiet = next(a for a in generated if a.every_minutes == 60 and not a.keyed)
    result: dict[str, Any] = {
        "alerts": alerts,
        "reps": reps,
        "busiest_alert": busy.name,
        "quiet_alert": quiet.name,
        "machine": machine(),
        "load_before": os.getloadavg(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    result["database"] = database_facts(url)
    newest = newest_evaluation(url)  # before this run's evaluations add to it
    with tempfile.TemporaryDirectory(prefix="ss-scale-") as tmp:
        home = Path(tmp)
        alerts_file = home / "alerts.yaml"
        alerts_file.write_text(bigstate.alerts_yaml(generated), encoding="utf-8")
        ui = Ui.over(url, generated, home)
        # the CLI keeps SQL verdicts between runs, as a cron'd run does: in a private place
        try:
            with _setenv("SQLSENTINEL_CACHE_DIR", str(home / "cache")):
                result["ui"] = ui_reads(ui, busy.name, quiet.name, reps)
                result["cli"] = cli_reads(url, alerts_file, busy.name, reps)
                reads = planned_reads(url, ui, alerts_file, busy.name)
                result["plans"] = {
                    what: read_plans(url, read, analyze=True) for what, read in reads.items()
                }
        finally:
            ui.close()
    result["evaluation"] = evaluations(url, busy, evaluation_reps)
    if purge:
        result["purge"] = purge_under_load(url, alerts, newest, keep_days, purge_before_s)
    result["load_after"] = os.getloadavg()
    return result


if __name__ == "__main__":
    raise SystemExit(main())
