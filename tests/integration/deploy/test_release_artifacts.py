"""The release artifacts, built as docs/releasing.md builds them: sdist and wheel, then checked.

``python -m build`` (isolated: it fetches the build requirement, ``setuptools>=77``) runs on a
clean copy of what a release is built from (pyproject.toml, README.md, LICENSE, NOTICE and
the package), so no ``*.egg-info`` or ``__pycache__`` of the working tree leaks in and the
tree other tests import from is never written. Without arguments ``build`` makes the sdist
and then the wheel *from the sdist*; a second wheel is built straight from the tree and the
two must be the same files with the same bytes: what a user installs from PyPI's sdist is
what the wheel holds. ``twine check --strict`` is the check PyPI's upload makes.
"""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from sqlsentinel_airflow import __version__

# one worker runs the module: the artifacts are built once, not once per pytest-xdist worker
pytestmark = pytest.mark.xdist_group("release_artifacts")

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "sqlsentinel_airflow"
RELEASE_FILES = ("pyproject.toml", "README.md", "LICENSE", "NOTICE")
LICENSE_FILES = ("LICENSE", "NOTICE")
SDIST_NAME = f"{PACKAGE}-{__version__}"
WHEEL_NAME = f"{PACKAGE}-{__version__}-py3-none-any.whl"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _wheel_files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as wheel:
        return {info.filename: wheel.read(info) for info in wheel.infolist() if not info.is_dir()}


def _package_files() -> set[str]:
    """Every file of the package in the working tree, as wheel paths (caches left out)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("release")
    src = work / "src"
    src.mkdir()
    for name in RELEASE_FILES:
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / PACKAGE, src / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    _run("-m", "build", "--outdir", str(work / "dist"), str(src), cwd=work)
    _run("-m", "build", "--wheel", "--outdir", str(work / "from-tree"), str(src), cwd=work)
    return work


def test_build_makes_one_sdist_and_one_wheel_named_with_the_package_version(built: Path) -> None:
    assert sorted(p.name for p in (built / "dist").iterdir()) == [
        WHEEL_NAME,
        f"{SDIST_NAME}.tar.gz",
    ]
    assert [p.name for p in (built / "from-tree").iterdir()] == [WHEEL_NAME]


def test_wheel_metadata_carries_the_version_and_the_spdx_license(built: Path) -> None:
    files = _wheel_files(built / "dist" / WHEEL_NAME)
    metadata = email.message_from_bytes(files[f"{SDIST_NAME}.dist-info/METADATA"])

    assert metadata["Name"] == "sqlsentinel-airflow"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == list(LICENSE_FILES)


def test_license_and_notice_ship_in_the_sdist_and_the_wheel(built: Path) -> None:
    wheel = _wheel_files(built / "dist" / WHEEL_NAME)
    with tarfile.open(built / "dist" / f"{SDIST_NAME}.tar.gz") as sdist:
        for name in LICENSE_FILES:
            member = sdist.extractfile(f"{SDIST_NAME}/{name}")
            assert member is not None, name
            assert member.read() == (ROOT / name).read_bytes(), name
            assert wheel[f"{SDIST_NAME}.dist-info/licenses/{name}"] == (ROOT / name).read_bytes()
    assert b"Apache License\n                        Version 2.0" in (ROOT / "LICENSE").read_bytes()
    assert b"END OF TERMS AND CONDITIONS" in (ROOT / "LICENSE").read_bytes()


def test_wheel_ships_every_package_file_and_nothing_else(built: Path) -> None:
    files = set(_wheel_files(built / "dist" / WHEEL_NAME))
    package = {f for f in files if not f.startswith(f"{SDIST_NAME}.dist-info/")}

    assert package == _package_files()
    assert f"{PACKAGE}/py.typed" in package
    assert f"{PACKAGE}/ui/static/dashboard.html" in package


def test_the_wheel_built_from_the_sdist_is_the_wheel_built_from_the_tree(built: Path) -> None:
    from_sdist = _wheel_files(built / "dist" / WHEEL_NAME)
    from_tree = _wheel_files(built / "from-tree" / WHEEL_NAME)

    assert sorted(from_sdist) == sorted(from_tree)
    differing = [name for name in from_sdist if from_sdist[name] != from_tree[name]]
    assert differing == []  # RECORD included: it holds hashes and sizes, no timestamps


def test_twine_check_passes_strict(built: Path) -> None:
    artifacts = sorted(str(p) for p in (built / "dist").iterdir())

    proc = _run("-m", "twine", "check", "--strict", *artifacts, cwd=built)

    out = proc.stdout.replace("\x1b[32m", "").replace("\x1b[0m", "")
    assert out.count("PASSED") == 2, out
    assert "WARNING" not in out and "ERROR" not in out, out
