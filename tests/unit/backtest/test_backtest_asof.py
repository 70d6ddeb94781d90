"""As-of ticks without a database: the frozen query each tick runs, results handed on in tick
order whatever order the queries finish in, a bounded number in flight, errors as ERROR
evaluations, and the checkpoint a second run goes on from."""

from __future__ import annotations

import json
import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.backtest.asof import AsOfMeaningless, AsOfRun, AsOfStats, as_of_ticks
from sqlsentinel_airflow.core.config.loader import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.errors import QueryError

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc)
ALERTS = """\
alerts:
  - name: orders
    conn_id: wh
    schedule: "*/10 * * * *"
    query: SELECT 'OK' AS status, 1 AS actual_value FROM orders WHERE created_at < now()
  - name: static
    conn_id: wh
    schedule: "*/10 * * * *"
    query: SELECT 'OK' AS status FROM orders
"""
FROZEN = re.compile(r"CAST\('([^']+)' AS TIMESTAMPTZ\)")


def _alert(name: str) -> AlertConfig:
    result = load_config_text(ALERTS, "alerts.yaml", env={})
    assert result.config is not None, result.errors
    return result.config.alert(name)


@dataclass(frozen=True)
class _Rows:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class _Warehouse:
    """Answers with the minute of the frozen time; slow at random; fails at 00:30."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.queries: list[str] = []

    def __call__(self, sql: str) -> _Rows:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.queries.append(sql)
        try:
            time.sleep(random.random() / 200)
            match = FROZEN.search(sql)
            assert match is not None, sql
            at = datetime.fromisoformat(match.group(1))
            if (at.hour, at.minute) == (0, 30):
                raise QueryError('relation "orders" does not exist')
            return _Rows(("status", "actual_value"), [("OK", at.hour * 60 + at.minute)])
        finally:
            with self.lock:
                self.running -= 1


def test_ticks_come_in_order_with_a_bounded_number_in_flight() -> None:
    warehouse = _Warehouse()
    run = AsOfRun(_alert("orders"), T0, T0 + timedelta(hours=3), warehouse, concurrency=3)
    ticks = list(as_of_ticks(run))
    assert [t.at for t in ticks] == [T0 + timedelta(minutes=10 * i) for i in range(18)]
    values = [t.evaluation.instances[0].actual_value for t in ticks if t.evaluation.ok]
    assert values == [10 * i for i in range(18) if i != 3]
    (failed,) = [t for t in ticks if not t.evaluation.ok]
    assert failed.at == T0 + timedelta(minutes=30)
    assert failed.evaluation.error == 'relation "orders" does not exist'
    assert warehouse.most <= 3
    assert "now()" not in warehouse.queries[0]


def test_a_second_run_goes_on_from_the_checkpoint(tmp_path: Path) -> None:
    checkpoint = tmp_path / "orders.jsonl"
    first = AsOfRun(
        _alert("orders"), T0, T0 + timedelta(hours=1), _Warehouse(), checkpoint=checkpoint
    )
    assert len(list(as_of_ticks(first))) == 6
    header = json.loads(checkpoint.read_text().splitlines()[0])
    assert (header["alert"], header["schedule"]) == ("orders", "*/10 * * * *")
    warehouse = _Warehouse()
    stats = AsOfStats()
    longer = AsOfRun(
        _alert("orders"), T0, T0 + timedelta(hours=2), warehouse, checkpoint=checkpoint
    )
    ticks = list(as_of_ticks(longer, stats))
    assert (stats.resumed, stats.queried, len(warehouse.queries)) == (6, 6, 6)
    assert ticks[3].evaluation.error == 'relation "orders" does not exist'  # from the file
    assert [t.evaluation.instances[0].actual_value for t in ticks[6:]] == [60, 70, 80, 90, 100, 110]
    assert stats.notes == [f"resumed: 6 ticks read from {checkpoint}"]


def test_a_query_without_a_clock_is_refused_before_any_query() -> None:
    warehouse = _Warehouse()
    run = AsOfRun(_alert("static"), T0, T0 + timedelta(hours=1), warehouse)
    with pytest.raises(AsOfMeaningless, match=r"calls no clock function .* --source replay"):
        list(as_of_ticks(run))
    assert warehouse.queries == []


def test_an_alert_without_a_cron_has_no_ticks_and_is_refused_before_any_query() -> None:
    """An alert that runs only when its assets are updated (docs/assets.md) has no cadence."""
    from sqlsentinel_airflow.backtest.asof import count_ticks
    from sqlsentinel_airflow.core.config.assets import AssetRef

    on_assets = _alert("orders").model_copy(
        update={"schedule": None, "assets": AssetRef(uri="s3://warehouse/orders")}
    )
    warehouse = _Warehouse()
    run = AsOfRun(on_assets, T0, T0 + timedelta(hours=1), warehouse)
    with pytest.raises(
        AsOfMeaningless,
        match=r"runs when s3://warehouse/orders is updated, not on a cron, so there are no "
        r"schedule ticks .* \(--source replay\), or give its schedule a `cron:`",
    ):
        list(as_of_ticks(run))
    assert warehouse.queries == []
    assert count_ticks(on_assets, T0, T0 + timedelta(hours=1)) == 0


def _answer(sql: str) -> _Rows:
    """A warehouse that alerts for one minute a day, from the frozen time alone."""
    match = FROZEN.search(sql)
    assert match is not None, sql
    at = datetime.fromisoformat(match.group(1))
    firing = (at.hour, at.minute) == (3, 0)
    return _Rows(("status", "actual_value"), [("ALERT" if firing else "OK", at.minute)])


def test_ticks_stream_in_bounded_memory() -> None:
    """Ticks are read and decided as they come: what a backtest keeps grows with its value
    series (three numbers per tick, in arrays) and its incidents, not with the ticks' rows,
    queries or evaluations. Measured with tracemalloc at 1,000 and 6,000 ticks: the 5,000
    more may add their values (24 bytes each) and little else, so 100,000 ticks stay a few
    megabytes (docs/backtests.md)."""
    import tracemalloc

    from sqlsentinel_airflow.backtest.result import Source
    from sqlsentinel_airflow.backtest.run import BacktestRequest, run_backtest

    minute_alert = _alert("orders").model_copy(update={"schedule": "* * * * *"})

    def peak(ticks: int) -> int:
        request = BacktestRequest(
            minute_alert, T0, T0 + timedelta(minutes=ticks), source=Source.AS_OF
        )
        tracemalloc.start()
        try:
            result = run_backtest(request, run_query=_answer, concurrency=2)
            assert result.evaluations == ticks
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1_000), peak(6_000)
    assert large - small < 5_000 * 64, (small, large)  # under 64 bytes a tick
