"""Small helpers shared by the benchmarks: medians, fresh-process runs, tables."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PYCACHE_PREFIX = Path(tempfile.gettempdir()) / "sqlsentinel-bench-pycache"


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def airflow_env(airflow_home: Path, **extra: str) -> dict[str, str]:
    """Environment for a child process with its own AIRFLOW_HOME and no example DAGs."""
    dropped = {"SQLSENTINEL_STATE_DB_URL", "PYTHONDONTWRITEBYTECODE"}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("_AIRFLOW_PARSING_CONTEXT") and k not in dropped
    }
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY="False",
        # Measure, do not time out: a parse over 30 s (the default) is reported as a finding.
        AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="600",
        # Deployed code has bytecode caches (pip compiles on install); an editable checkout
        # with PYTHONDONTWRITEBYTECODE=1 would recompile our modules on every parse. Caches
        # go to a private prefix, so the repository is not touched.
        PYTHONPYCACHEPREFIX=str(PYCACHE_PREFIX),
    )
    env.update(extra)
    return env


def run_json_child(args: Sequence[str], env: Mapping[str, str], timeout: float) -> dict[str, Any]:
    """Run a child that prints one JSON object as its last stdout line; return it."""
    proc = subprocess.run(
        list(args), env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(args)} printed no result:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def machine() -> dict[str, Any]:
    """The machine a result was measured on: CPUs, their model, load, versions, when."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor()
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    found: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "load_1_5_15min": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }
    for package in ("apache-airflow-core", "sqlalchemy", "psycopg2-binary"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    found["when"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return found


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
