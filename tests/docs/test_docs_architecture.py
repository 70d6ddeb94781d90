"""docs/architecture.md matches the code: the layers name real modules, the table of "one
place per concept" names real modules, and its census figures are what scripts/concepts.py
counts now."""

from __future__ import annotations

import re

from docs_snippets import DOCS, REPO, load_script, text

PACKAGE = REPO / "sqlsentinel_airflow"
PAGE = DOCS / "architecture.md"


def _exists(name: str) -> bool:
    name = name.rstrip("/")
    return (PACKAGE / name).exists() or (PACKAGE / f"{name}.py").exists()


def test_every_module_in_the_layer_diagram_exists() -> None:
    diagram = text("architecture-layers")
    names = re.findall(r"([a-z_]+(?:/[a-z_]+)*(?:\.py|/))", diagram)
    assert len(names) >= 15, names
    missing = [n for n in names if not _exists(n)]
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"
    for package in (p for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        assert f"{package.name}/" in diagram, f"the layer diagram misses {package.name}/"


def test_every_module_the_concept_table_names_exists() -> None:
    page = PAGE.read_text(encoding="utf-8")
    section = page.split("## One place per concept", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("| "))
    named = set(re.findall(r"`([a-z_]+(?:/[a-z_]+)*(?:\.py|/))`", table))
    assert len(named) >= 8, named
    missing = sorted(n for n in named if not _exists(n) and not (REPO / n).exists())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_the_census_figures_are_the_current_ones() -> None:
    concepts = load_script("concepts")
    now = {name: len(places) for name, places in concepts.census(PACKAGE).items()}
    page = PAGE.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (.+?) \| \d+ \| (\d+) \|$", page, flags=re.M))
    assert set(rows) == set(now), "the census table and scripts/concepts.py list other concepts"
    stale = {
        name: (int(rows[name]), count) for name, count in now.items() if int(rows[name]) != count
    }
    assert not stale, f"docs/architecture.md census (page, now): {stale}"
