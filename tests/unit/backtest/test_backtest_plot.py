"""``--plot``: the HTML file carries the data and the UI's chart code and nothing from the
network; the PNG is a real PNG of the documented size, drawn by matplotlib, with the current
and the proposed policy's incidents in their own colours."""

from __future__ import annotations

import dataclasses
import json
import re
import struct
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sqlsentinel_airflow.backtest import plot
from sqlsentinel_airflow.backtest.engine import Backtest, Tick
from sqlsentinel_airflow.backtest.result import BacktestResult, Source
from sqlsentinel_airflow.core.config.loader import load_config_text
from sqlsentinel_airflow.core.model import InstanceResult, Outcome, QueryEvaluation

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
ALERTS = """\
alerts:
  - name: revenue
    conn_id: wh
    schedule: "*/10 * * * *"
    query: SELECT 'OK' AS status
    notify:
      - channel: webhook
        url: https://hooks.example.com/alerts
  - name: late_tables
    conn_id: wh
    schedule: "*/10 * * * *"
    key_columns: [table_name]
    query: SELECT 'a' AS table_name, 'OK' AS status
"""


def _result(keyed: bool = False, points: int = 60) -> BacktestResult:
    config = load_config_text(ALERTS, "alerts.yaml", env={}).config
    assert config is not None
    alert = config.alert("late_tables" if keyed else "revenue")
    engine = Backtest(
        alert,
        [("current", alert.policy), ("proposed", dataclasses.replace(alert.policy, fire_after=2))],
        source=Source.REPLAY,
        start=T0,
        end=T0 + timedelta(minutes=10 * points),
    )
    for i in range(points):
        # a one-tick blip at 10, an incident from 30 to 40, an error at 50
        value = 5.0 if i == 10 or 30 <= i < 40 else 20.0 + (i % 7)
        if i == 50:
            evaluation = QueryEvaluation(error="relation orders does not exist")
        else:
            names = ["orders", "customers"] if keyed else [""]
            evaluation = QueryEvaluation(
                instances=tuple(
                    InstanceResult(
                        f'{{"table_name":"{n}"}}' if keyed else "",
                        {"table_name": n} if keyed else {},
                        Outcome.ALERT
                        if value < 10 and (not keyed or n == "orders")
                        else Outcome.OK,
                        value if not keyed or n == "orders" else 1.0,
                        10,
                    )
                    for n in names
                ),
                row_count=len(names),
            )
        engine.feed(Tick(T0 + timedelta(minutes=10 * i), evaluation))
    return engine.result()


def _embedded(page: str) -> dict[str, object]:
    found = re.search(
        r'<script type="application/json" id="backtest-data">(.*?)</script>', page, re.S
    )
    assert found is not None
    return json.loads(found.group(1))  # type: ignore[no-any-return]


def test_html_is_self_contained_with_the_data_and_the_ui_chart_code(tmp_path: Path) -> None:
    result = _result(keyed=True)
    target = tmp_path / "backtest.html"
    plot.render(result, target)
    page = target.read_text(encoding="utf-8")
    chart_js, chart_css = plot.chart_assets()
    assert chart_js.strip() in page and chart_css.strip() in page  # the UI's code, inlined
    assert "SentinelBacktest.render(" in page
    data = _embedded(page)
    assert data == json.loads(json.dumps(result.to_dict(max_points=plot.MAX_POINTS)))
    assert [r["counts"]["incidents"] for r in data["runs"]] == [2, 1]  # type: ignore[index]
    # nothing is fetched: no external script, stylesheet, image, font or request
    for fetching in ("<script src", "<link", "<img", "url(", "@import", "fetch(", "XMLHttpRequest"):
        assert fetching not in page, fetching
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) <= {
        "http://www.w3.org/2000/svg",  # the SVG namespace: a name, never requested
        "https://hooks.example.com/alerts",  # the channel's destination, in the data
    }


def test_html_data_cannot_close_its_script_element(tmp_path: Path) -> None:
    result = dataclasses.replace(_result(), alert_name="</script><script>alert(1)</script>")
    target = tmp_path / "b.html"
    plot.render(result, target)
    page = target.read_text()
    assert page.count("</script>") == 3  # the data's, the chart's, the call's
    assert _embedded(page)["alert_name"] == "</script><script>alert(1)</script>"
    assert "<title>Backtest: &lt;/script&gt;" in page


def test_html_thins_a_long_series_keeping_its_spike(tmp_path: Path) -> None:
    result = _result(points=5000)
    target = tmp_path / "long.html"
    plot.render_html(result, target, max_points=200)
    (series,) = _embedded(target.read_text())["series"]  # type: ignore[misc]
    assert len(series["times"]) <= 200
    assert min(v for v in series["values"] if v is not None) == 5.0  # the blip survives


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_is_drawn_by_matplotlib_at_the_documented_size(tmp_path: Path) -> None:
    from PIL import Image

    result = _result(keyed=True)
    target = tmp_path / "backtest.png"
    plot.render(result, target)
    data = target.read_bytes()
    assert _png_size(data) == plot.png_size(result) == (1200, 100 + 2 * 320)
    assert b"Matplotlib" in data  # its Software text chunk
    colours = {c for _n, c in Image.open(target).convert("RGB").getcolors(1 << 20)}
    assert (0xC8, 0x1E, 0x1E) in colours  # the current policy's incident bars
    assert (0xB4, 0x53, 0x09) in colours  # the proposed policy's


def test_png_of_one_instance_and_of_nothing(tmp_path: Path) -> None:
    one = _result()
    plot.render(one, tmp_path / "one.png")
    assert _png_size((tmp_path / "one.png").read_bytes()) == (1200, 420)
    empty = dataclasses.replace(one, series=(), evaluations=0)
    plot.render(empty, tmp_path / "none.png")
    assert _png_size((tmp_path / "none.png").read_bytes()) == (1200, 420)


@pytest.mark.parametrize("name", ["b.svg", "b", "b.htm", "b.jpeg"])
def test_other_suffixes_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(plot.PlotError, match=r"must end in \.html .* or \.png"):
        plot.render(_result(), tmp_path / name)
    assert not (tmp_path / name).exists()


def test_png_without_matplotlib_names_the_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib: ImportError
    with pytest.raises(plot.PlotError, match=r"pip install 'sqlsentinel-airflow\[plot\]'"):
        plot.check_target(tmp_path / "b.png")
    plot.check_target(tmp_path / "b.html")  # the HTML needs nothing
