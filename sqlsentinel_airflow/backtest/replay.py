"""Replay: the evaluations recorded in the state DB's history, as backtest ticks.

A normal run writes one history row per instance it decided, all stamped with the same
evaluation time (``evaluation.evaluate_alert``). Read back in id order, page by page, the
rows of one evaluation are consecutive and share that time; from them the replay rebuilds
what the query gave (the contract-checked result, ``core.model.QueryEvaluation``):

- a row with outcome ERROR: the query failed, with the recorded error;
- otherwise the instances the query returned: the rows with outcome ALERT or OK, with their
  recorded values. The rows a run derived itself are left out and derived again by the
  engine under each policy: MISSING (a keyed instance that stopped appearing) and a keyed
  alert's alert-level OK (clearing an error).

Backfill rows are not read (ADR 2, item 6). An evaluation of a keyed alert whose query
returned no rows while no instance was known left no row at all; the replay takes it from
the alert's schedule: every tick no recorded evaluation falls in is such an evaluation
(docs/backtests.md, "Replay"), so a proposed policy that keeps an instance known longer
still sees its MISSING evaluations.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy import or_, select, type_coerce

from sqlsentinel_airflow.backtest.engine import Tick
from sqlsentinel_airflow.backtest.schedule import schedule_ticks
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.model import (
    InstanceResult,
    JsonValue,
    Outcome,
    QueryEvaluation,
    RunType,
)
from sqlsentinel_airflow.evaluation import ALERT_LEVEL_KEY
from sqlsentinel_airflow.store import rows
from sqlsentinel_airflow.store.compaction import decode_samples
from sqlsentinel_airflow.store.engine import translating_errors
from sqlsentinel_airflow.store.store import StateStore
from sqlsentinel_airflow.store.tables import LongText, history

__all__ = [
    "PAGE_ROWS",
    "RecordedObservation",
    "ReplayStats",
    "recorded_observations",
    "replay_ticks",
]

PAGE_ROWS = 20_000  # history rows per read: bounded memory, few round trips


class RecordedObservation(NamedTuple):
    """What one evaluation observed for one instance, as the history recorded it: the
    ``HistoryEntry`` fields a decision depends on, without what was decided. A tuple: a
    replay reads a year of a minute schedule (525,600 of them)."""

    id: int
    instance_key: str
    evaluated_at: datetime
    outcome: Outcome
    run_id: str | None
    actual_value: JsonValue
    threshold: JsonValue
    error: str | None
    key_values: dict[str, JsonValue]
    samples: str | None = None  # a quiet run's folded evaluations (store/compaction.py)


_OUTCOMES = {o.value: o for o in Outcome}


def _utc(value: datetime | str) -> datetime:
    """A stored ``evaluated_at`` read without its column type's per-row processing: SQLite
    gives the text it stored (UTC), MySQL a naive UTC datetime, PostgreSQL an aware one."""
    if isinstance(value, str):  # SQLite's text, UTC without an offset: "2026-11-01 00:00:00.000000"
        return datetime.fromisoformat(value + "+00:00")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def recorded_observations(
    store: StateStore,
    alert_name: str,
    *,
    start: datetime,
    end: datetime,
    after_id: int | None = None,
    limit: int = PAGE_ROWS,
) -> list[RecordedObservation]:
    """One page: the alert's non-backfill rows with ``start <= evaluated_at < end`` and
    ``id > after_id``, oldest first, at most ``limit``. Only the columns a decision depends
    on are read, through the ``(alert_name, id)`` index, and without the columns' per-row
    processing: times and JSON values as the driver gives them (``_utc``,
    ``rows.stored_json``, which reads plain numbers without ``json.loads``)."""
    h = history.c
    query = (
        select(
            h.id,
            h.instance_key,
            type_coerce(h.evaluated_at, LongText),
            h.outcome,
            h.run_id,
            type_coerce(h.actual_value, LongText),
            type_coerce(h.threshold, LongText),
            h.error,
            type_coerce(h.key_values, LongText),
            h.samples,
        )
        .where(
            h.alert_name == alert_name,
            h.run_type != RunType.BACKFILL.value,
            # a quiet run that began before the window may reach into it
            or_(h.evaluated_at >= start, h.last_evaluated_at >= start),
            h.evaluated_at < end,
        )
        .order_by(h.alert_name, h.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(h.id > after_id)
    value_of = rows.stored_json
    outcomes = _OUTCOMES
    with translating_errors(store.display_url, "reading history"), store.engine.connect() as conn:
        return [
            RecordedObservation(
                int(id_),
                key,
                _utc(at),
                outcomes.get(outcome) or Outcome(outcome),
                run_id,
                value_of(value),
                value_of(threshold),
                error,
                json.loads(key_values) if key_values and key_values != "{}" else {},
                samples,
            )
            for (
                id_,
                key,
                at,
                outcome,
                run_id,
                value,
                threshold,
                error,
                key_values,
                samples,
            ) in conn.execute(query).all()
        ]


def _unfolded(
    row: RecordedObservation, start: datetime, end: datetime
) -> Iterator[RecordedObservation]:
    """The row, then the evaluations a quiet run folded into it (each OK, with the row's
    threshold and key values; which run made them is not kept), those in ``[start, end)``."""
    if row.evaluated_at >= start:
        yield row
    if row.samples:
        for sample in decode_samples(row.evaluated_at, row.samples):
            if not start <= sample.evaluated_at < end:
                continue
            yield row._replace(
                evaluated_at=sample.evaluated_at,
                run_id=None,
                actual_value=sample.actual_value,
                samples=None,
            )


def _in_time_order(
    pages: Iterator[list[RecordedObservation]], start: datetime, end: datetime
) -> Iterator[RecordedObservation]:
    """Every evaluation the pages record, oldest first: a quiet run's folded evaluations come
    after its row but before later rows of other instances, so they wait in a heap until no
    row still to come can be older (rows come in id order, which is time order per alert)."""
    waiting: list[tuple[datetime, int, RecordedObservation]] = []
    order = 0
    for page in pages:
        for row in page:
            while waiting and waiting[0][0] < row.evaluated_at:
                yield heapq.heappop(waiting)[2]
            if not row.samples and not waiting:
                yield row
                continue
            for each in _unfolded(row, start, end):
                heapq.heappush(waiting, (each.evaluated_at, order, each))
                order += 1
    while waiting:
        yield heapq.heappop(waiting)[2]


def _single(row: RecordedObservation) -> QueryEvaluation:
    """The query result the one row of an alert without ``key_columns`` records."""
    if row.outcome is Outcome.ERROR:
        return QueryEvaluation(error=row.error or "query failed", row_count=0)
    instance = InstanceResult(
        row.instance_key, row.key_values, row.outcome, row.actual_value, row.threshold
    )
    return QueryEvaluation(instances=(instance,), row_count=1)


def _evaluation(alert: AlertConfig, rows: list[RecordedObservation]) -> QueryEvaluation:
    """The contract-checked query result one evaluation's rows record."""
    for row in rows:
        if row.outcome is Outcome.ERROR:
            return QueryEvaluation(error=row.error or "query failed", row_count=0)
    keyed = bool(alert.key_columns)
    instances = tuple(
        InstanceResult(
            key=row.instance_key,
            key_values=row.key_values,
            status=row.outcome,
            actual_value=row.actual_value,
            threshold=row.threshold,
        )
        for row in rows
        if row.outcome in (Outcome.ALERT, Outcome.OK)
        and not (keyed and row.instance_key == ALERT_LEVEL_KEY)
    )
    return QueryEvaluation(instances=instances, row_count=len(instances))


