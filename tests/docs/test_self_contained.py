"""The project explains itself: no file cites a document that is not in the repository.

The product brief and the issue tracker the first sessions worked from are not shipped; code,
docs, ADRs, tests and ``--help`` cite the project's own docs pages and ADRs instead (``docs/operations.md``,
``docs/adr/0002-evaluation-semantics.md``) or say it inline.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_OUTSIDE = re.compile(
    r"\bPRODUCT(?:\.md)?\s+\d|\bPRODUCT\.md\b|\bSTYLE\.md\b|AIRFLOW_NOTES|\bissue\s+#?\d+",
    re.IGNORECASE,
)


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    files = []
    for name in filter(None, listed):
        path = ROOT / name
        if path.suffix in {".png", ".jpg", ".ico", ".woff", ".woff2"} or not path.is_file():
            continue
        files.append(path)
    return files


def test_no_file_cites_a_document_outside_the_repository() -> None:
    found = []
    files = _tracked_text_files()
    assert len(files) > 100, "git ls-files found too few files: is this a checkout?"
    for path in files:
        if path == Path(__file__).resolve():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if _OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not found, "cite the project's own docs or ADRs instead:\n" + "\n".join(found)


def test_cli_help_cites_nothing_outside_the_repository() -> None:
    from sqlsentinel_airflow.cli.main import build_parser

    parser = build_parser()
    texts = [parser.format_help()]
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        for sub in getattr(action, "choices", {}).values():
            texts.append(sub.format_help())
    assert len(texts) > 5
    for text in texts:
        assert not _OUTSIDE.search(text), text
