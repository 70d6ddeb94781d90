"""``sqlsentinel backtest --plot FILE``: a replay of real evaluations drawn to PNG and HTML;
any other file type is a usage error before the backtest runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from test_cli_backtest import RANGE, replay_setup  # noqa: F401 (a fixture)
from test_cli_end_to_end import sqlsentinel


def test_plot_png_and_html(replay_setup: tuple[Path, dict[str, str]]) -> None:  # noqa: F811
    cwd, env = replay_setup
    args = ["backtest", "alerts.yaml", "--alert", "revenue", *RANGE, "--set", "fire_after=2"]
    proc = sqlsentinel([*args, "--plot", "out.png"], env, cwd)
    assert proc.returncode == 0, proc.stderr
    assert "plot: out.png" in proc.stdout
    assert (cwd / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    proc = sqlsentinel([*args, "--plot", "out.html", "--format", "json"], env, cwd)
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    page = (cwd / "out.html").read_text()
    embedded = re.search(r'id="backtest-data">(.*?)</script>', page, re.S)
    assert embedded is not None
    drawn = json.loads(embedded.group(1))
    assert drawn["runs"] == printed["runs"]  # the same counts and incidents as the JSON
    assert [r["counts"]["incidents"] for r in drawn["runs"]] == [2, 1]


def test_plot_of_another_type_is_refused_before_running(
    replay_setup: tuple[Path, dict[str, str]],  # noqa: F811
) -> None:
    cwd, env = replay_setup
    args = ["backtest", "alerts.yaml", "--alert", "revenue", *RANGE, "--plot", "out.svg"]
    proc = sqlsentinel(args, env, cwd)
    assert proc.returncode == 2, proc.stdout
    assert "--plot 'out.svg': the file name must end in .html" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
