"""docs/rule-tests.md: the example test file passes on the quickstart alert and prints the
page's output; the page's wrong threshold, invalid file and untranslatable construct print
what the page shows; the format tables name every key of the models; the usage is --help's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_site_support import lines_of
from docs_snippets import DOCS, REPO, text
from pydantic import BaseModel

from sqlsentinel_airflow.cli.main import build_parser, main
from sqlsentinel_airflow.ruletest import model

_MS = re.compile(r"\d+ ms")


def _normalized(output: str) -> list[str]:
    return lines_of(_MS.sub("N ms", output))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dags = tmp_path / "dags"
    (dags / "fixtures").mkdir(parents=True)
    (dags / "alerts.yaml").write_text(text("quickstart-alerts-yaml"))
    (dags / "alerts.test.yaml").write_text(text("rule-tests-example"))
    (dags / "fixtures" / "orders.csv").write_text(text("rule-tests-orders-csv"))
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE", raising=False)
    monkeypatch.chdir(tmp_path)
    return dags


def test_the_example_passes_with_the_page_output(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", "dags/alerts.test.yaml"]) == 0
    assert _normalized(capsys.readouterr().out) == _normalized(text("rule-tests-pass-output"))


def test_a_tidied_threshold_fails_with_the_page_diff(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = (repo / "alerts.yaml").read_text()
    tidied = alerts.replace("COUNT(*) > 25", "COUNT(*) > 30").replace(
        "25 AS threshold", "30 AS threshold"
    )
    assert tidied != alerts
    (repo / "alerts.yaml").write_text(tidied)
    assert main(["test", "dags/alerts.test.yaml"]) == 1
    assert _normalized(capsys.readouterr().out) == _normalized(text("rule-tests-fail-output"))


def test_the_invalid_example_is_located_as_shown(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = (repo / "alerts.test.yaml").read_text()
    (repo / "alerts.test.yaml").write_text(
        source.replace("{state: firing, value: 26", "{state: fired, value: 26")
    )
    assert main(["test", "dags/alerts.test.yaml"]) == 2
    assert lines_of(capsys.readouterr().err) == lines_of(text("rule-tests-invalid-output"))


def test_the_untranslatable_construct_is_named_as_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = REPO / "tests" / "fixtures" / "ruletest" / "wrong_threshold" / "alerts.yaml"
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "alerts.yaml").write_text(
        wrong.read_text().replace("datetime('now', '-1 hour')", "datetime('now', 'localtime')")
    )
    (tmp_path / "dags" / "alerts.test.yaml").write_text(
        "alerts: alerts.yaml\ndialect: sqlite\ntests:\n"
        "  - {name: a, alert: api_error_rate, steps: [{at: 2026-03-01T12:00:00Z, expect: {}}]}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["test", "dags/alerts.test.yaml"]) == 1
    printed = lines_of(capsys.readouterr().out)
    assert printed[:2] == lines_of(text("rule-tests-unsupported-output"))


def test_the_usage_line_is_the_commands() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    usage = sub.choices["test"].format_usage()  # type: ignore[attr-defined]
    for option in ("FILE", "--conn CONN_ID", "--format {text,json}", "--junit FILE"):
        assert option in usage
    shown = text("rule-tests-usage")
    assert shown.startswith("sqlsentinel test FILE...")
    for option in ("--conn CONN_ID", "--format text|json", "--junit FILE"):
        assert option in shown


def test_the_format_tables_name_every_key() -> None:
    page = (DOCS / "rule-tests.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \|", page, re.M))
    keys = {k for pair in documented for k in pair if k}
    models: list[type[BaseModel]] = [
        model.RuleTestFile,
        model.RuleTest,
        model.Table,
        model.Step,
        model.Expect,
    ]
    fields = {name for m in models for name in m.model_fields} - {"name", "alert", "steps"}
    assert fields <= keys, f"not in docs/rule-tests.md: {sorted(fields - keys)}"


def test_the_benchmark_command_and_its_figure() -> None:
    import json
    import subprocess

    from docs_site_support import VENV_BIN, commands_of

    (command,) = [c.split("#", 1)[0].strip() for c in commands_of(text("bench-ruletest"))]
    program, dash_m, module, *flags = command.split()
    assert (program, dash_m, module) == (".venv/bin/python", "-m", "bench.ruletest")
    helped = subprocess.run(
        [str(VENV_BIN / "python"), "-m", module, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0, helped.stderr
    assert all(f in helped.stdout for f in flags if f.startswith("--"))
    result = json.loads((REPO / "bench" / "results" / "ruletest.json").read_text())
    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    assert f"| {result['median_s']:.2f} s | {result['max_s']:.2f} s | ≤ 3 s: met |" in page
    assert result["median_s"] <= result["goal_s"]


def test_schema_command_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--rule-tests"]) == 0
    printed = capsys.readouterr().out
    committed = (DOCS / "reference" / "rule-test.schema.json").read_text(encoding="utf-8")
    assert printed == committed
    assert "$schema=./rule-test.schema.json" in text("rule-tests-example")
