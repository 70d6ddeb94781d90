"""Throughput benchmark (docs/benchmarks.md): task runs per minute in a running Airflow.

One Airflow deployment (the e2e fixture's ``AirflowDeployment``, imported from tests/e2e:
api-server, scheduler, dag-processor and triggerer as processes, LocalExecutor, a PostgreSQL
metadata database created for the run and dropped afterwards) with one dags folder holding
both variants, N DAGs each:

- ``ours``   the package's DAG file (dags/sqlsentinel_alerts.py) over an alerts.yaml of N
  alerts (``enabled: false``: no schedule, manual runs only; no notification channels);
- ``plain``  a hand-written DAG file defining N DAGs of one ``SQLExecuteQueryOperator``
  each, with the parsing-context shortcut Airflow recommends for generated DAGs
  (at task start only the wanted DAG is built, as ours does).

Both run the same query on the same connection (a SQLite warehouse; one OK row). A
repetition of a variant pauses its N DAGs, triggers a run of each through the REST API,
then unpauses all N in one bulk ``PATCH /api/v2/dags`` (the clock starts there, so every
run is released at once) and waits until all N runs finished. Task-instance timings come
from the metadata database. Variants alternate ours, plain, plain, ours, ... across reps.

Per variant and rep: wall time from the unpause to the last task's end, task runs per
minute (N / wall), p50/p95 of ``end_date - queued_dttm`` per task instance, and failures.
Medians over reps, and the ratio ours/plain of runs per minute.

Usage: ``python -m bench.throughput [--dags 200] [--reps 3] [--parallelism 8]
[--state-db sqlite|postgres] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._alerts import make_warehouse
from bench._stats import PYCACHE_PREFIX, REPO, markdown_table, median

sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_deployment import AirflowDeployment, wait_until

PG_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
PACKAGE_DAG_FILE = REPO / "dags" / "sqlsentinel_alerts.py"
CONN_ID = "bench_warehouse"
TASK_ID = "evaluate"
# One OK row from a 50-row table: cheap, so the figures are about running tasks.
QUERY = (
    "SELECT CASE WHEN COUNT(*) > 1000 THEN 'ALERT' ELSE 'OK' END AS status, "
    "COUNT(*) AS actual_value, 1000 AS threshold FROM orders"
)
VARIANTS = ("ours", "plain")
PREFIX = {"ours": "bench_ours_t_", "plain": "bench_plain_t_"}

PLAIN_DAG_FILE = """\
# airflow DAG file: the plain baseline of bench/throughput.py (one SQLExecuteQueryOperator per DAG)
import pendulum
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.sdk import DAG, get_parsing_context

COUNT = {count}
QUERY = {query!r}
_wanted = get_parsing_context().dag_id  # a task start builds only its own DAG
for _i in range(COUNT):
    _dag_id = f"{prefix}{{_i:05d}}"
    if _wanted is not None and _wanted != _dag_id:
        continue
    with DAG(
        dag_id=_dag_id,
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["bench_plain"],
    ) as _dag:
        SQLExecuteQueryOperator(task_id="{task_id}", conn_id="{conn_id}", sql=QUERY)
    globals()[_dag_id] = _dag
"""


def ours_alerts_yaml(count: int) -> str:
    """N alerts with no schedule (``enabled: false``: manual runs only) and no channels."""
    parts = [
        f"dag_id_prefix: {PREFIX['ours'][: -len('t_')]}\n"
        f"defaults:\n  conn_id: {CONN_ID}\n  timezone: UTC\nalerts:\n"
    ]
    for i in range(count):
        parts.append(
            f"  - name: t_{i:05d}\n"
            '    schedule: "0 0 1 1 *"\n'
            "    enabled: false\n"
            f'    query: "{QUERY}"\n'
        )
    return "".join(parts)


def plain_dag_file(count: int) -> str:
    return PLAIN_DAG_FILE.format(
        count=count, query=QUERY, prefix=PREFIX["plain"], task_id=TASK_ID, conn_id=CONN_ID
    )


def dag_ids(variant: str, count: int) -> list[str]:
    return [f"{PREFIX[variant]}{i:05d}" for i in range(count)]


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# --- databases ---------------------------------------------------------------------------------


@contextmanager
def pg_databases() -> Iterator[Callable[[str], str]]:
    """``create(purpose) -> url`` of fresh PostgreSQL databases, dropped on exit."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create(purpose: str) -> str:
        name = f"sst_bench_{purpose}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(False)

    try:
        yield create
    finally:
        with admin.connect() as conn:
            for name in created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- one repetition of one variant ---------------------------------------------------------------


