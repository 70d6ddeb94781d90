"""Invalid alerts in the UI's API: listed with their located errors, counted, readable per DAG.

A DAG file of its own (prefix ``uiinv_``) is parsed by a real DagBag and written to the
metadata DB twice, as the dag-processor does after an edit: first with ``still_running``
valid, then with it broken, so its DAG runs its last valid version (stale) and carries the
current errors. ``payroll_typo`` and ``bad_cron`` never validated: they are placeholders.
The auth manager of the UI tests hides every DAG whose id contains ``payroll`` from
non-admins, so the invalid list is filtered per DAG like the alerts.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ui_support import ROOT, UiServer

PREFIX = "uiinv_"

_HEAD = """\
dag_id_prefix: uiinv_
defaults:
  conn_id: ui_warehouse
  owner: data-team
  timezone: UTC
alerts:
  - name: bad_cron
    schedule: "every day at nine"
    query: SELECT 'OK' AS status
  - name: payroll_typo
    schedule: "0 6 * * *"
    querry: SELECT 'OK' AS status
"""
VALID = (
    _HEAD
    + """\
  - name: still_running
    schedule: "0 7 * * *"
    query: SELECT 'OK' AS status
"""
)
BROKEN = (
    _HEAD
    + """\
  - name: still_running
    schedule: "0 7 * * *"
    query: SELECT 'OK' AS status
    fire_after: -1
"""
)


def _sync(folder: Path) -> None:
    """Parse and write, as the dag-processor does (also within its 30 s write interval)."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder=folder, bundle_path=folder, bundle_name="dags-folder", safe_mode=True)
    assert not bag.import_errors, bag.import_errors
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL", "0")
        sync_bag_to_db(bag, "dags-folder", None)


@pytest.fixture(scope="module")
def broken(ui: UiServer, tmp_path_factory: pytest.TempPathFactory) -> UiServer:
    folder = tmp_path_factory.mktemp("ui_invalid_dags")
    shutil.copy(ROOT / "tests" / "fixtures" / "dags" / "alert_dags.py", folder / "alert_dags.py")
    (folder / "alerts.yaml").write_text(VALID, encoding="utf-8")
    _sync(folder)
    (folder / "alerts.yaml").write_text(BROKEN, encoding="utf-8")
    _sync(folder)
    return ui


def _mine(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["dag_id"]: i for i in answer["invalid"] if i["dag_id"].startswith(PREFIX)}


def test_the_list_names_each_invalid_alert_with_its_located_errors(
    broken: UiServer, state_url: str
) -> None:
    response = broken.get("/alerts")
    assert response.status_code == 200, response.text
    answer = response.json()
    invalid = _mine(answer)
    assert sorted(invalid) == ["uiinv_bad_cron", "uiinv_payroll_typo"]
    (error,) = invalid["uiinv_bad_cron"]["errors"]
    assert (error["file"], error["line"], error["column"]) == ("alerts.yaml", 8, 15)
    assert error["path"] == "alerts[0].schedule"
    assert "every day at nine" in error["message"]
    assert error["text"].startswith("alerts.yaml:8:15 alerts[0].schedule: ")
    typo = invalid["uiinv_payroll_typo"]
    assert typo["name"] == "payroll_typo" and typo["source_file"] == "alerts.yaml"
    assert any("querry" in e["text"] and e["line"] == 12 for e in typo["errors"]), typo
    assert typo["paused"] is False
    # Counted apart from the alerts (the config-errors DAG is no invalid alert).
    assert answer["counts"]["invalid"] == len(answer["invalid"])
    assert not any(i["dag_id"].endswith("config_errors") for i in answer["invalid"])
    assert not any(a["dag_id"] in invalid for a in answer["alerts"])


def test_invalid_alerts_follow_the_per_dag_read_permission(
    broken: UiServer, state_url: str
) -> None:
    answer = broken.get("/alerts", "viewer").json()
    assert sorted(_mine(answer)) == ["uiinv_bad_cron"]
    assert answer["counts"]["invalid"] == len(answer["invalid"])
    assert broken.get("/alerts/uiinv_payroll_typo", "viewer").status_code == 403
    assert broken.get("/alerts/uiinv_bad_cron", "viewer").status_code == 200
    assert broken.get("/alerts", None).status_code == 401


def test_an_invalid_alerts_dag_answers_with_its_errors(broken: UiServer, state_url: str) -> None:
    response = broken.get("/alerts/uiinv_bad_cron")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"invalid"}
    assert body["invalid"]["name"] == "bad_cron"
    assert body["invalid"]["errors"][0]["text"].startswith("alerts.yaml:8:15 ")
    # The config-errors DAG carries the invalid tag but is neither an alert nor an invalid one.
    assert broken.get("/alerts/uiinv_config_errors").status_code == 404


def test_a_stale_alert_carries_the_errors_that_make_it_stale(
    broken: UiServer, state_url: str
) -> None:
    listed = {a["dag_id"]: a for a in broken.get("/alerts").json()["alerts"]}
    stale = listed["uiinv_still_running"]
    assert stale["stale"] is True
    (error,) = stale["config_errors"]
    assert error["path"] == "alerts[2].fire_after" and error["line"] == 16
    assert error["text"] == "alerts.yaml:16:17 alerts[2].fire_after: must be at least 1, got -1"
    one = broken.get("/alerts/uiinv_still_running").json()["alert"]
    assert one["config_errors"] == stale["config_errors"]
    assert "invalid in the current alerts file" in one["docs"]["banner"]
    # A valid alert has none.
    assert all(a["config_errors"] == [] for a in listed.values() if not a["stale"])


def test_airflows_docs_list_each_error_as_a_line_that_wraps(broken: UiServer) -> None:
    """The DAG docs pop-up renders doc_md: one list item per error, no code block (whose
    long lines ran off the pop-up's edge)."""
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        docs = {
            dag_id: SerializedDagModel.get(dag_id, session=session).data["dag"]["doc_md"]
            for dag_id in ("uiinv_payroll_typo", "uiinv_still_running")
        }
    typo = docs["uiinv_payroll_typo"]
    assert "```" not in typo
    assert "\n- `` alerts.yaml:12:5 alerts[1].querry: unknown key `querry`" in typo, typo
    stale = docs["uiinv_still_running"]
    assert "```text" not in stale
    expected = "- `alerts.yaml:16:17 alerts[2].fire_after: must be at least 1, got -1`"
    assert expected in stale
