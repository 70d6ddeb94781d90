"""The benchmarks in bench/ still run and produce well-formed results (docs/benchmarks.md).

Tiny sizes, one repetition, fresh processes as in a real run. Timings are machine noise at
these sizes, so only the shape of the results is asserted, never a speed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.evaluation import peer_has_postgres_driver

REPO = Path(__file__).resolve().parents[2]
PEER_CLI = REPO / "bench" / ".peer-venv" / "bin" / "sqlsentinel"

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]


def _run_bench(module: str, out: Path, *args: str) -> Any:
    proc = subprocess.run(
        [sys.executable, "-m", module, *args, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "\n|---|" in proc.stdout, proc.stdout[-1000:]  # the markdown table was printed
    return json.loads(out.read_text(encoding="utf-8"))


def test_parse_benchmark_runs_every_variant(tmp_path: Path) -> None:
    summaries = _run_bench("bench.parse", tmp_path / "parse.json", "--sizes", "6", "--reps", "1")

    assert [s["size"] for s in summaries] == [6]
    variants = summaries[0]["variants"]
    expected = {
        "bare",
        "floor",
        "ours_cold",
        "ours_edited",
        "ours_warm",
        "single_warm",
        "single_cold",
    }
    if importlib.util.find_spec("dagfactory") is not None:
        expected.add("dagfactory")
    assert set(variants) == expected
    assert variants["floor"]["dags"] == variants["bare"]["dags"] == 6
    assert variants["ours_cold"]["dags"] == variants["ours_warm"]["dags"] == 7  # + config watch
    assert variants["ours_edited"]["dags"] == 7
    assert variants["single_warm"]["dags"] == variants["single_cold"]["dags"] == 1
    if "dagfactory" in variants:
        assert variants["dagfactory"]["dags"] == 6
    for name, m in variants.items():
        assert m["reps"] == 1, name
        assert 0 < m["parse_s"] <= m["total_s"], name
        assert m["maxrss_mb"] >= m["baseline_rss_mb"] > 0, name
    assert variants["single_warm"]["serialize_s"] == 0  # a task start does not serialise
    ratios = summaries[0]["ratios"]
    assert {"ours_cold/floor", "ours_edited/floor", "ours_warm/floor"} <= set(ratios)
    assert {"floor/bare", "ours_cold/bare", "ours_warm/bare"} <= set(ratios)
    assert "single_warm/ours_warm" in ratios
    assert all(r > 0 for r in ratios.values())


def test_parse_benchmark_measures_the_code_before_a_change_interleaved(tmp_path: Path) -> None:
    """``--before DIR``: ours warm with the package imported from DIR (here this checkout)."""
    summaries = _run_bench(
        "bench.parse",
        tmp_path / "ab.json",
        *("--sizes", "4", "--reps", "1", "--variants", "bare,ours_warm", "--before", str(REPO)),
    )
    variants = summaries[0]["variants"]
    assert set(variants) == {"bare", "ours_warm", "ours_warm_before"}
    assert variants["ours_warm_before"]["dags"] == variants["ours_warm"]["dags"] == 5
    assert summaries[0]["ratios"]["ours_warm_before/bare_cpu"] > 0


def test_evaluation_benchmark_runs_on_sqlite_and_postgres(tmp_path: Path) -> None:
    results = _run_bench(
        "bench.evaluation", tmp_path / "eval.json", "--alerts", "3", "--reps", "1", "--pg"
    )

    assert results["alerts"] == 3
    assert set(results["state"]) == {"sqlite", "postgres"}
    for kind, s in results["state"].items():
        assert s["engine_s"] > 0 and s["engine_first_round_s"] > 0 and s["fetch_s"] > 0, kind
        assert len(s["raw"]["cli_inprocess_big"]) == len(s["raw"]["ours_process_small"]) == 1
        assert "ours_process_per_alert_s" in s and "cli_inprocess_per_alert_s" in s, kind
        assert all(t > 0 for t in s["raw"]["ours_process_cpu_big"]), kind  # CPU is measured
        assert "ours_process_first_per_alert_s" in s, kind  # and without kept SQL verdicts
    # The standalone tool runs only where its venv exists, on PostgreSQL only with psycopg2.
    assert ("standalone_process_per_alert_s" in results["state"]["sqlite"]) == PEER_CLI.exists()
    on_pg = PEER_CLI.exists() and peer_has_postgres_driver()
    assert ("standalone_process_per_alert_s" in results["state"]["postgres"]) == on_pg
