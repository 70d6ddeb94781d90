"""``sqlsentinel routes FILE --alert NAME``: which receivers an alert reaches and why, as text
and JSON; ``validate`` prints routing warnings without failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlsentinel_airflow.cli.main import main

ALERTS = """\
receivers:
  - name: oncall
    notify:
      - {channel: slack, conn_id: slack_oncall}
  - name: finance
    notify:
      - {channel: email, to: finance@example.com}
routes:
  routes:
    - match: {severity: critical}
      receiver: oncall
      renotify_after: 30m
      continue: true
    - match: {tags: finance}
      receiver: finance
defaults: {conn_id: wh, schedule: "@hourly"}
alerts:
  - {name: revenue, severity: critical, tags: [finance], query: "SELECT 'OK' AS status"}
  - {name: misc, query: "SELECT 'OK' AS status"}
"""


@pytest.fixture
def alerts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS, encoding="utf-8")
    return path


def test_routes_text(alerts_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(alerts_file), "--alert", "revenue"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "alert revenue",
        "  receiver oncall:",
        "    via routes.routes[0] (severity: critical)",
        "    - slack via connection `slack_oncall`",
        "  receiver finance:",
        "    via routes.routes[1] (tags: finance)",
        "    - email to finance@example.com via connection `smtp_default`",
        "  renotify_after 30m from routes.routes[0] (applies)",
    ]
    assert "misc" in captured.err and "reaches nobody" in captured.err  # the file's warning


def test_routes_json(alerts_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(alerts_file), "--alert", "misc", "--format", "json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    (misc,) = answer["routes"]
    assert misc["alert"] == "misc" and misc["routed"] is True
    assert misc["receivers"] == [] and misc["reaches_nobody"] is True
    assert misc["nobody_via"] == ["routes (the root: no route under it matched)"]
    assert [w["path"] for w in answer["warnings"]] == ["alerts[1].name"]


def test_routes_of_an_unknown_alert_and_of_an_invalid_file(
    alerts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", str(alerts_file), "--alert", "nope"]) == 2
    assert "no alert matches nope (alerts: revenue, misc)" in capsys.readouterr().err
    alerts_file.write_text(ALERTS.replace("receiver: finance", "receiver: fin"), "utf-8")
    assert main(["routes", str(alerts_file)]) == 2
    assert "routes.routes[1].receiver: unknown receiver `fin`" in capsys.readouterr().err


def test_validate_prints_warnings_and_stays_valid(
    alerts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(alerts_file)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == f"{alerts_file}: OK, 2 alerts"
    assert captured.err.startswith(f"warning: {alerts_file}:19:12 alerts[1].name: alert `misc`")
    assert main(["validate", str(alerts_file), "--format", "json"]) == 0
    (checked,) = json.loads(capsys.readouterr().out)["files"]
    assert checked["valid"] and checked["warnings"][0]["alert"] == "misc"
