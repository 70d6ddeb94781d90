"""``sqlsentinel status FILE`` of two checkouts of the code, A/B in one run.

Two long-lived child processes, one per checkout (its directory first on ``PYTHONPATH``),
each call ``cli.main.main(["status", FILE, "--state-db", URL])`` in-process when told to, as
``bench.scale``'s CLI reads do (stdout kept in memory, not printed). The parent alternates
them (A B, then B A, ...) after one warm-up call each, so load on a shared machine falls on
both alike, and reports each side's median and maximum wall time and CPU time (the child's
own: the database server's CPU is not in it), and whether both printed the same bytes.
FILE is the alerts file ``bench.bigstate.alerts_yaml`` builds for ``--alerts``, on a state
database ``bench.bigstate --keep`` filled (docs/benchmarks.md, section 5):

    git worktree add /tmp/status-before <commit>    # the code before
    .venv/bin/python -m bench.status_ab --reuse-db ss_shared2 --before /tmp/status-before \\
        --reps 15 --out bench/results/status-ab.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent


# --- the child: no import of bench (the checkout on PYTHONPATH may not have this module) ------


def child(url: str, alerts_file: str, formats: Sequence[str]) -> int:
    """Answer each ``go`` line on stdin with one call's figures as a JSON line."""
    from sqlsentinel_airflow.cli.main import main

    reply = sys.stdout
    argv = ["status", alerts_file, "--state-db", url, *formats]
    for line in sys.stdin:
        if line.strip() != "go":
            break
        printed, err = io.StringIO(), io.StringIO()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(err):
            code = main(list(argv))
        wall = (time.perf_counter() - wall0) * 1000
        cpu = (time.process_time() - cpu0) * 1000
        text = printed.getvalue().encode()
        figures = {
            "code": code,
            "wall_ms": round(wall, 1),
            "cpu_ms": round(cpu, 1),
            "bytes": len(text),
            "sha256": hashlib.sha256(text).hexdigest()[:16],
            "stderr": err.getvalue()[-2000:] if code else "",
        }
        reply.write(json.dumps(figures) + "\n")
        reply.flush()
    return 0


# --- the parent ---------------------------------------------------------------------------------


class Side:
    """One checkout's child process."""

    def __init__(self, label: str, code_dir: Path, url: str, alerts_file: Path, json_out: bool):
        self.label = label
        env = {**os.environ, "PYTHONPATH": str(code_dir)}
        command = [sys.executable, str(Path(__file__).resolve()), "--child", url, str(alerts_file)]
        if json_out:
            command.append("--json")
        self.proc = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.calls: list[dict[str, Any]] = []

    def call(self) -> dict[str, Any]:
        stdin: IO[str] | None = self.proc.stdin
        stdout: IO[str] | None = self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write("go\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label}: the child ended (exit {self.proc.wait()})")
        figures: dict[str, Any] = json.loads(line)
        if figures["code"] != 0:
            raise RuntimeError(
                f"{self.label}: status exited {figures['code']}: {figures['stderr']}"
            )
        return figures

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summary(calls: Sequence[dict[str, Any]]) -> dict[str, Any]:
    wall = [c["wall_ms"] for c in calls]
    cpu = [c["cpu_ms"] for c in calls]
    return {
        "median_ms": round(_median(wall), 1),
        "max_ms": max(wall),
        "cpu_median_ms": round(_median(cpu), 1),
        "cpu_max_ms": max(cpu),
        "runs_ms": wall,
        "cpu_runs_ms": cpu,
    }


def run(
    url: str, *, alerts: int, before: Path, after: Path, reps: int, json_out: bool = False
) -> dict[str, Any]:
    """``reps`` alternating calls of each side after a warm-up call each."""
    from bench import bigstate
    from bench._stats import machine

    result: dict[str, Any] = {
        "alerts": alerts,
        "reps": reps,
        "format": "json" if json_out else "table",
        "before": str(before),
        "after": str(after),
        "machine": machine(),
        "load_before": os.getloadavg(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="ss-status-ab-") as tmp:
        alerts_file = Path(tmp) / "alerts.yaml"
        alerts_file.write_text(bigstate.alerts_yaml(bigstate.big_alerts(alerts)), encoding="utf-8")
        old_cache = os.environ.get("SQLSENTINEL_CACHE_DIR")
        os.environ["SQLSENTINEL_CACHE_DIR"] = str(Path(tmp) / "cache")  # SQL verdicts kept
        sides = [
            Side("before", before, url, alerts_file, json_out),
            Side("after", after, url, alerts_file, json_out),
        ]
        try:
            warm = {side.label: side.call() for side in sides}
            same = 0
            for rep in range(reps):
                pair = {}
                for side in sides if rep % 2 == 0 else sides[::-1]:
                    pair[side.label] = figures = side.call()
                    side.calls.append(figures)
                same += pair["before"]["sha256"] == pair["after"]["sha256"]
        finally:
            for side in sides:
                side.close()
            if old_cache is None:
                os.environ.pop("SQLSENTINEL_CACHE_DIR", None)
            else:
                os.environ["SQLSENTINEL_CACHE_DIR"] = old_cache
    result["first"] = {label: figures for label, figures in warm.items()}
    for side in sides:
        result[side.label] = summary(side.calls)
    result["same_output_pairs"] = f"{same}/{reps}"
    result["bytes"] = {side.label: side.calls[-1]["bytes"] for side in sides}
    result["load_after"] = os.getloadavg()
    return result


def report(result: dict[str, Any]) -> str:
    rows = ["| code | median ms | max ms | CPU median ms | CPU max ms |", "|---|---|---|---|---|"]
    for label in ("before", "after"):
        s = result[label]
        rows.append(
            f"| {label} | {s['median_ms']} | {s['max_ms']} | {s['cpu_median_ms']} "
            f"| {s['cpu_max_ms']} |"
        )
    load = ", ".join(f"{x:.1f}" for x in result["load_before"])
    rows.append(f"\nsame output in {result['same_output_pairs']} pairs; load before: {load}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse-db", help="the state database bench.bigstate --keep filled")
    parser.add_argument("--alerts", type=int, default=1000, help="as generated")
    parser.add_argument("--before", type=Path, help="a checkout of the code before")
    parser.add_argument("--after", type=Path, default=REPO, help="(default: this checkout)")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="time --format json instead")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "status-ab.json")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child, ["--format", "json"] if args.json else [])
    if not args.reuse_db or not args.before:
        parser.error("--reuse-db DB and --before DIR are required")
    from bench import bigstate

    result = run(
        bigstate.database_url(args.reuse_db),
        alerts=args.alerts,
        before=args.before.resolve(),
        after=args.after.resolve(),
        reps=args.reps,
        json_out=args.json,
    )
    result = {"db": args.reuse_db, **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
