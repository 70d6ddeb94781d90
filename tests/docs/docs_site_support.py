"""Helpers of the docs tests: run documented commands, normalise what is volatile, compare.

Volatile parts only: timestamps, durations, event ids and temporary paths. Everything else
a page shows must be what the command printed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from docs_snippets import REPO

VENV_BIN = Path(sys.executable).parent

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?: ?UTC|Z|[+-]\d\d:\d\d)?")
_DURATION = re.compile(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b")
_EVENT_ID = re.compile(r"\bevent [0-9a-f]{8}\b")


def assert_module_takes(module: str, flags: list[str]) -> None:
    """``python -m module --help`` runs and names every one of ``flags`` (a command a page
    gives: its program exists and accepts what the page passes it)."""
    helped = subprocess.run(
        [str(VENV_BIN / "python"), "-m", module, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert helped.returncode == 0, helped.stderr
    for flag in flags:
        assert flag in helped.stdout, f"{module} has no {flag}"


def normalise(text: str) -> str:
    """Timestamps, durations and event ids replaced by placeholders of the same shape."""
    text = _TIMESTAMP.sub("<TIME>", text)
    text = _EVENT_ID.sub("event <ID>", text)
    return _DURATION.sub("<DURATION>", text)


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def docs_env(airflow_home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A shell environment like a user's: the venv's commands first, a private AIRFLOW_HOME."""
    # Nothing of the test run's own settings leaks in: connections, our config, SMTP_* (the
    # standalone tool's variables), and the log level `sqlsentinel` sets in its own process
    # (a test that called `cli.main.main` in-process left WARNING behind, and `airflow dags
    # test` then printed no task log lines).
    private = (
        "AIRFLOW_CONN_",
        "_AIRFLOW",
        "AIRFLOW__SQLSENTINEL__",
        "AIRFLOW__LOGGING__",
        "SQLSENTINEL_",
        "SMTP_",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(private)}
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(airflow_home / "dags"),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def run_shell(
    script: str,
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 180,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """A documented shell snippet, run as bash runs it (``set -e``: any failing line fails)."""
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check:
        assert done.returncode == 0, (
            f"rc={done.returncode}\n$ {script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def console_steps(snippet_text: str) -> list[tuple[str, list[str]]]:
    """A console snippet's ``$ command`` lines, each with the output lines that follow it."""
    steps: list[tuple[str, list[str]]] = []
    for line in snippet_text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip():
            steps[-1][1].append(line)
    return steps


def markdown_table(page: Path, heading: str) -> list[list[str]]:
    """Rows (cells stripped, header row dropped) of the first table after ``heading`` in ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    rows: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]


def commands_of(snippet_text: str) -> list[str]:
    """The commands of a bash snippet: continuation lines joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", snippet_text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


@contextmanager
def background(
    command: list[str], *, cwd: Path, env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A process started in its own group, stopped by PID: SIGINT, then SIGKILL."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)


def wait_for_port(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


__all__ = [
    "REPO",
    "VENV_BIN",
    "background",
    "commands_of",
    "docs_env",
    "free_port",
    "lines_of",
    "normalise",
    "run_shell",
    "wait_for_port",
]
