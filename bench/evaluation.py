"""Evaluation-overhead benchmark (docs/benchmarks.md): cost per alert, per tool.

The same alerts (standalone-format file, SQLite warehouse, no notification channels so no
network is involved) are evaluated by:

- ``engine``: our engine in-process (``evaluate_alert``) with the query replaced by its
  precomputed result, so only the engine's own work is timed: contract check, state
  machine, the locked state-DB transaction (state, history, outbox). ``fetch`` is the real
  query (hook resolution + read-only execution) timed on its own.
- ``cli_inprocess``: ``sqlsentinel run`` through ``cli.main.main`` in this process.
- ``ours_process`` / ``standalone_process``: ``sqlsentinel run`` as a process, ours and the
  standalone tool 0.1.0 (``bench/.peer-venv``, see bench/README.md). Ours keeps SQL
  verdicts between runs in its cache directory, as a cron'd run of an unchanged file does.
- ``ours_process_first``: ours with an empty cache directory, so every query is parsed: the
  first run after every query of the file changed.

Per-alert time excluding start-up: (time for N alerts - time for 1 alert) / (N - 1), each on
a fresh state database, repetitions interleaved, medians reported. State databases: SQLite,
and PostgreSQL on 127.0.0.1:5432 (``--pg``; the standalone tool runs there too when its venv
has ``psycopg2``, which its own requirements lack: ``pip install psycopg2-binary`` into it).

Usage: ``python -m bench.evaluation [--alerts 100] [--reps 3] [--pg] [--pg-no-flush] [--out FILE.json]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bench._alerts import bench_alerts, make_warehouse, standalone_yaml
from bench._stats import REPO, airflow_env, markdown_table, median

PEER_VENV = REPO / "bench" / ".peer-venv"
PEER_CLI = PEER_VENV / "bin" / "sqlsentinel"
OURS_CLI = Path(sys.executable).parent / "sqlsentinel"
# ``--pg-no-flush``: PostgreSQL with ``synchronous_commit=off`` for every session of both
# tools (libpq's ``options`` in the URL), to show what the durable commit's WAL flush costs
# each; never how the product runs
PG_NO_FLUSH = "postgres-no-flush"
PG_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


class StateDbs:
    """Fresh, empty state databases: SQLite files in a folder, or PostgreSQL databases."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.folder = folder
        self._pg_names: list[str] = []

    def fresh(self) -> str:
        name = f"sst_bench_{uuid.uuid4().hex[:10]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / (name + '.db')}"
        import sqlalchemy as sa

        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self._pg_names.append(name)
        url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
        if self.kind == PG_NO_FLUSH:  # a diagnostic: commits do not wait for the WAL flush
            url = url.update_query_dict({"options": "-c synchronous_commit=off"})
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self._pg_names:
            return
        import sqlalchemy as sa

        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self._pg_names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        self._pg_names.clear()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


# --- in-process: the engine alone --------------------------------------------------------


def _constant(result: Any) -> Callable[[], Any]:
    """A fetch that returns a precomputed query result: the query is not part of the cost."""
    return lambda: result


def engine_per_evaluation(alerts_file: Path, state_url: str, rounds: int) -> dict[str, float]:
    """Median seconds per evaluation of the engine (query precomputed) and of the query."""
    from sqlsentinel_airflow.core.config.loader import load_config
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert
    from sqlsentinel_airflow.service import QueryFetcher
    from sqlsentinel_airflow.store import StateStore

    config = load_config(alerts_file).config
    assert config is not None and config.alerts, f"{alerts_file} has no valid alerts"
    alerts = config.alerts
    fetches = [QueryFetcher().fetch_for(a) for a in alerts]  # each resolves its hook
    results = [fetch() for fetch in fetches]  # warm-up, and the precomputed results
    started = time.perf_counter()
    for fetch in fetches:
        fetch()
    fetch_s = (time.perf_counter() - started) / len(alerts)

    store = StateStore.connect(state_url)
    try:
        per_round: list[float] = []
        first_round = 0.0
        for round_no in range(rounds):
            started = time.perf_counter()
            for alert, result in zip(alerts, results, strict=True):
                report = evaluate_alert(
                    alert, fetch=_constant(result), store=store, run_type=RunType.CLI
                )
                assert report.error is None, report.error
            elapsed = (time.perf_counter() - started) / len(alerts)
            if round_no == 0:
                first_round = elapsed  # state transitions: every firing alert enqueues events
            per_round.append(elapsed)
    finally:
        store.dispose()
    return {"engine_s": median(per_round), "engine_first_round_s": first_round, "fetch_s": fetch_s}


