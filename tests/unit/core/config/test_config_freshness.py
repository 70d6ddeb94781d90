"""``freshness:`` in alerts.yaml (docs/freshness.md): what it resolves to, and each located error."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.assets import AssetRef
from sqlsentinel_airflow.core.config.loader import LoadResult

PG = 'database: {url: "postgresql://reader@127.0.0.1/warehouse"}\n'
MYSQL = 'database: {url: "mysql://reader@127.0.0.1/warehouse"}\n'


def load(alert: str, header: str = PG) -> LoadResult:
    return load_config_text(header + "alerts:\n  - name: fresh\n    schedule: '@hourly'\n" + alert)


def test_a_table_check_gets_its_max_query_quoted_for_the_dialect() -> None:
    result = load(
        "    freshness: {table: Analytics.Orders, column: loaded_at, within: 6h, "
        "timezone: Europe/Berlin}\n"
    )
    assert result.ok, [e.format() for e in result.errors]
    assert result.config is not None
    (alert,) = result.config.alerts
    assert alert.query == 'SELECT MAX("loaded_at") AS "last_updated_at" FROM "analytics"."orders"'
    assert alert.freshness is not None
    assert alert.freshness.within == timedelta(hours=6)
    assert alert.freshness.timezone == "Europe/Berlin"
    assert (alert.freshness.table, alert.freshness.column) == ("Analytics.Orders", "loaded_at")


def test_quoted_names_keep_their_case_and_mysql_gets_backticks() -> None:
    pg = load(
        """    freshness: {table: '"Sales Data"."Orders"', column: '"Loaded At"', within: 1h}\n"""
    )
    my = load(
        "    freshness: {table: '`Sales Data`.Orders', column: loaded_at, within: 1h}\n", MYSQL
    )
    assert pg.config is not None and my.config is not None
    assert pg.config.alerts[0].query == (
        'SELECT MAX("Loaded At") AS "last_updated_at" FROM "Sales Data"."Orders"'
    )
    assert my.config.alerts[0].query == (
        "SELECT MAX(`loaded_at`) AS `last_updated_at` FROM `Sales Data`.`Orders`"
    )


def test_an_asset_only_check_needs_no_connection() -> None:
    result = load("    freshness: {asset: {name: orders}, within: 1d}\n", header="")
    assert result.ok, [e.format() for e in result.errors]
    assert result.config is not None
    (alert,) = result.config.alerts
    assert alert.query == "" and alert.conn_id is None and alert.database_url is None
    assert alert.freshness is not None and alert.freshness.asset == AssetRef(name="orders")


INVALID = [
    (
        "    query: SELECT 1\n    freshness: {table: t, column: c, within: 1h}\n",
        "alerts.yaml:5:5 alerts[0].query: both `query` and `freshness` are set "
        "(a freshness check generates its own query: keep one of them)",
    ),
    (
        "    query_file: x.sql\n    freshness: {asset: s3://a/b, within: 1h}\n",
        "alerts.yaml:5:5 alerts[0].query_file: both `query_file` and `freshness` are set "
        "(a freshness check generates its own query: keep one of them)",
    ),
    (
        "    freshness: {table: orders, within: 1h}\n",
        "alerts.yaml:5:16 alerts[0].freshness: freshness `table` needs `column`: the timestamp "
        "column to read MAX() of (e.g. `column: loaded_at`)",
    ),
    (
        "    freshness: {within: 1h}\n",
        "alerts.yaml:5:16 alerts[0].freshness: freshness needs a `table` (with `column`) or an "
        "`asset` (e.g. `freshness: {table: analytics.orders, column: loaded_at, within: 6h}`)",
    ),
    (
        "    freshness: {asset: s3://a/b, column: c, within: 1h}\n",
        "alerts.yaml:5:16 alerts[0].freshness: freshness `column` needs `table` "
        "(e.g. `table: analytics.orders`)",
    ),
    (
        "    freshness: {table: 'orders WHERE 1=1', column: c, within: 1h}\n",
        "alerts.yaml:5:24 alerts[0].freshness.table: 'orders WHERE 1=1' is not a table name in "
        "postgres SQL (write a table, optionally with its schema: analytics.orders; quote a "
        'name with spaces or capitals as the database does ("Order Table", or `Order Table` '
        "on MySQL))",
    ),
    (
        "    freshness: {table: a.b.c.d, column: c, within: 1h}\n",
        "alerts.yaml:5:24 alerts[0].freshness.table: 'a.b.c.d' has 4 dotted parts; a table name "
        "has at most 3 (catalog.schema.table) (quote a name that holds a dot)",
    ),
    (
        "    freshness: {table: orders, column: 'max(loaded_at)', within: 1h}\n",
        "alerts.yaml:5:40 alerts[0].freshness.column: 'max(loaded_at)' is not a column name in "
        "postgres SQL (write one column of the table, e.g. loaded_at (no table prefix, no "
        "expression); quote a name with spaces or capitals as the database does)",
    ),
    (
        "    freshness: {table: orders, column: o.loaded_at, within: 1h}\n",
        "alerts.yaml:5:40 alerts[0].freshness.column: 'o.loaded_at' is not a column name in "
        "postgres SQL (write one column of the table, e.g. loaded_at (no table prefix, no "
        "expression); quote a name with spaces or capitals as the database does)",
    ),
    (
        "    freshness: {table: orders, column: c, within: 0}\n",
        "alerts.yaml:5:51 alerts[0].freshness.within: 0 must be longer than zero "
        "(e.g. 30s, 5m, 4h)",
    ),
    (
        "    freshness: {table: orders, column: c, within: 1h, timezone: Mars/Olympus}\n",
        "alerts.yaml:5:65 alerts[0].freshness.timezone: 'Mars/Olympus' is not an IANA timezone "
        "(e.g. UTC, Europe/Berlin, America/New_York)",
    ),
    (
        "    freshness: {asset: orders, within: 1h}\n",
        "alerts.yaml:5:24 alerts[0].freshness.asset: the asset URI 'orders' has no scheme "
        "(like s3://) (write {name: orders} to refer to an asset by its name)",
    ),
    (
        "    freshness: {asset: 'airflow://x', within: 1h}\n",
        "alerts.yaml:5:24 alerts[0].freshness.asset: the asset URI scheme `airflow` is "
        "reserved by Airflow",
    ),
    (
        "    freshness: {asset: {name: orders, uri: 's3://a/b'}, within: 1h}\n",
        "alerts.yaml:5:24 alerts[0].freshness.asset: an asset reference has exactly one of "
        "`uri` and `name`",
    ),
    (
        "    freshness: {tabel: orders, column: c, within: 1h}\n",
        "alerts.yaml:5:17 alerts[0].freshness.tabel: unknown key `tabel` (did you mean `table`?)",
    ),
]


@pytest.mark.parametrize(("alert", "message"), INVALID)
def test_each_mistake_is_located(alert: str, message: str) -> None:
    result = load(alert)
    assert not result.ok
    formatted = [e.format() for e in result.errors]
    assert any(f.startswith(message) for f in formatted), formatted


def test_a_table_check_needs_a_connection() -> None:
    result = load("    freshness: {table: orders, column: c, within: 1h}\n", header="")
    formatted = [e.format() for e in result.errors]
    assert any(
        f.startswith("alerts.yaml:2:5 alerts[0].conn_id: no connection for this alert's query")
        for f in formatted
    ), formatted


def test_freshness_is_an_alert_key_not_a_default() -> None:
    result = load_config_text(
        "defaults: {freshness: {asset: s3://a/b, within: 1h}}\n"
        "alerts:\n  - {name: a, schedule: '@hourly', freshness: {asset: s3://a/b, within: 1h}}\n"
    )
    formatted = [e.format() for e in result.errors]
    assert any("defaults.freshness" in f for f in formatted), formatted


@pytest.mark.parametrize(
    ("alert", "valid"),
    [
        ({"freshness": {"table": "t", "column": "c", "within": "1h"}}, True),
        ({"freshness": {"asset": "s3://a/b", "within": 60}}, True),
        ({"freshness": {"asset": {"name": "orders"}, "within": "1d"}}, True),
        ({"freshness": {"within": "1h"}}, False),
        ({"freshness": {"asset": {"name": "o", "uri": "s3://a/b"}, "within": "1h"}}, False),
        ({"query": "SELECT 1", "freshness": {"asset": "s3://a/b", "within": "1h"}}, False),
    ],
)
def test_the_json_schema_knows_freshness(alert: dict[str, object], valid: bool) -> None:
    import jsonschema

    from sqlsentinel_airflow.core.config import json_schema

    document = {"alerts": [{"name": "a", "schedule": "@hourly", "conn_id": "wh", **alert}]}
    errors = list(jsonschema.Draft202012Validator(json_schema()).iter_errors(document))
    assert (errors == []) is valid, [e.message for e in errors]
