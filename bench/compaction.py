"""History compaction on a big state database: rows and bytes before and after, and its pace.

On a PostgreSQL database ``bench.bigstate --keep`` filled, compacts every alert's history
older than a day before its newest evaluation (``StateStore.compact_history``, what
``sqlsentinel purge`` runs; docs/operations.md, "Retention and compaction"), then
``VACUUM FULL`` so the sizes are the rows' own, and reports: rows, heap and total bytes of
the history before and after, the evaluations the older rows stand for, how long the pass
took, and its longest transaction (goal: under 1 s, evaluations keep running beside it).

    .venv/bin/python -m bench.bigstate --alerts 1000 --days 2 --db ss_compact2 --keep
    .venv/bin/python -m bench.compaction --reuse-db ss_compact2 --out bench/results/compaction-1000x2d.json
    .venv/bin/python -m bench.bigstate --drop ss_compact2

The database is changed (compacted); drop it afterwards.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import bigstate
from bench._stats import machine
from sqlsentinel_airflow.store import StateStore


def _sizes(engine: sa.Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        one = conn.exec_driver_sql
        return {
            "rows": one("SELECT count(*) FROM sqlsentinel_history").scalar(),
            "total_bytes": one("SELECT pg_total_relation_size('sqlsentinel_history')").scalar(),
            "heap_bytes": one("SELECT pg_relation_size('sqlsentinel_history')").scalar(),
            "evaluations": one(
                "SELECT sum(coalesce(repeats, 0) + 1) FROM sqlsentinel_history"
            ).scalar(),
        }


def run(db: str) -> dict[str, Any]:
    url = bigstate.database_url(db)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        before = _sizes(engine)
        with engine.connect() as conn:
            newest = conn.exec_driver_sql(
                "SELECT max(evaluated_at) FROM sqlsentinel_history"
            ).scalar()
        cutoff = newest - timedelta(days=1)
        batches: list[float] = []
        store = StateStore.connect(url)
        try:
            started = time.monotonic()
            done = store.compact_history(cutoff, on_batch=lambda _t, _n, s: batches.append(s))
            took = time.monotonic() - started
        finally:
            store.dispose()
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM FULL sqlsentinel_history")
            conn.exec_driver_sql("ANALYZE sqlsentinel_history")
            older_rows, older_evaluations = conn.exec_driver_sql(
                "SELECT count(*), sum(coalesce(repeats, 0) + 1) FROM sqlsentinel_history"
                " WHERE evaluated_at < %s",
                (cutoff,),
            ).one()
        after = _sizes(engine)
    finally:
        engine.dispose()
    raw_row = before["total_bytes"] / before["rows"]
    newer_rows = after["rows"] - older_rows
    compacted_bytes = after["total_bytes"] - newer_rows * raw_row
    return {
        "machine": machine(),
        "db": db,
        "cutoff": cutoff.isoformat(),
        "before": before,
        "after": after,
        "compaction": done,
        "seconds": round(took, 1),
        "rows_per_second": round(done["read"] / took) if took else None,
        "batches": len(batches),
        "longest_batch_s": round(max(batches, default=0.0), 3),
        "older": {"rows": older_rows, "evaluations": int(older_evaluations or 0)},
        "bytes_per_evaluation": {
            "one_row_each": round(raw_row, 1),
            "compacted": round(compacted_bytes / max(int(older_evaluations or 0), 1), 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse-db", required=True, help="a database bench.bigstate --keep filled")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    result = run(args.reuse_db)
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
