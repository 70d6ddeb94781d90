"""Airflow's components for ``scripts/demo``, every listening socket on one chosen address.

    python scripts/demo_airflow.py --host 127.0.0.1 --port 8080

What ``airflow standalone`` starts (an initialised metadata database, then the scheduler, the
dag-processor, the triggerer and the api-server, their output in one stream prefixed by
component), with one difference: ``airflow standalone`` lets the scheduler and the triggerer
start Airflow's log servers (ports 8793 and 8794), which listen on every interface (0.0.0.0)
with no setting to change it. Here those two start with ``--skip-serve-logs`` and the
api-server with ``--host``, so nothing listens beyond ``--host``. Task logs are still readable
in the UI and the REST API: the LocalExecutor writes them to ``$AIRFLOW_HOME/logs`` on this
machine, where the api-server reads them.

SIGINT or SIGTERM stops every component (SIGTERM, then SIGKILL after 30 s) and exits; when a
component exits by itself, the others are stopped too and this exits 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STOP_GRACE_S = 30.0
SIMPLE_AUTH_MANAGER = (
    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
)


def components(host: str, port: int) -> dict[str, list[str]]:
    """Each component's command line (``airflow`` from the venv of this Python)."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    return {
        "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer", "--skip-serve-logs"],
        "api-server": [airflow, "api-server", "--host", host, "--port", str(port)],
    }


def _forward(name: str, stream: object, lock: threading.Lock) -> None:
    for raw in stream:  # type: ignore[attr-defined]
        line = raw.decode("utf-8", errors="replace").rstrip()
        with lock:
            print(f"{name:<13} | {line}", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="the one address anything listens on")
    parser.add_argument("--port", type=int, required=True, help="the api-server's port")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"  # as `airflow standalone` forces it
    env["AIRFLOW__CORE__AUTH_MANAGER"] = SIMPLE_AUTH_MANAGER
    env["AIRFLOW__API__HOST"] = args.host
    env["AIRFLOW__API__PORT"] = str(args.port)
    airflow = str(Path(sys.executable).with_name("airflow"))
    lock = threading.Lock()

    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    print("demo-airflow  | checking the metadata database (airflow db migrate)", flush=True)
    migrate = subprocess.run(
        [airflow, "db", "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    if migrate.returncode != 0 or stopping.is_set():
        sys.stdout.write(migrate.stdout.decode("utf-8", errors="replace"))
        print(f"demo-airflow  | airflow db migrate exited {migrate.returncode}", flush=True)
        return 1

    running: dict[str, subprocess.Popen[bytes]] = {}
    for name, command in components(args.host, args.port).items():
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        running[name] = proc
        threading.Thread(target=_forward, args=(name, proc.stdout, lock), daemon=True).start()
        print(
            f"demo-airflow  | started {name} (PID {proc.pid}): {' '.join(command[1:])}", flush=True
        )
    rc = 0
    while not stopping.is_set():
        exited = [name for name, proc in running.items() if proc.poll() is not None]
        if exited:
            for name in exited:
                print(f"demo-airflow  | {name} exited {running[name].returncode}", flush=True)
            rc = 1
            break
        time.sleep(0.5)

    print("demo-airflow  | stopping the components", flush=True)
    for proc in running.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for name, proc in running.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"demo-airflow  | {name} did not stop in time: SIGKILL", flush=True)
            proc.kill()
            proc.wait()
    print("demo-airflow  | stopped", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
