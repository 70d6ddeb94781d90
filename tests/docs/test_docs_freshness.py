"""docs/freshness.md: every example loads as the page says, its rule test passes, and the
asset reference is the one the page names."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from docs_snippets import DOCS, text

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.assets import AssetRef
from sqlsentinel_airflow.core.config.models import AlertsConfig

PAGE = DOCS / "freshness.md"


def _load(snippet: str, conn_type: str | None = None) -> AlertsConfig:
    result = load_config_text(
        text(snippet), "alerts.yaml", conn_type_of=lambda _c: conn_type, env={}
    )
    assert result.errors == [], [e.format() for e in result.errors]
    assert result.config is not None
    return result.config


def test_the_table_example_generates_its_max_query() -> None:
    (alert,) = _load("freshness-table", "postgres").alerts
    assert alert.query == 'SELECT MAX("loaded_at") AS "last_updated_at" FROM "analytics"."orders"'
    assert alert.freshness is not None and alert.freshness.within == timedelta(hours=6)


@pytest.mark.parametrize(
    ("conn_type", "replace", "expected"),
    [
        ("postgres", None, 'SELECT MAX("Loaded At") AS "last_updated_at" FROM "Load Log"'),
        (
            "mysql",
            ('"Load Log"', "`Load Log`"),
            "SELECT MAX(`Loaded At`) AS `last_updated_at` FROM `Load Log`",
        ),
    ],
)
def test_quoted_names_keep_case_and_spaces_on_both_databases(
    conn_type: str, replace: tuple[str, str] | None, expected: str
) -> None:
    yaml_text = text("freshness-quoted")
    if replace is not None:  # what the comment in the example says to write on MySQL
        assert f"on MySQL or MariaDB: '{replace[1]}'" in yaml_text
        yaml_text = yaml_text.replace(*replace).replace('"Loaded At"', "`Loaded At`")
    result = load_config_text(yaml_text, "alerts.yaml", conn_type_of=lambda _c: conn_type)
    assert result.config is not None, [e.format() for e in result.errors]
    (alert,) = result.config.alerts
    assert alert.query == expected
    assert alert.freshness is not None and alert.freshness.timezone == "Europe/Berlin"


def test_the_asset_example_declares_inlets_by_reference() -> None:
    from airflow.sdk import Asset

    from sqlsentinel_airflow.dags.inlets import freshness_inlets

    config = _load("freshness-asset")
    landed, clicks = config.alerts
    assert landed.freshness is not None and clicks.freshness is not None
    assert landed.freshness.asset == AssetRef(uri="s3://warehouse/orders")
    assert clicks.freshness.asset == AssetRef(name="clicks")
    assert clicks.conn_id is None and clicks.query == ""
    assert freshness_inlets(landed) == [Asset.ref(uri="s3://warehouse/orders")]
    assert freshness_inlets(clicks) == [Asset.ref(name="clicks")]
    shouting = landed.model_copy(
        update={
            "freshness": landed.freshness.model_copy(
                update={"asset": AssetRef(uri="S3://warehouse/orders/")}
            )
        }
    )
    assert freshness_inlets(shouting) == [Asset.ref(uri="s3://warehouse/orders")]  # normalized


def test_the_rule_test_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alerts = text("freshness-table").replace("table: analytics.orders", "table: orders")
    (tmp_path / "alerts.yaml").write_text(alerts)
    (tmp_path / "alerts.test.yaml").write_text(text("freshness-rule-test"))
    code = main(["test", str(tmp_path / "alerts.test.yaml"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["passed"] is True, report
    page = PAGE.read_text(encoding="utf-8")
    assert "`orders_fresh` written with `table: orders`" in page