@dataclass
class Bench:
    deployment: AirflowDeployment
    metadata: sa.Engine
    count: int

    def set_paused(self, variant: str, paused: bool) -> None:
        response = self.deployment.api.request(
            "PATCH",
            "/api/v2/dags",
            params={"dag_id_pattern": PREFIX[variant], "limit": 10_000},
            json={"is_paused": paused},
        )
        response.raise_for_status()
        # Checked in the metadata DB: the response lists the DAGs as they were before.
        query = sa.text("SELECT dag_id FROM dag WHERE dag_id LIKE :prefix AND is_paused = :paused")
        with self.metadata.connect() as conn:
            done = set(
                conn.execute(query, {"prefix": PREFIX[variant] + "%", "paused": paused}).scalars()
            )
        missing = set(dag_ids(variant, self.count)) - done
        if missing:
            raise RuntimeError(
                f"{len(missing)} {variant} DAGs not (un)paused: {sorted(missing)[:5]}"
            )

    def trigger_all(self, variant: str) -> dict[str, str]:
        """One manual run of every DAG of ``variant``; ``{dag_id: run_id}``."""
        api = self.deployment.api
        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = list(
                pool.map(lambda d: (d, api.trigger(d)["dag_run_id"]), dag_ids(variant, self.count))
            )
        return dict(runs)

    def task_rows(self, variant: str, runs: dict[str, str]) -> list[dict[str, Any]]:
        query = sa.text(
            "SELECT dag_id, run_id, state, try_number, queued_dttm, start_date, end_date "
            "FROM task_instance WHERE dag_id LIKE :prefix AND task_id = :task"
        )
        with self.metadata.connect() as conn:
            rows = conn.execute(query, {"prefix": PREFIX[variant] + "%", "task": TASK_ID})
            return [dict(r._mapping) for r in rows if runs.get(r.dag_id) == r.run_id]

    def finished_runs(self, variant: str, runs: dict[str, str]) -> list[dict[str, Any]] | None:
        query = sa.text("SELECT dag_id, run_id, state FROM dag_run WHERE dag_id LIKE :prefix")
        with self.metadata.connect() as conn:
            rows = conn.execute(query, {"prefix": PREFIX[variant] + "%"})
            mine = [dict(r._mapping) for r in rows if runs.get(r.dag_id) == r.run_id]
        done = [r for r in mine if r["state"] in ("success", "failed")]
        return mine if len(done) == self.count else None

    def measure(self, variant: str, timeout: float) -> dict[str, Any]:
        load_before = os.getloadavg()[0]
        self.set_paused(variant, True)
        trigger_started = time.monotonic()
        runs = self.trigger_all(variant)
        trigger_s = time.monotonic() - trigger_started
        t0 = datetime.now(timezone.utc)
        self.set_paused(variant, False)
        dag_runs = wait_until(
            lambda: self.finished_runs(variant, runs),
            timeout=timeout,
            what=f"{self.count} {variant} runs to finish",
            interval=0.5,
            on_timeout=self.deployment.log_tails,
        )
        self.set_paused(variant, True)  # nothing of this variant runs during the other's
        tis = self.task_rows(variant, runs)
        ok = [t for t in tis if t["state"] == "success"]
        latencies = [(t["end_date"] - t["queued_dttm"]).total_seconds() for t in ok]
        waits = [(t["start_date"] - t["queued_dttm"]).total_seconds() for t in ok]
        durations = [(t["end_date"] - t["start_date"]).total_seconds() for t in ok]
        ends = [t["end_date"] for t in tis if t["end_date"] is not None]
        starts = [t["start_date"] for t in tis if t["start_date"] is not None]
        wall_s = (max(ends) - t0).total_seconds() if ends else float("nan")
        return {
            "variant": variant,
            "dags": self.count,
            "task_instances": len(tis),
            "successes": len(ok),
            "failures": self.count - len(ok),
            "failed_runs": sum(1 for r in dag_runs if r["state"] != "success"),
            "retries": sum(1 for t in tis if (t["try_number"] or 0) > 1),
            "trigger_s": trigger_s,
            "first_start_s": (min(starts) - t0).total_seconds() if starts else float("nan"),
            "wall_s": wall_s,
            "runs_per_min": len(ok) / wall_s * 60 if wall_s > 0 else 0.0,
            "p50_queued_to_success_s": percentile(latencies, 50),
            "p95_queued_to_success_s": percentile(latencies, 95),
            "p50_queue_wait_s": percentile(waits, 50),
            "p50_run_s": percentile(durations, 50),
            "p95_run_s": percentile(durations, 95),
            "load_1min_before": load_before,
            "load_1min_after": os.getloadavg()[0],
            "started_utc": t0.isoformat(timespec="seconds"),
        }


