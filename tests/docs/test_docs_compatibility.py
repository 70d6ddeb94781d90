"""docs/compatibility.md: the supported releases, the matrix commands, its last results, and
the install advice checked against the lock files of the matrix.

The matrix itself (Airflow installs, minutes per release) is `scripts/matrix`, not this test;
this checks that the page says what the matrix runs and that its results are recorded.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from docs_snippets import REPO, text
from packaging.requirements import Requirement

PAGE = REPO / "docs" / "compatibility.md"
MATRIX = REPO / "scripts" / "matrix"
LOCKS = REPO / "requirements" / "matrix"
RELEASES = ("3.1", "3.2", "3.3")


def _lock(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_the_matrix_commands_are_the_scripts_own() -> None:
    helptext = subprocess.run(
        [sys.executable, str(MATRIX), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for line in text("compat-matrix-commands").splitlines():
        argv = shlex.split(line, comments=True)
        assert argv[0] == "scripts/matrix"
        for arg in argv[1:]:
            assert arg in RELEASES or (arg.startswith("--") and arg in helptext), arg


def test_the_constrained_install_changes_nothing_installed() -> None:
    freeze, install = text("compat-install-constrained").strip().splitlines()
    target = shlex.split(freeze)[-1]
    assert shlex.split(freeze)[:2] == ["pip", "freeze"]
    assert shlex.split(install) == ["pip", "install", "sqlsentinel_airflow-*.whl", "-c", target]


@pytest.mark.parametrize("release", RELEASES)
def test_each_locked_release_satisfies_the_declared_ranges(release: str) -> None:
    """The providers of each release's day are accepted as they are (no upgrade needed)."""
    pins = _lock(LOCKS / f"airflow-{release}.txt")
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in map(Requirement, declared):
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{name} missing from airflow-{release}.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (release, name)


def test_the_page_names_the_supported_releases_and_the_last_run() -> None:
    page = PAGE.read_text(encoding="utf-8")
    assert "**Airflow 3.1, 3.2 and 3.3**" in page
    assert "**Airflow 3.0 is not supported.**" in page
    results = page.split("<!-- matrix:start -->", 1)[1].split("<!-- matrix:end -->", 1)[0]
    assert re.search(r"Last run: \d{4}-\d\d-\d\d", results), "no dated results"
    for release in ("3.1", "3.3"):  # the two ends, at least
        row = re.search(rf"^\| {re.escape(release)}\.\d+ \|.*$", results, re.M)
        assert row and "**pass**" in row.group(0), release
        assert "**changed**" not in row.group(0) and "**refused**" not in row.group(0), row
