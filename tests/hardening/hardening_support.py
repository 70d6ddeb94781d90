"""Shared pieces of the hardening suites: the valid fixture files, bounded loading, and the
checks every hostile-config case must pass (no exception, bounded time, located errors).

Kept in one place so every suite measures the same thing the same way; the numbers in
docs/reliability.md come from these bounds.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

from sqlsentinel_airflow.core.config import LoadResult, load_config_text

ROOT = Path(__file__).resolve().parents[2]
NOTIFY_TESTS = ROOT / "tests" / "integration" / "notify"
if str(NOTIFY_TESTS) not in sys.path:  # the loopback SMTP/HTTP servers of the notify tests
    sys.path.append(str(NOTIFY_TESTS))
CONFIG_FIXTURES = ROOT / "tests" / "fixtures" / "config"
FIXTURE_FILES = {
    "example.yaml": CONFIG_FIXTURES / "example.yaml",
    "standalone.yaml": CONFIG_FIXTURES / "standalone.yaml",
    "dags_alerts.yaml": ROOT / "dags" / "alerts.yaml",
}
FIXTURE_ENV = {
    "DATABASE_URL": "sqlite:////tmp/hardening-warehouse.db",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/xyz",
    "PAGERDUTY_WEBHOOK": "https://events.pagerduty.com/generic/2010-04-15/create_event.json",
    "PAGERDUTY_TOKEN": "token",
}
MAX_SECONDS_PER_CASE = 15.0
"""A load slower than this counts as a hang. Loads take milliseconds; the margin is for
tracemalloc on a shared 2-CPU machine at load average 20 (5 s failed there once)."""
MAX_BOMB_PEAK_BYTES = 200 * 1024 * 1024
"""tracemalloc peak allowed while refusing an alias bomb."""


def fixture_text(name: str) -> str:
    return FIXTURE_FILES[name].read_text(encoding="utf-8")


def fixture_base_dir(name: str) -> Path:
    return FIXTURE_FILES[name].parent


@dataclass(frozen=True)
class TimedLoad:
    """One load and what it cost."""

    result: LoadResult
    seconds: float
    peak_bytes: int


def timed_load(text: str | bytes, name: str, *, measure_memory: bool = False) -> TimedLoad:
    """``load_config_text`` of ``text`` as file ``name``; any exception fails the test."""
    if measure_memory:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        result = load_config_text(
            text, f"fuzz/{name}", base_dir=fixture_base_dir(name), env=FIXTURE_ENV
        )
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
    finally:
        if measure_memory:
            tracemalloc.stop()
    return TimedLoad(result, seconds, peak)


def assert_well_behaved(load: TimedLoad, name: str) -> None:
    """The contract of the loader under hostile input (docs/reliability.md)."""
    result = load.result
    assert load.seconds < MAX_SECONDS_PER_CASE, f"load took {load.seconds:.1f}s"
    if result.config is None:
        assert result.errors, "no config and no error: the file was silently dropped"
        assert result.file_errors, "no config but no file-level error says why"
    for error in result.errors:
        assert error.file == f"fuzz/{name}", error.format()
        assert error.line is not None and error.line >= 1, f"unlocated: {error.format()}"
        assert error.format().startswith(f"fuzz/{name}:{error.line}"), error.format()
        assert error.message.strip(), "empty message"
    if result.config is not None:
        assert not result.file_errors, "a file error but a config anyway"