# --- whole runs: in-process CLI and processes -----------------------------------------------


def cli_inprocess_seconds(alerts_file: Path, state_url: str) -> float:
    from sqlsentinel_airflow.cli.main import main

    def run() -> None:
        with _quiet():
            code = main(["run", str(alerts_file), "--state-db", state_url])
        assert code == 0, f"sqlsentinel run exited {code}"

    return _timed(run)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_seconds(
    cli: Path, alerts_file: Path, state_url: str, env: dict[str, str]
) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ``sqlsentinel run`` process."""
    if cli == PEER_CLI:  # the standalone tool wants its schema created first (untimed)
        subprocess.run(
            [str(cli), "init", "--state-db", state_url], env=env, capture_output=True, check=True
        )
    args = [str(cli), "run", str(alerts_file), "--state-db", state_url]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    # The standalone tool exits 1 when an alert fires ("failure"); a query error is "error".
    fired_only = (
        cli == PEER_CLI and "Execution Summary" in proc.stdout and ": error (" not in proc.stdout
    )
    if proc.returncode != 0 and not (proc.returncode == 1 and fired_only):
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {proc.stdout[-1500:]}")
    return elapsed, cpu


def peer_has_postgres_driver() -> bool:
    """Whether the standalone tool's venv can reach PostgreSQL (psycopg2, for our URLs)."""
    python = PEER_VENV / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import psycopg2"], capture_output=True, check=False)
    return probe.returncode == 0


def per_alert(big: Sequence[float], small: Sequence[float], count: int) -> float:
    return (median(big) - median(small)) / (count - 1)


def run(
    count: int, reps: int, kinds: Sequence[str], distinct_queries: bool = False
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "alerts": count,
        "reps": reps,
        "distinct_queries": distinct_queries,
        "state": {},
    }
    with tempfile.TemporaryDirectory(prefix="sqlsentinel-bench-eval-") as tmp:
        root = Path(tmp)
        home = root / "airflow-home"
        home.mkdir()
        # ``sqlsentinel run`` keeps SQL verdicts between runs (a cron'd run of an unchanged
        # file parses no SQL): ours_process runs with that cache, as it would from cron;
        # ours_process_first with an empty one, like the first run after every query changed.
        cache = {"SQLSENTINEL_CACHE_DIR": str(root / "cli-cache")}
        os.environ.update(airflow_env(home, **cache))
        warehouse = make_warehouse(root / "warehouse.db")
        alerts = bench_alerts(count, distinct_queries=distinct_queries)
        big, small = root / "alerts.yaml", root / "one.yaml"
        big.write_text(standalone_yaml(alerts, warehouse), encoding="utf-8")
        small.write_text(standalone_yaml(alerts[:1], warehouse), encoding="utf-8")
        env = airflow_env(home, **cache)
        peer = PEER_CLI.exists()
        if not peer:
            print(f"{PEER_CLI} not found: the standalone tool is skipped", file=sys.stderr)
        peer_kinds = (
            {"sqlite", "postgres", PG_NO_FLUSH}
            if peer and peer_has_postgres_driver()
            else {"sqlite"}
        )
        for kind in kinds:
            dbs = StateDbs(kind, root)
            try:
                times: dict[str, list[float]] = {}

                def add(key: str, seconds: float, times: dict[str, list[float]] = times) -> None:
                    times.setdefault(key, []).append(seconds)

                engine = [engine_per_evaluation(big, dbs.fresh(), rounds=3) for _ in range(reps)]
                for rep in range(reps):
                    for size, path in (("big", big), ("small", small)):
                        add(f"cli_inprocess_{size}", cli_inprocess_seconds(path, dbs.fresh()))
                        wall, cpu = process_seconds(OURS_CLI, path, dbs.fresh(), env)
                        add(f"ours_process_{size}", wall)
                        add(f"ours_process_cpu_{size}", cpu)
                        first = {"SQLSENTINEL_CACHE_DIR": str(root / f"cache-{uuid.uuid4().hex}")}
                        wall, cpu = process_seconds(OURS_CLI, path, dbs.fresh(), {**env, **first})
                        add(f"ours_process_first_{size}", wall)
                        add(f"ours_process_first_cpu_{size}", cpu)
                        if peer and kind in peer_kinds:
                            wall, cpu = process_seconds(PEER_CLI, path, dbs.fresh(), env)
                            add(f"standalone_process_{size}", wall)
                            add(f"standalone_process_cpu_{size}", cpu)
                    print(f"  {kind} rep {rep + 1}/{reps} done", file=sys.stderr, flush=True)
            finally:
                dbs.drop_all()
            summary: dict[str, Any] = {
                "engine_s": median([e["engine_s"] for e in engine]),
                "engine_first_round_s": median([e["engine_first_round_s"] for e in engine]),
                "fetch_s": median([e["fetch_s"] for e in engine]),
                "raw": {k: [round(x, 4) for x in v] for k, v in times.items()},
            }
            tools = (
                "cli_inprocess",
                "ours_process",
                "standalone_process",
                "ours_process_cpu",
                "standalone_process_cpu",
                "ours_process_first",
                "ours_process_first_cpu",
            )
            for tool in tools:
                if f"{tool}_big" in times:
                    summary[f"{tool}_per_alert_s"] = per_alert(
                        times[f"{tool}_big"], times[f"{tool}_small"], count
                    )
                    summary[f"{tool}_startup_s"] = median(times[f"{tool}_small"])
            if "standalone_process_per_alert_s" in summary:
                summary["ours/standalone_per_alert"] = (
                    summary["ours_process_per_alert_s"] / summary["standalone_process_per_alert_s"]
                )
                summary["ours/standalone_cpu_per_alert"] = (
                    summary["ours_process_cpu_per_alert_s"]
                    / summary["standalone_process_cpu_per_alert_s"]
                )
                summary["ours_first/standalone_per_alert"] = (
                    summary["ours_process_first_per_alert_s"]
                    / summary["standalone_process_per_alert_s"]
                )
            results["state"][kind] = summary
    return results


