"""A migrated Airflow metadata DB (SQLite, in the suite's private AIRFLOW_HOME) for dag.test()."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def airflow_db(airflow_home: Path) -> Path:
    """``airflow db migrate`` once per test process; returns the dags folder dag.test() syncs."""
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    dags = airflow_home / "dags"
    dags.mkdir(exist_ok=True)
    return dags