# --- the whole run -----------------------------------------------------------------------------------


def order_of(rep: int) -> tuple[str, ...]:
    """ours, plain | plain, ours | ours, plain ...: drift hits both variants alike."""
    return VARIANTS if rep % 2 == 0 else VARIANTS[::-1]


def run(
    count: int,
    reps: int,
    parallelism: int,
    state_db: str,
    warmup: int,
    package_path: str | None = None,
) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sqlsentinel-bench-thru-") as tmp, pg_databases() as db:
        root = Path(tmp)
        warehouse = make_warehouse(root / "warehouse.db").removeprefix("sqlite:///")
        metadata_url = db("meta")
        extra = {
            f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps(
                {"conn_type": "sqlite", "host": warehouse}
            ),
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            # Parsed once at start: periodic re-parses of 2N DAGs would take CPU from the runs.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "3600",
            "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "10000",
            # A deployed package has bytecode (pip compiles on install); an editable checkout
            # under PYTHONDONTWRITEBYTECODE would compile our modules at every task start.
            "PYTHONPYCACHEPREFIX": str(PYCACHE_PREFIX),
        }
        if state_db == "postgres":
            extra["SQLSENTINEL_STATE_DB_URL"] = db("state")
        if package_path:  # a patched copy of the package, found before the installed one
            extra["PYTHONPATH"] = os.pathsep.join(
                p for p in (package_path, os.environ.get("PYTHONPATH", "")) if p
            )
        deployment = AirflowDeployment(
            root / "airflow",
            metadata_url=metadata_url,
            extra_env=extra,
            package_dag_file=PACKAGE_DAG_FILE,
        )
        deployment.env.pop("PYTHONDONTWRITEBYTECODE", None)
        if state_db != "postgres":
            deployment.env.pop("SQLSENTINEL_STATE_DB_URL", None)
        (deployment.dags / "alerts.yaml").write_text(ours_alerts_yaml(count), encoding="utf-8")
        (deployment.dags / "plain_dags.py").write_text(plain_dag_file(count), encoding="utf-8")
        metadata = sa.create_engine(metadata_url)
        results: dict[str, Any] = {
            "dags": count,
            "reps": reps,
            "parallelism": parallelism,
            "executor": "LocalExecutor",
            "metadata_db": "postgresql",
            "metadata_database": sa.engine.make_url(metadata_url).database,
            "state_db": state_db,
            "warehouse": "sqlite",
            "query": QUERY,
            "package_path": package_path,
            "machine": machine(),
            "runs": [],
        }
        try:
            results["migrate_s"] = deployment.migrate()
            deployment.start_core()
            results["healthy_s"] = deployment.wait_healthy()
            wanted = {d for v in VARIANTS for d in dag_ids(v, count)}
            wait_until(
                lambda: wanted <= set(active_dag_ids(metadata)),
                timeout=600,
                what=f"{2 * count} benchmark DAGs to be parsed",
                interval=2.0,
                on_timeout=deployment.log_tails,
            )
            bench = Bench(deployment, metadata, count)
            timeout = max(300.0, count * 6.0)
            if warmup:  # untimed: bytecode caches, state DB schema, first connections
                for variant in VARIANTS:
                    Bench(deployment, metadata, min(warmup, count)).measure(variant, timeout)
                    print(f"  warm-up {variant} done", file=sys.stderr, flush=True)
            for rep in range(reps):
                for variant in order_of(rep):
                    result = bench.measure(variant, timeout)
                    result["rep"] = rep + 1
                    results["runs"].append(result)
                    print(
                        f"  rep {rep + 1}/{reps} {variant}: {result['runs_per_min']:.1f} runs/min, "
                        f"wall {result['wall_s']:.1f}s, failures {result['failures']}, "
                        f"load {result['load_1min_before']:.1f}",
                        file=sys.stderr,
                        flush=True,
                    )
        except BaseException:
            print(deployment.log_tails(), file=sys.stderr)
            raise
        finally:
            deployment.stop()
            metadata.dispose()
    results["summary"] = summarise(results["runs"])
    results["total_s"] = time.monotonic() - started
    return results


