"""An inhibited alert in the browser: ``new_customers_drop`` evaluated as a child of
``api_error_rate`` (seeded FIRING) by the real engine, its firing held. The dashboard row
and the alert's instance say "inhibited by api_error_rate", its tab has the banner, and the
held history row names the parent. The alert's state and history are removed afterwards
(it is never run in the seeded state DB)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ui_browser import Server, log_in, shot

pytestmark = pytest.mark.e2e

CHILD = "new_customers_drop"
CHILD_DAG = "e2eui_new_customers_drop"
PARENT = "api_error_rate"


def _forget(alert: str, state_url: str) -> None:
    import sqlalchemy as sa

    from sqlsentinel_airflow.store import tables

    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        for table in (tables.history, tables.state, tables.outbox):
            conn.execute(table.delete().where(table.c.alert_name == alert))
    engine.dispose()


@pytest.fixture
def held_child(ui_server: Server) -> Iterator[None]:
    from sqlsentinel_airflow.core.config import load_config
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert
    from sqlsentinel_airflow.store import StateStore

    config = load_config(str(ui_server.dags / "alerts.yaml")).config
    assert config is not None
    child = config.alert(CHILD).model_copy(update={"depends_on": (PARENT,)})

    class Rows:
        columns = ["status", "actual_value", "threshold"]
        rows = [["ALERT", 2, 5]]

    store = StateStore.connect(ui_server.state_url)
    try:
        report = evaluate_alert(child, fetch=Rows, store=store, run_type=RunType.MANUAL)
        assert report.inhibited_by == (PARENT,) and report.instances[0].held
        assert store.outbox(alert_name=CHILD) == []
    finally:
        store.dispose()
    try:
        yield
    finally:
        _forget(CHILD, ui_server.state_url)


def test_an_inhibited_alert_says_by_whom_on_the_list_its_tab_and_history(
    ui_server: Server, browser: Any, held_child: None
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        row = frame.locator(f"tr[data-dag-id='{CHILD_DAG}']")
        row.wait_for(timeout=30_000)
        note = row.locator("[data-role='inhibited']")
        assert note.inner_text() == "inhibited by api_error_rate"
        assert note.get_attribute("data-inhibited-by") == PARENT
        assert frame.locator("[data-role='inhibited']").count() == 1  # nobody else

        page.goto(f"{ui_server.base_url}/dags/{CHILD_DAG}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        banner = frame.locator("[data-banner='inhibited']")
        banner.wait_for(timeout=30_000)
        assert banner.inner_text().startswith("Inhibited by api_error_rate: ")
        frame.locator("#history tbody tr").first.wait_for()
        reason = frame.locator("#history tbody tr").first.locator("[data-role='reason']")
        assert reason.inner_text() == "held, inhibited by api_error_rate"
        shot(page, "ui-inhibited", doc=False)
        assert problems == []
    finally:
        context.close()


def test_the_monthly_report_page_lists_its_sections(ui_server: Server, browser: Any) -> None:
    """The report page (docs/operations.md, "The monthly report") drawn from its API: every
    section, and alerts of the seeded file in the one about runbooks."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/sqlsentinel/ui/report?days=30")
        page.locator(".report-section").first.wait_for(timeout=30_000)
        titles = page.locator(".report-section h2").all_inner_texts()
        assert [t.split(" (")[0] for t in titles] == [
            "Always firing",
            "Never fired in 30 days",
            "Flapping",
            "Silenced for 7 days or more",
            "Acknowledged for 7 days or more",
            "No owner",
            "No runbook",
            "Slowest queries",
            "Most notifications",
        ]
        runbooks = page.locator(".report-section").nth(6)
        assert "daily_revenue" in runbooks.inner_text()
        assert "api_error_rate" not in runbooks.inner_text()  # it has one
        shot(page, "ui-report", doc=False)
        assert problems == []
    finally:
        context.close()
