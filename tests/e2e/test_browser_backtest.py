"""The Backtest panel of an alert's tab in a real browser: a proposed ``fire_after`` replayed
over the seeded history (``ui_browser.seed``), the chart and the counts, current vs proposed;
a refused value shown in the panel. Then the self-contained file of ``--plot FILE.html``,
drawn offline by the same chart code."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from ui_browser import FIRING, Server, log_in, shot

pytestmark = pytest.mark.e2e


def _counts(frame: Any) -> dict[str, list[str]]:
    rows = frame.locator("#backtest table.bt-counts tbody tr")
    return {
        row.get_attribute("data-count"): row.locator("td").all_inner_texts() for row in rows.all()
    }


def test_a_proposed_fire_after_in_the_backtest_panel(ui_server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1100}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        log_in(page, ui_server.base_url)
        page.goto(f"{ui_server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[src*='sqlsentinel/ui/']")
        panel = frame.locator("#backtest")
        panel.wait_for(timeout=30_000)
        assert "sqlsentinel backtest --source as-of" in panel.inner_text()
        # a value the state machine refuses: said in the panel, nothing drawn
        frame.locator("#bt-fire_after").fill("0")
        frame.locator("[data-action=run-backtest]").click()
        error = frame.locator("[data-role=backtest-error]")
        frame.locator("[data-role=backtest-error]:not(:empty)").wait_for()
        assert error.inner_text().startswith("fire_after: "), error.inner_text()
        assert frame.locator("#backtest svg.bt-chart").count() == 0

        # the range is the last 7 days unless changed; the seeded evaluations are the last
        # 3 hours': api_error_rate went over 5 at its 11th of 15 and is still firing
        now = datetime.now(timezone.utc)  # the tab shows UTC, Airflow's default
        week_ago = frame.locator("#bt-from").input_value()
        assert week_ago[:10] in {
            (now - timedelta(days=7, minutes=m)).date().isoformat() for m in (0, 5)
        }
        frame.locator("#bt-from").fill(
            (now - timedelta(hours=3, minutes=10)).strftime("%Y-%m-%dT%H:%M")
        )
        frame.locator("#bt-fire_after").fill("3")
        frame.locator("[data-action=run-backtest]").click()
        frame.locator("#backtest svg.bt-chart").wait_for()
        assert error.inner_text() == ""
        counts = _counts(frame)
        assert counts["fire_after"] == ["1", "3"]
        assert counts["incidents"] == ["1", "1"]
        # it fires two evaluations (12 minutes) later: less time firing, the same one message
        current_firing, proposed_firing = counts["time firing"]
        assert current_firing != proposed_firing
        changed = frame.locator("#backtest tr.bt-changed").evaluate_all(
            "rows => rows.map(r => r.dataset.count)"
        )
        assert changed == ["fire_after", "time firing"]
        # one bar per policy, the proposed one starting later; the current one shaded
        current = frame.locator("#backtest rect.bt-bar.bt-current")
        proposed = frame.locator("#backtest rect.bt-bar.bt-proposed")
        assert (current.count(), proposed.count()) == (1, 1)
        assert float(proposed.get_attribute("x")) > float(current.get_attribute("x"))
        assert frame.locator("#backtest rect.bt-shade-firing").count() == 1
        assert frame.locator("#backtest polyline.bt-value").count() == 1
        panel.evaluate("el => el.scrollIntoView({ block: 'start' })")
        shot(page, "ui-backtest", doc=True)
    finally:
        context.close()
    assert problems == []


def test_the_plot_file_draws_offline(browser: Any, tmp_path: Path) -> None:
    from sqlsentinel_airflow.backtest import plot
    from sqlsentinel_airflow.backtest.engine import Backtest, Tick
    from sqlsentinel_airflow.backtest.result import Source
    from sqlsentinel_airflow.core.config.loader import load_config_text
    from sqlsentinel_airflow.core.model import InstanceResult, Outcome, QueryEvaluation

    config = load_config_text(
        "alerts:\n  - name: lag\n    conn_id: wh\n    schedule: '*/10 * * * *'\n"
        "    query: SELECT 'OK' AS status\n",
        "alerts.yaml",
        env={},
    ).config
    assert config is not None
    alert = config.alert("lag")
    start = datetime(2026, 11, 2, tzinfo=timezone.utc)
    engine = Backtest(
        alert,
        [("current", alert.policy), ("proposed", alert.policy)],
        source=Source.REPLAY,
        start=start,
        end=start + timedelta(hours=4),
    )
    for i, value in enumerate([3, 4, 12, 13, 4, 3, 2, 15, 3, 3]):
        status = Outcome.ALERT if value > 10 else Outcome.OK
        engine.feed(
            Tick(
                start + timedelta(minutes=20 * i),
                QueryEvaluation(
                    instances=(InstanceResult("", {}, status, value, 10),), row_count=1
                ),
            )
        )
    target = tmp_path / "backtest.html"
    plot.render(engine.result(), target)
    context = browser.new_context(viewport={"width": 1000, "height": 700}, offline=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("request", lambda r: None if r.url.startswith("file:") else problems.append(r.url))
    try:
        page.goto(target.as_uri())
        page.locator("svg.bt-chart").wait_for()
        assert page.locator("rect.bt-bar.bt-current").count() == 2
        assert page.locator("rect.bt-bar.bt-proposed").count() == 2
        shot(page, "backtest-plot-html")
        assert page.locator("table.bt-counts tr[data-count=incidents] td").all_inner_texts() == [
            "2",
            "2",
        ]
    finally:
        context.close()
    assert problems == []
