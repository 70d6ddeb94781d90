"""The big-state-database benchmark (bench/scale.py) at a tiny size: plans, not times.

What the full-size run (docs/benchmarks.md, "A big state database") relies on: every
statement the overview, an alert's deliveries and the CLI's ``status``, ``history --alert``,
``outbox --status pending`` and ``report`` send reads the history, outbox and incidents
tables through an index (plans checked with sequential scans discouraged, as the planner would choose at full size;
the single reads test_benchmarks_ui_speed_quick.py checks are not repeated), and the
benchmark runs through, purge included. No time is asserted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bench import bigstate, scale

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
ALERTS = 20  # of each 10: 1 every minute, 4 every 5 min, 5 hourly; alerts 0-9 keyed
DAYS = 0.25  # six hours
HISTORY, OUTBOX = "sqlsentinel_history", "sqlsentinel_outbox"
INCIDENTS = "sqlsentinel_incidents"


@pytest.fixture
def big() -> Iterator[str]:
    name = f"sst_scale_quick_{uuid.uuid4().hex[:8]}"  # one per xdist worker and test
    url = bigstate.create_database(name)
    try:
        bigstate.generate(url, ALERTS, DAYS, now=NOW)
        yield url
    finally:
        bigstate.drop_database(name)


# what each read must touch: a plan that lost a table would pass the index check vacuously
TOUCHES = {
    "overview (GET /alerts)": {HISTORY, OUTBOX},  # recent values, undelivered counts
    "busiest alert: deliveries limit 50": {OUTBOX},
    "sqlsentinel status FILE": {OUTBOX},  # counts, then each alert's undelivered rows
    "sqlsentinel history --alert <busiest>": {HISTORY},
    "sqlsentinel outbox --status pending": {OUTBOX},
    # ended firing incidents, delivered rows, each alert's newest durations
    "sqlsentinel report FILE": {HISTORY, OUTBOX, INCIDENTS},
}


def test_the_reads_use_indexes_on_history_and_outbox(
    big: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts = bigstate.big_alerts(ALERTS)
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(bigstate.alerts_yaml(alerts), encoding="utf-8")
    monkeypatch.setenv("SQLSENTINEL_CACHE_DIR", str(tmp_path / "cache"))
    ui = scale.Ui.over(big, alerts, tmp_path)
    try:
        reads = scale.planned_reads(big, ui, alerts_file, bigstate.busiest_alert(alerts).name)
        assert set(reads) == set(TOUCHES)
        for what, read in reads.items():
            plans = scale.read_plans(big, read, seqscan=False)
            touched = {s["relation"] for p in plans for s in p["scans"]}
            assert TOUCHES[what] <= touched, (what, plans)
            assert not scale.seq_scans(plans, (HISTORY, OUTBOX, INCIDENTS)), (what, plans)
    finally:
        ui.close()


def test_the_benchmark_runs_through(big: str) -> None:
    result = scale.run(
        big,
        alerts=ALERTS,
        reps=1,
        evaluation_reps=2,
        purge=True,
        keep_days=DAYS / 2,
        purge_before_s=0.5,
    )
    assert result["ui"]["overview (GET /alerts)"]["bytes"] > 0
    assert set(result["cli"]) >= {
        "sqlsentinel status FILE",
        "sqlsentinel history --alert <busiest>",
    }
    assert result["evaluation"]["instances"] == 20
    assert result["evaluation"]["big"]["median_ms"] > 0 and result["evaluation"]["ratio"] > 0
    assert result["database"]["history_bytes_per_row"] > 0
    purge = result["purge"]
    assert purge["rows_deleted"]["history"] > 0
    assert purge["evaluations_before"]["evaluations"] >= 1
    assert "plans of sqlsentinel status FILE" in scale.report(result)
