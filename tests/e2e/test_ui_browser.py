"""The UI plugin in a real browser: the dashboard, an alert's tab, silences, dark mode.

The api-server and Chromium are the session's (``tests/e2e/ui_browser.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_browser import (
    ACTIVE_MUTE_WINDOW,
    FIRING,
    MUTE_WINDOW,
    MUTE_WINDOW_YEAR,
    Server,
    log_in,
    shot,
    status,
)

pytestmark = pytest.mark.e2e


def test_a_user_sees_the_firing_alert_silences_it_and_unsilences_it(
    ui_server: Server, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 820}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/dashboard']")
        row = frame.locator(f"tr[data-dag-id='{FIRING}']")
        row.wait_for(timeout=30_000)
        assert status(frame, FIRING) == "firing"
        assert row.locator(".value").inner_text() == "12.4"
        # the sparkline's times come as epoch seconds: its newest point is the last run
        newest = row.locator("svg.spark circle title").last.text_content() or ""
        last_run = row.locator("td[data-label='Last run'] time").get_attribute("title") or ""
        assert newest.startswith("12.4 (ALERT) ") and newest.endswith(last_run), (newest, last_run)
        assert row.locator("svg.spark").get_attribute("aria-label") == "Last 15 values"
        assert status(frame, "e2eui_stuck_orders") == "pending"  # fire_after: 3, seen twice
        assert status(frame, "e2eui_new_customers_drop") == "unknown"
        revenue = frame.locator("tr[data-dag-id='e2eui_daily_revenue']")
        assert status(frame, "e2eui_daily_revenue") == "silenced"  # a mute window, active
        muted = revenue.locator("[data-role='mute-windows']").inner_text()
        assert muted == f"Muted by {ACTIVE_MUTE_WINDOW}"  # no end within two years
        assert frame.locator("button[data-chip='firing'] .count").inner_text() == "1"
        shot(page, "ui-dashboard", doc=True)

        row.locator("button[data-action='silence']").click()
        dialog = frame.locator("dialog[open]")
        dialog.locator("button", has_text="1h").click()
        dialog.locator("#silence-reason").fill("deploy in progress, error spike expected")
        shot(page, "ui-silence-dialog")
        dialog.locator("button[type='submit']").click()
        frame.locator(f"tr[data-dag-id='{FIRING}'][data-status='silenced']").wait_for()
        assert "underneath: firing" in row.inner_text()
        assert "deploy in progress" in row.inner_text()
        shot(page, "ui-dashboard-silenced")

        row.locator("button[data-action='unsilence']").click()
        frame.locator(f"tr[data-dag-id='{FIRING}'][data-status='firing']").wait_for()

        frame.locator("#f-severity").select_option("critical")
        assert frame.locator("tbody tr[data-dag-id]").count() == 1
        frame.locator("#f-severity").select_option("")
        frame.locator("#f-search").fill("revenue")
        assert frame.locator("tbody tr[data-dag-id]").count() == 1
        frame.locator("#f-search").fill("")

        row.locator(".alert-name a[data-link='alert-tab']").click()  # moves Airflow's page
        page.wait_for_url(f"**/dags/{FIRING}/plugin/sqlsentinel-alert", timeout=15_000)
    finally:
        context.close()
    assert problems == []


def test_the_alert_tab_shows_history_sql_and_channels(ui_server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        frame.locator("svg.chart circle").first.wait_for(timeout=30_000)
        assert frame.locator("svg.chart circle").count() == 15
        assert "FROM api_requests" in frame.locator("pre.sql").inner_text()
        assert "email to oncall@example.com" in frame.locator("#definition").inner_text()
        assert frame.locator("header .badge").first.get_attribute("data-status") == "firing"
        shot(page, "ui-alert-tab", doc=True)
        freeze = frame.locator(f"#silences [data-mute-window='{MUTE_WINDOW}']")
        assert freeze.get_attribute("data-active") == "false"
        assert "Upcoming" in freeze.inner_text() and str(MUTE_WINDOW_YEAR) in freeze.inner_text()
        frame.locator("header button[data-action='silence']").click()
        frame.locator("#silence-reason").fill("looking into it")
        frame.locator("dialog[open] button[type='submit']").click()
        frame.locator("#silences li[data-silence-id]").first.wait_for(timeout=15_000)
        assert "by admin" in frame.locator("#silences").inner_text()
        shot(page, "ui-alert-tab-silenced")
        frame.locator("#silences button[data-action='end-silence']").click()
        frame.locator("header .badge[data-status='firing']").wait_for(timeout=15_000)

        page.goto(f"{ui_server.base_url}/sqlsentinel/ui/alert?dag_id={FIRING}")  # the page alone
        page.locator("#history tbody tr").first.wait_for(timeout=30_000)
        assert page.locator("#history tbody tr").count() == 15  # one row per evaluation
        shot(page, "ui-alert-page-full", full_page=True)
    finally:
        context.close()


def test_dark_mode_and_a_narrow_window(ui_server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 820}, color_scheme="dark")
    page = context.new_page()
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/dashboard']")
        frame.locator(f"tr[data-dag-id='{FIRING}']").wait_for(timeout=30_000)
        theme = frame.locator("html").evaluate("e => [e.dataset.theme, getComputedStyle(e).color]")
        assert theme == ["dark", "rgb(230, 233, 238)"]  # Airflow's dark theme, our dark palette
        shot(page, "ui-dashboard-dark")
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        tab = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        tab.locator("svg.chart circle").first.wait_for(timeout=30_000)
        shot(page, "ui-alert-tab-dark")

        page.set_viewport_size({"width": 420, "height": 860})
        page.goto(f"{ui_server.base_url}/sqlsentinel/ui/dashboard")
        card = page.locator(f"tr[data-dag-id='{FIRING}']")
        card.wait_for(timeout=30_000)
        assert card.evaluate("r => getComputedStyle(r).display") == "grid"  # rows become cards
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        shot(page, "ui-dashboard-narrow")
    finally:
        context.close()
