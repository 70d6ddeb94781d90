"""docker-compose.airflow.yaml: valid for Debian's docker-compose, and the deployment it promises.

No Docker engine exists in CI, so the file is never run there; ``docker-compose config -q``
validates it offline (scripts/test installs Debian's ``docker-compose``), and the rest of
these checks read it: the components, their health checks, the mounted dags folder, the
image built from docker/Dockerfile on Airflow 3.3.2. tests/e2e runs the same components as
processes.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.airflow.yaml"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)


def _docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.fail(
            "docker-compose is required (apt-get install docker-compose; scripts/test does)"
        )
    return path


def _config(compose_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_docker_compose(), "-f", str(compose_file), "config", "-q"],
        cwd=compose_file.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The file as docker-compose resolves it (anchors and merges applied)."""
    result = subprocess.run(
        [_docker_compose(), "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def test_docker_compose_config_accepts_the_file() -> None:
    result = _config(COMPOSE)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_the_validation_rejects_what_debian_docker_compose_does_not_support(
    tmp_path: Path,
) -> None:
    # The check has teeth: a key newer than docker-compose v1 (and a typo) fails it.
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(
        "services:\n  web:\n    image: nginx\n    healthcheck:\n"
        "      test: ['CMD', 'true']\n      start_interval: 5s\n",
        encoding="utf-8",
    )
    result = _config(broken)
    assert result.returncode != 0
    assert "start_interval" in result.stderr


def test_every_airflow_component_runs_with_a_health_check(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in (*AIRFLOW_SERVICES, "postgres", "mailpit"):
        assert "healthcheck" in services[name], name
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }
    assert "/api/v2/monitor/health" in " ".join(
        services["airflow-apiserver"]["healthcheck"]["test"]
    )
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name


def test_the_image_is_built_from_airflow_3_3_2_with_the_package(resolved: dict[str, Any]) -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG AIRFLOW_VERSION=3.3.2" in dockerfile
    assert "FROM apache/airflow:${AIRFLOW_VERSION}" in dockerfile
    assert '"/opt/sqlsentinel[postgres]"' in dockerfile
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        build = resolved["services"][name]["build"]
        assert Path(build["dockerfile"]).name == "Dockerfile", name
        assert build["args"]["AIRFLOW_VERSION"] == "3.3.2"


def test_dags_are_mounted_and_state_and_metadata_live_on_postgres(
    resolved: dict[str, Any],
) -> None:
    for name in AIRFLOW_SERVICES:
        service = resolved["services"][name]
        targets = {
            v["target"] if isinstance(v, dict) else v.split(":")[1] for v in service["volumes"]
        }
        assert "/opt/airflow/dags" in targets, name
        env = service["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
        assert env["AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID"] == "sqlsentinel_state"
        assert env["AIRFLOW_CONN_SQLSENTINEL_STATE"].startswith("postgresql://")
        assert "airflow-apiserver:8080" in env["AIRFLOW_CONN_SQLSENTINEL_AIRFLOW_API"]
        assert '"host": "mailpit"' in env["AIRFLOW_CONN_SMTP_DEFAULT"]
    init_sql = (ROOT / "docker" / "postgres-init" / "01-sqlsentinel-state-db.sql").read_text()
    assert "CREATE DATABASE sqlsentinel" in init_sql
