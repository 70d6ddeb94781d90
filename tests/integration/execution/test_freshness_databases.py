"""Freshness checks on real PostgreSQL, MariaDB and SQLite (docs/freshness.md).

A warehouse table with a ``loaded_at`` column: a recent row -> OK, an old one -> ALERT, no
row -> ALERT; names that need quoting (a space, capitals, a reserved word) are quoted by
sqlglot for each database. Each alert runs through the run-an-alert service, the path the
operator and ``sqlsentinel run`` share; the state DB is SQLite.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.config.loader import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig, StateDbConfig
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.service import AlertRun, QueryFetcher, RunRequest, run_alerts
from sqlsentinel_airflow.store import StateDbLocator

# name as written in YAML (the database's own quoting), and the DDL name
ODD = {
    "postgres": ('"Load Log"', '"Load Log"', '"Loaded At"'),
    "mysql": ("`Load Log`", "`Load Log`", "`Loaded At`"),
    "sqlite": ('"Load Log"', '"Load Log"', '"Loaded At"'),
}


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(database kind, URL) of an empty warehouse database."""
    kind = request.param
    if kind == "sqlite":
        return kind, f"sqlite:///{tmp_path / 'warehouse.db'}"
    fixture = {"postgres": "pg_url", "mysql": "mysql_url"}[kind]
    return kind, str(request.getfixturevalue(fixture))


def _create(url: str, kind: str) -> sa.Engine:
    """Tables: orders(loaded_at) fresh, stale(loaded_at) old, empty(loaded_at), and the odd one."""
    engine = sa.create_engine(url)
    stamp = {"postgres": "TIMESTAMP", "mysql": "DATETIME", "sqlite": "TEXT"}[kind]
    _, table, column = ODD[kind]
    with engine.begin() as conn:
        for name in ("orders", "stale", "empty"):
            conn.execute(sa.text(f"CREATE TABLE {name} (id INTEGER, loaded_at {stamp})"))
        conn.execute(sa.text(f"CREATE TABLE {table} (id INTEGER, {column} {stamp})"))
    return engine


def _insert(engine: sa.Engine, table: str, column: str, when: datetime, kind: str) -> None:
    naive = when.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
    value: Any = naive.isoformat(sep=" ") if kind == "sqlite" else naive
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO {table} (id, {column}) VALUES (1, :v)"), {"v": value})


def _alerts(url: str, kind: str) -> dict[str, AlertConfig]:
    written, _, column = ODD[kind]
    text = f"""
database: {{url: "{url}"}}
defaults: {{schedule: "*/15 * * * *"}}
alerts:
  - name: fresh
    freshness: {{table: orders, column: loaded_at, within: 1h}}
  - name: stale
    freshness: {{table: stale, column: loaded_at, within: 1h}}
  - name: empty
    freshness: {{table: empty, column: loaded_at, within: 1h}}
  - name: odd
    freshness: {{table: '{written}', column: '{column}', within: 30m}}
"""
    result = load_config_text(text, "alerts.yaml")
    assert result.config is not None, [str(e) for e in result.errors]
    return {a.name: a for a in result.config.alerts}


def _run(alerts: list[AlertConfig], state: Path) -> dict[str, AlertRun]:
    runs = run_alerts(
        alerts,
        RunRequest(run_type=RunType.MANUAL),
        locator=StateDbLocator(),
        state_db=StateDbConfig(url=f"sqlite:///{state}"),
        queries=QueryFetcher(),
    )
    return {r.alert_name: r for r in runs}


def _instance(run: AlertRun) -> Any:
    assert run.evaluation is not None
    assert run.evaluation.error is None, run.evaluation.error
    (instance,) = run.evaluation.instances
    return instance


