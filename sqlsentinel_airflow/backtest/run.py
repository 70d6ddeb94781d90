"""One backtest of one alert, from either source to a :class:`~.result.BacktestResult`.

The edges (the CLI, the UI panel) resolve the alert, the state database and the query path;
this module runs the engine over the chosen source under the current policy and, with
overrides, a proposed one. Silences are those the state database recorded (stored ones,
active or not) and those of the alerts file that say when they start (a file silence
without ``starts`` is in force from whenever the file is read, so its past is unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlsentinel_airflow.backtest.asof import AsOfRun, AsOfStats, RunQuery, as_of_ticks
from sqlsentinel_airflow.backtest.engine import DEFAULT_FLAP_WINDOW, Backtest, Tick
from sqlsentinel_airflow.backtest.policy import apply_overrides
from sqlsentinel_airflow.backtest.replay import replay_ticks
from sqlsentinel_airflow.backtest.result import CURRENT, PROPOSED, BacktestResult, Source
from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence
from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused
from sqlsentinel_airflow.core.model import Policy, Silence
from sqlsentinel_airflow.store.store import StateStore

__all__ = ["BacktestRequest", "backtest_silences", "run_backtest"]


@dataclass(frozen=True)
class BacktestRequest:
    """What to backtest: the alert, the range ``[start, end)``, the source, the proposed
    overrides (``policy.parse_overrides``; empty: the current policy only) and the flap
    window."""

    alert: AlertConfig
    start: datetime
    end: datetime
    source: Source = Source.REPLAY
    overrides: dict[str, Any] | None = None
    flap_window: timedelta = DEFAULT_FLAP_WINDOW

    def policies(self) -> list[tuple[str, Policy]]:
        current = self.alert.policy
        runs = [(CURRENT, current)]
        if self.overrides:
            runs.append((PROPOSED, apply_overrides(current, self.overrides)))
        return runs


def backtest_silences(
    stored: Iterable[Silence], declared: Iterable[FileSilence], now: datetime
) -> list[Silence]:
    """The silences a backtest honours: every stored one, and the file's that have a start."""
    found = list(stored)
    found.extend(silence_rules.from_file(s, now) for s in declared if s.starts is not None)
    return found


def _run(request: BacktestRequest, ticks: Iterable[Tick], silences: Sequence[Silence]) -> Backtest:
    if request.end <= request.start:
        raise ValueError("the range is empty: --to must be after --from")
    engine = Backtest(
        request.alert,
        request.policies(),
        source=request.source,
        start=request.start,
        end=request.end,
        silences=silences,
        flap_window=request.flap_window,
    )
    # the engine allocates millions of short-lived objects and no reference cycles:
    # collections would only rescan the heap (core/gcpause.py)
    with cyclic_gc_paused():
        for tick in ticks:
            engine.feed(tick)
    return engine


def run_backtest(
    request: BacktestRequest,
    *,
    store: StateStore | None = None,
    run_query: RunQuery | None = None,
    silences: Sequence[Silence] = (),
    concurrency: int = 4,
    checkpoint: Path | None = None,
    on_tick: Callable[[datetime], None] | None = None,
    stats: AsOfStats | None = None,
) -> BacktestResult:
    """Run ``request``: replay reads ``store``; as-of runs ``run_query`` (with
    ``concurrency`` queries at once, resumable through the ``checkpoint`` path)."""
    notes: list[str] = []
    if request.source is Source.REPLAY:
        if store is None:
            raise ValueError("a replay needs the state database")
        ticks: Iterable[Tick] = _counted(
            replay_ticks(store, request.alert, request.start, request.end), on_tick
        )
        engine = _run(request, ticks, silences)
        if engine.evaluations == 0:
            notes.append("no evaluation of this alert is recorded in the range")
        if request.alert.key_columns:
            notes.append(
                "keyed alert: an evaluation whose query returned no rows while no instance "
                "was known left no history row, so it is not replayed (docs/backtests.md)"
            )
    else:
        if run_query is None:
            raise ValueError("an as-of backtest needs a way to run the query")
        stats = stats if stats is not None else AsOfStats()
        run = AsOfRun(
            request.alert,
            request.start,
            request.end,
            run_query,
            concurrency=concurrency,
            checkpoint=checkpoint,
            on_tick=on_tick,
        )
        engine = _run(request, as_of_ticks(run, stats), silences)
        notes.extend(stats.notes)
    return engine.result(notes)


def _counted(ticks: Iterable[Tick], on_tick: Callable[[datetime], None] | None) -> Iterable[Tick]:
    if on_tick is None:
        yield from ticks
        return
    for tick in ticks:
        on_tick(tick.at)
        yield tick
