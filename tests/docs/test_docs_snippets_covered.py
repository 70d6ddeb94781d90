"""Every code block in docs/ has an id and a test that exercises it (see docs_snippets.py)."""

from __future__ import annotations

import re
from collections import Counter

from docs_snippets import REPO, all_snippets


def test_every_block_has_an_id() -> None:
    missing = [s.where() for s in all_snippets() if not s.id]
    assert not missing, (
        "code blocks without '<!-- snippet: id -->' on the line before the fence: "
        + ", ".join(missing)
    )


def test_ids_are_unique() -> None:
    counts = Counter(s.id for s in all_snippets() if s.id)
    dupes = sorted(i for i, n in counts.items() if n > 1)
    assert not dupes, f"snippet ids used more than once: {dupes}"


def test_every_id_is_named_by_a_test() -> None:
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (REPO / "tests" / "docs").glob("test_*.py")
        if p.name != "test_docs_snippets_covered.py"
    )
    named = set(re.findall(r"""["']([A-Za-z0-9_.:-]+)["']""", sources))
    untested = sorted(f"{s.id} ({s.where()})" for s in all_snippets() if s.id and s.id not in named)
    assert not untested, f"docs snippets no test exercises: {untested}"
