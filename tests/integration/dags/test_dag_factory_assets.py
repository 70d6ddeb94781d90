"""Alerts scheduled on assets and producing assets (docs/assets.md), as a real DagBag parses
them: the timetable, its asset condition, the produce tasks and their outlets, and an asset
Airflow refuses (in a schedule, `produces` or a freshness check) turned into a located error
without hiding the other alerts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.airflow

ALERTS = """\
defaults:
  conn_id: wh
  timezone: Europe/Berlin
alerts:
  - name: on_one
    schedule: {assets: s3://warehouse/orders}
    query: "SELECT 'OK' AS status"
  - name: on_all
    schedule:
      assets: [s3://a, {name: b}]
    query: "SELECT 'OK' AS status"
  - name: on_nested
    schedule:
      assets: {any: [S3://a/, {all: ['postgres://db/w/public/orders', {name: c}]}]}
    query: "SELECT 'OK' AS status"
  - name: on_assets_or_cron
    schedule: {assets: s3://warehouse/orders, cron: "0 */6 * * *"}
    query: "SELECT 'OK' AS status"
  - name: disabled_on_assets
    enabled: false
    schedule: {assets: s3://warehouse/orders}
    query: "SELECT 'OK' AS status"
  - name: producer
    schedule: "@hourly"
    produces:
      - s3://alerts/orders_low
      - {name: orders_alerts, on: [firing]}
      - {uri: 'x-alerts://errors', on: [error, firing]}
    query: "SELECT 'OK' AS status"
"""


def _expression(dag: Any) -> Any:
    return _expr(dag.timetable.asset_condition)


def _expr(node: Any) -> Any:
    """The condition as nested dicts (the task SDK's references have no ``as_expression``)."""
    from airflow.sdk import AssetAll, AssetAny

    if isinstance(node, (AssetAll, AssetAny)):
        return {"all" if isinstance(node, AssetAll) else "any": [_expr(o) for o in node.objects]}
    uri, name = getattr(node, "uri", None), getattr(node, "name", None)
    return {"asset_ref": {"uri": uri} if uri is not None else {"name": name}}


def test_asset_schedules_become_airflow_timetables(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable
    from airflow.sdk.definitions.timetables.simple import NullTimetable

    from sqlsentinel_airflow.airflow_compat import AssetOrTimeSchedule, CronTriggerTimetable

    write_alerts(ALERTS)
    bag = parse()
    assert bag.import_errors == {}
    assert "sqlsentinel_config_errors" not in bag.dags

    one = bag.dags["sqlsentinel_on_one"]
    assert type(one.timetable) is AssetTriggeredTimetable
    assert _expression(one) == {"asset_ref": {"uri": "s3://warehouse/orders"}}

    every = bag.dags["sqlsentinel_on_all"]
    assert _expression(every) == {
        "all": [{"asset_ref": {"uri": "s3://a/"}}, {"asset_ref": {"name": "b"}}]
    }
    # URIs are normalized by Airflow's Asset first (scheme case, the path's trailing slash,
    # the postgres default port), as the stored asset a reference resolves to is
    nested = bag.dags["sqlsentinel_on_nested"]
    assert _expression(nested) == {
        "any": [
            {"asset_ref": {"uri": "s3://a/"}},
            {
                "all": [
                    {"asset_ref": {"uri": "postgres://db:5432/w/public/orders"}},
                    {"asset_ref": {"name": "c"}},
                ]
            },
        ]
    }

    both = bag.dags["sqlsentinel_on_assets_or_cron"]
    assert isinstance(both.timetable, AssetOrTimeSchedule)
    assert isinstance(both.timetable.timetable, CronTriggerTimetable)
    assert both.timetable.timetable.expression == "0 */6 * * *"
    zone = both.timetable.timetable.timezone
    assert getattr(zone, "name", zone) == "Europe/Berlin"
    assert _expression(both) == {"asset_ref": {"uri": "s3://warehouse/orders"}}

    disabled = bag.dags["sqlsentinel_disabled_on_assets"]
    assert disabled.schedule is None and isinstance(disabled.timetable, NullTimetable)
    assert (
        "disabled (`enabled: false`): manual runs only; written: when s3://warehouse/orders is "
        "updated" in disabled.doc_md
    )
    assert (
        "**Schedule:** when s3://warehouse/orders is updated, or at least on 0 */6 * * * in "
        "Europe/Berlin" in both.doc_md
    ), both.doc_md


def test_the_serialized_dag_keeps_the_condition(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    """What the scheduler gets: the serialized timetable with its asset condition."""
    from airflow.serialization.serialized_objects import DagSerialization

    write_alerts(ALERTS)
    bag = parse()
    serialized = DagSerialization.to_dict(bag.dags["sqlsentinel_on_assets_or_cron"])
    timetable = serialized["dag"]["timetable"]
    assert timetable["__type"] == "airflow.timetables.assets.AssetOrTimeSchedule"
    text = json.dumps(timetable)
    assert "s3://warehouse/orders" in text and "0 */6 * * *" in text
    restored = DagSerialization.from_dict(serialized)
    assert "s3://warehouse/orders" in json.dumps(restored.timetable.asset_condition.as_expression())


def test_produces_becomes_one_task_per_set_of_kinds_with_outlets(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    from airflow.sdk import Asset

    from sqlsentinel_airflow.airflow_contract import read_definition
    from sqlsentinel_airflow.operators.produces import ProducedAssetsOperator

    write_alerts(ALERTS)
    dag = parse().dags["sqlsentinel_producer"]
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {
        "evaluate",
        "produce_firing_resolved",
        "produce_firing",
        "produce_error_firing",
    }
    for task_id, outlets in {
        "produce_firing_resolved": [Asset(uri="s3://alerts/orders_low")],
        "produce_firing": [Asset(name="orders_alerts")],
        "produce_error_firing": [Asset(uri="x-alerts://errors")],
    }.items():
        task = tasks[task_id]
        assert isinstance(task, ProducedAssetsOperator)
        assert task.outlets == outlets
        assert task.upstream_task_ids == {"evaluate"}
        assert task.trigger_rule == "all_done"
    definition = read_definition(dag.doc_md)
    assert definition is not None
    assert definition.produces == (
        "s3://alerts/orders_low on firing, resolved",
        "{name: orders_alerts} on firing",
        "x-alerts://errors on error, firing",
    )
    assert "**Produces:** s3://alerts/orders_low on firing, resolved;" in dag.doc_md


def test_definitions_carry_the_trigger_and_the_written_condition(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    from sqlsentinel_airflow.airflow_contract import AlertDefinition, read_definition
    from sqlsentinel_airflow.core.config.assets import AssetRef, parse_asset_condition

    write_alerts(ALERTS)
    bag = parse()
    nested = read_definition(bag.dags["sqlsentinel_on_nested"].doc_md)
    assert nested is not None
    assert nested.schedule == ""
    assert nested.trigger == (
        "when any of (S3://a/, (postgres://db/w/public/orders and {name: c})) is updated"
    )
    assert parse_asset_condition(nested.assets).items[0] == AssetRef(uri="S3://a/")  # type: ignore[union-attr]
    cron = read_definition(bag.dags["sqlsentinel_producer"].doc_md)
    assert cron is not None and cron.assets is None and cron.schedule == "@hourly"
    # a definition embedded before assets existed still reads, as a cron one
    old = AlertDefinition.model_validate({"name": "x", "schedule": "0 9 * * *"})
    assert (old.assets, old.trigger, old.produces) == (None, "", ())
    assert dict(old.facts())["Schedule"] == "`0 9 * * *` in UTC"


def test_an_asset_airflow_refuses_is_a_located_error_and_the_rest_run(
    write_alerts: Callable[[str], Path], parse: Callable[[], Any]
) -> None:
    """postgres:// needs database, schema and table (Airflow's normalizer, 3.1 and 3.3)."""
    write_alerts(
        ALERTS
        + """\
  - name: bad_postgres
    schedule: {assets: 'postgres://db:5432/warehouse'}
    query: "SELECT 'OK' AS status"
  - name: bad_produced
    schedule: "@daily"
    produces: 'postgres://db:5432/warehouse'
    query: "SELECT 'OK' AS status"
  - name: bad_freshness
    schedule: "@daily"
    freshness: {asset: 'postgres://db:5432/warehouse', within: 6h}
"""
    )
    bag = parse()
    assert bag.import_errors == {}
    assert "sqlsentinel_on_one" in bag.dags and "sqlsentinel_producer" in bag.dags
    for dag_id, path in (
        ("sqlsentinel_bad_postgres", "alerts[6].schedule.assets"),
        ("sqlsentinel_bad_produced", "alerts[7].produces"),
        ("sqlsentinel_bad_freshness", "alerts[8].freshness.asset"),
    ):
        bad = bag.dags[dag_id]
        assert bad.schedule is None and "sqlsentinel-invalid" in bad.tags
        assert (
            f"{path}: Airflow refuses the asset postgres://db:5432/warehouse: URI format "
            "postgres:// must contain database, schema, and table names" in bad.doc_md
        ), bad.doc_md
    errors = bag.dags["sqlsentinel_config_errors"].doc_md
    assert "alerts.yaml:30 alerts[6].schedule.assets: Airflow refuses the asset" in errors
