"""``sqlsentinel report`` on a state database filled by the real engine (report_scenario.py),
on SQLite and PostgreSQL: each section lists exactly the expected alerts, the text and JSON
say the same, bad options are refused, and on PostgreSQL every statement reads an index.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from report_scenario import SLOW_SECONDS, HttpReceiver, expected_sections, fill

from sqlsentinel_airflow import readmodel
from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.store import StateStore


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return str(
        request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])
    )


def _start() -> datetime:
    """A day before now, plus a margin so that the first evaluations are in `--days 1`."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return now - timedelta(days=1) + timedelta(minutes=5)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_each_section_lists_the_expected_alerts(
    url: str, tmp_path: Path, receiver: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _config = fill(url, tmp_path, _start(), receiver)
    code, out, err = _cli(
        capsys, "report", str(path), "--days", "1", "--state-db", url, "--format", "json"
    )
    assert code == 0, err
    report = json.loads(out)["report"]
    assert (report["days"], report["long_after_days"], report["alerts"]) == (1, 7, 8)
    sections = {s["id"]: s for s in report["sections"]}
    assert list(sections) == [
        "always_firing",
        "never_fired",
        "flapping",
        "silenced_long",
        "acknowledged_long",
        "no_owner",
        "no_runbook",
        "slowest_queries",
        "most_notifications",
    ]
    listed = {k: [i["alert"] for i in s["items"]] for k, s in sections.items()}
    for section, alerts in expected_sections().items():
        assert listed[section] == alerts, section

    by_alert = {k: {i["alert"]: i for i in s["items"]} for k, s in sections.items()}
    assert by_alert["always_firing"]["acked"]["value"] == 100.0  # firing before the window
    assert 99 < by_alert["always_firing"]["stuck"]["value"] < 100  # from its start
    assert by_alert["never_fired"]["unrun"]["why"] == "never evaluated"
    assert by_alert["never_fired"]["quiet"]["why"] == "no firing in the last day"
    assert by_alert["flapping"]["wobbly"]["value"] == 3
    muted = by_alert["silenced_long"]["muted"]
    assert "by li: warehouse migration" in muted["why"] and muted["value"] == 11.9
    acked = by_alert["acknowledged_long"]["acked"]
    assert acked["why"] == "acknowledged by maria 7 days ago and still firing"
    assert by_alert["no_owner"]["orphan"]["owner"] == "airflow"
    # the slow query alone: the others answer at once, below SLOW_QUERY_MS
    (slow,) = sections["slowest_queries"]["items"]
    assert slow["alert"] == "slow" and slow["value"] >= SLOW_SECONDS * 1000
    assert slow["why"].endswith("ms over its last 3 evaluations")
    # delivered in the window: wobbly's three firings and resolutions, stuck's firing
    # (acked's firing went out before the window)
    assert [(i["alert"], i["value"]) for i in sections["most_notifications"]["items"]] == [
        ("wobbly", 6),
        ("stuck", 1),
    ]

    code, text, err = _cli(capsys, "report", str(path), "--days", "1", "--state-db", url)
    assert code == 0, err
    assert "Always firing (2): an instance fired 80% of the window or more" in text
    assert "  - orphan (owner airflow): no runbook_url\n      do: add runbook_url:" in text


def test_report_refuses_bad_windows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("alerts: []\n")
    code, _out, err = _cli(capsys, "report", str(path), "--days", "0")
    assert code == 2
    assert "--days and --long-after must be at least 1 (days)" in err
    with pytest.raises(ValueError, match="days must be at least 1, got 0"):
        readmodel.hygiene_report([], now=datetime.now(timezone.utc), days=0)


def test_report_statements_read_indexes_on_postgresql(
    pg_url: str, tmp_path: Path, receiver: HttpReceiver
) -> None:
    """``EXPLAIN`` of every statement the report sends, as bench/scale.py's read_plans does
    (sequential scans discouraged, as the planner would choose at full size): no sequential
    scan of the history, the outbox or the incidents."""
    from bench import scale

    start = _start()
    _path, config = fill(pg_url, tmp_path, start, receiver)
    alerts = [readmodel.ReportAlert(readmodel.AlertFacts.of_config(a)) for a in config.alerts]
    store = StateStore.connect(pg_url)
    try:
        plans = scale.read_plans(
            pg_url,
            lambda: readmodel.hygiene_report([(store, alerts)], now=start + timedelta(days=1)),
            seqscan=False,
        )
    finally:
        store.dispose()
    big = ["sqlsentinel_history", "sqlsentinel_outbox", "sqlsentinel_incidents"]
    assert scale.seq_scans(plans, big) == [], plans
    by_index = {s["index"] for p in plans for s in p["scans"] if s["index"]}
    assert {
        "ix_sqlsentinel_incidents_ended_at",  # firing incidents that ended in the window
        "ix_sqlsentinel_history_evaluated_at",  # the window's first history id
        "ix_sqlsentinel_history_alert_id",  # each alert's newest durations, from that id
    } <= by_index, plans
    # the delivered rows: by (status, created_at) or (status, alert_name, id), as the planner
    # finds cheaper (at this size it groups along the second)
    assert by_index & {
        "ix_sqlsentinel_outbox_status_created_at",
        "ix_sqlsentinel_outbox_status_alert_id",
    }, plans
