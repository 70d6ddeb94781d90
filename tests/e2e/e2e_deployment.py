"""A real Airflow deployment as local processes, for the e2e tests.

``AirflowDeployment`` runs the components users run (``airflow api-server``, ``scheduler``,
``dag-processor``, ``triggerer``, and for Celery ``airflow celery worker``) as separate
processes, each in its own process group, on a PostgreSQL metadata database of its own. It
waits for ``/api/v2/monitor/health`` and stops every process it started by PID (SIGINT to
its group, then SIGKILL). Intervals are shortened so scenarios take seconds, not minutes.

``Api`` is a small client of Airflow's REST API (JWT from ``/auth/token``) with the waits the
scenarios need. Every wait polls a condition with a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from e2e_receivers import free_port

__all__ = ["AirflowDeployment", "Api", "WaitTimeout", "wait_until"]

T = TypeVar("T")
AIRFLOW = str(Path(sys.executable).parent / "airflow")
ADMIN = "admin"


class WaitTimeout(AssertionError):
    pass


def _has_exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether ``process`` exited, without reaping it (its PID stays reserved until then)."""
    if process.returncode is not None:
        return True
    try:
        info = os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 1.0,
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (httpx.HTTPError, OSError) as exc:  # a component restarting: try again
            last_error = exc
        if time.monotonic() > deadline:
            detail = on_timeout() if on_timeout else ""
            raise WaitTimeout(
                f"timed out after {timeout:.0f}s waiting for {what}"
                + (f" (last error: {last_error})" if last_error else "")
                + (f"\n{detail}" if detail else "")
            )
        time.sleep(interval)


