"""DAG parsing on this release: a real DagBag, one bad alert isolated, the last valid version kept."""

from __future__ import annotations

import importlib.util
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


ASSET_ALERTS = """\
defaults: {conn_id: warehouse, timezone: Europe/Berlin}
alerts:
  - name: on_orders
    schedule: {assets: [s3://warehouse/orders, {name: payments}]}
    query: SELECT 'OK' AS status
  - name: on_orders_or_cron
    schedule: {assets: {any: [s3://warehouse/orders, s3://warehouse/refunds]}, cron: "0 */6 * * *"}
    produces: [s3://alerts/orders, {name: orders_errors, on: [error]}]
    query: SELECT 'OK' AS status
  - name: refused_by_airflow
    schedule: {assets: 'postgres://db:5432/warehouse'}
    query: SELECT 'OK' AS status
"""


def test_asset_schedules_and_produces_build_on_this_release(folder: Path) -> None:
    """docs/assets.md: the asset timetables and the produce tasks exist on every supported
    release (3.1 has AssetOrTimeSchedule and CronTriggerTimetable outside the task SDK)."""
    (folder / "alerts.yaml").write_text(ASSET_ALERTS)
    bag = _dagbag(folder)
    assert bag.import_errors == {}
    on_orders = bag.dags["sqlsentinel_on_orders"]
    assert type(on_orders.timetable).__name__ == "AssetTriggeredTimetable"
    refs = on_orders.timetable.asset_condition.objects
    assert [(getattr(r, "uri", None), getattr(r, "name", None)) for r in refs] == [
        ("s3://warehouse/orders", None),
        (None, "payments"),
    ]
    both = bag.dags["sqlsentinel_on_orders_or_cron"]
    assert type(both.timetable).__name__ == "AssetOrTimeSchedule"
    assert type(both.timetable.timetable).__name__ == "CronTriggerTimetable"
    assert type(both.timetable.asset_condition).__name__ == "AssetAny"
    tasks = {t.task_id: t for t in both.tasks}
    assert set(tasks) == {"evaluate", "produce_firing_resolved", "produce_error"}
    assert [a.uri for a in tasks["produce_firing_resolved"].outlets] == ["s3://alerts/orders"]
    # the postgres:// normalizer comes with the postgres provider: without it Airflow keeps
    # the URI as written, and so does the alert
    refused = bag.dags["sqlsentinel_refused_by_airflow"]
    if importlib.util.find_spec("airflow.providers.postgres") is not None:
        assert refused.schedule is None and "sqlsentinel-invalid" in refused.tags
        assert "must contain database, schema, and table names" in refused.doc_md
    else:
        assert refused.timetable.asset_condition.uri == "postgres://db:5432/warehouse"
