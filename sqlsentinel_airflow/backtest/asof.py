"""As-of: the alert's query run as of every schedule tick in a range, as backtest ticks.

At each tick of the alert's schedule (``schedule.schedule_ticks``: its cron in its timezone,
as Airflow runs it) the query runs with its clock functions frozen to the tick
(``core/sqlclock.rewrite_clock``: ``now()``, ``CURRENT_DATE``... become literals), through
the caller's ``run_query`` (the CLI passes the read-only, time-limited path of a normal run,
``service.QueryFetcher``), and its result is checked against the query contract
(``core/result.evaluate_result``) exactly as a normal run checks it. A failed query is an
ERROR evaluation, as in a normal run.

- **Bounded concurrency**: up to ``concurrency`` queries run at once, at most twice as many
  ticks are in flight, and results are handed on in tick order: memory does not grow with
  the number of ticks (100,000 ticks stream).
- **Resumable**: every result is appended to a checkpoint file (JSON lines: a header naming
  the alert, its query, schedule, timezone and start, then one line per tick). Run again
  with the same file (a later end too) and the ticks already in it are not queried again; a
  file made for another query or start is started over (and says so in the notes).
- A query without a clock function sees the same data at every tick: as-of is meaningless
  for it (:class:`AsOfMeaningless`, which says to replay the recorded history instead).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlsentinel_airflow.backtest.engine import Tick
from sqlsentinel_airflow.backtest.schedule import schedule_ticks
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.config.sqlcheck import UnsafeQuery, check_query
from sqlsentinel_airflow.core.model import InstanceResult, Outcome, QueryEvaluation
from sqlsentinel_airflow.core.result import evaluate_result
from sqlsentinel_airflow.core.sqlclock import ClockRewriteError, clock_functions, rewrite_clock
from sqlsentinel_airflow.errors import QueryError, SentinelError
from sqlsentinel_airflow.evaluation import QueryResultLike

__all__ = [
    "CHECKPOINT_VERSION",
    "AsOfMeaningless",
    "AsOfRun",
    "AsOfStats",
    "as_of_ticks",
    "checkpoint_name",
    "count_ticks",
]

CHECKPOINT_VERSION = 1

RunQuery = Callable[[str], QueryResultLike]


class AsOfMeaningless(SentinelError):
    """The query reads no clock: every tick would run the same query on today's data."""


@dataclass
class AsOfStats:
    """What an as-of run did: ticks queried now, ticks taken from the checkpoint, the time
    the queries took (summed, as a normal run measures a query) and the wall time."""

    queried: int = 0
    resumed: int = 0
    query_seconds: float = 0.0
    wall_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AsOfRun:
    """An as-of backtest's inputs: the alert, the range, how to run a query, how many at
    once, where to keep the checkpoint (None: nowhere) and what to tell after each tick."""

    alert: AlertConfig
    start: datetime
    end: datetime
    run_query: RunQuery
    concurrency: int = 4
    checkpoint: Path | None = None
    on_tick: Callable[[datetime], None] | None = None


def count_ticks(alert: AlertConfig, start: datetime, end: datetime) -> int:
    """How many ticks the alert's schedule has in ``[start, end)`` (for a progress bar)."""
    if alert.schedule is None:
        return 0
    return sum(1 for _ in schedule_ticks(alert.schedule, alert.timezone, start, end))


def _check_cadence(alert: AlertConfig) -> str:
    """The cron an as-of backtest ticks on; an alert that runs only when its assets are
    updated has none (docs/assets.md): its recorded evaluations can be replayed instead."""
    if alert.schedule is None:
        raise AsOfMeaningless(
            f"alert {alert.name!r} runs {alert.trigger}, not on a cron, so there are no "
            "schedule ticks to run its query as of; replay the evaluations recorded in the "
            "state database instead (--source replay), or give its schedule a `cron:`"
        )
    return alert.schedule


