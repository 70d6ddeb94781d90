"""Invalid and stale alerts in a real browser: the INVALID row with its ``alerts.yaml:LINE:COL``
error, the Invalid chip and the header count, the invalid DAG's tab, and the stale banner.

The session's api-server (``tests/e2e/ui_browser.py``) parses ALERTS_YAML twice:
``orders_backlog`` never validates (a placeholder DAG), ``nightly_export`` breaks between the
two parses (its DAG runs its last valid version).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ui_browser import ALERTS_YAML, INVALID, STALE, STALE_EDIT, Server, log_in, shot

pytestmark = pytest.mark.e2e


def _line_of(text: str) -> int:
    """The 1-based line of ALERTS_YAML holding ``text``."""
    return next(i for i, line in enumerate(ALERTS_YAML.splitlines(), 1) if text in line)


CRON_LINE = _line_of('schedule: "every 5 minutes"')
STALE_LINE = _line_of(STALE_EDIT[0])


def _page(browser: Any, scheme: str = "light") -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return context, page, problems


def test_the_page_lists_the_invalid_alert_with_its_located_error(
    ui_server: Server, browser: Any
) -> None:
    context, page, problems = _page(browser)
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        row = frame.locator(f"tr[data-dag-id='{INVALID}']")
        row.wait_for(timeout=30_000)
        assert row.get_attribute("data-status") == "invalid"
        assert row.locator(".badge.invalid").inner_text().lower() == "invalid"
        location = row.locator("ul.config-errors li code.loc").first.inner_text()
        assert location == f"alerts.yaml:{CRON_LINE}:15", location
        message = row.locator("ul.config-errors li").first.inner_text()
        assert "'every 5 minutes' is not a valid cron expression" in message
        # Readable: the message wraps inside the page instead of running off its edge.
        box = row.locator("ul.config-errors li").first.bounding_box()
        frame_box = page.locator("iframe[src*='sqlsentinel/ui/']").bounding_box()
        assert box is not None and frame_box is not None
        assert box["x"] + box["width"] <= frame_box["x"] + frame_box["width"]

        chip = frame.locator("button[data-chip='invalid']")
        assert chip.locator(".count").inner_text() == "1"
        subtitle = frame.locator("#subtitle").inner_text()
        assert " alerts · 1 invalid · updated" in subtitle, subtitle

        # The stale alert names the error that makes it stale, in its row.
        stale = frame.locator(f"tr[data-dag-id='{STALE}']")
        assert f"alerts.yaml:{STALE_LINE}:" in stale.locator(".stale-note").inner_text()
        shot(page, "ui-invalid-list", doc=True)

        # The chip filters to the invalid alerts only, and back.
        chip.click()
        assert frame.locator("tbody tr[data-dag-id]").count() == 1
        assert frame.locator(f"tr[data-dag-id='{INVALID}']").count() == 1
        frame.locator("button[data-chip='invalid']").click()
        assert frame.locator("tbody tr[data-dag-id]").count() > 1
        # Another state filter hides it.
        frame.locator("#f-status").select_option("firing")
        assert frame.locator(f"tr[data-dag-id='{INVALID}']").count() == 0
        frame.locator("#f-status").select_option("")
        assert not problems, problems
    finally:
        context.close()


def test_the_invalid_dags_tab_shows_its_errors(ui_server: Server, browser: Any) -> None:
    context, page, problems = _page(browser)
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{INVALID}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        section = frame.locator("#invalid")
        section.wait_for(timeout=30_000)
        assert frame.locator("h1").inner_text() == "orders_backlog"
        assert "not a SQL Sentinel alert" not in frame.locator("body").inner_text()
        assert section.locator("h2").inner_text() == "1 configuration error"
        assert section.locator("code.loc").inner_text() == f"alerts.yaml:{CRON_LINE}:15"
        assert "is not a valid cron expression" in section.inner_text()
        shot(page, "ui-invalid-tab", doc=True)
        assert not problems, problems
    finally:
        context.close()


def test_airflows_docs_pop_up_shows_the_error_inside_its_edges(
    ui_server: Server, browser: Any
) -> None:
    context, page, problems = _page(browser)
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{INVALID}")
        page.get_by_role("button", name="Dag Docs").click()
        dialog = page.get_by_role("dialog")
        item = dialog.locator("li", has_text=f"alerts.yaml:{CRON_LINE}:15")
        item.wait_for()
        assert "is not a valid cron expression" in item.inner_text()
        box, edge = item.bounding_box(), dialog.bounding_box()
        assert box is not None and edge is not None
        assert box["x"] + box["width"] <= edge["x"] + edge["width"], (box, edge)
        shot(page, "ui-invalid-dag-docs")
        assert not problems, problems
    finally:
        context.close()


def test_the_stale_alerts_banner_says_the_error(ui_server: Server, browser: Any) -> None:
    context, page, problems = _page(browser, "dark")
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{STALE}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        banner = frame.locator("#stale-banner")
        banner.wait_for(timeout=30_000)
        text = banner.inner_text()
        assert "runs its last valid version" in text
        assert banner.locator("code.loc").inner_text().startswith(f"alerts.yaml:{STALE_LINE}:")
        assert "resolve_after" in text and "must be at least 1" in text
        shot(page, "ui-stale-banner", doc=True)
        assert not problems, problems
    finally:
        context.close()


def test_the_api_answers_for_the_invalid_dag_without_a_session_with_401(
    ui_server: Server,
) -> None:
    response = httpx.get(f"{ui_server.base_url}/sqlsentinel/api/alerts/{INVALID}", timeout=10)
    assert response.status_code == 401
