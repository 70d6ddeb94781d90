"""Backtest benchmark (docs/benchmarks.md, "Backtests"): replay speed and as-of overhead.

- **Replay**: one alert with a year of a minute schedule in its history (525,600 rows in a
  SQLite state database, written by bulk insert from decisions of the real state machine:
  a few incidents a week, 2 to 120 minutes long, and some query-error stretches), replayed
  by ``backtest.run.run_backtest`` under its current policy, and under current + a
  proposed policy. The time includes reading the history page by page.
- **As-of**: an alert on a minute schedule whose query reads a PostgreSQL table through
  the read-only query path of a normal run (``service.QueryFetcher``: hook, read-only
  session, statement timeout), one query at a time (``--concurrency 1``) so the wall time
  compares with the sum of the query times; overhead = wall / sum of query times - 1. The
  query time is what a normal run's query costs (connect, read-only setup, execute, fetch);
  the overhead is everything else: ticks, clock rewrite, contract check, decisions,
  checkpoint lines.

Usage: ``python -m bench.backtest [--evaluations 525600] [--ticks 2000] [--reps 3]
[--no-pg] [--out FILE.json]``; ``--quick`` runs tiny sizes once (CI checks it runs).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench._stats import markdown_table, median

PG_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
ALERTS = """\
alerts:
  - name: orders_per_minute
    schedule: "* * * * *"
    renotify_after: 1h
    query: |
      SELECT CASE WHEN count(*) < 3 THEN 'ALERT' ELSE 'OK' END AS status,
             count(*) AS actual_value, 3 AS threshold
      FROM orders WHERE created_at > now() - interval '5 minutes' AND created_at <= now()
    notify:
      - channel: email
        to: [oncall@example.com]
