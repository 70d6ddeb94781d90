#!/usr/bin/env python3
"""Write docs/reference/event-payload.schema.json: the JSON Schema of the event payload.

    .venv/bin/python scripts/gen_event_payload_schema.py           # rewrite the file
    .venv/bin/python scripts/gen_event_payload_schema.py --check   # exit 1 if it is stale

The schema is generated from the type (``sqlsentinel_airflow.core.payload.WebhookBody``, via
``payload_schema()``); nothing in it is written by hand. tests/docs/test_docs_payload_schema.py
fails when the committed file differs from a fresh generation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "docs" / "reference" / "event-payload.schema.json"


def generate() -> str:
    """The file's text: the schema, indented, keys in the order the type declares them."""
    from sqlsentinel_airflow.core.payload import payload_schema

    return json.dumps(payload_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = generate()
    where = SCHEMA_FILE.relative_to(REPO)
    if args.check:
        current = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
        if current != text:
            print(f"{where} is stale: run .venv/bin/python scripts/gen_event_payload_schema.py")
            return 1
        print(f"{where} is up to date")
        return 0
    SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCHEMA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
