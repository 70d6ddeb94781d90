"""docs/reducing-noise.md: both alerts files load, and a day of the scenario run through the
real evaluation path (state machine, routes, grouping, mute windows, outbox) on a SQLite
state database sends exactly the emails the page's table says, when it says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from docs_snippets import DOCS, text

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

PAGE = DOCS / "reducing-noise.md"
SATURDAY = datetime(2026, 12, 5, tzinfo=timezone.utc)


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def _freshness(minute: int) -> _Rows:
    """50 tables stale from 02:00; ten recover at each run from 02:10 to 02:50."""
    rows = []
    for i in range(50):
        stale = 120 <= minute < 130 + (i // 10) * 10
        rows.append([f"t{i:02d}", "ALERT" if stale else "OK", 7 if stale else 1, 6])
    return _Rows(["table_name", "status", "actual_value", "threshold"], rows)


def _queue(minute: int) -> _Rows:
    """Crosses its limit at every run from 08:00 to 09:00, then stays above it until 10:00."""
    crossing = 480 <= minute < 540 and (minute // 5) % 2 == 1
    above = 480 <= minute < 600 and not crossing
    return _Rows(
        ["status", "actual_value", "threshold"],
        [["ALERT" if above else "OK", 1100 if above else 900, 1000]],
    )


def _replica(minute: int) -> _Rows:
    """The weekly rebuild: lagging on Saturday from 01:00 to 05:00."""
    lagging = 60 <= minute < 300
    return _Rows(
        ["status", "actual_value", "threshold"],
        [["ALERT" if lagging else "OK", 5 if lagging else 0, 2]],
    )


SCENARIO = {
    "table_freshness": (10, _freshness),
    "queue_depth": (5, _queue),
    "replica_lag": (60, _replica),
}


def _day(snippet: str, db: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Each alert's emails of the day: (time, kind, subject-ish headline)."""
    loaded = load_config_text(text(snippet), "alerts.yaml", env={})
    assert loaded.ok and loaded.warnings == [], [e.format() for e in loaded.errors]
    assert loaded.config is not None
    sent: dict[str, list[tuple[str, str, str]]] = {}
    with StateStore.connect(f"sqlite:///{db}") as store:
        for alert in loaded.config.alerts:
            every, rows = SCENARIO[alert.name]
            for minute in range(0, 24 * 60, every):
                evaluate_alert(
                    alert,
                    fetch=lambda m=minute, r=rows: r(m),
                    store=store,
                    run_type=RunType.SCHEDULED,
                    run_id=f"scheduled__{minute}",
                    clock=lambda m=minute: SATURDAY + timedelta(minutes=m),
                )
            emails = sorted(
                (
                    r
                    for r in store.outbox(alert_name=alert.name, limit=10_000)
                    if r.channel_kind == "email"
                ),
                key=lambda r: r.id or 0,
            )
            sent[alert.name] = [
                (
                    f"{r.created_at:%H:%M}",
                    r.kind.value,
                    str((r.payload.get("group") or {}).get("size", "")),
                )
                for r in emails
            ]
    return sent


@pytest.fixture(scope="module")
def days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("noise")
    return {
        "before": _day("noise-before-yaml", root / "before.db"),
        "after": _day("noise-after-yaml", root / "after.db"),
    }


def test_the_table_counts_what_a_day_sends(days: dict[str, Any]) -> None:
    page = PAGE.read_text(encoding="utf-8")
    before, after = days["before"], days["after"]
    runs = {name: 24 * 60 // every for name, (every, _) in SCENARIO.items()}
    for name in SCENARIO:
        row = f"| `{name}` | {runs[name]} | {len(before[name])} | {len(after[name])} |"
        assert row in page, row
    total = (
        f"| **all three** | {sum(runs.values())} | **{sum(map(len, before.values()))}** | "
        f"**{sum(map(len, after.values()))}** |"
    )
    assert total in page, total


def test_what_the_team_gets_after_is_what_the_page_says(days: dict[str, Any]) -> None:
    after = days["after"]
    # one group of 50 at 02:00, then one resolved group of ten per run
    assert after["table_freshness"] == [("02:00", "firing", "50")] + [
        (f"02:{m}0", "resolved", "10") for m in range(1, 6)
    ]
    assert after["queue_depth"] == [
        ("08:00", "firing", ""),
        ("08:05", "resolved", ""),
        ("08:10", "firing", ""),
        ("08:15", "flapping", ""),
        ("09:15", "firing", ""),  # settled: fifteen minutes after the last change (09:00)
        ("10:00", "resolved", ""),
    ]
    assert after["replica_lag"] == []
    # before: one email per instance and per change
    assert days["before"]["table_freshness"].count(("02:00", "firing", "")) == 50
