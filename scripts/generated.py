"""The command line every generator of a committed file shares: write it, or ``--check`` it.

Used by ``gen_docs_reference.py``, ``gen_docs_read_model.py`` and
``gen_event_payload_schema.py``; each makes its file's text and hands it here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_or_check(
    path: Path, text: str, *, script: str, doc: str | None, argv: Sequence[str] | None
) -> int:
    """Write ``text`` to ``path`` (exit 0), or with ``--check`` compare (exit 1 when stale)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    where = path.relative_to(REPO)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{where} is stale: run .venv/bin/python scripts/{Path(script).name}")
            return 1
        print(f"{where} is up to date")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {where}")
    return 0
