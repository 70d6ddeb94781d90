"""docs/assets.md, "Runs when the data lands": every example loads through the real loader,
editors accept it, the triggers read as the page shows, the DAGs it shows parse in a real
DagBag with the asset condition the page describes, and the ``extra`` it shows is what the
produce task records for such an evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from docs_snippets import text

from sqlsentinel_airflow.core.config import json_schema, load_config_text
from sqlsentinel_airflow.core.config.yamlpos import parse_yaml
from sqlsentinel_airflow.dags.assets import asset_event_extra

DAG_FILE = """\
# airflow dag file: the alerts of alerts.yaml
from sqlsentinel_airflow import load_alert_dags
load_alert_dags("alerts.yaml", globals())
"""
ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/docs"}


def _load(snippet_id: str, tmp_path: Path) -> Any:
    sql = tmp_path / "sql"
    sql.mkdir(exist_ok=True)
    for name in ("orders", "revenue", "stock", "orders_loaded", "refunds"):
        (sql / f"{name}.sql").write_text("SELECT 'OK' AS status\n", encoding="utf-8")
    loaded = load_config_text(text(snippet_id), "alerts.yaml", base_dir=tmp_path, env=ENV)
    assert loaded.ok and loaded.warnings == [], [e.format() for e in loaded.errors]
    document, problems = parse_yaml(text(snippet_id))  # YAML 1.2 like editors: `on` is a key
    assert document is not None and not problems
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(document.value)) == []
    assert loaded.config is not None
    return loaded.config


@pytest.mark.parametrize(
    "snippet_id",
    [
        "assets-forms-yaml",
        "assets-load-alerts-yaml",
        "assets-or-cron-yaml",
        "assets-produces-yaml",
    ],
)
def test_every_example_loads_and_editors_accept_it(snippet_id: str, tmp_path: Path) -> None:
    _load(snippet_id, tmp_path)


def test_the_forms_read_as_the_page_shows(tmp_path: Path) -> None:
    config = _load("assets-forms-yaml", tmp_path)
    shown = [f"{a.name}: {a.trigger}" for a in config.alerts]
    assert shown == text("assets-forms-triggers").splitlines()


def test_assets_or_cron_reads_as_the_page_says(tmp_path: Path) -> None:
    (alert,) = _load("assets-or-cron-yaml", tmp_path).alerts
    assert alert.trigger == (
        "when s3://warehouse/orders is updated, or at least on 0 */6 * * * in Europe/Berlin"
    )


@pytest.mark.airflow
def test_the_load_dag_and_the_alert_parse_and_the_alert_waits_for_its_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.dag_processing.dagbag import DagBag

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)

    (tmp_path / "load_orders.py").write_text(text("assets-load-dag"), encoding="utf-8")
    (tmp_path / "ticket_on_orders_alert.py").write_text(
        text("assets-consumer-dag"), encoding="utf-8"
    )
    (tmp_path / "alerts.yaml").write_text(text("assets-load-alerts-yaml"), encoding="utf-8")
    (tmp_path / "sqlsentinel_alerts.py").write_text(DAG_FILE, encoding="utf-8")
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    (outlet,) = bag.dags["load_orders"].tasks[0].outlets
    condition = bag.dags["sqlsentinel_orders_loaded_too_few"].timetable.asset_condition
    assert condition.uri == outlet.uri == "s3://warehouse/orders"  # the reference matches it
    consumer = bag.dags["ticket_on_orders_alert"]
    assert [a.uri for a in consumer.timetable.asset_condition.objects] == [
        "s3://alerts/orders_loaded_too_few"
    ]


@pytest.mark.airflow
def test_produces_makes_the_tasks_the_page_names(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    _load("assets-produces-yaml", tmp_path)
    (tmp_path / "alerts.yaml").write_text(text("assets-produces-yaml"), encoding="utf-8")
    (tmp_path / "sqlsentinel_alerts.py").write_text(DAG_FILE, encoding="utf-8")
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    dag = bag.dags["sqlsentinel_orders_loaded_too_few"]
    assert sorted(t.task_id for t in dag.tasks) == [
        "evaluate",
        "produce_error",
        "produce_firing_resolved",
    ]
    follower = bag.dags["sqlsentinel_refunds_after_orders_alert"]
    assert follower.timetable.asset_condition.uri == "s3://alerts/orders_loaded_too_few"


def test_the_extra_shown_is_what_a_firing_evaluation_records() -> None:
    shown = json.loads(text("assets-produces-extra"))
    report = {  # the evaluate task's XCom for a first firing (the fields it reads)
        "dry_run": False,
        "state": "firing",
        "events": [
            {
                "kind": "firing",
                "instance_key": "",
                "reason": "first ALERT result",
                "reason_code": "first_firing",
                "outbox_ids": [1],
                "channels": ["slack"],
            }
        ],
    }
    extra = asset_event_extra(
        report,
        ("firing", "resolved"),
        alert=shown["alert"],
        dag_id=shown["dag_id"],
        run_id=shown["run_id"],
    )
    assert extra == shown
    assert asset_event_extra(report, ("error",), alert="a", dag_id="d", run_id="r") is None
    assert (
        asset_event_extra(
            {**report, "dry_run": True}, ("firing",), alert="a", dag_id="d", run_id="r"
        )
        is None
    )
