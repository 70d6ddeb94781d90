"""Run rule tests on the real evaluation path, with a frozen clock, sending nothing.

Each step calls :func:`sqlsentinel_airflow.evaluation.evaluate_alert` - the function the
Airflow operator and ``sqlsentinel run`` call - with the step's time as its clock, the test's
query engine as its ``fetch``, and a state store of the test's own: the package's real
``StateStore`` on a private in-memory SQLite database, created for the test and gone with it.
So a test goes through everything a scheduled run does between the query and delivery: the
result contract, ``decide`` (ADR 0002) per instance, instances that disappear, silences
(the step's and the alerts file's own), state saved and read back from the store's tables
as the next run would, the outbox rows each event enqueues per channel. Calling ``decide``
directly would have meant re-implementing that bookkeeping; the in-memory store keeps the
live state database out of it entirely. Delivery is never called: nothing is sent.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.freshness import check_freshness
from sqlsentinel_airflow.core.instances import instance_label, key_values_of, resolve_instance_key
from sqlsentinel_airflow.core.jsonvalues import to_json_value
from sqlsentinel_airflow.core.model import RunType, Silence
from sqlsentinel_airflow.errors import SentinelError
from sqlsentinel_airflow.evaluation import EvaluationReport, InstanceReport, evaluate_alert
from sqlsentinel_airflow.ruletest.engine import Engine
from sqlsentinel_airflow.ruletest.loader import LoadedTest, LoadedTests
from sqlsentinel_airflow.ruletest.model import ExpectedEvent, ExpectedInstance, Step

__all__ = ["Mismatch", "StepResult", "TestResult", "run_tests"]

PASSED, FAILED, ERROR = "passed", "failed", "error"


@dataclass(frozen=True)
class Mismatch:
    """One expectation not met: ``instance`` is its label (None: the whole evaluation)."""

    instance: str | None
    field: str
    expected: Any
    actual: Any

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "field": self.field,
            "expected": _jsonable(self.expected),
            "actual": _jsonable(self.actual),
        }


@dataclass(frozen=True)
class StepResult:
    index: int
    at: datetime
    name: str
    mismatches: tuple[Mismatch, ...]
    evaluation: dict[str, Any]  # the evaluation's report (EvaluationReport.to_dict())

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class TestResult:
    file: str
    name: str
    alert: str
    line: int
    status: str  # passed | failed | error
    steps: tuple[StepResult, ...] = ()
    error: str | None = None
    duration_ms: float = 0.0
    engine: str = "embedded"
    failed_step: int | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "alert": self.alert,
            "line": self.line,
            "status": self.status,
            "engine": self.engine,
            "error": self.error,
            "duration_ms": round(self.duration_ms, 1),
            "steps": [
                {
                    "index": s.index,
                    "at": rfc3339(s.at),
                    "name": s.name,
                    "ok": s.ok,
                    "mismatches": [m.to_dict() for m in s.mismatches],
                    "evaluation": s.evaluation,
                }
                for s in self.steps
            ],
        }


def run_tests(
    loaded: LoadedTests, engine: Engine, *, engine_name: str = "embedded"
) -> list[TestResult]:
    """Every test of one loaded file, in order, on ``engine`` (the caller opens and closes it;
    each step loads its tables, so what one test leaves behind does not reach the next)."""
    return [_run_one(loaded, test, engine, engine_name) for test in loaded.tests]


def _run_one(loaded: LoadedTests, test: LoadedTest, engine: Engine, engine_name: str) -> TestResult:
    from sqlsentinel_airflow.store import StateStore

    started = time.perf_counter()
    steps: list[StepResult] = []
    store = StateStore.connect("sqlite://")  # private and in memory: gone when disposed
    try:
        for index, step in enumerate(test.test.steps):
            engine.load({**test.tables, **test.step_tables[index]})
            report = _evaluate(loaded, test, step, index, engine, store)
            steps.append(
                StepResult(
                    index, step.at, step.name, tuple(_compare(step, report, test)), report.to_dict()
                )
            )
    except SentinelError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        return TestResult(
            loaded.file,
            test.test.name,
            test.alert.name,
            test.line,
            status=ERROR,
            steps=tuple(steps),
            error=str(exc),
            duration_ms=elapsed,
            engine=engine_name,
        )
    finally:
        store.dispose()
    elapsed = (time.perf_counter() - started) * 1000
    failed = next((s.index for s in steps if not s.ok), None)
    status = PASSED if failed is None else FAILED
    return TestResult(
        loaded.file,
        test.test.name,
        test.alert.name,
        test.line,
        status=status,
        steps=tuple(steps),
        duration_ms=elapsed,
        engine=engine_name,
        failed_step=failed,
    )


def _evaluate(
    loaded: LoadedTests, test: LoadedTest, step: Step, index: int, engine: Engine, store: Any
) -> EvaluationReport:
    alert = test.alert
    at = step.at.astimezone(timezone.utc)
    silences = [silence_rules.from_file(s, at) for s in loaded.config.silences]
    known = [s.key_values for s in store.list_states(alert.name)]
    for written in step.silences:
        key = None if written.instance is None else _key(written.instance, alert.key_columns, known)
        silences.append(
            Silence(
                match=alert.name,
                starts_at=at,
                ends_at=at + timedelta(seconds=1),
                reason=written.reason or "rule test",
                source="config",
                instance_key=key,
            )
        )

    def fetch() -> Any:
        if alert.freshness is not None:  # the MAX query on the fixtures, the age as of `at`
            return check_freshness(
                alert.freshness,
                now=at,
                asset_event_time=None,  # no asset events in a rule test: the table or an error
                run_max_query=lambda: _first_value(engine.run(alert.query, test.dialect, at, 1)),
            )
        return engine.run(alert.query, test.dialect, at, alert.max_rows)

    return evaluate_alert(
        alert,
        fetch=fetch,
        store=store,
        run_type=RunType.SCHEDULED,
        run_id=f"ruletest__{index}",
        file_silences=silences,
        clock=lambda: at,
    )


def _first_value(rows: Any) -> tuple[Any, bool]:
    """MAX(column) from the engine's rows; fixture times written as text are read as ISO 8601."""
    return (rows.rows[0][0] if rows.rows else None), True


