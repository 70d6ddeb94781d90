"""Runs, deliveries and times in the real browser (the session's api-server and Chromium).

- every evaluation in an alert's history links to its Airflow run and its task's log, and a
  run of ``sqlsentinel run`` says it has none;
- the Deliveries section lists what was sent to whom, never a webhook's token;
- times follow the timezone chosen in Airflow's UI (localStorage ``timezone``), in 24-hour
  form with their zone, and change when it is changed; a relative time has the absolute
  one on hover;
- an alert's name on the SQL Sentinel page opens its tab; ``enabled: false`` reads DISABLED;
  the silence dialog's error reads as a sentence; the nav label is not cut off.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from ui_browser import FIRING, Server, _Rows, log_in, shot

pytestmark = pytest.mark.e2e

DISABLED = "e2eui_legacy_export_check"
REVENUE = "e2eui_daily_revenue"
TAB_IFRAME = "iframe[src*='sqlsentinel/ui/']"
DASHBOARD_IFRAME = "iframe[src*='sqlsentinel/ui/dashboard']"


def _context(browser: Any, **kwargs: Any) -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, color_scheme="light", **kwargs
    )
    context.set_default_timeout(15_000)
    return context


def _api(server: Server, page: Any, path: str) -> Any:
    """The plugin's API as the logged-in browser sees it (its Airflow token cookie)."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    response = httpx.get(f"{server.base_url}/sqlsentinel/api/{path}", cookies=cookies, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_history_rows_link_to_the_airflow_run_and_its_log(ui_server: Server, browser: Any) -> None:
    context = _context(browser)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        tab = page.frame_locator(TAB_IFRAME)
        first = tab.locator("#history tbody tr").first
        first.wait_for(timeout=30_000)
        newest = _api(ui_server, page, f"alerts/{FIRING}/history?limit=1")["entries"][0]
        run_link, log_link = first.locator(".run-links a").all()
        assert run_link.inner_text() == "scheduled" and log_link.inner_text() == "log"
        run_url = f"{ui_server.base_url}/dags/{FIRING}/runs/{newest['run_id']}"
        assert run_link.get_attribute("href") == run_url
        assert log_link.get_attribute("href") == f"{run_url}/tasks/evaluate"
        assert tab.locator("#history .run-links").count() == 15  # every evaluation
        first.scroll_into_view_if_needed()
        shot(page, "ui-history-links", doc=True)

        log_link.click()  # moves Airflow's page (its router), not the iframe
        page.wait_for_url(f"**/dags/{FIRING}/runs/{newest['run_id']}/tasks/evaluate")
        page.go_back()
        page.wait_for_url(f"**/dags/{FIRING}/plugin/sqlsentinel-alert")
        tab.locator("#history .run-links a").first.click()
        page.wait_for_url(f"**/dags/{FIRING}/runs/{newest['run_id']}")

        page.goto(f"{ui_server.base_url}/dags/{REVENUE}/plugin/sqlsentinel-alert")
        cli_row = tab.locator("#history tbody tr").first
        cli_row.wait_for(timeout=30_000)
        assert "CLI run, not in Airflow" in cli_row.inner_text()  # the newest: sqlsentinel run
        assert cli_row.locator("a").count() == 0
        assert tab.locator("#history .run-links").count() == 5  # the scheduled ones link
    finally:
        context.close()
    assert problems == []


def test_the_deliveries_section_says_what_was_sent_to_whom(ui_server: Server, browser: Any) -> None:
    context = _context(browser)
    page = context.new_page()
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        tab = page.frame_locator(TAB_IFRAME)
        rows = tab.locator("#deliveries tbody tr[data-delivery-id]")
        rows.first.wait_for(timeout=30_000)
        assert rows.count() == 2
        by_status = {
            r.get_attribute("data-status"): r.locator("td").all_inner_texts() for r in rows.all()
        }
        assert set(by_status) == {"delivered", "dead"}
        delivered, dead = by_status["delivered"], by_status["dead"]
        assert delivered[1:4] == ["firing", "email", "oncall@example.com"]
        assert dead[1:5] == ["firing", "webhook", "POST http://127.0.0.1:9", "1"]
        assert dead[6] == "connection refused: http://127.0.0.1:9/***"
        section = tab.locator("#deliveries").inner_text()
        assert "e2e-webhook-token" not in section and "hooks" not in section
        heads = tab.locator("#deliveries thead th").all_inner_texts()
        assert heads == [
            "Created",
            "Event",
            "Channel",
            "Destination",
            "Attempts",
            "Status",
            "Last error",
        ]
        # the stat card: something is dead-lettered; an alert that never notified: "none yet"
        assert "1 dead-lettered" in tab.locator(".grid").inner_text()
        tab.locator("#deliveries").scroll_into_view_if_needed()
        shot(page, "ui-deliveries", doc=True)
        assert "e2e-webhook-token" not in page.content()

        page.goto(f"{ui_server.base_url}/dags/e2eui_new_customers_drop/plugin/sqlsentinel-alert")
        tab.locator("#deliveries td.empty").wait_for(timeout=30_000)
        assert "none yet" in tab.locator(".grid").inner_text()
        assert "all sent" not in tab.locator(".grid").inner_text()
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        board = page.frame_locator(DASHBOARD_IFRAME)
        cell = board.locator("tr[data-dag-id='e2eui_new_customers_drop'] .deliv")
        assert cell.inner_text(timeout=30_000) == "none yet"
        assert board.locator(f"tr[data-dag-id='{FIRING}'] .deliv").inner_text() == "1 dead"
    finally:
        context.close()


