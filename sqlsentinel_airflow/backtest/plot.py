"""``sqlsentinel backtest --plot FILE``: a backtest as a picture (docs/backtests.md, "Plot").

Per instance (a keyed alert has one chart each, those with incidents first): the value against
the threshold over the range, the current policy's incidents shaded behind them, and one lane
per policy (current, proposed) with its incidents as bars, so what a proposed policy changes
is seen at a glance.

- ``.html``: one self-contained file (no network: the data is embedded as JSON, the CSS and
  the JavaScript inlined). It is drawn by ``ui/static/backtest_chart.js``, the code that draws
  the Backtest panel of the alert's tab: the chart is made in one place.
- ``.png``: drawn with matplotlib (the ``plot`` extra: ``pip install
  'sqlsentinel-airflow[plot]'``), :data:`PNG_WIDTH` pixels wide and :data:`PNG_ROW_HEIGHT` per
  instance drawn (at most :data:`PNG_MAX_INSTANCES`) plus :data:`PNG_HEADER_HEIGHT`.

Long series are thinned for drawing (``ValueSeries.downsampled``: each bucket keeps its lowest
and highest value, so a spike survives); the counts always cover every evaluation.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from sqlsentinel_airflow.backtest.result import BacktestResult, PolicyRun, ValueSeries

__all__ = [
    "FORMATS",
    "MAX_POINTS",
    "PNG_HEADER_HEIGHT",
    "PNG_MAX_INSTANCES",
    "PNG_ROW_HEIGHT",
    "PNG_WIDTH",
    "PlotError",
    "chart_assets",
    "check_target",
    "drawn_series",
    "png_size",
    "render",
    "render_html",
    "render_png",
]

FORMATS = (".html", ".png")
MAX_POINTS = 2000  # per instance drawn: about the pixels across a chart, twice
PNG_WIDTH = 1200
PNG_HEADER_HEIGHT = 100
PNG_ROW_HEIGHT = 320
PNG_MAX_INSTANCES = 6
_DPI = 100
_PIP = "pip install 'sqlsentinel-airflow[plot]'  (or: pip install 'matplotlib>=3.8')"


class PlotError(ValueError):
    """The plot cannot be made: an unknown file type, or matplotlib missing for a PNG."""


def check_target(path: Path) -> str:
    """The format ``path`` asks for (``.html`` or ``.png``); PlotError when it is neither or
    when a PNG cannot be drawn here. Checked before a backtest runs, not after."""
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise PlotError(
            f"--plot {str(path)!r}: the file name must end in .html (an interactive page) "
            "or .png (a picture)"
        )
    if suffix == ".png":
        _matplotlib()
    return suffix


def render(result: BacktestResult, path: Path) -> None:
    """Draw ``result`` to ``path``, as the suffix says (:func:`check_target`)."""
    if check_target(path) == ".html":
        render_html(result, path)
    else:
        render_png(result, path)


# --- HTML: the UI's chart code, inlined --------------------------------------------------------


def chart_assets() -> tuple[str, str]:
    """The chart's JavaScript and CSS, as shipped in the UI's static files."""
    static = resources.files("sqlsentinel_airflow.ui").joinpath("static")
    return (
        static.joinpath("backtest_chart.js").read_text(encoding="utf-8"),
        static.joinpath("backtest_chart.css").read_text(encoding="utf-8"),
    )


def _script_json(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it is embedded in."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_PAGE_CSS = """
:root { color-scheme: light dark; --bg: #fff; --fg: #1a202c; --fg-muted: #5f6b7a;
  --border: #e2e6eb; --bg-soft: #f6f7f9; --accent: #0b6bcb; --firing: #c81e1e;
  --pending: #b45309; --error: #9b2c8a;
  font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 14px; line-height: 1.45; }