def _check_clock(alert: AlertConfig) -> None:
    if alert.freshness is not None:
        raise AsOfMeaningless(
            f"alert {alert.name!r} is a freshness check: its MAX(column) query cannot be run "
            "as of a past tick (the rows loaded since are in the table), so an as-of "
            "backtest says nothing; replay the evaluations recorded in the state database "
            "instead: --source replay"
        )
    try:
        found = clock_functions(alert.query, alert.dialect)
    except ClockRewriteError as exc:
        raise QueryError(
            f"alert {alert.name!r}: the query's clock cannot be frozen: {exc}"
        ) from None
    if not found:
        raise AsOfMeaningless(
            f"alert {alert.name!r}: its query calls no clock function (now(), CURRENT_DATE, "
            "CURRENT_TIMESTAMP, ...), so it would see the same data at every tick and an "
            "as-of backtest says nothing; replay the evaluations recorded in the state "
            "database instead: --source replay"
        )


def _header(run: AsOfRun) -> dict[str, Any]:
    alert = run.alert
    identity = json.dumps(
        [alert.query, alert.dialect, alert.key_columns, alert.max_rows, alert.query_target],
        default=str,
    )
    return {
        "version": CHECKPOINT_VERSION,
        "alert": alert.name,
        "query_sha256": hashlib.sha256(identity.encode()).hexdigest(),
        "schedule": alert.schedule,
        "timezone": alert.timezone,
        "start": rfc3339(run.start),
    }


def _to_line(at: datetime, evaluation: QueryEvaluation, seconds: float) -> str:
    record = {
        "at": rfc3339(at),
        "seconds": round(seconds, 6),
        "error": evaluation.error,
        "rows": evaluation.row_count,
        "instances": [
            [i.key, i.key_values, i.status.value, i.actual_value, i.threshold]
            for i in evaluation.instances
        ],
    }
    return json.dumps(record, separators=(",", ":"), default=str) + "\n"


def _from_line(line: str) -> tuple[str, QueryEvaluation, float]:
    record = json.loads(line)
    if record["error"] is not None:
        evaluation = QueryEvaluation(error=record["error"], row_count=record["rows"])
    else:
        instances = tuple(
            InstanceResult(
                key=key,
                key_values=key_values,
                status=Outcome(status),
                actual_value=value,
                threshold=threshold,
            )
            for key, key_values, status, value, threshold in record["instances"]
        )
        evaluation = QueryEvaluation(instances=instances, row_count=record["rows"])
    return record["at"], evaluation, float(record["seconds"])


