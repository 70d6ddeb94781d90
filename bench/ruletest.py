"""``sqlsentinel test dags/alerts.test.yaml``: the wall time of the whole command (goal <= 3 s).

One fresh process per repetition, as CI and the pre-commit hook run it: interpreter start,
imports (the CLI, the state store, sqlglot, DuckDB), loading and checking both files, and
every test of the example file (10 tests, 18 steps on the embedded engine). One untimed
warm-up run first fills the bytecode caches, as in an installed environment. Reported: the
median and the maximum over the repetitions, with the 1-minute load of the machine.

    .venv/bin/python -m bench.ruletest --reps 7
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench._stats import REPO, median

GOAL_S = 3.0


def _run_once(test_file: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sqlsentinel_airflow.cli.main", "test", str(test_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"sqlsentinel test failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--file", type=Path, default=REPO / "dags" / "alerts.test.yaml")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ruletest.json")
    args = parser.parse_args(argv)
    _run_once(args.file)  # warm-up: bytecode caches
    times = [_run_once(args.file) for _ in range(args.reps)]
    result = {
        "file": str(args.file.relative_to(REPO)),
        "reps": args.reps,
        "seconds": [round(t, 3) for t in times],
        "median_s": round(median(times), 3),
        "max_s": round(max(times), 3),
        "goal_s": GOAL_S,
        "load_1min": os.getloadavg()[0],
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    verdict = "meets" if result["median_s"] <= GOAL_S else "misses"
    print(
        f"sqlsentinel test {result['file']}: median {result['median_s']:.2f} s, max "
        f"{result['max_s']:.2f} s over {args.reps} runs ({verdict} the {GOAL_S:.0f} s goal; "
        f"load {result['load_1min']:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
