"""``GET /report`` answers what ``sqlsentinel report FILE --format json`` prints as ``report``
(the same read model, one state database seeded by the real engine), and lists only the
alerts the user may read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ui_support import UiServer

from sqlsentinel_airflow.cli.main import main

NOW_DEPENDENT = ("generated_at", "since")  # each side asks its own clock


def _cli_report(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["report", *args, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report: dict[str, Any] = json.loads(captured.out)["report"]
    return report


def _alerts(report: dict[str, Any], section: str) -> list[str]:
    (found,) = [s for s in report["sections"] if s["id"] == section]
    return [i["alert"] for i in found["items"]]


def test_the_report_reads_the_same_in_the_api_and_the_cli(
    ui: UiServer,
    state_url: str,
    seed: Any,
    alerts_config: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    seed(state_url).dispose()
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    from_cli = _cli_report(capsys, str(ui.alerts_file), "--state-db", state_url, "--days", "60")
    response = ui.get("/report", days=60)
    assert response.status_code == 200, response.text
    from_api = response.json()["report"]
    for key in NOW_DEPENDENT:
        assert from_cli.pop(key)[:10] == from_api.pop(key)[:10]
    # other tests of the session may add alert DAGs of their own to Airflow: the file's only
    names = {a.name for a in alerts_config.alerts}
    assert from_cli["alerts"] == 4 and from_api.pop("alerts") >= 4
    del from_cli["alerts"]
    for section in from_api["sections"]:
        section["items"] = [i for i in section["items"] if i["alert"] in names]
    assert from_cli == from_api
    assert from_api["days"] == 60
    # seeded: never_run never ran, payroll_check stayed OK, the other two fire now
    assert _alerts(from_api, "never_fired") == ["never_run", "payroll_check"]
    assert _alerts(from_api, "no_runbook") == ["never_run", "payroll_check", "table_freshness"]
    assert "revenue_drop" not in _alerts(from_api, "no_runbook")

    viewer = ui.get("/report", user="viewer", days=60).json()["report"]
    admin = ui.get("/report", days=60).json()["report"]
    assert viewer["alerts"] == admin["alerts"] - 1  # payroll_check is hidden from viewers
    assert "payroll_check" not in _alerts(viewer, "never_fired")


def test_the_report_refuses_a_bad_window(ui: UiServer, state_url: str) -> None:
    response = ui.get("/report", days=0)
    assert response.status_code == 422
    assert "greater than or equal to 1" in response.text
    assert ui.get("/report", user=None).status_code == 401