def _resume(
    run: AsOfRun, stats: AsOfStats
) -> tuple[list[str], list[tuple[str, QueryEvaluation, float]]]:
    """The checkpoint's tick lines and ticks (in order) to go on from; nothing when there is
    no checkpoint to use. A line cut short by a kill ends what is used: that tick runs again."""
    path = run.checkpoint
    if path is None or not path.exists():
        return [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:
        header = None
    if header != _header(run):
        stats.notes.append(f"checkpoint {path} was made for another query or range: started over")
        return [], []
    kept: list[str] = []
    done: list[tuple[str, QueryEvaluation, float]] = []
    for line in lines[1:]:
        try:
            done.append(_from_line(line))
        except (ValueError, KeyError, TypeError):
            break
        kept.append(line)
    return kept, done


def _evaluate(run: AsOfRun, at: datetime) -> tuple[QueryEvaluation, float]:
    """Run the query as of ``at`` and check its result: (evaluation, query seconds)."""
    alert = run.alert
    sql = rewrite_clock(alert.query, alert.dialect, at).sql
    started = time.perf_counter()
    try:
        result = run.run_query(sql)
    except QueryError as exc:
        return QueryEvaluation(error=str(exc)), time.perf_counter() - started
    seconds = time.perf_counter() - started
    evaluation = evaluate_result(
        result.columns, result.rows, key_columns=alert.key_columns, max_rows=alert.max_rows
    )
    return evaluation, seconds


def as_of_ticks(run: AsOfRun, stats: AsOfStats | None = None) -> Iterator[Tick]:
    """The alert's evaluations as of every tick in ``[run.start, run.end)``, in tick order.

    Raises :class:`AsOfMeaningless` before any query when the query reads no clock, and
    QueryError when the frozen query is not one read-only statement.
    """
    if run.concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {run.concurrency}")
    stats = stats if stats is not None else AsOfStats()
    alert = run.alert
    cron = _check_cadence(alert)
    _check_clock(alert)
    wall = time.perf_counter()
    kept, done = _resume(run, stats)
    ticks = schedule_ticks(cron, alert.timezone, run.start, run.end)
    checkpoint: IO[str] | None = None
    if run.checkpoint is not None:  # written afresh: a line cut short is not carried on
        run.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint = run.checkpoint.open("w", encoding="utf-8")
        checkpoint.write(json.dumps(_header(run)) + "\n")
        for line in kept:
            checkpoint.write(line + "\n")
        checkpoint.flush()
    try:
        for stamp, evaluation, seconds in done:
            at = next(ticks, None)
            if at is None:  # the checkpoint goes on past this run's end: enough of it
                break
            if rfc3339(at) != stamp:  # same header, other ticks: edited by hand
                raise QueryError(
                    f"checkpoint {run.checkpoint} does not follow the alert's schedule at "
                    f"{stamp}: delete it (or pass --restart) to start over"
                )
            stats.resumed += 1
            stats.query_seconds += seconds
            if run.on_tick is not None:
                run.on_tick(at)
            yield Tick(at, evaluation)
        if stats.resumed:
            stats.notes.append(f"resumed: {stats.resumed} ticks read from {run.checkpoint}")
        first = True
        with ThreadPoolExecutor(max_workers=run.concurrency, thread_name_prefix="as-of") as pool:
            pending: deque[tuple[datetime, Future[tuple[QueryEvaluation, float]]]] = deque()
            exhausted = False
            while True:
                while not exhausted and len(pending) < 2 * run.concurrency:
                    at = next(ticks, None)
                    if at is None:
                        exhausted = True
                        break
                    if first:  # the frozen text differs from tick to tick by literals only
                        _check_frozen(alert, at)
                        first = False
                    pending.append((at, pool.submit(_evaluate, run, at)))
                if not pending:
                    break
                at, future = pending.popleft()
                evaluation, seconds = future.result()
                stats.queried += 1
                stats.query_seconds += seconds
                if checkpoint is not None:
                    checkpoint.write(_to_line(at, evaluation, seconds))
                    checkpoint.flush()
                if run.on_tick is not None:
                    run.on_tick(at)
                yield Tick(at, evaluation)
    finally:
        if checkpoint is not None:
            checkpoint.close()
        stats.wall_seconds += time.perf_counter() - wall


def _check_frozen(alert: AlertConfig, at: datetime) -> None:
    """The frozen query is checked once as a normal run's is (one read-only statement, in the
    alert's dialect); the live database's dialect is checked again by the query runner."""
    try:
        sql = rewrite_clock(alert.query, alert.dialect, at).sql
    except ClockRewriteError as exc:
        raise QueryError(
            f"alert {alert.name!r}: the query's clock cannot be frozen: {exc}"
        ) from None
    try:
        check_query(sql, alert.dialect)
    except UnsafeQuery as exc:
        raise QueryError(
            f"alert {alert.name!r}: the query with its clock frozen is refused: {exc.message}"
        ) from None


def checkpoint_name(alert: AlertConfig, start: datetime) -> str:
    """A file name for the checkpoint of one alert, query and start (in a cache directory).
    The end is not part of it: a run with a later ``--to`` goes on from the same file."""
    digest = hashlib.sha256(
        json.dumps([alert.name, alert.query, alert.schedule, rfc3339(start)]).encode()
    ).hexdigest()[:12]
    return f"{alert.slug}-{digest}.jsonl"
