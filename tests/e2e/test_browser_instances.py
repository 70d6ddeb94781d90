"""A keyed alert in the browser: its instances first, the firing one named in the list,
one instance silenced from its row (the others still listed and notifying), the silence
ended; the query's context columns in the instances and history tables.

``table_loads`` (ui_browser.ALERTS_YAML) is seeded all OK; this test makes ``customers``
fire through the real engine and leaves it OK again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ui_browser import (
    TABLE_LOADS,
    TABLE_LOADS_COLUMNS,
    Server,
    log_in,
    shot,
    status,
    table_loads_rows,
)

from sqlsentinel_airflow.core.result import instance_key

pytestmark = pytest.mark.e2e

CUSTOMERS = instance_key(["table_name"], {"table_name": "customers"})


def _evaluate(server: Server, customers_age: float) -> None:
    from sqlsentinel_airflow.core.config import load_config
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert
    from sqlsentinel_airflow.store import StateStore

    config = load_config(str(server.dags / "alerts.yaml")).config
    assert config is not None

    class Rows:
        columns = TABLE_LOADS_COLUMNS
        rows = table_loads_rows(customers_age)

    store = StateStore.connect(server.state_url)
    try:
        evaluate_alert(
            config.alert("table_loads"), fetch=Rows, store=store, run_type=RunType.MANUAL
        )
    finally:
        store.dispose()


@pytest.fixture
def customers_firing(ui_server: Server) -> Iterator[None]:
    _evaluate(ui_server, 30.5)
    try:
        yield
    finally:
        _evaluate(ui_server, 3)  # as found: every instance OK, no silence left (ended below)


def _top(frame: Any, selector: str) -> float:
    box = frame.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["y"])


def test_instances_first_one_instance_silenced_and_context_columns(
    ui_server: Server, browser: Any, customers_firing: None
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
        row = frame.locator(f"tr[data-dag-id='{TABLE_LOADS}']")
        row.wait_for(timeout=30_000)
        assert status(frame, TABLE_LOADS) == "firing"
        named = row.locator("[data-role='firing-instances']").inner_text()
        assert named == "1 of 3 firing: table_name=customers"
        row.scroll_into_view_if_needed()
        shot(page, "ui-instances-list", doc=True)

        page.goto(f"{ui_server.base_url}/dags/{TABLE_LOADS}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        instances = frame.locator("#instances")
        instances.wait_for(timeout=30_000)
        frame.locator("#history tbody tr").first.wait_for()
        # first after the stat cards, above the chart, the silences and the history
        assert _top(frame, ".grid") < _top(frame, "#instances") < _top(frame, "#chart")
        assert _top(frame, "#instances") < _top(frame, "#history")
        assert "Instances: 1 of 3 firing" in instances.locator("h2").inner_text()
        rows = instances.locator("tbody tr")
        assert rows.count() == 3
        first = rows.first
        assert first.get_attribute("data-instance-key") == CUSTOMERS  # most urgent first
        assert first.locator(".badge").first.get_attribute("data-status") == "firing"
        assert "table_name=customers" in first.inner_text()
        assert "30.5 / 24" in first.inner_text()
        # context columns: compact chips, the full text on hover
        chips = first.locator(".c-context .kv")
        assert "loaded_by=nightly_etl" in chips.all_inner_texts()
        long_chip = first.locator(".c-context .kv[title^='last_file=']")
        assert long_chip.get_attribute("title") == (
            "last_file=s3://warehouse-landing/crm/customers/2026/12/04/"
            "part-00017-of-00020.snappy.parquet"
        )
        assert long_chip.evaluate("el => el.scrollWidth > el.clientWidth")  # ellipsised
        assert "Context" in frame.locator("#history thead").inner_text()
        assert "loaded_by=hourly_etl" in frame.locator("#history tbody").inner_text()
        shot(page, "ui-instances", doc=True)

        # silence that one instance from its row
        first.locator("button[data-action='silence-instance']").click()
        dialog = frame.locator("dialog[open]")
        assert dialog.locator("h2").inner_text() == "Silence table_name=customers of table_loads"
        assert dialog.locator("[data-role='silence-instance']").inner_text() == (
            "table_name=customers"
        )
        dialog.locator("button", has_text="4h").click()
        dialog.locator("#silence-reason").fill("CRM export delayed, reload at 14:00")
        shot(page, "ui-instance-silence", doc=True)
        dialog.locator("button[type='submit']").click()
        frame.locator(
            f"#instances tr[data-silenced='true'][data-instance-key='{CUSTOMERS}']"
        ).wait_for()
        assert frame.locator("#instances tbody tr").count() == 3  # the others still listed
        assert frame.locator("#instances tr[data-silenced='true']").count() == 1
        for other in ("orders", "payments"):
            key = instance_key(["table_name"], {"table_name": other})
            assert (
                frame.locator(
                    f"#instances tr[data-instance-key='{key}'] button[data-action='silence-instance']"
                ).count()
                == 1
            )
        # only the silenced instance fires: the badge says silenced, firing beneath
        header = frame.locator("header .badge").first
        assert header.get_attribute("data-status") == "silenced"
        assert "only table_name=customers" in frame.locator("#silences").inner_text()
        # the header's Unsilence ends whole-alert silences only: it offers Silence… instead
        assert frame.locator("header button[data-action='silence']").count() == 1

        page.goto(f"{ui_server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        row = frame.locator(f"tr[data-dag-id='{TABLE_LOADS}']")
        row.wait_for(timeout=30_000)
        assert status(frame, TABLE_LOADS) == "silenced"
        assert "Silenced: table_name=customers" in row.inner_text()
        row.scroll_into_view_if_needed()
        shot(page, "ui-instances-list-silenced")

        # end it from the instance's row
        page.goto(f"{ui_server.base_url}/dags/{TABLE_LOADS}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        silenced = frame.locator(f"#instances tr[data-instance-key='{CUSTOMERS}']")
        silenced.locator("button[data-action='end-instance-silence']").click()
        frame.locator(
            f"#instances tr[data-silenced='false'][data-instance-key='{CUSTOMERS}']"
        ).wait_for()
        frame.locator("header .badge[data-status='firing']").wait_for()
    finally:
        context.close()
    assert problems == []
