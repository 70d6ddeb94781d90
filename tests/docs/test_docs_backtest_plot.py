"""docs/backtests.md, "Plot": the documented ``--plot`` commands run on the page's example
history (``test_docs_backtests.filled``) and make the files the page describes. With
``SQLSENTINEL_DOC_SCREENSHOTS=1`` the PNG is copied to docs/img/backtest-plot.png, the page's
picture."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from docs_snippets import text
from test_docs_backtests import _run, filled  # noqa: F401 (a fixture)

DOC_IMAGE = Path(__file__).resolve().parents[2] / "docs" / "img" / "backtest-plot.png"


def test_the_documented_plots(filled: Path) -> None:  # noqa: F811
    commands = [c for c in text("backtest-plot").splitlines() if c.startswith("sqlsentinel")]
    assert len(commands) == 2
    for command in commands:
        args = shlex.split(command.split("#")[0])[1:]
        code, stdout, stderr = _run(args)
        assert code == 0, stderr
        target = args[args.index("--plot") + 1]
        assert f"plot: {target}" in stdout
    png, page = filled / "orders_stalled.png", filled / "orders_stalled.html"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "SentinelBacktest.render(" in page.read_text()
    if os.environ.get("SQLSENTINEL_DOC_SCREENSHOTS") == "1":
        shutil.copy(png, DOC_IMAGE)
    assert DOC_IMAGE.exists()
