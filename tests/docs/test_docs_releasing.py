"""docs/releasing.md, run: version bump, CHANGELOG section, tag and clone, build and check, notes.

The tag step runs in a scratch git repository; the build step runs ``python -m build`` and
``twine check --strict`` on a clean copy of the release files; the notes step runs on a copy
of the real CHANGELOG with its ``[Unreleased]`` section renamed as the page says. Only the
upload cannot run here: its commands are checked against what the earlier steps produce.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_site_support import run_shell
from docs_snippets import REPO, text

from sqlsentinel_airflow import __version__

VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """As a maintainer runs it: the venv's ``python`` first (pip's own settings kept, so the
    isolated build finds ``setuptools``), a git identity, nothing else of the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "AIRFLOW"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env.update(GIT_AUTHOR_NAME="r", GIT_AUTHOR_EMAIL="r@example.com")
    env.update(GIT_COMMITTER_NAME="r", GIT_COMMITTER_EMAIL="r@example.com")
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return run_shell(script, cwd=cwd, env=env, check=False)


def _release_version() -> str:
    found = VERSION_LINE.findall(text("rel-version"))
    assert len(found) == 1
    return str(found[0])


def test_the_version_is_written_once_where_the_page_says() -> None:
    import tomllib

    init = (REPO / "sqlsentinel_airflow" / "__init__.py").read_text(encoding="utf-8")
    assert VERSION_LINE.findall(init) == [__version__]
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "sqlsentinel_airflow.__version__"
    }
    assert re.fullmatch(r"\d+\.\d+\.\d+", _release_version())  # a release drops `.devN`
    assert __version__.startswith(_release_version())  # the page shows the next release


def test_changelog_has_the_section_the_page_renames() -> None:
    lines = (REPO / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
    assert lines.count("## [Unreleased]") == 1
    headings = [line for line in text("rel-changelog").splitlines() if line]
    assert headings[0] == "## [Unreleased]"
    assert re.fullmatch(
        rf"## \[{re.escape(_release_version())}\] - \d{{4}}-\d{{2}}-\d{{2}}", headings[1]
    )


def test_tag_step_commits_tags_and_clones_the_tag(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "sqlsentinel_airflow").mkdir(parents=True)
    shutil.copy(REPO / "CHANGELOG.md", repo / "CHANGELOG.md")
    shutil.copy(REPO / "sqlsentinel_airflow" / "__init__.py", repo / "sqlsentinel_airflow")
    setup = _bash("git init -q -b main . && git add -A && git commit -qm init", repo)
    assert setup.returncode == 0, setup.stderr
    init = repo / "sqlsentinel_airflow" / "__init__.py"
    init.write_text(VERSION_LINE.sub(text("rel-version").strip(), init.read_text()))
    script = text("rel-tag").replace("/tmp/", f"{tmp_path}/") + "git describe --tags\n"

    proc = _bash(script, repo)

    assert proc.returncode == 0, proc.stderr
    version = _release_version()
    assert proc.stdout.splitlines()[-1] == f"v{version}"  # in the clone: HEAD is the tag
    assert f"Release {version}" in proc.stdout
    clone = tmp_path / f"sqlsentinel-release-{version}"
    assert (
        f'__version__ = "{version}"' in (clone / "sqlsentinel_airflow" / "__init__.py").read_text()
    )


def test_build_step_makes_checked_artifacts_from_a_clean_copy(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "README.md", "LICENSE", "NOTICE"):
        shutil.copy(REPO / name, tmp_path / name)
    shutil.copytree(
        REPO / "sqlsentinel_airflow",
        tmp_path / "sqlsentinel_airflow",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )

    proc = _bash(text("rel-build"), tmp_path)

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == [
        f"sqlsentinel_airflow-{__version__}-py3-none-any.whl",
        f"sqlsentinel_airflow-{__version__}.tar.gz",
    ]
    assert proc.stdout.count("PASSED") == 2, proc.stdout[-2000:]


def test_notes_step_extracts_the_version_s_changelog_section(tmp_path: Path) -> None:
    version = _release_version()
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    released = changelog.replace(
        "## [Unreleased]", "\n".join(text("rel-changelog").splitlines()), 1
    )
    (tmp_path / "CHANGELOG.md").write_text(released, encoding="utf-8")

    proc = _bash(f"VERSION={version}\n" + text("rel-notes"), tmp_path)

    assert proc.returncode == 0, proc.stderr
    notes = (tmp_path / "release-notes.md").read_text(encoding="utf-8")
    section = changelog.split("## [Unreleased]\n", 1)[1]
    section = re.split(r"^## \[", section, maxsplit=1, flags=re.MULTILINE)[0]
    assert notes == section
    assert notes.lstrip().startswith("### ")  # a real section: its categories, not empty


def test_publish_step_uploads_what_the_earlier_steps_made() -> None:
    publish = text("rel-publish")
    assert subprocess.run(["bash", "-n"], input=publish, text=True).returncode == 0
    assert "python -m twine upload dist/*" in publish  # what rel-build wrote
    assert "--notes-file release-notes.md" in publish  # what rel-notes wrote
    assert "release-notes.md" in text("rel-notes")
    assert '"v$VERSION"' in publish and '"v$VERSION"' in text("rel-tag")