"""


def _alert(folder: Path) -> Any:
    from sqlsentinel_airflow.core.config.loader import load_config

    path = folder / "alerts.yaml"
    path.write_text(ALERTS)
    # the query runs on $DATABASE_URL (as-of sets it; a replay never runs the query)
    result = load_config(path, env={**os.environ, "DATABASE_URL": "postgresql://later"})
    assert result.config is not None and not result.errors, result.errors
    return result.config.alert("orders_per_minute")


def fill_history(url: str, alert: Any, evaluations: int, seed: int = 7) -> None:
    """``evaluations`` minute evaluations of ``alert``, decided by the real state machine
    and written as the engine writes history rows (bulk insert, one transaction)."""
    from sqlsentinel_airflow.core.model import (
        InstanceResult,
        Outcome,
        QueryEvaluation,
        RunType,
    )
    from sqlsentinel_airflow.evaluation import decide_evaluation
    from sqlsentinel_airflow.store import StateStore
    from sqlsentinel_airflow.store.records import HistoryEntry
    from sqlsentinel_airflow.store.rows import history_to_row
    from sqlsentinel_airflow.store.tables import history

    rng = random.Random(seed)
    store = StateStore.connect(url)
    known: dict[str, Any] = {}
    batch: list[dict[str, Any]] = []
    left, failing = 0, 0
    try:
        with store.engine.begin() as conn:
            for i in range(evaluations):
                at = T0 + timedelta(minutes=i)
                if left == 0 and rng.random() < 0.0005:
                    left = rng.choice((2, 30, 120))
                if failing == 0 and rng.random() < 0.00005:
                    failing = rng.choice((1, 5, 20))
                if failing:
                    failing -= 1
                    evaluation = QueryEvaluation(error="canceling statement due to timeout")
                else:
                    value = (1 if left else 12) + rng.randint(0, 4)
                    status = Outcome.ALERT if value < 3 else Outcome.OK
                    evaluation = QueryEvaluation(
                        instances=(InstanceResult("", {}, status, value, 3),), row_count=1
                    )
                left = max(0, left - 1)
                for key, decision, obs in decide_evaluation(alert, evaluation, known, at, []):
                    known[key] = decision.state
                    entry = HistoryEntry(
                        alert_name=alert.name,
                        dag_id=alert.dag_id,
                        instance_key=key,
                        evaluated_at=at,
                        run_type=RunType.SCHEDULED,
                        run_id=f"scheduled__{at.isoformat()}",
                        outcome=obs.outcome,
                        state=decision.state.state,
                        reason=decision.reason,
                        actual_value=obs.actual_value,
                        threshold=obs.threshold,
                        error=obs.error,
                        duration_ms=3,
                        events=tuple(e.kind for e in decision.events),
                    )
                    batch.append(history_to_row(entry))
                if len(batch) >= 20_000:
                    conn.execute(history.insert(), batch)
                    batch = []
            if batch:
                conn.execute(history.insert(), batch)
    finally:
        store.dispose()


def bench_replay(folder: Path, evaluations: int, reps: int) -> dict[str, Any]:
    from sqlsentinel_airflow.backtest.policy import parse_overrides
    from sqlsentinel_airflow.backtest.run import BacktestRequest, run_backtest
    from sqlsentinel_airflow.store import StateStore

    alert = _alert(folder)
    url = f"sqlite:///{folder / 'state.db'}"
    started = time.perf_counter()
    fill_history(url, alert, evaluations)
    fill_seconds = time.perf_counter() - started
    end = T0 + timedelta(minutes=evaluations)
    proposed = parse_overrides(["fire_after=3", "renotify_after=4h"])
    variants = {
        "replay_current": BacktestRequest(alert, T0, end),
        "replay_current_and_proposed": BacktestRequest(alert, T0, end, overrides=proposed),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    counts: dict[str, Any] = {}
    store = StateStore.connect(url)
    try:
        for _ in range(reps):
            for name, request in variants.items():  # interleaved
                t, c = time.perf_counter(), time.process_time()
                result = run_backtest(request, store=store)
                times[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
                assert result.evaluations == evaluations, result.evaluations
                counts[name] = [run.counts.to_dict() for run in result.runs]
    finally:
        store.dispose()
    return {
        "evaluations": evaluations,
        "fill_seconds": round(fill_seconds, 1),
        "seconds": {name: round(median(v), 2) for name, v in times.items()},
        "cpu_seconds": {name: round(median(v), 2) for name, v in cpu.items()},
        "all_seconds": {name: [round(x, 2) for x in v] for name, v in times.items()},
        "counts": counts,
    }


def _pg_warehouse(ticks: int) -> tuple[str, str]:
    """A fresh database with an orders table covering the ticks, and a login that may only
    read it (a normal run refuses a privileged one); (the name of both, the login's URL)."""
    import sqlalchemy as sa

    name = f"sst_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (created_at TIMESTAMPTZ, amount NUMERIC)"))
        conn.execute(sa.text("CREATE INDEX orders_at ON orders (created_at)"))
        conn.execute(
            sa.text(
                "INSERT INTO orders SELECT t, 10 FROM generate_series(CAST(:s AS TIMESTAMPTZ), "
                "CAST(:e AS TIMESTAMPTZ), interval '20 seconds') t "
                "WHERE extract(hour FROM t) <> 3"  # an outage every night at 03:00
            ),
            {"s": T0 - timedelta(hours=1), "e": T0 + timedelta(minutes=ticks + 1)},
        )
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN PASSWORD 'bench-reader'"))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{name}" TO {name}'))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {name}"))
        conn.execute(sa.text(f"GRANT SELECT ON orders TO {name}"))
    engine.dispose()
    reader = sa.engine.make_url(url).set(username=name, password="bench-reader")
    return name, reader.render_as_string(hide_password=False)


def _drop(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f"DROP ROLE IF EXISTS {name}"))
    admin.dispose()