def render(results: dict[str, Any]) -> str:
    rows = []
    for kind, s in results["state"].items():

        def ms(key: str, s: dict[str, Any] = s) -> str:
            return f"{s[key] * 1000:.2f}" if key in s else "n/a"

        rows.append(
            [
                kind,
                ms("engine_s"),
                ms("engine_first_round_s"),
                ms("fetch_s"),
                ms("cli_inprocess_per_alert_s"),
                ms("ours_process_per_alert_s"),
                ms("standalone_process_per_alert_s"),
                f"{s['ours/standalone_per_alert']:.3f}"
                if "ours/standalone_per_alert" in s
                else "n/a",
                ms("ours_process_cpu_per_alert_s"),
                ms("standalone_process_cpu_per_alert_s"),
                f"{s['ours/standalone_cpu_per_alert']:.3f}"
                if "ours/standalone_cpu_per_alert" in s
                else "n/a",
                ms("ours_process_first_per_alert_s"),
                f"{s['ours_first/standalone_per_alert']:.3f}"
                if "ours_first/standalone_per_alert" in s
                else "n/a",
            ]
        )
    return markdown_table(
        [
            "state DB",
            "engine ms/eval",
            "engine ms/eval (1st round)",
            "query ms",
            "run in-process ms/alert",
            "ours run ms/alert",
            "standalone run ms/alert",
            "ours/standalone",
            "ours run CPU ms/alert",
            "standalone run CPU ms/alert",
            "ours/standalone CPU",
            "ours first run ms/alert",
            "ours first/standalone",
        ],
        rows,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluation", description=__doc__)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pg", action="store_true", help="also PostgreSQL state (127.0.0.1)")
    parser.add_argument(
        "--pg-no-flush",
        action="store_true",
        help="also PostgreSQL with synchronous_commit=off for both tools (a diagnostic: what "
        "the commit's WAL flush costs each)",
    )
    parser.add_argument(
        "--distinct-queries",
        action="store_true",
        help="every alert's query of its own shape (no reuse of SQL verdicts; see _alerts.py)",
    )
    parser.add_argument("--out", help="write the results here as JSON (and the table as .md)")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgres"] if args.pg else ["sqlite"]
    if args.pg_no_flush:
        kinds.append(PG_NO_FLUSH)
    results = run(args.alerts, args.reps, kinds, args.distinct_queries)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2), encoding="utf-8")
        Path(args.out).with_suffix(".md").write_text(render(results) + "\n", encoding="utf-8")
    print(render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
