"""What ``sqlsentinel test`` prints: a line per test, a diff per failing step, JSON, JUnit XML.

The diff reads like a unified diff of the expectations: ``-`` what the test expected, ``+``
what the evaluation did, one block per step and instance (docs/rule-tests.md, "Output").
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.ruletest.runner import ERROR, FAILED, PASSED, Mismatch, TestResult

__all__ = ["junit_xml", "summary", "text_report"]


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _title(result: TestResult) -> str:
    return f"{result.file}:{result.line} {result.name} [{result.alert}]"


def describe(result: TestResult) -> list[str]:
    """The lines for one test: its verdict, then the diff or the error."""
    took = f"{len(result.steps)} step{'s' if len(result.steps) != 1 else ''}, {result.duration_ms:.0f} ms"
    if result.status == PASSED:
        return [f"PASS {_title(result)} ({took})"]
    if result.status == ERROR:
        return [f"ERROR {_title(result)}", f"  {result.error}"]
    lines = [f"FAIL {_title(result)} ({took}; - expected, + actual)"]
    for step in result.steps:
        if step.ok:
            continue
        named = f' "{step.name}"' if step.name else ""
        by_instance: dict[str | None, list[Mismatch]] = {}
        for mismatch in step.mismatches:
            by_instance.setdefault(mismatch.instance, []).append(mismatch)
        for instance, mismatches in by_instance.items():
            where = f"step {step.index + 1} at {rfc3339(step.at)}{named}"
            lines.append(f"  {where}:" if instance is None else f"  {where}, instance {instance}:")
            for m in mismatches:
                lines.append(f"    - {m.field}: {_value(m.expected)}")
                lines.append(f"    + {m.field}: {_value(m.actual)}")
        error = step.evaluation.get("error")
        if error and not any(m.field == "error" for m in step.mismatches):
            lines.append(f"    (the query failed: {error})")
    return lines


def text_report(results: Sequence[TestResult]) -> str:
    lines: list[str] = []
    for result in results:
        lines.extend(describe(result))
    lines.append(summary(results))
    return "\n".join(lines)


def summary(results: Sequence[TestResult]) -> str:
    counts = {s: sum(1 for r in results if r.status == s) for s in (PASSED, FAILED, ERROR)}
    total = len(results)
    return (
        f"{total} test{'s' if total != 1 else ''}: {counts[PASSED]} passed, "
        f"{counts[FAILED]} failed, {counts[ERROR]} error{'s' if counts[ERROR] != 1 else ''}"
    )


def junit_xml(
    results: Sequence[TestResult], invalid: Mapping[str, Sequence[str]] | None = None
) -> str:
    """JUnit XML (one ``testsuite`` per test file) for CI test reports; an invalid file is a
    suite with one ``error`` listing its errors (``invalid``: file -> error lines)."""
    root = ElementTree.Element("testsuites", name="sqlsentinel test")
    for file, errors in (invalid or {}).items():
        suite = ElementTree.SubElement(
            root, "testsuite", name=file, tests="1", failures="0", errors="1", time="0.000"
        )
        case = ElementTree.SubElement(
            suite, "testcase", classname=file, name="the test file", file=file
        )
        error = ElementTree.SubElement(
            case, "error", message=f"invalid test file: {len(errors)} error(s)"
        )
        error.text = "\n".join(errors)
    files: dict[str, list[TestResult]] = {}
    for result in results:
        files.setdefault(result.file, []).append(result)
    for file, group in files.items():
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(len(group)),
            failures=str(sum(1 for r in group if r.status == FAILED)),
            errors=str(sum(1 for r in group if r.status == ERROR)),
            time=f"{sum(r.duration_ms for r in group) / 1000:.3f}",
        )
        for result in group:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"{file}::{result.alert}",
                name=result.name,
                file=file,
                line=str(result.line),
                time=f"{result.duration_ms / 1000:.3f}",
            )
            if result.status == FAILED:
                body = "\n".join(describe(result)[1:])
                step = (result.failed_step or 0) + 1
                failure = ElementTree.SubElement(case, "failure", message=f"step {step} differs")
                failure.text = body
            elif result.status == ERROR:
                error = ElementTree.SubElement(case, "error", message=result.error or "error")
                error.text = result.error
    ElementTree.indent(root)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(root, encoding="unicode")
        + "\n"
    )
