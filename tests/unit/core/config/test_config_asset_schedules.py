"""``schedule:`` on assets and ``produces:`` in alerts.yaml (docs/assets.md): the forms, what
the resolved alert holds, and every mistake located at its line and YAML path."""

from __future__ import annotations

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.assets import AssetAll, AssetAny, AssetRef, ProducedAsset
from sqlsentinel_airflow.core.config.models import AlertConfig

HEAD = "defaults: {conn_id: wh}\nalerts:\n"
QUERY = "    query: \"SELECT 'OK' AS status\"\n"


def _one(body: str) -> AlertConfig:
    result = load_config_text(HEAD + "  - name: a\n" + QUERY + body)
    assert result.ok, [str(e) for e in result.errors]
    assert result.config is not None
    return result.config.alerts[0]


def _errors(body: str, defaults: str = "defaults: {conn_id: wh}\n") -> list[str]:
    result = load_config_text(defaults + "alerts:\n  - name: a\n" + QUERY + body)
    return [str(e) for e in result.errors]


def test_cron_string_is_unchanged() -> None:
    alert = _one('    schedule: "0 9 * * *"\n')
    assert (alert.schedule, alert.assets, alert.produces) == ("0 9 * * *", None, ())
    assert alert.trigger == "0 9 * * * in UTC"


def test_one_asset() -> None:
    alert = _one("    schedule: {assets: s3://warehouse/orders}\n")
    assert alert.schedule is None
    assert alert.assets == AssetRef(uri="s3://warehouse/orders")
    assert alert.trigger == "when s3://warehouse/orders is updated"


def test_a_list_means_all() -> None:
    alert = _one("    schedule:\n      assets: [s3://a, {name: b}]\n")
    assert alert.assets == AssetAll(items=(AssetRef(uri="s3://a"), AssetRef(name="b")))
    assert alert.trigger == "when s3://a and {name: b} are updated"


def test_nested_any_all() -> None:
    alert = _one("    schedule:\n      assets: {any: [s3://a, {all: [s3://b, {name: c}]}]}\n")
    assert isinstance(alert.assets, AssetAny)
    assert alert.trigger == "when any of (s3://a, (s3://b and {name: c})) is updated"


def test_assets_or_cron() -> None:
    alert = _one(
        '    timezone: Europe/Berlin\n    schedule: {assets: s3://a, cron: "0 */6 * * *"}\n'
    )
    assert (alert.schedule, alert.assets) == ("0 */6 * * *", AssetRef(uri="s3://a"))
    assert alert.trigger == "when s3://a is updated, or at least on 0 */6 * * * in Europe/Berlin"


def test_defaults_may_give_an_asset_schedule_and_an_alert_replaces_it() -> None:
    text = (
        "defaults: {conn_id: wh, schedule: {assets: s3://a}}\nalerts:\n"
        "  - name: a\n" + QUERY + "  - name: b\n" + QUERY + '    schedule: "@daily"\n'
    )
    result = load_config_text(text)
    assert result.ok, [str(e) for e in result.errors]
    assert result.config is not None
    a, b = result.config.alerts
    assert (a.schedule, a.assets) == (None, AssetRef(uri="s3://a"))
    assert (b.schedule, b.assets) == ("@daily", None)


