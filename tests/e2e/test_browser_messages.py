"""What a message links to, in the real browser: the runbook and links of an alert on its tab
and in the list, and the one-click silence (``?silence=open``) opening the silence dialog.

The api-server and Chromium are the session's (``tests/e2e/ui_browser.py``); ``api_error_rate``
has a ``runbook_url`` and two ``links`` in ALERTS_YAML. The URLs opened here are the ones
messages carry (``airflow_contract.alert_tab_url``), built on the server's ``[api] base_url``.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_browser import FIRING, Server, log_in, shot

from sqlsentinel_airflow.airflow_contract import alert_tab_url

pytestmark = pytest.mark.e2e

RUNBOOK = "https://wiki.example.com/runbooks/api-error-rate"
KEYED = "e2eui_table_freshness"


def _page(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return context, page, problems


def _silences(page: Any, base_url: str, dag_id: str) -> list[dict[str, Any]]:
    answer = page.request.get(f"{base_url}/sqlsentinel/api/alerts/{dag_id}")
    assert answer.ok, answer.text()
    return list(answer.json()["alert"]["silences"])


def test_the_tab_shows_the_runbook_and_links_and_the_list_an_icon(
    ui_server: Server, browser: Any
) -> None:
    context, page, problems = _page(browser)
    try:
        log_in(page, ui_server.base_url)
        page.goto(alert_tab_url(ui_server.base_url, FIRING))
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        links = frame.locator("header .links a")
        links.first.wait_for(timeout=30_000)
        shown = [
            (a.inner_text(), a.get_attribute("href"), a.get_attribute("target"))
            for a in links.all()
        ]
        assert shown == [
            ("Runbook ↗", RUNBOOK, "_blank"),
            ("API dashboard ↗", "https://grafana.example.com/d/api", "_blank"),
            ("Incident channel ↗", "https://chat.example.com/c/incidents", "_blank"),
        ]
        for a in links.all():
            assert set((a.get_attribute("rel") or "").split()) >= {"noopener", "noreferrer"}
        facts = frame.locator("#definition").inner_text()
        assert f"Runbook\n{RUNBOOK}" in facts
        shot(page, "ui-runbook", doc=True)
        context.route(
            "https://grafana.example.com/**",
            lambda route: route.fulfill(body="<h1>Dashboard</h1>", content_type="text/html"),
        )
        with context.expect_page() as opened:  # Airflow's iframe may not open tabs itself
            links.nth(1).click()
        opened.value.wait_for_load_state()
        assert opened.value.url == "https://grafana.example.com/d/api"
        opened.value.close()
        assert page.url == alert_tab_url(ui_server.base_url, FIRING)

        # the UI checks a URL again before it makes a link of it: never javascript: or data:
        safe = frame.locator("html").evaluate(
            "() => ['javascript:alert(1)', 'data:text/html,x', ' JAVASCRIPT:x', 'ftp://h/x',"
            " 'https://ok.example/a'].map(Sentinel.safeUrl)"
        )
        assert safe == [None, None, None, None, "https://ok.example/a"]

        # an alert without a runbook shows no link row
        page.goto(alert_tab_url(ui_server.base_url, "e2eui_daily_revenue"))
        frame.locator("header h1").wait_for(timeout=30_000)
        assert frame.locator("header .links").count() == 0

        # the list: an icon beside the name of the alert that has a runbook, and only there
        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        dashboard = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        icon = dashboard.locator(f"tr[data-dag-id='{FIRING}'] a.runbook-icon")
        icon.wait_for(timeout=30_000)
        assert icon.get_attribute("href") == RUNBOOK
        assert icon.get_attribute("target") == "_blank"
        assert dashboard.locator("a.runbook-icon").count() == 1
        # no internet here: the wiki is answered by the browser context itself
        context.route(
            "https://wiki.example.com/**",
            lambda route: route.fulfill(body="<h1>Runbook</h1>", content_type="text/html"),
        )
        with context.expect_page() as opened:  # a new tab; Airflow's page stays where it is
            icon.click()
        runbook = opened.value
        runbook.wait_for_load_state()
        assert runbook.url == RUNBOOK
        assert runbook.evaluate("() => window.opener") is None  # noopener
        runbook.close()
        assert f"{ui_server.base_url}/plugin/sqlsentinel" in page.url  # still the list
        assert not problems, problems
    finally:
        context.close()


def test_the_silence_link_of_a_message_opens_the_dialog_and_changes_nothing(
    ui_server: Server, browser: Any
) -> None:
    context, page, problems = _page(browser)
    try:
        log_in(page, ui_server.base_url)
        url = alert_tab_url(ui_server.base_url, FIRING, silence=True)
        assert url.endswith(f"/dags/{FIRING}/plugin/sqlsentinel-alert?silence=open")
        page.goto(url)
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        dialog = frame.locator("dialog[open]")
        dialog.wait_for(timeout=30_000)
        assert "Silence api_error_rate" in dialog.inner_text()
        assert page.url == url  # Airflow kept the query string; the tab read it from there
        assert _silences(page, ui_server.base_url, FIRING) == []  # opening it silenced nothing
        frame.locator("#silence-reason").fill("rollback of the 14:00 deploy running")
        shot(page, "ui-silence-link", doc=True)
        dialog.locator("button", has_text="Cancel").click()
        dialog.wait_for(state="detached")
        assert _silences(page, ui_server.base_url, FIRING) == []  # cancelled: still nothing

        # confirmed, it silences; ended again so the shared alert is left as found
        page.reload()
        dialog.wait_for(timeout=30_000)
        frame.locator("#silence-reason").fill("rollback running")
        dialog.locator("button[type='submit']").click()
        frame.locator("#silences li[data-silence-id]").first.wait_for(timeout=15_000)
        made = _silences(page, ui_server.base_url, FIRING)
        assert [s["reason"] for s in made] == ["rollback running"]
        assert frame.locator("dialog[open]").count() == 0  # the reload after it did not reopen
        frame.locator("#silences button[data-action='end-silence']").click()
        frame.locator("header .badge[data-status='firing']").wait_for(timeout=15_000)

        # a keyed alert's link names the instance; the tab passes it to the dialog
        keyed = alert_tab_url(
            ui_server.base_url, KEYED, silence=True, instance_key='{"table_name": "customers"}'
        )
        page.goto(keyed)
        dialog.wait_for(timeout=30_000)
        text = dialog.inner_text()
        assert "table_freshness" in text and "table_name=customers" in text  # the one instance
        dialog.locator("button", has_text="Cancel").click()
        assert _silences(page, ui_server.base_url, KEYED) == []

        # the tab opened on its own (not inside Airflow's page) reads its own URL
        page.goto(f"{ui_server.base_url}/sqlsentinel/ui/alert?dag_id={FIRING}&silence=open")
        page.locator("dialog[open]").wait_for(timeout=30_000)
        page.locator("dialog[open] button", has_text="Cancel").click()

        # without the parameter, no dialog
        page.goto(alert_tab_url(ui_server.base_url, FIRING))
        frame.locator("header h1").wait_for(timeout=30_000)
        frame.locator("svg.chart, .empty").first.wait_for(timeout=30_000)
        assert frame.locator("dialog[open]").count() == 0
        assert not problems, problems
    finally:
        context.close()
