#!/usr/bin/env python3
"""Write docs/reference/event-payload.schema.json: the JSON Schema of the event payload.

    .venv/bin/python scripts/gen_event_payload_schema.py           # rewrite the file
    .venv/bin/python scripts/gen_event_payload_schema.py --check   # exit 1 if it is stale

The schema is generated from the type (``sqlsentinel_airflow.core.payload.WebhookBody``, via
``payload_schema()``); nothing in it is written by hand. tests/docs/test_docs_payload_schema.py
fails when the committed file differs from a fresh generation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from generated import write_or_check  # noqa: E402  (scripts/generated.py)

SCHEMA_FILE = REPO / "docs" / "reference" / "event-payload.schema.json"


def generate() -> str:
    """The file's text: the schema, indented, keys in the order the type declares them."""
    from sqlsentinel_airflow.core.payload import payload_schema

    return json.dumps(payload_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(SCHEMA_FILE, generate(), script=__file__, doc=__doc__, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