@dataclass
class Api:
    """Airflow's REST API as the admin user."""

    base_url: str
    password: str
    _client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.base_url, timeout=30.0)

    def login(self) -> None:
        response = self._client.post(
            "/auth/token", json={"username": ADMIN, "password": self.password}
        )
        response.raise_for_status()
        self._client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._client.request(method, path, **kwargs)
        if response.status_code == 401:  # token expired: log in again once
            self.login()
            response = self._client.request(method, path, **kwargs)
        return response

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params or None)
        response.raise_for_status()
        return response.json()

    # --- DAGs and runs -----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return dict(self._client.get("/api/v2/monitor/health").json())

    def dags(self, tag: str | None = None) -> dict[str, dict[str, Any]]:
        params: dict[str, Any] = {"limit": 500}
        if tag:
            params["tags"] = tag
        return {d["dag_id"]: d for d in self.get("/api/v2/dags", **params)["dags"]}

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        response = self.request("GET", f"/api/v2/dags/{quote(dag_id)}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs, oldest first."""
        data = self.get(f"/api/v2/dags/{quote(dag_id)}/dagRuns", limit=100, order_by="run_after")
        return list(data["dag_runs"])

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = self.request(
            "POST",
            f"/api/v2/dags/{quote(dag_id)}/dagRuns",
            json={"logical_date": None, "conf": dict(conf or {})},
        )
        response.raise_for_status()
        return dict(response.json())

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        path = f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{task_id}"
        return dict(self.get(path))

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = (
            f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{task_id}"
            f"/xcomEntries/{key}"
        )
        response = self.request("GET", path, params={"deserialize": "true"})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        value = response.json()["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        path = (
            f"/api/v2/dags/{quote(dag_id)}/dagRuns/{quote(run_id)}/taskInstances/{task_id}"
            f"/logs/{try_number}"
        )
        response = self.request(
            "GET", path, params={"full_content": "true"}, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        content = response.json().get("content", [])
        lines = []
        for item in content:
            if isinstance(item, dict):
                lines.append(str(item.get("event", "")))
                if item.get("error_detail"):
                    lines.append(json.dumps(item["error_detail"]))
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def wait_for_run(
        self,
        dag_id: str,
        match: Callable[[dict[str, Any]], bool],
        *,
        states: tuple[str, ...] = ("success", "failed"),
        timeout: float,
        what: str,
    ) -> dict[str, Any]:
        """The first run (oldest first) that ``match`` accepts and that reached ``states``."""

        def find() -> dict[str, Any] | None:
            for run in self.runs(dag_id):
                if match(run) and run["state"] in states:
                    return run
            return None

        return wait_until(
            find,
            timeout=timeout,
            what=what,
            interval=2.0,
            on_timeout=lambda: json.dumps(
                [(r["dag_run_id"], r["state"], r["run_type"]) for r in self.runs(dag_id)]
            ),
        )


class AirflowDeployment:
    """Airflow components as processes on one machine, sharing a PostgreSQL metadata DB."""

    def __init__(
        self,
        root: Path,
        *,
        metadata_url: str,
        executor: str = "LocalExecutor",
        extra_env: Mapping[str, str] | None = None,
        package_dag_file: Path,
    ) -> None:
        self.root = root
        self.home = root / "airflow_home"
        self.dags = root / "dags"
        self.logs = root / "process_logs"
        for folder in (self.home, self.dags, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        self.executor = executor
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.api = Api(f"http://127.0.0.1:{self.port}", self.password)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._log_handles: list[Any] = []
        (self.dags / package_dag_file.name).write_bytes(package_dag_file.read_bytes())
        passwords = self.home / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({ADMIN: self.password}))
        self.env = self._environment(metadata_url, passwords, extra_env or {})

    def _environment(
        self, metadata_url: str, passwords: Path, extra: Mapping[str, str]
    ) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__DEFAULT_TIMEZONE": "UTC",
                "AIRFLOW__CORE__FERNET_KEY": "",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "5",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": self.api.base_url,
                "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api.base_url}/execution/",
                # Ports of their own: other Airflows may run on this machine at the same time.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                # Short intervals: a scenario should take seconds, not the defaults' minutes.
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
                "AIRFLOW__DAG_PROCESSOR__STALE_DAG_THRESHOLD": "10",
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__SCHEDULER__PARSING_CLEANUP_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "60",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    # --- processes -----------------------------------------------------------------------------

    def run_cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AIRFLOW, *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def migrate(self) -> float:
        started = time.monotonic()
        result = self.run_cli("db", "migrate", timeout=600)
        if result.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stdout}\n{result.stderr}")
        return time.monotonic() - started

    def start_process(
        self, name: str, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._log_handles.append(log)
        process = subprocess.Popen(
            [AIRFLOW, *args],
            env={**self.env, **(env or {})},
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped with its children
        )
        self.processes[name] = process
        return process

    def start_core(self) -> None:
        self.start_process("api-server", "api-server", "--port", str(self.port))
        self.start_process("scheduler", "scheduler")
        self.start_process("dag-processor", "dag-processor")
        self.start_process("triggerer", "triggerer")

    def start_celery_worker(
        self, name: str, *, queue: str, concurrency: int = 4
    ) -> subprocess.Popen[bytes]:
        """A Celery worker whose task instances report ``name`` as their hostname.

        Both workers run on this machine, so the real hostname could not tell them apart;
        ``[core] hostname_callable`` makes each one look like its own machine.
        """
        helper = self.root / "e2e_worker_hostname.py"
        helper.write_text(
            'import os\n\n\ndef hostname() -> str:\n    return os.environ["E2E_WORKER_NAME"]\n'
        )
        return self.start_process(
            name,
            "celery",
            "worker",
            "--celery-hostname",
            f"{name}@%h",
            "--concurrency",
            str(concurrency),
            "--queues",
            queue,
            "--pid",
            str(self.home / f"{name}.pid"),
            "--skip-serve-logs",
            env={
                "E2E_WORKER_NAME": name,
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "e2e_worker_hostname.hostname",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(self.root), os.environ.get("PYTHONPATH", "")) if p
                ),
            },
        )

    def wait_healthy(self, timeout: float = 240) -> float:
        """Wait until the API answers and every component reports healthy; seconds waited."""
        started = time.monotonic()

        def healthy() -> bool:
            self._check_alive()
            health = self.api.health()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            return all((health.get(p) or {}).get("status") == "healthy" for p in parts)

        wait_until(
            healthy,
            timeout=timeout,
            what="Airflow health",
            interval=1.0,
            on_timeout=self.log_tails,
        )
        self.api.login()
        return time.monotonic() - started

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if not name.startswith("killed-") and _has_exited(process):
                raise RuntimeError(f"{name} exited\n{self.log_tail(name)}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the process group of component ``name`` and reap it."""
        process = self.processes.pop(name)
        self.processes[f"killed-{name}"] = process
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop(self, grace: float = 20.0) -> None:
        """SIGINT every process group we started, then SIGKILL what is still there.

        Leaders are reaped only after their group got its SIGKILL: until then a leader's
        PID (the group's id) cannot be reused, so the signals reach our processes only.
        """
        ours = [p for p in self.processes.values() if p.returncode is None]
        for process in ours:
            if not _has_exited(process):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and not all(_has_exited(p) for p in ours):
            time.sleep(0.2)
        for process in ours:
            # The group may outlive its leader (task processes, server workers).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        for process in ours:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        for handle in self._log_handles:
            handle.close()
        self.api.close()

    # --- diagnostics ---------------------------------------------------------------------------

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {name} ---\n" + "\n".join(text)

    def log_tails(self) -> str:
        return "\n".join(self.log_tail(p.stem, 25) for p in sorted(self.logs.glob("*.log")))
