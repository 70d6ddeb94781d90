"""The ``dry_run`` switch of an alert DAG's trigger form, in Chromium against the shared api-server.

The DAG's ``dry_run`` Param is what the form draws (its schema's ``type: boolean``: a switch);
the evaluate task holds no copy of it since the parse-speed work (docs/benchmarks.md,
section 1, run 13), so this checks what a user relies on end to end: the switch is there,
off by default; switched on, the run it triggers carries ``{"dry_run": true}``; and the
REST API refuses a non-boolean with 400. Only the api-server runs, so the run stays queued
and nothing is evaluated (the seeded state of the shared alerts is untouched).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ui_browser import PASSWORD, Server, log_in, shot

pytestmark = pytest.mark.e2e

DAG_ID = "e2eui_stuck_orders"  # no other browser test reads its DAG runs


def _headers(server: Server) -> dict[str, str]:
    answer = httpx.post(
        f"{server.base_url}/auth/token",
        json={"username": "admin", "password": PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _manual_runs(server: Server, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{server.base_url}/api/v2/dags/{DAG_ID}/dagRuns",
        params={"order_by": "-run_after", "limit": 20},
        headers=headers,
        timeout=30,
    )
    answer.raise_for_status()
    return [r for r in answer.json()["dag_runs"] if r["run_type"] == "manual"]


def test_the_trigger_form_shows_dry_run_as_a_switch_and_the_run_gets_it(
    ui_server: Server, browser: Any
) -> None:
    headers = _headers(ui_server)
    before = {r["dag_run_id"] for r in _manual_runs(ui_server, headers)}
    # the task carries no params of its own: the form and the run take the DAG's
    task = httpx.get(
        f"{ui_server.base_url}/api/v2/dags/{DAG_ID}/tasks/evaluate", headers=headers, timeout=30
    ).json()
    assert task["params"] == {} and task["owner"] == "data-team"

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{DAG_ID}")
        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog").filter(has_text="Trigger Dag")
        dialog.get_by_text("Run Parameters").wait_for(timeout=30_000)
        # Airflow's form draws a boolean Param as a switch, whose input is a checkbox
        switch = dialog.locator("[data-scope='switch'][data-part='root']").filter(
            has=page.locator("input[name='element_dry_run']")
        )
        box = dialog.get_by_role("checkbox", name="dry_run")
        assert switch.count() == 1 and switch.get_attribute("data-state") == "unchecked"
        assert not box.is_checked()
        dialog.get_by_text("Run the query and show the decision without changing state").wait_for()

        switch.locator("[data-part='control']").click()
        assert switch.get_attribute("data-state") == "checked" and box.is_checked()
        shot(page, "ui-trigger-dry-run")
        dialog.get_by_role("button", name="Trigger").click()
        dialog.wait_for(state="hidden", timeout=30_000)
    finally:
        page.close()

    new = [r for r in _manual_runs(ui_server, headers) if r["dag_run_id"] not in before]
    assert [r["conf"] for r in new] == [{"dry_run": True}]


def test_the_api_refuses_a_dry_run_that_is_not_a_boolean(ui_server: Server) -> None:
    answer = httpx.post(
        f"{ui_server.base_url}/api/v2/dags/{DAG_ID}/dagRuns",
        headers=_headers(ui_server),
        json={"logical_date": None, "conf": {"dry_run": "yes"}},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert "Invalid input for param dry_run: 'yes' is not of type 'boolean'" in answer.text