def active_dag_ids(metadata: sa.Engine) -> list[str]:
    with metadata.connect() as conn:
        return list(conn.execute(sa.text("SELECT dag_id FROM dag WHERE NOT is_stale")).scalars())


def machine() -> dict[str, Any]:
    import airflow

    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "airflow": airflow.__version__,
        "sqlalchemy": sa.__version__,
    }


KEYS = (
    "runs_per_min",
    "wall_s",
    "p50_queued_to_success_s",
    "p95_queued_to_success_s",
    "p50_queue_wait_s",
    "p50_run_s",
    "p95_run_s",
    "first_start_s",
)


def summarise(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"variants": {}}
    for variant in VARIANTS:
        mine = [r for r in runs if r["variant"] == variant]
        if not mine:
            continue
        entry: dict[str, Any] = {k: median([r[k] for r in mine]) for k in KEYS}
        entry["reps"] = len(mine)
        entry["failures"] = sum(r["failures"] for r in mine)
        entry["all_runs_per_min"] = [round(r["runs_per_min"], 2) for r in mine]
        summary["variants"][variant] = entry
    v = summary["variants"]
    if "ours" in v and "plain" in v and v["plain"]["runs_per_min"] > 0:
        ratio = v["ours"]["runs_per_min"] / v["plain"]["runs_per_min"]
        summary["ratio_runs_per_min_ours_over_plain"] = ratio
        summary["target_0_9_met"] = ratio >= 0.9
        summary["ratio_p50_queued_to_success_ours_over_plain"] = (
            v["ours"]["p50_queued_to_success_s"] / v["plain"]["p50_queued_to_success_s"]
        )
    return summary


def render(results: dict[str, Any]) -> str:
    rows = [
        [
            r["rep"],
            r["variant"],
            f"{r['successes']}/{r['dags']}",
            f"{r['wall_s']:.1f}",
            f"{r['runs_per_min']:.1f}",
            f"{r['p50_queued_to_success_s']:.1f}",
            f"{r['p95_queued_to_success_s']:.1f}",
            f"{r['p50_queue_wait_s']:.1f}",
            f"{r['p50_run_s']:.2f}",
            f"{r['load_1min_before']:.1f} / {r['load_1min_after']:.1f}",
        ]
        for r in results["runs"]
    ]
    table = markdown_table(
        [
            "rep",
            "variant",
            "succeeded",
            "wall s",
            "runs/min",
            "p50 queued→success s",
            "p95 queued→success s",
            "p50 queued→start s",
            "p50 start→end s",
            "load 1-min before / after",
        ],
        rows,
    )
    s = results["summary"]
    med = [
        [
            name,
            m["reps"],
            f"{m['runs_per_min']:.1f}",
            f"{m['wall_s']:.1f}",
            f"{m['p50_queued_to_success_s']:.1f}",
            f"{m['p95_queued_to_success_s']:.1f}",
            m["failures"],
        ]
        for name, m in s["variants"].items()
    ]
    out = (
        table
        + "\n\n"
        + markdown_table(
            ["variant (medians)", "reps", "runs/min", "wall s", "p50 s", "p95 s", "failures"], med
        )
    )
    if "ratio_runs_per_min_ours_over_plain" in s:
        out += (
            f"\n\nratio ours/plain, runs per minute: {s['ratio_runs_per_min_ours_over_plain']:.3f}"
            f" (target >= 0.9: {'met' if s['target_0_9_met'] else 'missed'})"
        )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__)
    parser.add_argument("--dags", type=int, default=200, help="DAGs per variant")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--parallelism", type=int, default=8, help="[core] parallelism")
    parser.add_argument("--state-db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--warmup", type=int, default=8, help="DAGs per variant run once, untimed (0: none)"
    )
    parser.add_argument(
        "--package-path",
        help="put this folder first on the deployment's PYTHONPATH: measure a patched copy of "
        "sqlsentinel_airflow (before/after a fix) without installing it",
    )
    parser.add_argument("--out", help="write the results here as JSON (and the tables as .md)")
    args = parser.parse_args(argv)
    results = run(
        args.dags, args.reps, args.parallelism, args.state_db, args.warmup, args.package_path
    )
    text = render(results)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        Path(args.out).with_suffix(".md").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
