"""docs/backtests.md: the documented commands run against a state database the real engine
filled, and print what the page shows."""

from __future__ import annotations

import io
import json
import shlex
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from docs_snippets import text

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

ALERTS = """\
alerts:
  - name: orders_stalled
    conn_id: warehouse
    schedule: "0 * * * *"
    renotify_after: 2h
    query: |
      SELECT CASE WHEN count(*) < 10 THEN 'ALERT' ELSE 'OK' END AS status,
             count(*) AS actual_value, 10 AS threshold
      FROM orders WHERE created_at > now() - interval '1 hour'
    notify:
      - channel: email
        to: [oncall@example.com]
      - channel: slack
        conn_id: slack_alerts
        channel: "#data-alerts"
"""
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def _command(snippet: str) -> list[str]:
    words = shlex.split(text(snippet).replace("\\\n", " "))
    assert words[:2] == ["sqlsentinel", "backtest"]
    return words[1:]


@pytest.fixture
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-hour blip at 10:00, a five-hour incident from 21:00, hourly, as real runs."""
    (tmp_path / "alerts.yaml").write_text(ALERTS)
    config = load_config(str(tmp_path / "alerts.yaml")).config
    assert config is not None
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore.connect(url)
    values = [20] * 10 + [2] + [20] * 10 + [0] * 5 + [20] * 10
    try:
        for i, value in enumerate(values):
            status = "ALERT" if value < 10 else "OK"
            evaluate_alert(
                config.alert("orders_stalled"),
                fetch=lambda s=status, v=value: _Rows(  # type: ignore[misc]
                    ["status", "actual_value", "threshold"], [[s, v, 10]]
                ),
                store=store,
                run_type=RunType.SCHEDULED,
                clock=lambda i=i: T0 + timedelta(hours=i),  # type: ignore[misc]
            )
    finally:
        store.dispose()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", url)
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _run(args: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(args)
    return code, stdout.getvalue(), stderr.getvalue()


def test_the_documented_replay_prints_the_documented_output(filled: Path) -> None:
    code, stdout, stderr = _run(_command("backtest-replay"))
    assert code == 0, stderr
    assert [line.rstrip() for line in stdout.splitlines()] == text(
        "backtest-replay-output"
    ).splitlines()


def test_the_documented_bad_set_messages(filled: Path) -> None:
    args = [
        *_command("backtest-replay")[:8],
        "--set",
        "fire_afer=2",
        "--set",
        "renotify_after=soon",
    ]
    code, _stdout, stderr = _run(args)
    assert code == 2
    assert stderr.splitlines() == text("backtest-bad-set").splitlines()


def test_the_documented_json_fields(filled: Path) -> None:
    words = shlex.split(text("backtest-json").replace("\\\n", " "))
    pipe = words.index("|")
    args = words[1:pipe]
    assert words[pipe + 1 : pipe + 2] == ["jq"]
    args[args.index("--from") + 1] = "2026-11-01"  # the fixture's range, not the last 30 days
    code, stdout, stderr = _run([*args, "--to", "2026-11-03"])
    assert code == 0, stderr
    data = json.loads(stdout)
    # what the jq filter reads
    assert [
        (r["label"], r["counts"]["incidents"], r["counts"]["messages"]) for r in data["runs"]
    ] == [("current", 2, 12)]


def test_the_documented_as_of_command_parses_and_needs_its_warehouse(filled: Path) -> None:
    from sqlsentinel_airflow.cli.main import build_parser

    args = build_parser().parse_args(_command("backtest-as-of"))
    assert (args.source, args.concurrency, args.overrides) == ("as-of", 4, ["fire_after=2"])
    assert (args.start, args.end) == ("2026-10-01", "2026-10-31")


def test_the_benchmark_command_runs_a_module_that_takes_its_flags() -> None:
    import subprocess
    import sys

    words = text("bench-backtest").split()
    assert words[:3] == [".venv/bin/python", "-m", "bench.backtest"]
    helped = subprocess.run(
        [sys.executable, "-m", "bench.backtest", "--help"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr
    for flag in (w for w in words if w.startswith("--")):
        assert flag in helped.stdout