def _key(text: str, key_columns: Sequence[str], known: Sequence[dict[str, Any]]) -> str:
    if text == "":
        return ""
    return resolve_instance_key(text, key_columns, known)


# --- comparison ---------------------------------------------------------------------------


def _label(key: str) -> str:
    return instance_label(key_values_of(key)) if key else '""'


def _compare(step: Step, report: EvaluationReport, test: LoadedTest) -> list[Mismatch]:
    expect = step.expect
    out: list[Mismatch] = []
    checked = expect.checked()
    whole = {
        "state": report.state.value.lower(),
        "value": report.actual_value,
        "threshold": report.threshold,
        "silenced": report.silenced,
        "error": report.error,
        "channels": sorted({c for e in report.events for c in e["channels"]}),
    }
    for name in ("state", "value", "threshold", "silenced", "error", "channels"):
        if name in checked:
            expected = checked[name]
            if name == "channels":
                expected = sorted(expected)
            if not _matches(name, expected, whole[name]):
                out.append(Mismatch(None, name, expected, whole[name]))
    if "events" in checked:
        actual_events = [
            (e["kind"], e["instance_key"], tuple(sorted(e["channels"]))) for e in report.events
        ]
        known = [i.key_values for i in report.instances]
        if not _events_match(expect.events or (), actual_events, test, known):
            shown_expected = [
                e if isinstance(e, str) else e.model_dump(exclude_none=True)
                for e in expect.events or ()
            ]
            shown_actual = [
                {"kind": k, **({"instance": _label(key)} if key else {}), "channels": list(ch)}
                if any(not isinstance(e, str) for e in expect.events or ())
                else k
                for k, key, ch in actual_events
            ]
            out.append(Mismatch(None, "events", shown_expected, shown_actual))
    if expect.instances is not None:
        out.extend(_compare_instances(expect.instances, report.instances, test))
    return out


def _compare_instances(
    expected: dict[str, ExpectedInstance], actual: Sequence[InstanceReport], test: LoadedTest
) -> list[Mismatch]:
    out: list[Mismatch] = []
    known = [i.key_values for i in actual]
    by_key = {i.instance_key: i for i in actual}
    wanted = {
        _key(text, test.alert.key_columns, known): (text, spec) for text, spec in expected.items()
    }
    for key, (text, spec) in wanted.items():
        instance = by_key.get(key)
        if instance is None:
            out.append(Mismatch(text, "instance", "present", "absent"))
            continue
        values = {
            "state": instance.state.value.lower(),
            "value": instance.actual_value,
            "threshold": instance.threshold,
            "events": list(instance.events),
            "silenced": instance.silenced,
        }
        for name, want in spec.checked().items():
            if name == "events":
                if sorted(want) != sorted(values["events"]):
                    out.append(Mismatch(text, name, list(want), values["events"]))
            elif not _matches(name, want, values[name]):
                out.append(Mismatch(text, name, want, values[name]))
    for key, instance in by_key.items():
        if key not in wanted:
            out.append(
                Mismatch(
                    _label(key), "instance", "absent", f"present ({instance.state.value.lower()})"
                )
            )
    return out


def _events_match(
    expected: Sequence[str | ExpectedEvent],
    actual: list[tuple[str, str, tuple[str, ...]]],
    test: LoadedTest,
    known: Sequence[dict[str, Any]],
) -> bool:
    if len(expected) != len(actual):
        return False
    left = list(actual)
    for want in expected:
        for candidate in left:
            kind, key, channels = candidate
            if isinstance(want, str):
                ok = kind == want
            else:
                ok = kind == want.kind
                if ok and want.instance is not None:
                    ok = key == _key(want.instance, test.alert.key_columns, known)
                if ok and want.channels is not None:
                    ok = tuple(sorted(want.channels)) == channels
            if ok:
                left.remove(candidate)
                break
        else:
            return False
    return True


def _matches(name: str, expected: Any, actual: Any) -> bool:
    if name == "error":
        return (expected is None and actual is None) or (
            expected is not None and actual is not None and str(expected) in str(actual)
        )
    return _same(expected, actual)


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or (expected == actual and type(expected) is type(actual))
    numeric = (int, float)
    if isinstance(expected, numeric) and _number(actual) is not None:
        return math.isclose(float(expected), _number(actual) or 0.0, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, (datetime, date)):
        return _text(expected) == _text(actual)
    return bool(expected == actual)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value) if value is not None and not isinstance(value, str) else None
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    """Times as the evaluation reports them (``core.jsonvalues``), ``T`` or a space between."""
    return str(to_json_value(value)).replace("T", " ")


def _jsonable(value: Any) -> Any:
    return to_json_value(value)
