"""``sqlsentinel test FILE...``: run rule tests (docs/rule-tests.md).

Exit 0 when every test passes, 1 when one failed or could not run, 2 when a test file (or the
alerts file it names) is invalid - its errors located like ``validate``'s.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlsentinel_airflow.cli.exit_codes import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from sqlsentinel_airflow.cli.output import emit_json, out

__all__ = ["add_parser", "cmd_test"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "test",
        help="run rule tests: alerts on fixture tables at frozen times (exit 0 pass, 1 fail, 2 invalid)",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="test files, e.g. alerts.test.yaml")
    p.add_argument(
        "--conn",
        metavar="CONN_ID",
        help=(
            "run the queries on this Airflow connection's database, in a temporary schema "
            "created and dropped by the test (default: the embedded engine, DuckDB)"
        ),
    )
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML report to FILE")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format")


def cmd_test(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow.core.databases import conn_type_from_env
    from sqlsentinel_airflow.ruletest.engine import Engine
    from sqlsentinel_airflow.ruletest.loader import LoadedTests, load_tests
    from sqlsentinel_airflow.ruletest.report import describe, junit_xml, summary
    from sqlsentinel_airflow.ruletest.runner import PASSED, TestResult, run_tests

    engine_factory, engine_name, dialect = _engine(args.conn)
    invalid: list[dict[str, Any]] = []
    valid: list[LoadedTests] = []
    for path in args.files:
        if not Path(path).is_file():
            invalid.append({"file": path, "errors": [{"text": f"{path}: no such file"}]})
            sys.stderr.write(f"{path}: no such file\n")
            continue
        loaded, errors = load_tests(path, conn_type_of=conn_type_from_env, dialect=dialect)
        for error in errors:
            sys.stderr.write(f"{error.format()}\n")
        if loaded is None:
            invalid.append({"file": path, "errors": [e.to_dict() for e in errors]})
        else:
            valid.append(loaded)
    results: list[TestResult] = []
    engine: Engine | None = engine_factory() if valid else None
    try:
        for loaded in valid:
            assert engine is not None
            for result in run_tests(loaded, engine, engine_name=engine_name):
                results.append(result)
                if args.format == "text":
                    out("\n".join(describe(result)))
    finally:
        if engine is not None:
            engine.close()
    if args.format == "text":
        out(summary(results) + (f"; {len(invalid)} invalid file(s)" if invalid else ""))
    else:
        emit_json(
            {
                "passed": all(r.status == PASSED for r in results) and not invalid,
                "summary": summary(results),
                "tests": [r.to_dict() for r in results],
                "invalid_files": invalid,
            }
        )
    if args.junit:
        errors_of = {f["file"]: [e["text"] for e in f["errors"]] for f in invalid}
        Path(args.junit).write_text(junit_xml(results, errors_of), encoding="utf-8")
    if invalid:
        return EXIT_INVALID
    return EXIT_OK if all(r.status == PASSED for r in results) else EXIT_FAILED


def _engine(conn_id: str | None) -> tuple[Callable[[], Any], str, str | None]:
    """(engine factory, its name for reports, the dialect it imposes or None)."""
    if conn_id is None:
        from sqlsentinel_airflow.ruletest.engine import EmbeddedEngine

        return EmbeddedEngine, "embedded", None
    from sqlsentinel_airflow.ruletest.tempschema import connection_engine

    factory, dialect = connection_engine(conn_id)
    return factory, f"conn:{conn_id}", dialect
