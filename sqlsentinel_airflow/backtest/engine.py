"""The backtest engine: a stream of evaluations decided again under one or more policies.

Each :class:`Tick` is one evaluation of the alert as a normal run makes it (the query's
result after the contract check, ``core/result.py``) at a simulated time. For every policy
the engine keeps the instance states in memory and decides each tick with the function a
normal run uses (``evaluation.decide_evaluation``, which calls ``core/state_machine.decide``),
with the silences active at the tick; nothing is written and nothing is sent. The decisions
go, one instance at a time, into ``core/incidents.IncidentFold`` (the incident semantics the
UI and ``sqlsentinel incidents`` show), and are counted.

Memory is bounded by the instances and incidents, not by the ticks: besides them the engine
keeps only the values seen (``result.ValueSeries``: three floats per point).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlsentinel_airflow.backtest.result import (
    BacktestIncident,
    BacktestResult,
    ChannelInfo,
    Counts,
    PolicyRun,
    PolicySettings,
    Source,
    ValueSeries,
)
from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.events import alert_channels
from sqlsentinel_airflow.core.incidents import Evaluated, Incident, IncidentFold, IncidentKind
from sqlsentinel_airflow.core.model import (
    EventKind,
    InstanceState,
    Outcome,
    Policy,
    QueryEvaluation,
    Silence,
    State,
)
from sqlsentinel_airflow.evaluation import ALERT_LEVEL_KEY, decide_evaluation

__all__ = ["DEFAULT_FLAP_WINDOW", "Backtest", "Tick", "channels_of"]

DEFAULT_FLAP_WINDOW = timedelta(hours=1)


class Tick(NamedTuple):
    """One evaluation of the alert: when it happened (or would have), what the query gave,
    and the run it belongs to (replay: the recorded run id). A tuple: a replay makes
    525,600 of them."""

    at: datetime
    evaluation: QueryEvaluation
    run_id: str | None = None


def channels_of(alert: AlertConfig) -> tuple[ChannelInfo, ...]:
    return tuple(
        ChannelInfo(cid, c.channel, c.public_destination()) for cid, c in alert_channels(alert)
    )


class _PolicyRun:
    """One policy's simulation: instance states, one incident fold per instance, counts."""

    def __init__(self, alert: AlertConfig, label: str, policy: Policy, current: Policy) -> None:
        self.label = label
        self.settings = PolicySettings.of(policy, current)
        self.alert = alert
        self.policy = policy
        self.known: dict[str, InstanceState] = {}
        self.folds: dict[str, IncidentFold] = {}
        self.incidents: dict[tuple[str, IncidentKind, int], Incident] = {}
        self.events: dict[str, int] = {}
        self.open_keys: set[str] = set()  # instances with an incident going on
        self.sequence = 0

    def feed(self, tick: Tick, active: Sequence[Silence]) -> None:
        decisions = decide_evaluation(
            self.alert, tick.evaluation, self.known, tick.at, active, policy=self.policy
        )
        for key, decision, obs in decisions:
            state = decision.state
            now_in = state.shown_state  # as history records it
            # what the store keeps (evaluation.evaluate_alert, ADR 2 item 4): a keyed
            # instance that went missing and is OK again is forgotten
            if obs.outcome is Outcome.MISSING and now_in is State.OK and not state.remembers_flaps:
                self.known.pop(key, None)
            else:
                self.known[key] = state
            kinds: tuple[EventKind, ...] = ()
            if decision.events:
                kinds = tuple(e.kind for e in decision.events)
                for kind in kinds:
                    self.events[kind.value] = self.events.get(kind.value, 0) + 1
            self.sequence += 1
            if (now_in is State.OK or now_in is State.PENDING) and key not in self.open_keys:
                continue  # outside every incident, and none ends here: the fold would not change
            fold = self.folds.get(key)
            if fold is None:
                fold = self.folds[key] = IncidentFold()
            touched = fold.add(
                Evaluated(
                    id=self.sequence,
                    instance_key=key,
                    evaluated_at=tick.at,
                    state=now_in,
                    outcome=obs.outcome,
                    reason=decision.reason,
                    actual_value=obs.actual_value,
                    threshold=obs.threshold,
                    events=kinds,
                    error=obs.error,
                    run_id=tick.run_id,
                )
            )
            # every open incident of the instance is in ``touched``: the evaluation continues
            # or ends it
            if any(i.ongoing for i in touched):
                self.open_keys.add(key)
            else:
                self.open_keys.discard(key)
            for incident in touched:
                self.incidents[(incident.instance_key, incident.kind, incident.start_id)] = incident

    def finish(
        self,
        end: datetime,
        evaluations: int,
        channels: Sequence[ChannelInfo],
        key_values: dict[str, dict[str, object]],
        flap_window: timedelta,
    ) -> PolicyRun:
        incidents = sorted(self.incidents.values(), key=lambda i: (i.started_at, i.start_id))
        shown = tuple(_incident(i, end, key_values.get(i.instance_key, {})) for i in incidents)
        firing = [i for i in shown if i.kind == IncidentKind.FIRING.value]
        counts = Counts(
            evaluations=evaluations,
            incidents=len(firing),
            error_incidents=len(shown) - len(firing),
            events=dict(self.events),
            notifications={c.id: dict(self.events) for c in channels},
            firing_seconds=sum(i.duration_seconds for i in firing),
            flaps=_flaps(firing, flap_window),
            flap_window_seconds=flap_window.total_seconds(),
        )
        return PolicyRun(self.label, self.settings, shown, counts)