@media (prefers-color-scheme: dark) { :root { --bg: #111418; --fg: #e6e9ee; --fg-muted: #9aa5b4;
  --border: #2b323c; --bg-soft: #181c22; --accent: #4c9ffe; --firing: #ff8080;
  --pending: #fbbf24; --error: #e39be0; } }
body { margin: 0; background: var(--bg); color: var(--fg); }
main { max-width: 1200px; margin: 0 auto; padding: 16px 20px 32px; }
h1 { font-size: 18px; margin: 0 0 4px; }
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sqlsentinel backtest --plot">
<title>Backtest: {title}</title>
<style>{page_css}
{chart_css}</style>
</head>
<body>
<main>
<h1>Backtest: {title}</h1>
<div id="backtest"></div>
</main>
<script type="application/json" id="backtest-data">{data}</script>
<script>
{chart_js}
</script>
<script>
(() => {{
  const data = JSON.parse(document.getElementById("backtest-data").textContent);
  const root = document.getElementById("backtest");
  let drawn = 0;
  const draw = () => {{
    if (root.clientWidth === drawn) return;
    drawn = root.clientWidth;
    SentinelBacktest.render(root, data, {{ width: drawn }});
  }};
  draw();
  window.addEventListener("resize", draw);
}})();
</script>
</body>
</html>
"""


def render_html(result: BacktestResult, path: Path, *, max_points: int = MAX_POINTS) -> None:
    """One self-contained HTML file: the result's JSON (each series thinned to about
    ``max_points``) drawn by the UI's chart code."""
    chart_js, chart_css = chart_assets()
    page = _PAGE.format(
        title=html.escape(f"{result.alert_name} ({result.dag_id})"),
        page_css=_PAGE_CSS.strip(),
        chart_css=chart_css.strip(),
        data=_script_json(result.to_dict(max_points=max_points)),
        chart_js=chart_js.strip(),
    )
    path.write_text(page, encoding="utf-8")


# --- PNG: matplotlib ---------------------------------------------------------------------------


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise PlotError(
            f"--plot FILE.png needs matplotlib, which is not installed: {_PIP}"
        ) from None
    return matplotlib


_COLOURS = {
    "value": "#0b6bcb",
    "threshold": "#c81e1e",
    "shade": "#c81e1e",
    "current": "#c81e1e",
    "proposed": "#b45309",
    "error": "#9b2c8a",
    "muted": "#5f6b7a",
}


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _label(series: ValueSeries) -> str:
    if series.key_values:
        return ", ".join(f"{k}={v}" for k, v in series.key_values.items())
    return series.instance_key or "(single instance)"


def drawn_series(result: BacktestResult, limit: int) -> list[ValueSeries]:
    """The instances to draw, at most ``limit``: those with incidents under either policy
    first (as ``backtest_chart.js`` picks them), else in key order."""
    busy = {i.instance_key for run in result.runs for i in run.incidents}
    ordered = sorted(result.series, key=lambda s: s.instance_key not in busy)
    return ordered[:limit]


def _n(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _summary(run: PolicyRun) -> str:
    c = run.counts
    return (
        f"{run.label}: {_n(c.incidents, 'incident')}, {c.firing_seconds / 3600:.1f} h firing, "
        f"{_n(c.flaps, 'flap')}, {_n(c.error_incidents, 'error incident')}, "
        f"{_n(c.messages, 'message')}"
    )


def png_size(result: BacktestResult) -> tuple[int, int]:
    """(width, height) in pixels of the PNG :func:`render_png` draws for ``result``."""
    rows = max(1, min(PNG_MAX_INSTANCES, len(result.series)))
    return PNG_WIDTH, PNG_HEADER_HEIGHT + rows * PNG_ROW_HEIGHT


def render_png(result: BacktestResult, path: Path, *, max_points: int = MAX_POINTS) -> None:
    """A PNG of :func:`png_size`, drawn with matplotlib (no display needed: its Agg canvas)."""
    _matplotlib()
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    width, height = png_size(result)
    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    shown = drawn_series(result, PNG_MAX_INSTANCES)
    start, end = result.start, result.end
    source = (
        "replay of recorded evaluations" if result.source.value == "replay" else "as-of queries"
    )
    header = (
        f"Backtest: {result.alert_name} ({source}), {start:%Y-%m-%d %H:%M} to "
        f"{end:%Y-%m-%d %H:%M} UTC, {result.evaluations:,} evaluations"
    )
    top = 1 - PNG_HEADER_HEIGHT / height
    fig.text(0.01, 1 - 22 / height, header, fontsize=12, fontweight="bold", va="center")
    for n, run in enumerate(result.runs):
        fig.text(
            0.01,
            1 - (46 + 20 * n) / height,
            _summary(run),
            fontsize=10,
            va="center",
            color=_COLOURS.get(run.label, "black"),
        )
    rows = len(shown) or 1
    grid = fig.add_gridspec(
        rows * 3,  # per instance: the values, the policies' lanes, a gap for the time axis
        1,
        height_ratios=[5, 1.2, 0.9] * rows,
        left=0.08,
        right=0.98,
        top=top - 0.01,
        bottom=10 / height,
        hspace=0.12,
    )
    if not shown:
        ax = fig.add_subplot(grid[0, 0])
        ax.text(0.5, 0.5, "no evaluation in the range", ha="center", va="center")
        ax.set_axis_off()
    for row, series in enumerate(shown):
        ax = fig.add_subplot(grid[row * 3, 0])
        lanes = fig.add_subplot(grid[row * 3 + 1, 0], sharex=ax)
        _draw_series(ax, lanes, result, series.downsampled(max_points))
        lanes.xaxis.set_major_formatter(
            mdates.ConciseDateFormatter(mdates.AutoDateLocator())  # type: ignore[no-untyped-call]
        )
        if row == 0:
            ax.legend(loc="upper right", fontsize=8, ncols=3, framealpha=0.85)
    fig.savefig(path, format="png", dpi=_DPI)


def _draw_series(ax: Any, lanes: Any, result: BacktestResult, series: ValueSeries) -> None:
    times = [_when(t) for t in series.times]
    ax.plot(times, list(series.values), color=_COLOURS["value"], linewidth=1.2, label="value")
    ax.plot(
        times,
        list(series.thresholds),
        color=_COLOURS["threshold"],
        linewidth=1.1,
        linestyle="--",
        drawstyle="steps-post",
        label="threshold",
    )
    mine = [
        i
        for i in result.current.incidents
        if i.instance_key in (series.instance_key, "")  # "": a keyed alert's query errors
    ]
    for i in mine:
        stop = i.ended_at or result.end
        ax.axvspan(
            i.started_at,
            stop,
            color=_COLOURS["shade"] if i.kind == "firing" else _COLOURS["error"],
            alpha=0.13,
            linewidth=0,
            label="current policy firing" if i is mine[0] else None,
        )
    ax.set_xlim(result.start, result.end)
    if series.instance_key:  # a keyed alert's instance
        ax.set_title(_label(series), fontsize=10, loc="left")
    ax.grid(True, linestyle=":", linewidth=0.6, alpha=0.7)
    ax.tick_params(labelbottom=False, labelsize=8)
    runs = list(result.runs)
    for n, run in enumerate(runs):
        y = len(runs) - 1 - n
        bars: dict[str, list[tuple[Any, Any]]] = {"firing": [], "error": []}
        for i in run.incidents:
            if i.instance_key not in (series.instance_key, ""):
                continue
            stop = i.ended_at or result.end
            bars[i.kind].append((i.started_at, stop - i.started_at))
        colour = _COLOURS.get(run.label, "black")
        if bars["firing"]:
            lanes.broken_barh(bars["firing"], (y + 0.1, 0.8), facecolors=colour)
        if bars["error"]:
            lanes.broken_barh(
                bars["error"], (y + 0.1, 0.8), facecolors=_COLOURS["error"], alpha=0.7
            )
    lanes.set_ylim(0, len(runs))
    lanes.set_yticks([len(runs) - 1 - n + 0.5 for n in range(len(runs))])
    lanes.set_yticklabels([r.label for r in runs], fontsize=8)
    lanes.tick_params(axis="x", labelsize=8)
    lanes.set_xlim(result.start, result.end)