def test_produces_forms() -> None:
    alert = _one(
        '    schedule: "@daily"\n    produces:\n      - s3://alerts/orders_low\n'
        "      - {name: orders_alerts, on: [firing]}\n      - {uri: 'x-alerts://e', on: error}\n"
    )
    assert alert.produces == (
        ProducedAsset(asset=AssetRef(uri="s3://alerts/orders_low"), on=("firing", "resolved")),
        ProducedAsset(asset=AssetRef(name="orders_alerts"), on=("firing",)),
        ProducedAsset(asset=AssetRef(uri="x-alerts://e"), on=("error",)),
    )
    assert _one('    schedule: "@daily"\n    produces: s3://x\n').produces == (
        ProducedAsset(asset=AssetRef(uri="s3://x")),
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    schedule: {assets: orders}\n",
            "alerts.yaml:5:24 alerts[0].schedule.assets: the asset URI 'orders' has no scheme "
            "(like s3://) (write {name: orders} to refer to an asset by its name)",
        ),
        (
            "    schedule:\n      assets: {any: [s3://a, {all: [s3://b, 'airflow://c']}]}\n",
            "alerts.yaml:6:45 alerts[0].schedule.assets.any[1].all[1]: the asset URI scheme "
            "`airflow` is reserved by Airflow",
        ),
        (
            "    schedule: {asets: s3://a}\n",
            "alerts[0].schedule.asets: unknown key `asets` in `schedule` (did you mean `assets`?)",
        ),
        (
            '    schedule: {cron: "0 9 * * *"}\n',
            "alerts[0].schedule.assets: missing required key `assets` (a schedule on a "
            'cron only is written as a string: `schedule: "0 9 * * *"`)',
        ),
        (
            '    schedule: {assets: s3://a, cron: "0 25 * * *"}\n',
            "alerts[0].schedule.cron: '0 25 * * *' is not a valid cron expression (hour 25",
        ),
        (
            "    schedule: 5\n",
            "alerts[0].schedule: expected a cron string or a mapping, got 5",
        ),
        (
            "    schedule: {assets: [s3://a, 'postgres://me:pw@db:5432/d/s/t']}\n",
            "alerts[0].schedule.assets[1]: the asset URI contains user information",
        ),
        (
            '    schedule: "@daily"\n    produces: {uri: s3://x, on: [firing, resolvd]}\n',
            "alerts[0].produces.on[1]: 'resolvd' is not an event kind an evaluation sends "
            "(did you mean `resolved`?)",
        ),
        (
            '    schedule: "@daily"\n    produces: [s3://x, s3://x]\n',
            "alerts[0].produces[1]: s3://x is listed twice in `produces`",
        ),
        (
            '    schedule: "@daily"\n    produces: [s3://x, "noscheme"]\n',
            "alerts[0].produces[1]: the asset URI 'noscheme' has no scheme",
        ),
    ],
)
def test_bad_schedules_are_located(body: str, expected: str) -> None:
    errors = _errors(body)
    assert len(errors) == 1, errors
    assert expected in errors[0], errors[0]


def test_produces_belongs_to_each_alert() -> None:
    text = "defaults: {conn_id: wh, schedule: '@daily', produces: s3://x}\nalerts: []\n"
    errors = [str(e) for e in load_config_text(text).errors]
    assert any(
        "defaults.produces: unknown key `produces` (`produces` belongs to each alert, "
        "not to `defaults`)" in e
        for e in errors
    ), errors


def test_asset_only_alert_with_escalation_is_warned() -> None:
    text = (
        "receivers:\n  - name: lead\n    notify: [{channel: email, to: [l@example.com]}]\n"
        "defaults: {conn_id: wh}\nalerts:\n  - name: a\n"
        + QUERY
        + "    schedule: {assets: s3://a}\n"
        "    notify: [{channel: email, to: [t@example.com]}]\n"
        "    escalation: [{after: 30m, receiver: lead}]\n"
    )
    result = load_config_text(text)
    assert result.ok, [str(e) for e in result.errors]
    warnings = [str(w) for w in result.warnings]
    assert any(
        "alerts[0].escalation: alert `a` runs only when its assets are updated (when s3://a is "
        "updated), so its escalation steps"
        in w
        and "add `cron:` to its schedule" in w
        for w in warnings
    ), warnings


def test_a_resolved_alert_survives_a_json_round_trip() -> None:
    """The manifest keeps resolved alerts as JSON: `any` must come back as `any`."""
    alert = _one(
        "    schedule: {assets: {any: [s3://a, {all: [s3://b, {name: c}]}]}, cron: '@daily'}\n"
        "    produces: [s3://x, {name: y, on: [error]}]\n"
    )
    again = AlertConfig.model_validate_json(alert.model_dump_json())
    assert again == alert
    assert isinstance(again.assets, AssetAny)
    assert isinstance(again.assets.items[1], AssetAll)
