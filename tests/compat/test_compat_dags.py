"""DAG parsing on this release: a real DagBag, one bad alert isolated, the last valid version kept."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import CHANNELS, DAG_FILE, FIRING, OK, WATCH, Env

ERRORS_DAG = "sqlsentinel_config_errors"


def _dagbag(folder: Path) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag
    from sqlsentinel_airflow.dags import manifest

    manifest.clear_memory_cache()  # as a new dag-processor process would
    return DagBag(dag_folder=str(folder))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "sqlsentinel_alerts.py").write_text(DAG_FILE)
    return tmp_path


def test_the_dag_folder_parses(env: Env) -> None:
    bag = _dagbag(env.dags)
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {FIRING, OK, CHANNELS, WATCH}
    assert bag.dags[FIRING].get_task("evaluate").alert.name == "error_rate"


def test_a_broken_alert_is_isolated_and_an_edit_keeps_the_last_valid_version(
    env: Env, folder: Path
) -> None:
    good = env.alerts.read_text()
    shutil.copy(env.alerts, folder / "alerts.yaml")
    assert set(_dagbag(folder).dags) >= {FIRING, OK}

    (folder / "alerts.yaml").write_text(good.replace('"0 9 * * *"', '"every morning"'))
    bag = _dagbag(folder)
    assert bag.import_errors == {}
    assert {FIRING, OK, ERRORS_DAG} <= set(bag.dags)
    assert bag.dags[FIRING].schedule == "*/5 * * * *"  # untouched alert
    kept = bag.dags[OK]
    assert kept.schedule == "0 9 * * *"  # its last valid version runs
    assert "sqlsentinel-stale" in kept.tags
    assert "every morning" in bag.dags[ERRORS_DAG].doc_md

    (folder / "alerts.yaml").write_text(good + "  - {name: [unclosed\n")
    bag = _dagbag(folder)
    assert bag.import_errors == {}
    assert {FIRING, OK, ERRORS_DAG} <= set(bag.dags)
    assert "YAML syntax error" in bag.dags[ERRORS_DAG].doc_md
