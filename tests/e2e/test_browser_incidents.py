"""The Incidents section of an alert's tab in a real browser: the rows the seeded history
implies (``ui_browser.seed``), newest first, with their times, figures and notifications."""

from __future__ import annotations

from typing import Any

import pytest
from ui_browser import FIRING, Server, log_in, shot

pytestmark = pytest.mark.e2e


def _rows(frame: Any) -> list[dict[str, str]]:
    heads = frame.locator("#incidents thead th").all_inner_texts()
    return [
        dict(zip(heads, row.locator("td").all_inner_texts(), strict=True))
        for row in frame.locator("#incidents tbody tr[data-incident-id]").all()
    ]


def test_the_incidents_of_an_alert_newest_first(ui_server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        log_in(page, ui_server.base_url)
        # api_error_rate fires from its 11th evaluation on: one incident, still going on
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        frame.locator("#incidents tr[data-incident-id]").first.wait_for(timeout=30_000)
        (ongoing,) = _rows(frame)
        assert ongoing["Kind"] == "FIRING" and ongoing["Ended"] == "ongoing"
        assert ongoing["Evals"] == "5"  # 6.3, 7.9, 9.4, 11.8, 12.4
        assert ongoing["Peak / threshold"] == "12.4 / 5"
        assert ongoing["Notifications"] == "1 firing"  # no silence muted any
        assert ongoing["Duration"].endswith("so far")
        assert "Instance" not in ongoing  # a single-instance alert
        # the section sits between the stat cards and the chart
        order = frame.locator("#incidents, #chart, .grid").evaluate_all(
            "els => els.map(e => e.id || e.className)"
        )
        assert order == ["grid", "incidents", "chart"]

        # export_backlog fired, was muted once by a silence, announced again after it, resolved;
        # then its query failed twice
        page.goto(f"{ui_server.base_url}/dags/e2eui_export_backlog/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        frame.locator("#incidents tr[data-incident-id]").nth(1).wait_for(timeout=30_000)
        error, fired = _rows(frame)
        assert (error["Kind"], error["Evals"], error["Duration"]) == ("QUERY ERROR", "2", "12m")
        assert error["Peak / threshold"] == 'relation "export_queue" does not exist'
        assert error["Notifications"] == "1 error, 1 resolved"
        assert (fired["Kind"], fired["Evals"], fired["Duration"]) == ("FIRING", "3", "18m")
        assert fired["Peak / threshold"] == "2,600 / 1,000"
        assert fired["Notifications"] == "2 firing, 1 resolved\na silence muted some"
        started = frame.locator("#incidents tbody tr").nth(1).locator("td").nth(1).locator("span")
        assert started.get_attribute("title", timeout=5_000).endswith(" ago")  # relative on hover
        frame.locator("#incidents").scroll_into_view_if_needed()
        shot(page, "ui-incidents", doc=True)
    finally:
        context.close()
    assert problems == []