def _incident(incident: Incident, end: datetime, key_values: dict[str, object]) -> BacktestIncident:
    stop = incident.ended_at if incident.ended_at is not None else end
    return BacktestIncident(
        kind=incident.kind.value,
        instance_key=incident.instance_key,
        started_at=incident.started_at,
        ended_at=incident.ended_at,
        duration_seconds=max(0.0, (stop - incident.started_at).total_seconds()),
        evaluations=incident.evaluations,
        silenced=incident.silenced,
        peak_at=incident.peak_at,
        peak_value=incident.peak_value,
        peak_threshold=incident.peak_threshold,
        notifications=dict(incident.notifications),  # already by event kind name
        error=incident.error,
        key_values=dict(key_values),
    )


def _flaps(firing: Iterable[BacktestIncident], window: timedelta) -> int:
    """Firing incidents that began at most ``window`` after the previous firing incident of
    the same instance ended (docs/backtests.md, "Flaps")."""
    last_end: dict[str, datetime | None] = {}
    flaps = 0
    for incident in sorted(firing, key=lambda i: i.started_at):
        ended = last_end.get(incident.instance_key)
        if ended is not None and incident.started_at - ended <= window:
            flaps += 1
        last_end[incident.instance_key] = incident.ended_at
    return flaps


class Backtest:
    """Feed it the alert's ticks in time order (:meth:`feed`), then take the :meth:`result`.

    ``policies``: (label, policy) pairs, the current one first; ``silences``: the silences
    to honour (stored ones and those of the file with a start), the engine picks the ones
    matching the alert and active at each tick.
    """

    def __init__(
        self,
        alert: AlertConfig,
        policies: Sequence[tuple[str, Policy]],
        *,
        source: Source,
        start: datetime,
        end: datetime,
        silences: Sequence[Silence] = (),
        flap_window: timedelta = DEFAULT_FLAP_WINDOW,
    ) -> None:
        if not policies:
            raise ValueError("a backtest needs at least one policy")
        self.alert = alert
        self.source = source
        self.start = start
        self.end = end
        self.flap_window = flap_window
        current = policies[0][1]
        self._runs = [_PolicyRun(alert, label, p, current) for label, p in policies]
        self._silences = [s for s in silences if silence_rules.matches(s, alert.name, alert.dag_id)]
        self._series: dict[str, ValueSeries] = {}
        self._key_values: dict[str, dict[str, object]] = {}
        self.evaluations = 0
        self.last_at: datetime | None = None

    def feed(self, tick: Tick) -> None:
        if self.last_at is not None and tick.at < self.last_at:
            raise ValueError(f"ticks out of order: {tick.at} after {self.last_at}")
        self.last_at = tick.at
        self.evaluations += 1
        self._record_values(tick)
        active = (
            silence_rules.active_for(self.alert.name, self._silences, tick.at, self.alert.dag_id)
            if self._silences
            else []
        )
        for run in self._runs:
            run.feed(tick, active)

    def _record_values(self, tick: Tick) -> None:
        evaluation = tick.evaluation
        if not evaluation.ok:
            if not self.alert.key_columns:
                self._series_of(ALERT_LEVEL_KEY, {}).append(tick.at, None, None)
            return
        series = self._series
        for inst in evaluation.instances:
            found = series.get(inst.key) or self._series_of(inst.key, inst.key_values)
            found.append(tick.at, inst.actual_value, inst.threshold)

    def _series_of(self, key: str, key_values: dict[str, object]) -> ValueSeries:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = ValueSeries(key, dict(key_values))
            self._key_values[key] = dict(key_values)
        return series

    def result(self, notes: Sequence[str] = ()) -> BacktestResult:
        channels = channels_of(self.alert)
        runs = tuple(
            run.finish(self.end, self.evaluations, channels, self._key_values, self.flap_window)
            for run in self._runs
        )
        return BacktestResult(
            alert_name=self.alert.name,
            dag_id=self.alert.dag_id,
            source=self.source,
            start=self.start,
            end=self.end,
            evaluations=self.evaluations,
            series=tuple(self._series[k] for k in sorted(self._series)),
            runs=runs,
            channels=channels,
            timezone=self.alert.timezone,
            schedule=self.alert.schedule,
            notes=tuple(notes),
        )
