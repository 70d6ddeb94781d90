"""The commands of docs/benchmarks.md's ``status`` paragraph (section 5): the checkout of the
code before, then the A/B run, whose program exists and accepts its flags. The run itself is
exercised at a tiny size by tests/integration/test_benchmarks_status_ab_quick.py."""

from __future__ import annotations

from docs_site_support import assert_module_takes, commands_of
from docs_snippets import text


def test_bench_status_ab_commands() -> None:
    checkout, run = [c.split("#", 1)[0].strip() for c in commands_of(text("bench-status-ab"))]
    assert checkout.startswith("git worktree add /tmp/status-before ")
    program, dash_m, module, *args = run.split()
    assert (program, dash_m, module) == (".venv/bin/python", "-m", "bench.status_ab")
    assert args[args.index("--before") + 1] == "/tmp/status-before"
    assert_module_takes(module, [a for a in args if a.startswith("--")])