def _pages(
    store: StateStore, alert: AlertConfig, start: datetime, end: datetime, page_rows: int
) -> Iterator[list[RecordedObservation]]:
    """The history's pages in order; the next one is read (on another connection, in a
    thread: the database works while this one is decided) as soon as this one is known."""

    def read(after: int | None) -> list[RecordedObservation]:
        return recorded_observations(
            store, alert.name, start=start, end=end, after_id=after, limit=page_rows
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-read") as reader:
        page = read(None)
        while True:
            following = reader.submit(read, page[-1].id) if len(page) == page_rows else None
            yield page
            if following is None:
                return
            page = following.result()


def _recorded(
    store: StateStore, alert: AlertConfig, start: datetime, end: datetime, page_rows: int
) -> Iterator[Tick]:
    """The recorded evaluations, one tick per evaluation (its rows grouped), oldest first."""
    pages = _pages(store, alert, start, end, page_rows)
    if not alert.key_columns:  # one row per evaluation: no grouping to do
        for page in pages:
            for row in page:
                for each in _unfolded(row, start, end):  # one instance: a run's are next
                    yield Tick(each.evaluated_at, _single(each), each.run_id)
        return
    group: list[RecordedObservation] = []
    for row in _in_time_order(pages, start, end):
        if group and not _same_evaluation(group[0], row):
            yield _grouped(alert, group)
            group = []
        group.append(row)
    if group:
        yield _grouped(alert, group)


def _same_evaluation(first: RecordedObservation, row: RecordedObservation) -> bool:
    """Rows of one evaluation share its time and run (a folded evaluation's run is unknown)."""
    return row.evaluated_at == first.evaluated_at and (
        row.run_id == first.run_id or row.run_id is None or first.run_id is None
    )


def _grouped(alert: AlertConfig, group: list[RecordedObservation]) -> Tick:
    """One evaluation's tick, its instances in key order (a folded evaluation's place among
    the rows of its evaluation is not kept, so no order but the keys' is the same for all)."""
    run_id = next((r.run_id for r in group if r.run_id is not None), None)
    group.sort(key=lambda r: r.instance_key)
    return Tick(group[0].evaluated_at, _evaluation(alert, group), run_id)


@dataclass
class ReplayStats:
    """How many ticks were recorded and how many a keyed alert's schedule filled in."""

    recorded: int = 0
    filled: int = 0


def replay_ticks(
    store: StateStore,
    alert: AlertConfig,
    start: datetime,
    end: datetime,
    *,
    page_rows: int = PAGE_ROWS,
    stats: ReplayStats | None = None,
) -> Iterator[Tick]:
    """The alert's evaluations in ``[start, end)`` as ticks, oldest first, read ``page_rows``
    history rows at a time.

    A keyed alert's evaluation that returned no rows while no instance was known wrote
    nothing; its schedule says it happened. For a keyed alert every schedule tick that no
    recorded evaluation falls in (from the tick to the next one) is filled in as such an
    evaluation: no rows (every known instance MISSING under the policy being replayed). An
    alert that runs only when its assets are updated has no ticks: only what it recorded.
    """
    stats = stats if stats is not None else ReplayStats()
    recorded = _recorded(store, alert, start, end, page_rows)
    if not alert.key_columns or alert.schedule is None:
        # no cron (it runs when its assets are updated, docs/assets.md): no ticks to fill in
        for tick in recorded:
            stats.recorded += 1
            yield tick
        return
    pending = next(recorded, None)
    ticks = schedule_ticks(alert.schedule, alert.timezone, start, end)
    at = next(ticks, None)
    while at is not None:
        following = next(ticks, None)
        while pending is not None and pending.at < at:  # before this tick (a manual run)
            stats.recorded += 1
            yield pending
            pending = next(recorded, None)
        covered = False
        while pending is not None and (following is None or pending.at < following):
            covered = True
            stats.recorded += 1
            yield pending
            pending = next(recorded, None)
        if not covered:
            stats.filled += 1
            yield Tick(at, QueryEvaluation(instances=(), row_count=0))
        at = following
    while pending is not None:
        stats.recorded += 1
        yield pending
        pending = next(recorded, None)