def _zone_text(iso: str, zone: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def test_times_follow_the_timezone_chosen_in_airflow(ui_server: Server, browser: Any) -> None:
    context = _context(browser, timezone_id="America/New_York")  # the browser's own zone
    page = context.new_page()
    try:
        log_in(page, ui_server.base_url)
        # Airflow's user menu > Timezone stores the choice as JSON under localStorage "timezone"
        page.evaluate("localStorage.setItem('timezone', JSON.stringify('Asia/Kolkata'))")
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        tab = page.frame_locator(TAB_IFRAME)
        cell = tab.locator("#history tbody tr td").first
        cell.wait_for(timeout=30_000)
        newest = _api(ui_server, page, f"alerts/{FIRING}/history?limit=1")["entries"][0]
        kolkata = _zone_text(newest["evaluated_at"], "Asia/Kolkata")
        text = cell.inner_text()
        assert text.startswith(kolkata), (text, kolkata)  # 24-hour, in Airflow's zone
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (IST|GMT\+5:30)", text), text
        assert "AM" not in text and "PM" not in text
        # a relative time carries the absolute one, with its zone, on hover
        last_run = tab.locator(".grid time").nth(1)
        assert re.fullmatch(r"(\d+[smhd] ago|just now)", last_run.inner_text())
        title = last_run.get_attribute("title") or ""
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (IST|GMT\+5:30)", title), title
        assert title.startswith(
            _zone_text(last_run.get_attribute("datetime") or "", "Asia/Kolkata")
        )

        # choosing another zone in Airflow (same tab) re-renders the plugin in it
        page.evaluate(
            """() => { localStorage.setItem('timezone', JSON.stringify('UTC'));
                       window.dispatchEvent(new StorageEvent('local-storage', {key: 'timezone'})); }"""
        )
        utc = _zone_text(newest["evaluated_at"], "UTC")
        tab.locator("#history tbody tr td", has_text=f"{utc} UTC").first.wait_for()
        axis = tab.locator("svg.chart text[text-anchor='end']").last.text_content() or ""
        assert axis.endswith("UTC"), axis

        # a silence "until" typed in the dialog is a wall time in that zone too
        frame = next(f for f in page.frames if "sqlsentinel/ui/alert" in f.url)
        assert frame.evaluate("Sentinel.wallTimeToIso('2026-07-01T12:00', 'Asia/Kolkata')") == (
            "2026-07-01T06:30:00.000Z"
        )
        assert frame.evaluate("Sentinel.wallTimeToIso('2026-03-29T03:30', 'Europe/Berlin')") == (
            "2026-03-29T01:30:00.000Z"  # the first hour of summer time
        )
        tab.locator("header button[data-action='silence']").click()
        assert tab.locator("label[for='silence-until']").inner_text() == "or until (UTC)"
        tab.locator("dialog[open] button", has_text="Cancel").click()

        # the SQL Sentinel page too (its silence notes, its "updated" line)
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        board = page.frame_locator(DASHBOARD_IFRAME)
        since = board.locator(f"tr[data-dag-id='{FIRING}'] time").first
        since.wait_for(timeout=30_000)
        assert (since.get_attribute("title") or "").endswith(" UTC")
        assert json.loads(page.evaluate("localStorage.getItem('timezone')")) == "UTC"
    finally:
        context.close()


def test_alert_names_open_the_tab_and_disabled_alerts_say_so(
    ui_server: Server, browser: Any
) -> None:
    context = _context(browser)
    page = context.new_page()
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        board = page.frame_locator(DASHBOARD_IFRAME)
        disabled = board.locator(f"tr[data-dag-id='{DISABLED}'] .badge")
        disabled.wait_for(timeout=30_000)
        assert disabled.get_attribute("data-status") == "disabled"
        assert disabled.inner_text() == "DISABLED"  # not "NOT RUN"
        dag_link = board.locator(f"tr[data-dag-id='{FIRING}'] .dag-link a")
        assert dag_link.get_attribute("href") == f"{ui_server.base_url}/dags/{FIRING}"

        board.locator(f"tr[data-dag-id='{DISABLED}'] .alert-name a[data-link='alert-tab']").click()
        page.wait_for_url(f"**/dags/{DISABLED}/plugin/sqlsentinel-alert")
        tab = page.frame_locator(TAB_IFRAME)
        header_badge = tab.locator("header .badge").first
        header_badge.wait_for(timeout=30_000)
        assert header_badge.get_attribute("data-status") == "disabled"
        assert "enabled: false" in tab.locator("[data-banner='disabled']").inner_text()
    finally:
        context.close()


def test_the_silence_error_reads_as_a_sentence(ui_server: Server, browser: Any) -> None:
    context = _context(browser)
    page = context.new_page()
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{REVENUE}/plugin/sqlsentinel-alert")
        tab = page.frame_locator(TAB_IFRAME)
        tab.locator("header button[data-action='silence']").click(timeout=30_000)
        tab.locator("#silence-reason").fill("   ")
        tab.locator("dialog[open] button[type='submit']").click()
        error = tab.locator("dialog[open] .form-error")
        error.filter(has_text="must not be empty").wait_for()
        assert error.inner_text().startswith("reason must not be empty: say why")
        tab.locator("dialog[open] button", has_text="Cancel").click()
        assert _api(ui_server, page, f"alerts/{REVENUE}")["alert"]["silences"] == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 800])
