"""The README's first command works: ``scripts/demo --smoke`` brings Airflow up with the
example alerts, sees the error-rate alert FIRING, and leaves no process behind.

The demo runs in a temporary home (``SQLSENTINEL_DEMO_HOME``) on a free port, so it neither
touches a developer's ``.airflow-demo`` nor collides with an Airflow already running. While it
runs, every descendant process is recorded (once the demo exits, orphans would be re-parented
and could no longer be traced); afterwards none may be alive, and no process may still carry
the demo's AIRFLOW_HOME. The listening sockets of those processes are recorded too: with the
default host (127.0.0.1) none may listen on another address (``airflow standalone``'s log
servers listen on 0.0.0.0, which is why the demo starts the components itself), and a task
log must still be readable through the REST API (the demo reads one and says so).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scripts" / "demo"
TEST_TIMEOUT_S = 300  # the demo's own --timeout (180 s) plus a shutdown of up to ~50 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _with_airflow_home(home: Path) -> list[int]:
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def _listening(pids: set[int]) -> set[tuple[str, int, str]]:
    """(address, port, command) of every TCP socket one of ``pids`` listens on."""
    found = set()
    for pid in pids:
        try:
            process = psutil.Process(pid)
            sockets = process.net_connections(kind="tcp")
            command = " ".join(process.cmdline()[:3])
        except (psutil.Error, OSError):
            continue
        for conn in sockets:
            if conn.status == psutil.CONN_LISTEN:
                found.add((conn.laddr.ip, conn.laddr.port, command))
    return found


def test_demo_smoke_fires_and_leaves_nothing_running(tmp_path: Path) -> None:
    home = tmp_path / "airflow-demo"
    env = {**os.environ, "SQLSENTINEL_DEMO_HOME": str(home)}
    port = _free_port()
    proc = subprocess.Popen(
        [str(DEMO), "--smoke", "--port", str(port), "--timeout", "180"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    seen: set[int] = set()
    listening: set[tuple[str, int, str]] = set()
    deadline = time.monotonic() + TEST_TIMEOUT_S
    overran = True
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            seen |= _descendants(proc.pid)
            listening |= _listening(seen)
            time.sleep(0.5)
        overran = proc.poll() is None
    finally:
        if proc.poll() is None:  # it overran: stop it the way a terminal would, then harder
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        reader.join(timeout=10)
        leftovers = sorted({p for p in seen if _alive(p)} | set(_with_airflow_home(home)))
        described = [f"{p}: {_cmdline(p)}" for p in leftovers]
        for pid in leftovers:  # ours: started by the demo this test ran
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    output = "".join(lines)
    assert not overran, f"scripts/demo --smoke overran {TEST_TIMEOUT_S} s:\n{output}"
    assert proc.returncode == 0, output
    firing = re.search(
        r"first FIRING evaluation after ([\d.]+) s: api_error_rate = ([\d.]+)", output
    )
    assert firing is not None, output
    assert float(firing.group(2)) > 5  # the error rate the example warehouse was built with
    figures = re.search(r"smoke: healthy_s=([\d.]+) first_firing_s=([\d.]+)", output)
    assert figures is not None, output
    print(f"[e2e] demo: healthy after {figures[1]} s, first FIRING after {figures[2]} s")
    assert "smoke test passed" in output
    assert len(seen) >= 5, f"expected Airflow's processes among the demo's children: {seen}"
    assert described == [], "processes left running after scripts/demo --smoke:\n" + "\n".join(
        described
    )
    # everything listens on the chosen host (the default, 127.0.0.1), the API among them
    assert ("127.0.0.1", port) in {(ip, p) for ip, p, _ in listening}, listening
    elsewhere = sorted(s for s in listening if s[0] != "127.0.0.1")
    assert elsewhere == [], f"the demo listened beyond 127.0.0.1: {elsewhere}"
    # the task log, written by the task runner, is served by the api-server from the log folder
    log_line = re.search(r"task log of run (\S+) read through the REST API: (\d+) lines", output)
    assert log_line is not None, output
    assert int(log_line.group(2)) > 0
    # the scheduler's listener noted the firing on the run, which stayed green (success)
    note = re.search(r"the run's note in Airflow: (FIRING [\d.]+ \(threshold 5\))", output)
    assert note is not None, output
    print(f"[e2e] demo: run note {note.group(1)!r}")
