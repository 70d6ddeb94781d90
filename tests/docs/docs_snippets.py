"""Snippets of the user's guide (``docs/``), by id, so tests can run exactly what it shows.

Convention: every fenced code block in ``docs/**/*.md`` is preceded (on the line before the
opening fence, blank lines allowed) by ``<!-- snippet: some-id -->``. Ids are unique across
the site. ``test_docs_snippets_covered.py`` fails when a block has no id, an id is used twice,
or no test under ``tests/docs/`` names the id in a string literal: so a snippet added to the
docs without a test that exercises it breaks CI.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

# Blocks may sit in a list item (indented) or a blockquote (``> `` prefix): both count.
_MARK = re.compile(r"^[\s>]*<!--\s*snippet:\s*([A-Za-z0-9_.:-]+)\s*-->\s*$")
_FENCE = re.compile(r"^((?:\s*>)*\s*)(`{3,}|~{3,})\s*([^\s`]*)")


@dataclass(frozen=True)
class Snippet:
    id: str | None
    lang: str
    text: str
    path: Path
    line: int  # 1-based line of the opening fence

    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def _blocks(path: Path) -> list[Snippet]:
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Snippet] = []
    pending: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        mark = _MARK.match(line)
        if mark:
            pending = mark.group(1)
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            indent, ticks, lang = fence.groups()
            body: list[str] = []
            j = i + 1
            while j < len(lines):
                inner = lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j]
                if inner.strip().startswith(ticks) or lines[j].strip().startswith(ticks):
                    break
                body.append(inner)
                j += 1
            out.append(Snippet(pending, lang, "\n".join(body) + "\n", path, i + 1))
            pending = None
            i = j + 1
            continue
        if line.strip().lstrip(">").strip():
            pending = None
        i += 1
    return out


@lru_cache(maxsize=1)
def all_snippets() -> tuple[Snippet, ...]:
    found: list[Snippet] = []
    for path in sorted(DOCS.rglob("*.md")):
        found.extend(_blocks(path))
    return tuple(found)


def snippet(snippet_id: str) -> Snippet:
    """The block marked ``<!-- snippet: snippet_id -->``; KeyError names the known ids."""
    for s in all_snippets():
        if s.id == snippet_id:
            return s
    known = sorted(s.id for s in all_snippets() if s.id)
    raise KeyError(f"no docs snippet {snippet_id!r}; known: {known}")


def text(snippet_id: str) -> str:
    return snippet(snippet_id).text


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module, so a test can call the generator the docs came from."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module