def bench_as_of(folder: Path, ticks: int, reps: int) -> dict[str, Any]:
    from sqlsentinel_airflow.backtest.asof import AsOfStats
    from sqlsentinel_airflow.backtest.result import Source
    from sqlsentinel_airflow.backtest.run import BacktestRequest, run_backtest
    from sqlsentinel_airflow.service import QueryFetcher

    os.environ.setdefault("AIRFLOW_HOME", str(folder / "airflow-home"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # as `sqlsentinel backtest` runs (cli/main.py): Airflow's and our log lines quiet
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    name, url = _pg_warehouse(ticks)
    os.environ["DATABASE_URL"] = url
    alert = _alert(folder)
    request = BacktestRequest(alert, T0, T0 + timedelta(minutes=ticks), source=Source.AS_OF)
    fetcher = QueryFetcher()

    def run_query(sql: str) -> Any:
        return fetcher.fetch_for(alert, sql)()

    rows: list[dict[str, float]] = []
    try:
        run_query("SELECT 'OK' AS status")  # resolve the hook (imports Airflow) once, untimed
        for _ in range(reps):
            for concurrency in (1, 4):
                stats = AsOfStats()
                t = time.perf_counter()
                result = run_backtest(
                    request, run_query=run_query, concurrency=concurrency, stats=stats
                )
                wall = time.perf_counter() - t
                assert result.evaluations == ticks
                rows.append(
                    {
                        "concurrency": concurrency,
                        "wall_seconds": wall,
                        "query_seconds": stats.query_seconds,
                        "incidents": result.current.counts.incidents,
                    }
                )
    finally:
        _drop(name)
    serial = [r for r in rows if r["concurrency"] == 1]
    parallel = [r for r in rows if r["concurrency"] == 4]
    overhead = median([r["wall_seconds"] / r["query_seconds"] - 1 for r in serial])
    return {
        "ticks": ticks,
        "overhead_ratio": round(overhead, 3),
        "serial_wall_seconds": round(median([r["wall_seconds"] for r in serial]), 2),
        "serial_query_seconds": round(median([r["query_seconds"] for r in serial]), 2),
        "query_ms_per_tick": round(1000 * median([r["query_seconds"] for r in serial]) / ticks, 2),
        "concurrency_4_wall_seconds": round(median([r["wall_seconds"] for r in parallel]), 2),
        "incidents": serial[0]["incidents"],
        "runs": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=525_600)
    parser.add_argument("--ticks", type=int, default=2_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-pg", action="store_true", help="skip the as-of benchmark")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repetition")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.evaluations, args.ticks, args.reps = 2_000, 30, 1
    report: dict[str, Any] = {"machine_cpus": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="sst-bench-backtest-") as tmp:
        folder = Path(tmp)
        report["replay"] = bench_replay(folder, args.evaluations, args.reps)
        if not args.no_pg:
            report["as_of"] = bench_as_of(folder, args.ticks, args.reps)
    replay = report["replay"]
    lines = [
        markdown_table(
            ["replay of", "evaluations", "wall s (median)", "CPU s (median)", "target"],
            [
                [
                    name.replace("_", " "),
                    replay["evaluations"],
                    seconds,
                    replay["cpu_seconds"][name],
                    "≤ 10 s",
                ]
                for name, seconds in replay["seconds"].items()
            ],
        )
    ]
    if "as_of" in report:
        a = report["as_of"]
        lines.append(
            markdown_table(
                [
                    "as-of ticks",
                    "query time (sum)",
                    "wall, 1 at a time",
                    "overhead",
                    "wall, 4 at a time",
                ],
                [
                    [
                        a["ticks"],
                        f"{a['serial_query_seconds']} s",
                        f"{a['serial_wall_seconds']} s",
                        f"{100 * a['overhead_ratio']:.1f} %",
                        f"{a['concurrency_4_wall_seconds']} s",
                    ]
                ],
            )
        )
    print("\n\n".join(lines))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    else:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
