"""The commands of docs/benchmarks.md's run 13 of the evaluation benchmark (section 2) and of
"A year, measured end to end" (section 5): each program exists and accepts every flag the
page gives it. The programs run at tiny sizes in tests/integration/test_benchmarks_*_quick.py.
"""

from __future__ import annotations

import pytest
from docs_site_support import assert_module_takes, commands_of
from docs_snippets import text

SNIPPETS = {
    "bench-evaluation-run13": {"bench.evaluation"},
    "bench-scale-year": {"bench.bigstate", "bench.scale", "bench.status_ab"},
}


@pytest.mark.parametrize("snippet", sorted(SNIPPETS))
def test_bench_commands_take_their_flags(snippet: str) -> None:
    modules: set[str] = set()
    for command in commands_of(text(snippet)):
        program, dash_m, module, *args = command.split("#", 1)[0].split()
        assert (program, dash_m) == (".venv/bin/python", "-m"), command
        modules.add(module)
        assert_module_takes(module, [a for a in args if a.startswith("--")])
    assert modules == SNIPPETS[snippet]


def test_the_year_is_measured_on_the_database_the_generator_kept() -> None:
    commands = commands_of(text("bench-scale-year"))
    assert "--keep" in commands[0].split() and "--compact" in commands[0].split()
    assert all("--reuse-db ss_year" in c for c in commands[1:])
    assert "--purge" in commands[-1].split()  # last: it deletes 11 months
