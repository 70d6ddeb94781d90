"""``sqlsentinel backtest`` as a user runs it.

Replay: a SQLite state database filled by real evaluations (``evaluate_alert`` with a
simulated clock), decided again under the current and a proposed policy. As-of: a synthetic
PostgreSQL warehouse with 30 days of orders and planted outages, the alert's query run as of
every schedule tick through the read-only path, where the counts are known exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_cli_end_to_end import base_env, run_json, sqlsentinel

from sqlsentinel_airflow.core.config.loader import load_config
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.store import StateStore

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)

REPLAY_ALERTS = """\
alerts:
  - name: revenue
    conn_id: wh
    schedule: "0 * * * *"
    renotify_after: 2h
    query: |
      SELECT CASE WHEN SUM(amount) < 10 THEN 'ALERT' ELSE 'OK' END AS status,
             SUM(amount) AS actual_value, 10 AS threshold
      FROM orders WHERE created_at > now() - interval '1 hour'
    notify:
      - channel: email
        to: [oncall@example.com]
  - name: late_tables
    conn_id: wh
    schedule: "0 * * * *"
    key_columns: [table_name]
    query: SELECT table_name, 'ALERT' AS status, age AS actual_value FROM loads WHERE age > 24
"""


@dataclass(frozen=True)
class _Rows:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def _fill(state_url: str, alerts_file: Path) -> None:
    """Real evaluations, one an hour, written by the engine a normal run uses."""
    config = load_config(alerts_file).config
    assert config is not None
    store = StateStore.connect(state_url)
    revenue, late = config.alert("revenue"), config.alert("late_tables")
    # a one-hour blip at 10:00, a five-hour incident from 21:00
    values = [20] * 10 + [5] + [20] * 10 + [5] * 5 + [20] * 10
    late_tables = [["orders"]] * 3 + [["orders", "customers"]] * 2 + [[]] * 3
    try:
        for i, value in enumerate(values):
            at = T0 + timedelta(hours=i)
            status = "ALERT" if value < 10 else "OK"
            evaluate_alert(
                revenue,
                fetch=lambda s=status, v=value: _Rows(  # type: ignore[misc]
                    ("status", "actual_value", "threshold"), [(s, v, 10)]
                ),
                store=store,
                run_type=RunType.SCHEDULED,
                run_id=f"scheduled__{at.isoformat()}",
                clock=lambda at=at: at,  # type: ignore[misc]
            )
        for i, tables in enumerate(late_tables):
            at = T0 + timedelta(hours=i)
            evaluate_alert(
                late,
                fetch=lambda t=tables: _Rows(  # type: ignore[misc]
                    ("table_name", "status", "actual_value"), [(n, "ALERT", 30) for n in t]
                ),
                store=store,
                run_type=RunType.SCHEDULED,
                clock=lambda at=at: at,  # type: ignore[misc]
            )
        # a backfill of the same past: replay leaves it out, as incidents do
        evaluate_alert(
            revenue,
            fetch=lambda: _Rows(("status", "actual_value", "threshold"), [("ALERT", 1, 10)]),
            store=store,
            run_type=RunType.BACKFILL,
            clock=lambda: T0 + timedelta(minutes=30),
        )
    finally:
        store.dispose()


@pytest.fixture
def replay_setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (tmp_path / "alerts.yaml").write_text(REPLAY_ALERTS)
    env = base_env(tmp_path)
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{tmp_path / 'state.db'}"
    env["SQLSENTINEL_CACHE_DIR"] = str(tmp_path / "cache")
    _fill(env["SQLSENTINEL_STATE_DB_URL"], tmp_path / "alerts.yaml")
    return tmp_path, env


RANGE = ["--from", "2026-11-01", "--to", "2026-11-03"]


def test_replay_current_and_proposed(replay_setup: tuple[Path, dict[str, str]]) -> None:
    cwd, env = replay_setup
    args = ["backtest", "alerts.yaml", "--alert", "revenue", *RANGE, "--set", "fire_after=2"]
    data = run_json(args, env, cwd)
    assert data["source"] == "replay" and data["evaluations"] == 36
    current, proposed = data["runs"]
    # the current policy decides the recorded values as they were decided
    assert [(i["started_at"], i["ended_at"]) for i in current["incidents"]] == [
        ("2026-11-01T10:00:00+00:00", "2026-11-01T11:00:00+00:00"),
        ("2026-11-01T21:00:00+00:00", "2026-11-02T02:00:00+00:00"),
    ]
    assert current["counts"]["events"] == {
        "firing": 2,
        "reminder": 2,
        "resolved": 2,
        "error": 0,
        "flapping": 0,
        "escalation": 0,
    }
    # fire_after 2: the blip is gone, the long one starts an hour later
    assert [(i["started_at"], i["evaluations"]) for i in proposed["incidents"]] == [
        ("2026-11-01T22:00:00+00:00", 4)
    ]
    assert proposed["counts"]["incidents"] == 1
    assert proposed["counts"]["events"] == {
        "firing": 1,
        "reminder": 1,
        "resolved": 1,
        "error": 0,
        "flapping": 0,
        "escalation": 0,
    }
    assert proposed["policy"]["changed"] == ["fire_after"]
    (series,) = data["series"]
    assert len(series["values"]) == 36 and series["values"][10] == 5  # the backfill is left out

    table = sqlsentinel(args, env, cwd)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("backtest of revenue (replay of recorded evaluations)")
    assert "fire_after *        1        2" in table.stdout
    assert any(line.split()[:3] == ["incidents", "2", "1"] for line in lines)
    assert "incidents (proposed): 1" in table.stdout


def test_replay_of_a_keyed_alert_is_per_instance(replay_setup: tuple[Path, dict[str, str]]) -> None:
    cwd, env = replay_setup
    args = ["backtest", "alerts.yaml", "--alert", "late_tables", *RANGE]
    data = run_json([*args, "--set", "resolve_after=2"], env, cwd)
    current, proposed = data["runs"]
    assert [(i["key_values"], i["started_at"], i["ended_at"]) for i in current["incidents"]] == [
        ({"table_name": "orders"}, "2026-11-01T00:00:00+00:00", "2026-11-01T05:00:00+00:00"),
        ({"table_name": "customers"}, "2026-11-01T03:00:00+00:00", "2026-11-01T05:00:00+00:00"),
    ]
    # resolve_after 2 waits for a second MISSING evaluation (recorded at 06:00)
    assert {i["ended_at"] for i in proposed["incidents"]} == {"2026-11-01T06:00:00+00:00"}
    assert {s["instance_key"] for s in data["series"]} == {
        '{"table_name":"orders"}',
        '{"table_name":"customers"}',
    }


def test_bad_set_and_bad_range_exit_2_with_the_place(
    replay_setup: tuple[Path, dict[str, str]],
) -> None:
    cwd, env = replay_setup
    base = ["backtest", "alerts.yaml", "--alert", "revenue", *RANGE]
    proc = sqlsentinel([*base, "--set", "fire_afer=2", "--set", "renotify_after=soon"], env, cwd)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "--set:1 fire_afer: unknown key `fire_afer` (did you mean `fire_after`?)",
        "--set:2 renotify_after: 'soon' is not a duration (write e.g. 30s, 5m, 4h, 1d, 1h30m "
        "or an integer of seconds)",
    ]
    proc = sqlsentinel(["backtest", "alerts.yaml", "--alert", "revenue", "--from", "2026-11-03",
                        "--to", "2026-11-01"], env, cwd)  # fmt: skip
    assert proc.returncode == 2
    assert "--to (2026-11-01 00:00:00 UTC) must be after --from" in proc.stderr
    proc = sqlsentinel(["backtest", "alerts.yaml", "--alert", "nope", *RANGE], env, cwd)
    assert proc.returncode == 2 and "no valid alert named 'nope'" in proc.stderr


def test_as_of_needs_a_clock_function_and_replay_a_state_db(tmp_path: Path) -> None:
    (tmp_path / "alerts.yaml").write_text(
        REPLAY_ALERTS + '  - name: static\n    conn_id: wh\n    schedule: "@daily"\n'
        "    query: SELECT 'OK' AS status FROM orders\n"
    )
    env = base_env(tmp_path)
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{tmp_path / 'absent.db'}"
    args = ["backtest", "alerts.yaml", "--alert", "static", *RANGE]
    proc = sqlsentinel([*args, "--source", "as-of"], env, tmp_path)
    assert proc.returncode == 2
    assert "its query calls no clock function" in proc.stderr
    assert "--source replay" in proc.stderr
    proc = sqlsentinel(args, env, tmp_path)
    assert proc.returncode == 2
    assert "no state database yet, so no recorded evaluation to replay" in proc.stderr
    assert not (tmp_path / "absent.db").exists()  # a backtest creates nothing


# --- as-of on a synthetic PostgreSQL warehouse ------------------------------------------------

WAREHOUSE_START = datetime(2026, 9, 30, tzinfo=timezone.utc)  # a day before the range
OUTAGES = [  # [start, end): no orders at all
    (datetime(2026, 10, 5, 6, tzinfo=timezone.utc), datetime(2026, 10, 5, 18, tzinfo=timezone.utc)),
    (
        datetime(2026, 10, 12, 3, tzinfo=timezone.utc),
        datetime(2026, 10, 12, 6, tzinfo=timezone.utc),
    ),
    (
        datetime(2026, 10, 20, 0, tzinfo=timezone.utc),
        datetime(2026, 10, 20, 9, tzinfo=timezone.utc),
    ),
]
AS_OF_ALERTS = """\
alerts:
  - name: orders_stalled
    schedule: "0 */3 * * *"
    query: |
      SELECT CASE WHEN count(*) < 5 THEN 'ALERT' ELSE 'OK' END AS status,
             count(*) AS actual_value, 5 AS threshold
      FROM orders
      WHERE created_at > now() - interval '3 hours' AND created_at <= now()
    notify:
      - channel: webhook
        url: https://hooks.example.com/oncall
