"""The commands of docs/benchmarks.md's UI section: each program exists and accepts its flags.

The full run takes ~10 minutes (30 days) to over an hour (a year) and needs ~6-80 GB; CI
runs the scaled-down checks in tests/integration/test_benchmarks_ui_speed_quick.py and
tests/e2e/test_browser_speed.py instead.
"""

from __future__ import annotations

import pytest
from docs_site_support import assert_module_takes, commands_of
from docs_snippets import text


@pytest.mark.parametrize(
    "snippet",
    [
        "bench-ui-speed",
        "bench-ui-speed-2d",
        "bench-ui-speed-merged",
        "bench-ui-speed-incidents-kept",
        "bench-ui-speed-year",
    ],
)
def test_bench_ui_speed_commands(snippet: str) -> None:
    assert _modules_of(snippet) == {"bench.bigstate", "bench.ui_speed"}


def test_bench_ui_speed_year_after_reuses_the_year() -> None:
    assert _modules_of("bench-ui-speed-year-after", least=1) == {"bench.ui_speed"}
    assert "--reuse-db ss_year" in text("bench-ui-speed-year-after")


def test_bench_overview_ab_reuses_the_shared_database() -> None:
    assert _modules_of("bench-overview-ab", least=1) == {"bench.overview_ab"}
    assert "--reuse-db ss_shared2" in text("bench-overview-ab")


def test_bench_compaction_commands() -> None:
    assert _modules_of("bench-compaction") == {"bench.bigstate", "bench.compaction"}


def _modules_of(snippet: str, least: int = 3) -> set[str]:
    """The modules a snippet's commands run; each exists and accepts the flags given."""
    commands = [c.split("#", 1)[0].strip() for c in commands_of(text(snippet))]
    assert len(commands) >= least
    modules = set()
    for command in commands:
        program, *args = command.split()
        assert program == ".venv/bin/python" and args[0] == "-m", command
        module, flags = args[1], [a for a in args[2:] if a.startswith("--")]
        modules.add(module)
        assert_module_takes(module, flags)
    return modules
