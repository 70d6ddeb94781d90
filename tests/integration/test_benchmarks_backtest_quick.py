"""bench/backtest.py still runs and its results are well-formed (docs/benchmarks.md,
"Backtests"). Tiny sizes, one repetition; only the shape is asserted, never a speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]


def test_backtest_benchmark_runs_replay_and_as_of(tmp_path: Path) -> None:
    out = tmp_path / "backtest.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.backtest", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "\n|---|" in proc.stdout, proc.stdout[-1000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    replay = report["replay"]
    assert replay["evaluations"] == 2000
    assert set(replay["seconds"]) == {"replay_current", "replay_current_and_proposed"}
    current, proposed = replay["counts"]["replay_current_and_proposed"]
    assert current["evaluations"] == proposed["evaluations"] == 2000
    as_of = report["as_of"]
    assert as_of["ticks"] == 30 and as_of["serial_query_seconds"] > 0
    assert {r["concurrency"] for r in as_of["runs"]} == {1, 4}
