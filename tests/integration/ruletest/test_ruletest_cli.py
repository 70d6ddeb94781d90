"""``sqlsentinel test`` as CI runs it: the example alerts' tests pass; a wrong threshold fails
with the expected diff (golden); JSON and JUnit reports; invalid files exit 2, located."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from sqlsentinel_airflow.cli.main import main

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "dags" / "alerts.test.yaml"
WRONG = REPO / "tests" / "fixtures" / "ruletest" / "wrong_threshold"


def test_every_example_alert_has_tests_and_they_pass(capsys: pytest.CaptureFixture[str]) -> None:
    from sqlsentinel_airflow.core.config import load_config

    code = main(["test", str(EXAMPLE), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    report = json.loads(captured.out)
    assert report["passed"] is True
    tested = {t["alert"] for t in report["tests"]}
    config = load_config(REPO / "dags" / "alerts.yaml").config
    assert config is not None
    assert tested == {a.name for a in config.alerts}
    assert all(t["status"] == "passed" for t in report["tests"])


def test_a_wrong_threshold_fails_with_the_expected_diff(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(WRONG)
    junit = tmp_path / "junit.xml"
    code = main(["test", "alerts.test.yaml", "--junit", str(junit)])
    out = re.sub(r"\d+ ms", "N ms", capsys.readouterr().out)
    assert code == 1
    assert out == (WRONG / "expected.txt").read_text()
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and suite.get("tests") == "1"
    failure = suite.find("testcase/failure")
    assert failure is not None and failure.get("message") == "step 1 differs"
    assert '- state: "firing"\n    + state: "ok"' in (failure.text or "")


def test_json_names_each_mismatch(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["test", str(WRONG / "alerts.test.yaml"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["passed"] is False
    (test,) = report["tests"]
    first = test["steps"][0]
    assert {"instance": None, "field": "threshold", "expected": 5, "actual": 50} in first[
        "mismatches"
    ]
    assert first["evaluation"]["state"] == "ok"


INVALID = [
    (
        "      - at: 2026-03-01T12:00:00Z\n        expct: {state: firing}\n",
        "alerts.test.yaml:8:9 tests[0].steps[0].expct: unknown key `expct` (did you mean `expect`?)",
    ),
    (
        "      - at: 2026-03-01T12:00:00Z\n        expect: {state: fired}\n",
        "alerts.test.yaml:8:25 tests[0].steps[0].expect.state: 'fired' is not one of 'ok', "
        "'pending', 'firing', 'error' or 'flapping'",
    ),
    (
        "      - at: 2026-03-01T12:00:00\n        expect: {state: ok}\n",
        "alerts.test.yaml:7:13 tests[0].steps[0].at: the time has no offset "
        "(write it like 2026-03-01T09:00:00Z (Z: UTC))",
    ),
    (
        "      - at: 2026-03-01T12:00:00Z\n        expect: {instances: {region=eu: {state: ok}}}\n",
        'alerts.test.yaml:8:30 tests[0].steps[0].expect.instances["region=eu"]: alert '
        "'api_error_rate' has no key_columns, so no instances (write `\"\"` or leave the instance out)",
    ),
    (
        "      - at: 2026-03-01T12:00:00Z\n        fixtures: {t: {columns: {a: INTEGER}, rows: [[1, 2]]}}\n"
        "        expect: {}\n",
        "alerts.test.yaml:8:54 tests[0].steps[0].fixtures.t.rows[0]: 2 values for 1 columns (a)",
    ),
    (
        "      - at: 2026-03-01T12:00:00Z\n        fixtures: {t: {columns: {a: NOTATYPE(}}}\n"
        "        expect: {}\n",
        "alerts.test.yaml:8:37 tests[0].steps[0].fixtures.t.columns.a: 'NOTATYPE(' is not a SQL "
        "type (e.g. INTEGER, DOUBLE, VARCHAR, TIMESTAMP)",
    ),
]


@pytest.mark.parametrize(("steps", "message"), INVALID)
def test_an_invalid_test_file_exits_2_with_located_errors(
    steps: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "alerts.yaml").write_text((WRONG / "alerts.yaml").read_text())
    text = f"alerts: alerts.yaml\ndialect: sqlite\ntests:\n  - name: t\n    alert: api_error_rate\n    steps:\n{steps}"
    (tmp_path / "alerts.test.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    code = main(["test", "alerts.test.yaml"])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err.splitlines()
    assert "1 invalid file(s)" in captured.out


def test_an_unknown_alert_and_an_unknown_dialect_are_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "alerts.yaml").write_text((WRONG / "alerts.yaml").read_text())
    (tmp_path / "alerts.test.yaml").write_text(
        "alerts: alerts.yaml\ntests:\n"
        "  - {name: a, alert: api_error_rates, steps: [{at: 2026-03-01T12:00:00Z, expect: {}}]}\n"
        "  - {name: b, alert: api_error_rate, steps: [{at: 2026-03-01T12:00:00Z, expect: {}}]}\n"
    )
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["test", "alerts.test.yaml"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        "alerts.test.yaml:3:22 tests[0].alert: no alert named 'api_error_rates' "
        "(did you mean `api_error_rate`?)",
        "alerts.test.yaml:4:22 tests[1].alert: the SQL dialect of alert 'api_error_rate' is not "
        "known here (its connection 'warehouse' is not defined in this environment) (write the "
        "dialect at the top of the test file, e.g. `dialect: sqlite`)",
    ]


def test_a_query_the_embedded_engine_cannot_run_errors_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = (
        (WRONG / "alerts.yaml")
        .read_text()
        .replace("datetime('now', '-1 hour')", "datetime('now', 'localtime')")
    )
    (tmp_path / "alerts.yaml").write_text(alerts)
    (tmp_path / "alerts.test.yaml").write_text(
        "alerts: alerts.yaml\ndialect: sqlite\ntests:\n"
        "  - {name: a, alert: api_error_rate, steps: [{at: 2026-03-01T12:00:00Z, expect: {}}]}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["test", "alerts.test.yaml"]) == 1
    out = capsys.readouterr().out
    assert "ERROR alerts.test.yaml:4 a [api_error_rate]\n" in out
    assert (
        "the embedded engine (DuckDB) cannot run DATETIME('2026-03-01 12:00:00', 'localtime'): "
        "the modifier 'localtime' is not translated" in out
    )
    assert "run this test on the real database with `sqlsentinel test --conn CONN_ID`" in out


def test_keyed_expectations_fail_on_the_wrong_instance_and_on_unlisted_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    example = (EXAMPLE.parent / "alerts.test.yaml").read_text()
    start = example.index("  - name: the stale table fires on its own")
    end = example.index("  - name: a table never loaded")
    body = example[start:end].split("      - at: 2026-03-01T12:30:00Z")[0]
    body = body.replace(
        "instance: table_name=customers, channels", "instance: table_name=orders, channels"
    )
    body = body.replace("            table_name=api_requests: {state: ok, value: 0.2}\n", "")
    head = example[: example.index("tests:\n")].replace(
        "alerts: alerts.yaml", f"alerts: {EXAMPLE.parent / 'alerts.yaml'}"
    )
    head = head.replace("csv: fixtures/", f"csv: {EXAMPLE.parent / 'fixtures'}/")
    (tmp_path / "t.test.yaml").write_text(head + "tests:\n" + body)
    assert main(["test", str(tmp_path / "t.test.yaml"), "--format", "json"]) == 1
    (test,) = json.loads(capsys.readouterr().out)["tests"]
    mismatches = test["steps"][0]["mismatches"]
    assert {
        "instance": None,
        "field": "events",
        "expected": [{"kind": "firing", "instance": "table_name=orders", "channels": ["email"]}],
        "actual": [{"kind": "firing", "instance": "table_name=customers", "channels": ["email"]}],
    } in mismatches
    assert {
        "instance": "table_name=api_requests",
        "field": "instance",
        "expected": "absent",
        "actual": "present (ok)",
    } in mismatches
    assert len(mismatches) == 2


def test_fixture_and_time_errors_are_all_reported_in_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "alerts.yaml").write_text((WRONG / "alerts.yaml").read_text())
    (tmp_path / "alerts.test.yaml").write_text(
        "alerts: alerts.yaml\ndialect: sqlite\ntests:\n  - name: t\n    alert: api_error_rate\n"
        "    steps:\n      - at: 2026-03-01T12:00:00Z\n"
        "        fixtures: {t: {columns: {a: INTEGER}, csv: nope.csv}}\n        expect: {}\n"
        "      - at: 2026-03-01T11:00:00Z\n"
        "        fixtures: {t: {columns: {a: INTEGER}, rows: [{b: 1}]}}\n        expect: {}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["test", "alerts.test.yaml"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "alerts.test.yaml:8:52 tests[0].steps[0].fixtures.t.csv: cannot read nope.csv: No such "
        "file or directory (the path is relative to this file)",
        "alerts.test.yaml:10:13 tests[0].steps[1].at: steps must go forward in time (each `at` "
        "after the previous one)",
        "alerts.test.yaml:11:55 tests[0].steps[1].fixtures.t.rows[0].b: unknown column `b`",
    ]


def test_junit_reports_an_invalid_file_as_an_error_beside_the_valid_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    missing = str(tmp_path / "missing.test.yaml")
    assert main(["test", str(WRONG / "alerts.test.yaml"), missing, "--junit", str(junit)]) == 2
    suites = {s.get("name"): s for s in ElementTree.parse(junit).getroot().iter("testsuite")}
    error = suites[missing].find("testcase/error")
    assert error is not None and error.text == f"{missing}: no such file"
    assert suites[str(WRONG / "alerts.test.yaml")].get("failures") == "1"
    assert "1 invalid file(s)" in capsys.readouterr().out
