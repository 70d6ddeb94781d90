"""The alert the Backtest panel replays (``ui/backtest.py``): the settings the serialized DAG
runs, the manifest's channels when it has the same alert, and the body's proposed settings
as ``--set`` reads them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlsentinel_airflow.airflow_contract import AlertDefinition
from sqlsentinel_airflow.core.config.loader import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.model import FlapPolicy
from sqlsentinel_airflow.dags.factory import alert_definition
from sqlsentinel_airflow.ui.backtest import (
    BacktestBody,
    BacktestRejected,
    alert_to_backtest,
    overrides_of,
)

ALERTS = """\
alerts:
  - name: late_tables
    conn_id: wh
    schedule: "*/10 * * * *"
    key_columns: [table_name]
    query: SELECT 'a' AS table_name, 'OK' AS status
    notify:
      - channel: email
        to: [oncall@example.com]
"""
RUNNING = AlertDefinition(
    name="late_tables",
    schedule="0 * * * *",  # changed since the manifest was written: the DAG's wins
    timezone="Europe/Paris",
    query="SELECT 1",
    fire_after=3,
    resolve_after=2,
    renotify_after_seconds=7200,
    notify_on_error=None,
    key_columns=("table_name",),
)


def _manifest_alert() -> AlertConfig:
    config = load_config_text(ALERTS, "alerts.yaml", env={}).config
    assert config is not None
    return config.alert("late_tables")


def test_the_dag_settings_on_the_manifest_alert() -> None:
    alert = alert_to_backtest(RUNNING, _manifest_alert(), "late_tables")
    assert (alert.schedule, alert.timezone, alert.key_columns) == (
        "0 * * * *",
        "Europe/Paris",
        ("table_name",),
    )
    assert (alert.fire_after, alert.resolve_after, alert.notify_on_error) == (3, 2, None)
    assert alert.renotify_after == timedelta(hours=2)
    assert [c.channel for c in alert.notify] == ["email"]  # from the manifest


def test_without_the_manifest_alert_no_channels() -> None:
    other = _manifest_alert().model_copy(update={"name": "renamed"})
    for manifest in (None, other):
        alert = alert_to_backtest(RUNNING, manifest, "p_late_tables")
        assert (alert.name, alert.dag_id, alert.fire_after, alert.notify) == (
            "late_tables",
            "p_late_tables",
            3,
            (),
        )


def test_the_dag_s_flap_detection_goes_with_it() -> None:
    manifest = _manifest_alert().model_copy(
        update={"flap_detection": FlapPolicy(3, timedelta(hours=1), timedelta(minutes=5))}
    )
    assert alert_to_backtest(RUNNING, manifest, "late_tables").policy.flap is None  # the DAG's
    defined = alert_definition(manifest)
    assert (defined.flap_changes, defined.flap_window_seconds) == (3, 3600)
    flap = alert_to_backtest(defined, None, "late_tables").policy.flap
    assert flap == FlapPolicy(3, timedelta(hours=1), timedelta(minutes=5))


def test_an_unparsed_dag_without_a_manifest_is_refused() -> None:
    with pytest.raises(BacktestRejected, match="has not been parsed yet"):
        alert_to_backtest(None, None, "late_tables")
    assert alert_to_backtest(None, _manifest_alert(), "late_tables").schedule == "*/10 * * * *"


def test_proposed_settings_read_as_set_reads_them() -> None:
    body = BacktestBody.model_validate(
        {
            "start": "2026-11-01T00:00:00Z",
            "end": "2026-11-02T00:00:00Z",
            "proposed": {
                "fire_after": "3",
                "renotify_after": "4h",
                "notify_on_recovery": False,
                "notify_on_error": "never",
            },
        }
    )
    assert overrides_of(body) == {
        "fire_after": 3,
        "renotify_after": timedelta(hours=4),
        "notify_on_recovery": False,
        "notify_on_error": None,
    }
    body = body.model_copy(update={"proposed": {"fire_after": 0, "resolve_after": "x"}})
    with pytest.raises(BacktestRejected) as caught:
        overrides_of(body)
    assert str(caught.value).startswith("fire_after: ")
    assert "; resolve_after: " in str(caught.value)


def test_an_alert_on_assets_comes_back_with_its_condition() -> None:
    """docs/assets.md: the definition carries the condition as written, so the panel's alert
    runs on assets too (and an as-of backtest then says it has no ticks)."""
    from sqlsentinel_airflow.core.config.assets import AssetAny, AssetRef

    on_assets = _manifest_alert().model_copy(
        update={
            "schedule": None,
            "assets": AssetAny(items=(AssetRef(uri="s3://a"), AssetRef(name="b"))),
        }
    )
    defined = alert_definition(on_assets)
    assert (defined.schedule, defined.assets) == ("", {"any": ["s3://a", {"name": "b"}]})
    for manifest in (on_assets, None):
        alert = alert_to_backtest(defined, manifest, "late_tables")
        assert (alert.schedule, alert.assets) == (None, on_assets.assets)
