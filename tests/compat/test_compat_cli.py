"""Every ``sqlsentinel`` command on this release: its exit code, and never a raw traceback."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import SENTINEL, Env, run

# (arguments, expected exit code); {alerts} is the DAG folder's alerts.yaml
COMMANDS: list[tuple[list[str], int]] = [
    (["--version"], 0),
    (["validate", "{alerts}"], 0),
    (["validate", "{alerts}", "--check-connections"], 0),
    (["validate", "{alerts}", "--format", "json"], 0),
    (["run", "{alerts}", "--alert", "daily_revenue", "--dry-run"], 0),
    (["status", "{alerts}"], 0),
    (["history", "--limit", "5"], 0),
    (["outbox"], 0),
    (["silence", "daily_revenue", "--for", "1h", "--reason", "compat"], 0),
    (["silences"], 0),
    (["unsilence", "daily_revenue"], 0),
    (["schema"], 0),
    (["purge", "--older-than", "90d"], 0),
    (["notify-test", "{alerts}", "--alert", "daily_revenue"], 0),
    (["validate", "{missing}"], 2),
]


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr[-4000:]


@pytest.mark.parametrize(("args", "code"), COMMANDS, ids=[" ".join(a) for a, _ in COMMANDS])
def test_command(env: Env, args: list[str], code: int) -> None:
    argv = [a.format(alerts=env.alerts, missing=env.home / "missing.yaml") for a in args]
    done = run([SENTINEL, *argv])
    _no_traceback(done)
    assert done.returncode == code, done.stderr[-4000:]


def test_check_connections_names_an_undefined_connection(env: Env) -> None:
    broken = env.home / "undefined-conn.yaml"
    broken.write_text(env.alerts.read_text().replace("conn_id: warehouse", "conn_id: nowhere"))
    done = run([SENTINEL, "validate", str(broken), "--check-connections", "--format", "json"])
    _no_traceback(done)
    assert done.returncode == 2, done.stderr
    assert "nowhere" in json.dumps(json.loads(done.stdout))


def test_run_fires_with_fail_on_alert(env: Env) -> None:
    done = run(
        [SENTINEL, "run", str(env.alerts), "--alert", "error_rate", "--dry-run", "--fail-on-alert"]
    )
    _no_traceback(done)
    assert done.returncode == 3, done.stderr[-4000:]


def test_notify_test_delivers_by_email_and_slack(env: Env) -> None:
    """The smtp and slack providers of this release, through their hooks."""
    done = run([SENTINEL, "notify-test", str(env.alerts), "--alert", "channels"])
    _no_traceback(done)
    assert done.returncode == 0, done.stderr[-4000:]
    assert [m["To"] for m in env.receiver.mails] == ["oncall@example.com"]
    assert len(env.receiver.slack) == 1
    assert "blocks" in env.receiver.slack[0]
