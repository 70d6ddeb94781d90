"""The throughput benchmark (bench/throughput.py) still runs end to end (docs/benchmarks.md).

A real Airflow deployment (api-server, scheduler, dag-processor, triggerer; LocalExecutor on
a PostgreSQL metadata database of its own) runs three alert DAGs and three plain
``SQLExecuteQueryOperator`` DAGs once each. Timings are noise at this size and are never
asserted; the shape of the results, the counts and zero failures are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
DAGS = 3

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.e2e]


def test_throughput_benchmark_runs_both_variants(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.throughput",
            "--dags",
            str(DAGS),
            "--reps",
            "1",
            "--warmup",
            "0",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "\n|---|" in proc.stdout and "ratio ours/plain" in proc.stdout, proc.stdout[-1500:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert out.with_suffix(".md").read_text(encoding="utf-8").strip() == proc.stdout.strip()

    assert (results["dags"], results["reps"], results["parallelism"]) == (DAGS, 1, 8)
    assert (results["executor"], results["metadata_db"]) == ("LocalExecutor", "postgresql")
    assert [r["variant"] for r in results["runs"]] == ["ours", "plain"]
    for run in results["runs"]:
        name = run["variant"]
        assert run["rep"] == 1, name
        assert run["task_instances"] == run["successes"] == DAGS, (name, run)
        assert run["failures"] == run["failed_runs"] == run["retries"] == 0, (name, run)
        assert run["wall_s"] > 0 and run["runs_per_min"] > 0, (name, run)
        assert run["first_start_s"] >= 0, (name, run)  # nothing ran before the unpause
        # Every task was queued after the clock started, so none took longer than the wall.
        assert 0 < run["p50_queued_to_success_s"] <= run["p95_queued_to_success_s"], run
        assert run["p95_queued_to_success_s"] <= run["wall_s"] + 0.5, (name, run)
        assert run["runs_per_min"] == pytest.approx(DAGS / run["wall_s"] * 60)

    summary = results["summary"]
    assert set(summary["variants"]) == {"ours", "plain"}
    for name, entry in summary["variants"].items():
        assert entry["reps"] == 1 and entry["failures"] == 0, name
    ours, plain = (summary["variants"][v]["runs_per_min"] for v in ("ours", "plain"))
    assert summary["ratio_runs_per_min_ours_over_plain"] == pytest.approx(ours / plain)
    assert summary["target_0_9_met"] is (ours / plain >= 0.9)

    # The metadata database the benchmark created is gone again.
    admin = sa.create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as conn:
            left = conn.execute(
                sa.text("SELECT count(*) FROM pg_database WHERE datname = :name"),
                {"name": results["metadata_database"]},
            ).scalar_one()
    finally:
        admin.dispose()
    assert left == 0
