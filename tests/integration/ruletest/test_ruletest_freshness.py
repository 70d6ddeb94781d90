"""``sqlsentinel test`` on freshness checks (docs/freshness.md): a table check runs on the
fixtures with its age taken at each step's time; an asset-only check is an ERROR evaluation
saying what to add (rule tests have no asset events)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlsentinel_airflow.cli.main import main

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ruletest" / "freshness"


def test_a_table_check_ages_with_the_step_time_and_an_asset_check_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["test", str(FIXTURE / "alerts.test.yaml"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)

    assert code == 0 and report["passed"] is True
    table, asset = report["tests"]
    ok, stale = (step["evaluation"] for step in table["steps"])
    assert ok["instances"][0]["context"] == {
        "last_updated_at": "2026-03-01T09:30:00+00:00",
        "source": "query",
        "age": "2h30m",
        "within": "6h",
    }
    assert (stale["state"], stale["actual_value"], stale["threshold"]) == ("firing", 361.0, 360.0)
    (refused,) = asset["steps"]
    assert refused["evaluation"]["error"] == (
        "freshness of asset s3://warehouse/orders is read from its Airflow asset events, which "
        "exist only inside Airflow (not in `sqlsentinel run` or a rule test); to check it "
        "there too, add `table` and `column` to the alert's `freshness:`"
    )
