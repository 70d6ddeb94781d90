"""The UI speed benchmark's measurements still work (bench/ui_speed.py, docs/benchmarks.md).

Its browser and API timings run here against the shared api-server (five alerts, hours of
history) instead of a big state database: the render markers of dashboard.js and alert.js
are set once every row is drawn, the shell marker sees Airflow attach the iframe, and the
API reads answer. Only the shape of the results is asserted, never a speed.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_browser import FIRING, PASSWORD, Server

from bench.ui_speed import time_api, time_pages

pytestmark = pytest.mark.e2e


def test_the_benchmark_times_both_pages_and_the_api(ui_server: Server, browser: Any) -> None:
    pages = time_pages(
        ui_server.base_url, PASSWORD, FIRING, alerts=5, reps=1, history_rows=15, browser=browser
    )
    api = time_api(ui_server.base_url, PASSWORD, FIRING, reps=1)

    assert set(pages) == {"dashboard", "alert_tab"}
    assert pages["dashboard"]["rows"] >= 5
    assert pages["alert_tab"]["rows"] >= 15  # every evaluation of the firing alert
    for name, m in pages.items():
        assert len(m["runs_ms"]) == 2, name
        assert all(0 < t < 60_000 for t in m["runs_ms"]), (name, m)  # after the shell, drawn
        assert m["shell_median_ms"] > 0, name
        # our API's last response came after the frame started and before the table was drawn
        assert 0 < m["data_median_ms"] <= sorted(m["runs_ms"][1:])[0] + 1, (name, m)
    assert set(api) == {"alerts", "alert", "history", "incidents"}
    assert api["alerts"]["rows"] >= 5
    assert api["history"]["rows"] >= 15
    assert api["incidents"]["rows"] >= 1  # the firing alert's ongoing incident
    assert all(m["median_ms"] > 0 and m["bytes"] > 0 for m in api.values())
