"""Firing shows in Airflow's own views: the DAG-run note, in the REST API and on the run page.

Against the shared api-server (ui_browser.py): ``airflow dags test`` runs the firing alert
for real (task runner, XCom, delivery to a loopback mail receiver; the plugin's listener
where the run finishes) on that server's metadata DB, with a warehouse and a state DB of its
own, so the shared alerts' state stays as seeded. Then the run is read as people read it:
through Airflow's REST API (note set, run green) and on Airflow's run page in Chromium.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from e2e_receivers import HttpReceiver, MailReceiver
from ui_browser import AIRFLOW, FIRING, PASSWORD, Server, log_in, shot

pytestmark = pytest.mark.e2e

NOTE = "FIRING 17.99 (threshold 5)"


def _warehouse(path: Path) -> None:
    """api_requests with 17.99 % failed (the firing alert's query reads it)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE api_requests (failed INTEGER)")
        conn.executemany(
            "INSERT INTO api_requests VALUES (?)", [(1 if i < 1799 else 0,) for i in range(10000)]
        )


def _token(server: Server) -> str:
    answer = httpx.post(
        f"{server.base_url}/auth/token",
        json={"username": "admin", "password": PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _runs(server: Server, token: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{server.base_url}/api/v2/dags/{FIRING}/dagRuns",
        params={"order_by": "-run_after", "limit": 5},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    answer.raise_for_status()
    return list(answer.json()["dag_runs"])


def test_a_firing_run_is_green_with_its_note_in_the_api_and_the_ui(
    ui_server: Server, browser: Any, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.db"
    _warehouse(warehouse)
    mail = MailReceiver().start()
    hook = HttpReceiver().start()  # the alert's webhook (dead in the seeded data) answers here
    try:
        env = {
            **ui_server.env,
            "E2E_WEBHOOK_URL": f"{hook.url}/hooks/e2e-webhook-token",
            "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(warehouse)}),
            "AIRFLOW_CONN_SMTP_DEFAULT": mail.conn_json(),
            "SQLSENTINEL_STATE_DB_URL": f"sqlite:///{tmp_path / 'state.db'}",
        }
        done = subprocess.run(
            [AIRFLOW, "dags", "test", FIRING],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert mail.mails, "the firing notification was delivered"
        assert [(p["path"], p["body"]["state"]) for p in hook.posts] == [
            ("/hooks/e2e-webhook-token", "FIRING")
        ]
    finally:
        mail.stop()
        hook.stop()

    token = _token(ui_server)
    run = next(r for r in _runs(ui_server, token) if r["run_type"] == "manual")
    assert run["state"] == "success"  # firing is a result, not a failure
    assert run["note"] == NOTE

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/runs/{quote(run['dag_run_id'], safe='')}")
        page.get_by_text(NOTE).first.wait_for(timeout=30_000)
        shot(page, "ui-airflow-run-note", doc=True)
    finally:
        page.close()