"""


@pytest.fixture
def warehouse(pg_url: str, pg_reader_url: str) -> str:
    """30 days of orders, 4 an hour, except in the planted outages; the reader's URL."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (created_at TIMESTAMPTZ, amount NUMERIC)"))
        conn.execute(
            sa.text(
                "INSERT INTO orders SELECT t, 10 FROM generate_series("
                "CAST(:start AS TIMESTAMPTZ), CAST(:end AS TIMESTAMPTZ), interval '15 minutes') t"
            ),
            {
                "start": WAREHOUSE_START + timedelta(minutes=7),
                "end": WAREHOUSE_START + timedelta(days=31),
            },
        )
        for start, end in OUTAGES:
            conn.execute(
                sa.text("DELETE FROM orders WHERE created_at >= :s AND created_at < :e"),
                {"s": start, "e": end},
            )
    engine.dispose()
    return pg_reader_url


@pytest.mark.postgres
@pytest.mark.airflow
def test_as_of_counts_the_planted_outages_exactly(tmp_path: Path, warehouse: str) -> None:
    (tmp_path / "alerts.yaml").write_text(AS_OF_ALERTS)
    env = base_env(tmp_path)
    env["DATABASE_URL"] = warehouse
    env["SQLSENTINEL_STATE_DB_URL"] = f"sqlite:///{tmp_path / 'absent.db'}"
    checkpoint = tmp_path / "orders.jsonl"
    args = [
        "backtest", "alerts.yaml", "--alert", "orders_stalled", "--source", "as-of",
        "--from", "2026-10-01", "--to", "2026-10-31", "--set", "fire_after=2",
        "--checkpoint", str(checkpoint),
    ]  # fmt: skip
    # the first half, then the whole range: the second run goes on from the first's ticks
    half = run_json([*args[:-6], "--to", "2026-10-15", *args[-4:]], env, tmp_path)
    assert half["evaluations"] == half["as_of"]["queried"] == 112
    data = run_json(args, env, tmp_path)
    assert data["evaluations"] == 240  # every 3 hours for 30 days
    assert (data["as_of"]["queried"], data["as_of"]["resumed"]) == (128, 112)
    current, proposed = data["runs"]
    # a tick sees the 3 hours before it: the 12-hour outage fails the ticks at 09, 12, 15
    # and 18; the 3-hour one the tick at 06 only; the 9-hour one those at 03, 06 and 09
    assert [(i["started_at"], i["ended_at"], i["evaluations"]) for i in current["incidents"]] == [
        ("2026-10-05T09:00:00+00:00", "2026-10-05T21:00:00+00:00", 4),
        ("2026-10-12T06:00:00+00:00", "2026-10-12T09:00:00+00:00", 1),
        ("2026-10-20T03:00:00+00:00", "2026-10-20T12:00:00+00:00", 3),
    ]
    assert [i["peak_value"] for i in current["incidents"]] == [0, 0, 0]
    assert current["counts"]["incidents"] == 3
    assert current["counts"]["firing_seconds"] == (12 + 3 + 9) * 3600
    (channel,) = data["channels"]
    assert current["counts"]["notifications"] == {channel["id"]: {"firing": 3, "resolved": 3}}
    # fire_after 2 drops the one-tick blip and starts the others a tick later
    assert [(i["started_at"], i["evaluations"]) for i in proposed["incidents"]] == [
        ("2026-10-05T12:00:00+00:00", 3),
        ("2026-10-20T06:00:00+00:00", 2),
    ]
    assert proposed["counts"]["firing_seconds"] == (9 + 6) * 3600
    assert not (tmp_path / "absent.db").exists()

    # the checkpoint holds every tick: run again, nothing is queried, the same result
    again = run_json(args, env, tmp_path)
    assert (again["as_of"]["queried"], again["as_of"]["resumed"]) == (0, 240)
    assert again["runs"] == data["runs"]
    # cut short after 100 ticks (a kill mid-line included): only the rest is queried
    lines = checkpoint.read_text().splitlines()
    checkpoint.write_text("\n".join(lines[:101]) + "\n" + lines[101][:20])
    resumed = run_json(args, env, tmp_path)
    assert (resumed["as_of"]["queried"], resumed["as_of"]["resumed"]) == (140, 100)
    assert resumed["runs"] == data["runs"]
    assert any("resumed: 100 ticks" in note for note in resumed["notes"])