def test_the_nav_label_is_not_cut_off(ui_server: Server, browser: Any, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        page.frame_locator(DASHBOARD_IFRAME).locator("tr[data-dag-id]").first.wait_for(
            timeout=30_000
        )
        # Airflow's nav rail: a link per entry, its label a <div> cut with an ellipsis
        label = page.locator("a div", has_text=re.compile(r"^\s*Sentinel\s*$"))
        label.wait_for()
        fits = label.evaluate("e => e.scrollWidth <= e.clientWidth")
        shot(page, f"ui-nav-{width}")
        assert fits, "the nav label is cut off"
    finally:
        context.close()


def test_the_tab_refreshes_itself(ui_server: Server, browser: Any) -> None:
    """A run by hand of the disabled alert appears on its open tab within 30 s (the page's
    clock is moved on); the alert is left as it was found (never run)."""
    from datetime import timedelta, timezone

    from sqlsentinel_airflow.core.config import load_config
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert
    from sqlsentinel_airflow.store import StateStore

    context = _context(browser)
    page = context.new_page()
    page.clock.install()
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{DISABLED}/plugin/sqlsentinel-alert")
        tab = page.frame_locator(TAB_IFRAME)
        tab.locator("#history td.empty").wait_for(timeout=30_000)

        config = load_config(str(ui_server.dags / "alerts.yaml")).config
        assert config is not None
        store = StateStore.connect(ui_server.state_url)
        try:
            evaluate_alert(
                config.alert("legacy_export_check"),
                fetch=lambda: _Rows(["status", "actual_value"], [["OK", 0]]),
                store=store,
                run_type=RunType.MANUAL,
                run_id="manual__refresh",
                clock=lambda: datetime.now(timezone.utc) - timedelta(seconds=5),
            )
        finally:
            store.dispose()
        assert tab.locator("#history td.empty").count() == 1  # not before the refresh
        page.clock.run_for(31_000)
        row = tab.locator("#history tbody tr .run-links")
        row.first.wait_for(timeout=15_000)
        assert row.count() == 1 and row.first.inner_text() == "manual · log"
        # it ran by hand: its state shows, and that it is disabled still
        assert tab.locator("header .badge").first.get_attribute("data-status") == "ok"
        assert tab.locator("[data-banner='disabled']").count() == 1
    finally:
        context.close()
        _forget("legacy_export_check", ui_server.state_url)  # as found: never run


def _forget(alert: str, state_url: str) -> None:
    """Remove an alert's state and history from the shared state database."""
    import sqlalchemy as sa

    from sqlsentinel_airflow.store import tables

    engine = sa.create_engine(state_url)
    with engine.begin() as conn:
        for table in (tables.history, tables.state, tables.outbox):
            conn.execute(table.delete().where(table.c.alert_name == alert))
    engine.dispose()
