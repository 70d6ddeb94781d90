"""The commands of docs/benchmarks.md's parse section (run 13): the A/B against a copy of the
code before a change. Each Python command's module exists and accepts the flags given; the
full run takes ~10 minutes and CI runs the quick parse benchmark in
tests/integration/test_benchmarks_quick.py instead."""

from __future__ import annotations

from docs_site_support import assert_module_takes, commands_of
from docs_snippets import text


def test_bench_parse_ab_commands() -> None:
    commands = [c.split("#", 1)[0].strip() for c in commands_of(text("bench-parse-run13"))]
    copy, *runs = commands
    assert copy.startswith("mkdir -p /tmp/parse_before && git archive ")
    assert len(runs) == 2
    for command in runs:
        program, *args = command.split()
        assert program == ".venv/bin/python" and args[:2] == ["-m", "bench.parse"], command
        assert "--before" in args
        flags = [a for a in args[2:] if a.startswith("--")]
        assert_module_takes("bench.parse", flags)