@pytest.mark.postgres
@pytest.mark.airflow
def test_as_of_refuses_a_query_the_reader_cannot_run_as_error_evaluations(
    tmp_path: Path, warehouse: str
) -> None:
    (tmp_path / "alerts.yaml").write_text(AS_OF_ALERTS.replace("FROM orders", "FROM missing_table"))
    env = base_env(tmp_path)
    env["DATABASE_URL"] = warehouse
    args = [
        "backtest", "alerts.yaml", "--alert", "orders_stalled", "--source", "as-of",
        "--from", "2026-10-01", "--to", "2026-10-02", "--restart",
        "--set", "notify_on_error=after 2",
    ]  # fmt: skip
    data = run_json(args, env, tmp_path)
    current, proposed = data["runs"]
    (error,) = current["incidents"]
    assert (error["kind"], error["evaluations"], error["ongoing"]) == ("error", 8, True)
    assert "missing_table" in error["error"]
    assert current["counts"]["events"]["error"] == 1
    assert proposed["policy"]["changed"] == ["notify_on_error"]
    assert proposed["incidents"][0]["notifications"] == {"error": 1}
    assert json.dumps(data).count("reader-pw") == 0  # the URL's password never shows


@pytest.mark.parametrize("db", ["postgres", "mysql"])
def test_replay_reads_every_state_database_alike(
    db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The replay reads times and values without the columns' processing: each driver's
    own types (PostgreSQL's aware datetimes, MySQL's naive ones) must come out the same."""
    from sqlsentinel_airflow.backtest.policy import parse_overrides
    from sqlsentinel_airflow.backtest.run import BacktestRequest, run_backtest

    url = str(request.getfixturevalue("pg_url" if db == "postgres" else "mysql_url"))
    (tmp_path / "alerts.yaml").write_text(REPLAY_ALERTS)
    _fill(url, tmp_path / "alerts.yaml")
    config = load_config(tmp_path / "alerts.yaml").config
    assert config is not None
    store = StateStore.connect(url)
    try:
        result = run_backtest(
            BacktestRequest(
                config.alert("revenue"),
                T0,
                T0 + timedelta(days=2),
                overrides=parse_overrides(["fire_after=2"]),
            ),
            store=store,
        )
    finally:
        store.dispose()
    assert result.evaluations == 36
    current, proposed = result.runs
    assert [(i.started_at, i.evaluations, i.peak_value) for i in current.incidents] == [
        (T0 + timedelta(hours=10), 1, 5),
        (T0 + timedelta(hours=21), 5, 5),
    ]
    assert [i.started_at for i in proposed.incidents] == [T0 + timedelta(hours=22)]