def test_fresh_stale_empty_and_quoted_names(warehouse: tuple[str, str], tmp_path: Path) -> None:
    kind, url = warehouse
    engine = _create(url, kind)
    now = datetime.now(timezone.utc)
    _insert(engine, "orders", "loaded_at", now - timedelta(minutes=10), kind)
    _insert(engine, "stale", "loaded_at", now - timedelta(hours=3), kind)
    _, table, column = ODD[kind]
    _insert(engine, table, column, now - timedelta(minutes=5), kind)
    engine.dispose()
    alerts = _alerts(url, kind)

    runs = _run(list(alerts.values()), tmp_path / "state.db")

    fresh, stale, empty, odd = (_instance(runs[n]) for n in ("fresh", "stale", "empty", "odd"))
    assert fresh.outcome.value == "OK"
    assert 9.5 <= fresh.actual_value <= 12 and fresh.threshold == 60.0
    assert fresh.context["source"] == "query"
    assert fresh.context["last_updated_at"].startswith(
        (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    )
    assert stale.outcome.value == "ALERT" and 179 <= stale.actual_value <= 181
    assert stale.context["age"].startswith("3h")
    assert empty.outcome.value == "ALERT" and empty.actual_value is None
    assert empty.context["note"] == "no row of empty has a loaded_at"
    assert odd.outcome.value == "OK" and odd.threshold == 30.0
    assert runs["stale"].evaluation is not None and runs["stale"].evaluation.firing


def test_the_generated_query_is_quoted_for_the_database(warehouse: tuple[str, str]) -> None:
    kind, url = warehouse
    alerts = _alerts(url, kind)
    quote = "`" if kind == "mysql" else '"'
    expected = f"SELECT MAX({quote}loaded_at{quote}) AS {quote}last_updated_at{quote} FROM "
    assert alerts["fresh"].query == expected + f"{quote}orders{quote}"


def test_a_column_that_is_no_timestamp_is_a_query_error(
    warehouse: tuple[str, str], tmp_path: Path
) -> None:
    _kind, url = warehouse
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE counts (id INTEGER, loaded_at INTEGER)"))
        conn.execute(sa.text("INSERT INTO counts VALUES (1, 42)"))
    engine.dispose()
    text = f"""
database: {{url: "{url}"}}
alerts:
  - name: counts
    schedule: "@hourly"
    freshness: {{table: counts, column: loaded_at, within: 1h}}
"""
    config = load_config_text(text, "alerts.yaml").config
    assert config is not None

    (run,) = _run(list(config.alerts), tmp_path / "state.db").values()

    assert run.evaluation is not None
    assert run.evaluation.error == (
        "freshness: column 'loaded_at' is of type int (value '42'); it must be a timestamp "
        "or a date"
    )


def test_postgres_aware_timestamps_dates_and_a_timezone_for_naive_ones(
    pg_url: str, tmp_path: Path
) -> None:
    """timestamptz is taken as is; a DATE is its midnight and a naive TIMESTAMP a wall-clock
    time, both read in `timezone`."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA analytics"))
        conn.execute(
            sa.text("CREATE TABLE analytics.loads (aware TIMESTAMPTZ, naive TIMESTAMP, day DATE)")
        )
        conn.execute(
            sa.text(
                "INSERT INTO analytics.loads VALUES "
                "(TIMESTAMPTZ '2026-12-06 09:00:00+00', TIMESTAMP '2026-12-06 09:00:00', "
                "DATE '2026-12-06')"
            )
        )
    engine.dispose()
    text = f"""
database: {{url: "{pg_url}"}}
defaults: {{schedule: "@hourly"}}
alerts:
  - name: aware
    freshness: {{table: analytics.loads, column: aware, within: 100000d, timezone: Asia/Tokyo}}
  - name: naive
    freshness: {{table: analytics.loads, column: naive, within: 100000d, timezone: Asia/Tokyo}}
  - name: day
    freshness: {{table: Analytics.Loads, column: DAY, within: 100000d, timezone: Asia/Tokyo}}
"""
    config = load_config_text(text, "alerts.yaml").config
    assert config is not None

    runs = _run(list(config.alerts), tmp_path / "state.db")

    stamps = {name: _instance(run).context["last_updated_at"] for name, run in runs.items()}
    assert stamps == {
        "aware": "2026-12-06T09:00:00+00:00",
        "naive": "2026-12-06T00:00:00+00:00",  # 09:00 in Tokyo
        "day": "2026-12-05T15:00:00+00:00",  # midnight in Tokyo
    }
