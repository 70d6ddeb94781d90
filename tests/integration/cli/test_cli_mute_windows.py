"""``sqlsentinel mute-windows FILE``: each window, whether active, its next start and end and
the alerts it mutes; ``run`` and ``status`` say which window mutes an alert (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlsentinel_airflow.cli.main import main

ALERTS = """\
database: {url: "sqlite:///%(db)s"}
defaults:
  schedule: "@hourly"
  notify: [{channel: webhook, url: "http://127.0.0.1:9/hook"}]
alerts:
  - {name: nightly_load, tags: [batch], query: "SELECT 'ALERT' AS status"}
  - {name: revenue, query: "SELECT 'OK' AS status"}
mute_windows:
  - name: weekends
    match: {tags: batch}
    timezone: Europe/Berlin
    intervals: [{weekdays: ["saturday:sunday"]}]
  - name: first-sunday
    intervals:
      - weekdays: ["sunday#1"]
        times: [{start_time: "02:00", end_time: "06:00"}]
  - name: for-ever
    match: {alert: nightly_load}
    intervals: [{years: ["2000:9999"]}]
"""


@pytest.fixture
def alerts_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "alerts.yaml"
    path.write_text(ALERTS % {"db": tmp_path / "warehouse.db"}, encoding="utf-8")
    return path


def test_mute_windows_text_at_a_given_time(
    alerts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Friday 2026-12-04 12:00 UTC: the weekend starts at Saturday 00:00 in Berlin
    assert main(["mute-windows", str(alerts_file), "--at", "2026-12-04T12:00"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["WINDOW", "ACTIVE", "NEXT", "START", "ENDS", "WHEN", "ALERTS"]
    assert lines[1].split()[:6] == [
        "weekends",
        "no",
        "2026-12-04",
        "23:00:00",
        "UTC",
        "2026-12-06",
    ]
    assert lines[1].endswith("saturday:sunday (Europe/Berlin)  nightly_load")
    assert "2026-12-06 02:00:00 UTC  2026-12-06 06:00:00 UTC" in lines[2]
    assert lines[2].endswith("nightly_load, revenue")


def test_mute_windows_json(alerts_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mute-windows", str(alerts_file), "--at", "2026-12-06T03:00Z"]) == 0
    capsys.readouterr()
    code = main(["mute-windows", str(alerts_file), "--at", "2026-12-06T03:00Z", "--format", "json"])
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    weekends, first_sunday, _ever = answer["mute_windows"]
    assert answer["at"] == "2026-12-06T03:00:00+00:00"
    assert (weekends["active"], weekends["starts_at"], weekends["ends_at"]) == (
        True,
        None,
        "2026-12-06T23:00:00+00:00",
    )
    assert first_sunday["active"] and first_sunday["ends_at"] == "2026-12-06T06:00:00+00:00"
    assert first_sunday["alerts"] == ["nightly_load", "revenue"]
    assert main(["mute-windows", str(alerts_file), "--at", "friday"]) == 2


def test_run_and_status_name_the_window(
    alerts_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = ["--state-db", f"sqlite:///{tmp_path / 'state.db'}"]
    args = ["run", str(alerts_file), "--alert", "nightly_load", *state, "--format", "json"]
    main(args)
    report = json.loads(capsys.readouterr().out)
    (run,) = report["evaluations"]
    assert run["state"] == "firing" and run["silenced"] and "for-ever" in run["muted_by"]
    assert run["events"] == []  # nothing enqueued
    assert main(["status", str(alerts_file), *state]) == 0
    status = capsys.readouterr().out
    (row,) = [line for line in status.splitlines() if line.startswith("nightly_load")]
    assert "FIRING (muted by " in row and "for-ever" in row


def test_routes_says_which_window_mutes_an_alert_now(
    alerts_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", str(alerts_file), "--alert", "nightly_load"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "alert nightly_load"
    assert "  muted now by mute window for-ever (no end within two years)" in lines
    assert main(["routes", str(alerts_file), "--alert", "revenue", "--format", "json"]) == 0
    (route,) = json.loads(capsys.readouterr().out)["routes"]
    assert route["alert"] == "revenue" and "for-ever" not in route["muted_by"]
