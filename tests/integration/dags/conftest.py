"""A DAG folder per test: the example DAG file plus an alerts file, parsed by a real DagBag.

DagBag parsing needs no metadata DB. Manifests go to the suite's private AIRFLOW_HOME
(tests/conftest.py), under a path derived from each test's own folder, so tests never share
one; the in-process manifest cache is cleared around each test for the same reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sqlsentinel_airflow.dags import manifest

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dags"
SLACK_SECRET = "https://hooks.slack.com/services/T0/B0/slack-secret-token"


@pytest.fixture(autouse=True)
def _fresh_process_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", SLACK_SECRET)
    monkeypatch.delenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", raising=False)
    monkeypatch.delenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", raising=False)
    manifest.clear_memory_cache()
    yield
    manifest.clear_memory_cache()


@pytest.fixture
def secrets() -> tuple[str, ...]:
    """Strings from valid_alerts.yaml (and its environment) that must never be shown."""
    return (SLACK_SECRET, "webhook-secret-token", "db-secret-pw", "hooks.example.com")


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    """A folder holding the example DAG file (``load_alert_dags("alerts.yaml", globals())``)."""
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(FIXTURES / "alert_dags.py", folder / "alert_dags.py")
    return folder


@pytest.fixture
def write_alerts(dag_folder: Path) -> Callable[[str], Path]:
    """``write_alerts("valid_alerts")`` or ``write_alerts(yaml_text)``: the folder's alerts.yaml."""

    def _write(fixture_or_text: str) -> Path:
        target = dag_folder / "alerts.yaml"
        fixture = FIXTURES / f"{fixture_or_text}.yaml"
        if "\n" not in fixture_or_text and fixture.is_file():
            shutil.copy(fixture, target)
        else:
            target.write_text(fixture_or_text, encoding="utf-8")
        return target

    return _write


@pytest.fixture
def parse(dag_folder: Path) -> Callable[[], DagBag]:
    """``parse()``: a fresh DagBag over the test's DAG folder, as the dag processor builds it."""

    def _parse() -> DagBag:
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=str(dag_folder), safe_mode=True)

    return _parse
