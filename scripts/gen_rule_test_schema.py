#!/usr/bin/env python3
"""Write docs/reference/rule-test.schema.json: the JSON Schema of rule-test files.

    .venv/bin/python scripts/gen_rule_test_schema.py           # rewrite the file
    .venv/bin/python scripts/gen_rule_test_schema.py --check   # exit 1 if it is stale

Generated from the models that validate the files (``sqlsentinel_airflow.ruletest.model``);
nothing in it is written by hand. tests/docs/test_docs_rule_test_schema.py fails when the
committed file differs from a fresh generation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from generated import write_or_check  # noqa: E402  (scripts/generated.py)

SCHEMA_FILE = REPO / "docs" / "reference" / "rule-test.schema.json"


def generate() -> str:
    from sqlsentinel_airflow.ruletest.model import json_schema

    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(SCHEMA_FILE, generate(), script=__file__, doc=__doc__, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
