"""One evaluation of one alert: query result -> contract -> state machine -> state DB.

The run-an-alert service (``service.py``) calls it for both edges (the Airflow operator and
``sqlsentinel run``): it runs the query through an injected ``fetch`` callable, checks the result contract, and, in
ONE state-DB transaction holding the alert's lock, advances every instance's state, writes
history and enqueues one outbox row per (event, channel). Delivery happens after the
transaction (``delivery.py``), so a failed send never rolls state back and never loses an
event.

Semantics decided here (see docs/adr/0002-evaluation-semantics.md):
- A query error never advances alert state. For keyed alerts the error is tracked on the
  alert-level instance ``""`` so one failing query gives one error notification, not one per
  key; the per-key instances keep their state.
- A keyed instance that stops appearing counts as OK (MISSING); once it is OK again its
  state row is deleted, so the table holds only instances with something to remember.
- A silence of one instance (``Silence.instance_key``) mutes that instance's events only;
  the state machine decides each instance with its own ``silenced``, so when that silence
  ends while the instance still fires, one ``firing`` goes out for it alone. The alert-level
  instance ``""`` (query errors of a keyed alert) is muted by whole-alert silences only.
- A mute window (``mute_windows:``, core/mutewindows.py) mutes every instance of the alerts
  it matches while it is active, through the same ``silenced`` input; the reports name the
  windows (``muted_by``). Its two end-of-window choices are applied here: an incident it
  muted may stay muted after it ends, and a ``resolved`` owed for an incident announced
  before it may go out inside it.
- An escalation step the state machine decides goes to its receiver's channels only
  (``core.grouping``), and is written to the incident's actions (``escalated``, by
  ``sentinel``) in the same transaction as the state that counts it, so it is sent and
  recorded once per step and incident (docs/responding.md). A reminder that re-arms an
  acknowledged incident (``ack.rearm_factor``) is recorded as ``rearmed``.
- ``dry_run`` reads current state (without the lock) to show what would happen and writes
  nothing. Backfill runs write history only: they neither advance state nor notify.
- The evaluation time is read under the alert's lock, so an evaluation that waited for
  another one of the same alert is stamped after it: an instance's timeline (incidents,
  ``state_since``, reminders) follows the commit order and never goes back in time.
- ``confirm_commit`` (the operator: Airflow may retry the task) writes the history rows
  unconfirmed and confirms them once the commit has answered, so the next try can tell an
  evaluation whose commit answer was lost from one that never happened (ADR 0004, item 5).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlsentinel_airflow.core import inhibition, mutewindows
from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.clock import rfc3339, utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig, ChannelSlot
from sqlsentinel_airflow.core.grouping import ChannelPlan, plan_messages
from sqlsentinel_airflow.core.model import (
    Decision,
    Event,
    EventKind,
    InstanceState,
    Observation,
    Outcome,
    Policy,
    QueryEvaluation,
    Reason,
    RunType,
    Silence,
    State,
)
from sqlsentinel_airflow.core.payload import EventPayload, event_payload, group_payload
from sqlsentinel_airflow.core.result import evaluate_result
from sqlsentinel_airflow.core.state_machine import initial_state
from sqlsentinel_airflow.errors import QueryError, StateStoreError
from sqlsentinel_airflow.store.records import (
    HistoryEntry,
    IncidentAction,
    OutboxEntry,
    OutboxMember,
)
from sqlsentinel_airflow.store.tables import NAME_LENGTH as DESTINATION_LENGTH

__all__ = [
    "EvaluationReport",
    "InstanceReport",
    "QueryResultLike",
    "decide_evaluation",
    "evaluate_alert",
    "outbox_row",
]

ALERT_LEVEL_KEY = ""

log = logging.getLogger(__name__)

T = TypeVar("T")


class QueryResultLike(Protocol):
    @property
    def columns(self) -> Sequence[str]: ...

    @property
    def rows(self) -> Sequence[Sequence[Any]]: ...


class _Transaction(Protocol):
    def states(self) -> dict[str, InstanceState]: ...
    def save_state(self, state: InstanceState) -> None: ...
    def delete_state(self, instance_key: str) -> bool: ...
    def add_history(self, entry: HistoryEntry) -> int: ...
    def enqueue(self, entry: OutboxEntry) -> int: ...
    def active_silences(self, now: datetime) -> list[Silence]: ...
    def add_incident_action(self, action: IncidentAction) -> int: ...
    def states_of(
        self, alert_names: Sequence[str], in_states: Collection[State]
    ) -> list[InstanceState]: ...


class StoreLike(Protocol):
    """The part of ``StateStore`` an evaluation uses."""

    def run_in_alert_transaction(self, alert_name: str, work: Callable[[_Transaction], T]) -> T: ...
    def list_states(
        self, alert_name: str | None = None, *, alert_names: Sequence[str] | None = None
    ) -> list[InstanceState]: ...
    def list_silences(self, now: datetime, include_inactive: bool = False) -> list[Silence]: ...
    def confirm_commit(self, history_ids: Sequence[int]) -> int: ...


@dataclass(frozen=True)
class InstanceReport:
    instance_key: str
    key_values: dict[str, Any]
    outcome: Outcome
    previous_state: State
    state: State
    reason: Reason
    actual_value: Any = None
    threshold: Any = None
    context: dict[str, Any] = field(default_factory=dict)
    events: tuple[str, ...] = ()  # event kinds (lower-case)
    silenced: bool = False  # a silence (of the alert or of this instance) muted its events
    muted_by: tuple[str, ...] = ()  # the mute windows among them (names); ``silenced`` too
    acked_by: str | None = None  # who acknowledged its incident (docs/responding.md)
    held: bool = False  # a notification was held: a parent (``inhibited_by``) is down

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_key": self.instance_key,
            "key_values": dict(self.key_values),
            "outcome": self.outcome.value.lower(),
            "previous_state": self.previous_state.value.lower(),
            "state": self.state.value.lower(),
            "reason": self.reason.value,
            "reason_code": self.reason.code,
            "actual_value": self.actual_value,
            "threshold": self.threshold,
            "context": dict(self.context),
            "events": list(self.events),
            "silenced": self.silenced,
            "muted_by": list(self.muted_by),
            "acked_by": self.acked_by,
            "held": self.held,
        }


@dataclass(frozen=True)
class EvaluationReport:
    """What one evaluation did; ``to_dict()`` is the operator's XCom and the CLI's JSON
    (enum values lower-case, RFC 3339 UTC times, reasons as ``reason`` + ``reason_code``)."""

    alert_name: str
    dag_id: str
    evaluated_at: datetime
    run_type: RunType
    run_id: str | None
    dry_run: bool
    outcome: Outcome  # ALERT | OK | ERROR (for the whole alert)
    state: State  # the most urgent instance state (State.urgency)
    silenced: bool  # a silence of every instance, or a mute window, was active
    error: str | None
    instances: tuple[InstanceReport, ...]
    # {kind, instance_key, reason, reason_code, outbox_ids, channels}, JSON-ready
    events: tuple[dict[str, Any], ...]
    row_count: int
    duration_ms: float
    query_ms: float | None = None
    # a dry run: (channel_id, payload) of each outbox row it would have enqueued, grouped
    # messages included (previewed in the task log; not part of the JSON, which already
    # lists the events)
    would_send: tuple[tuple[str, dict[str, Any]], ...] = ()
    muted_by: tuple[str, ...] = ()  # the mute windows active at ``evaluated_at`` (names)
    # the parents (``depends_on``) firing or failing: what they held is ``held`` per instance
    inhibited_by: tuple[str, ...] = ()

    @property
    def firing(self) -> bool:
        return self.state is State.FIRING

    @property
    def actual_value(self) -> Any:
        return self.instances[0].actual_value if len(self.instances) == 1 else None

    @property
    def threshold(self) -> Any:
        return self.instances[0].threshold if len(self.instances) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_name": self.alert_name,
            "dag_id": self.dag_id,
            "evaluated_at": rfc3339(self.evaluated_at),
            "run_type": self.run_type.value,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "outcome": self.outcome.value.lower(),
            "state": self.state.value.lower(),
            "silenced": self.silenced,
            "muted_by": list(self.muted_by),
            "inhibited_by": list(self.inhibited_by),
            "error": self.error,
            "instances": [i.to_dict() for i in self.instances],
            "events": [dict(e) for e in self.events],
            "row_count": self.row_count,
            "duration_ms": self.duration_ms,
            "query_ms": self.query_ms,
            "actual_value": self.actual_value,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class _Written:
    known: dict[str, InstanceState]
    silences: tuple[Silence, ...]  # the active silences of the alert (whole or one instance)
    decisions: list[tuple[str, Decision, Observation]]
    outbox_ids: dict[int, list[int]]
    now: datetime  # the evaluation time the decisions were made at
    history_ids: tuple[int, ...] = ()
    inhibited_by: tuple[str, ...] = ()  # the parents (depends_on) firing or failing


def _observations(
    alert: AlertConfig, evaluation: QueryEvaluation, known: dict[str, InstanceState]
) -> list[tuple[str, dict[str, Any], Observation]]:
    """(instance_key, key_values, observation) for every instance this evaluation touches."""
    if not evaluation.ok:
        obs = Observation(outcome=Outcome.ERROR, error=evaluation.error)
        return [(ALERT_LEVEL_KEY, {}, obs)]
    out: list[tuple[str, dict[str, Any], Observation]] = []
    seen: set[str] = set()
    if alert.key_columns and ALERT_LEVEL_KEY in known:
        # clears a previous alert-level error (and sends its recovery, if it was notified)
        out.append((ALERT_LEVEL_KEY, {}, Observation(outcome=Outcome.OK)))
        seen.add(ALERT_LEVEL_KEY)
    for inst in evaluation.instances:
        seen.add(inst.key)
        out.append(
            (
                inst.key,
                dict(inst.key_values),
                Observation(
                    outcome=inst.status,
                    actual_value=inst.actual_value,
                    threshold=inst.threshold,
                    context=dict(inst.context),
                ),
            )
        )
    for key, prev in known.items():
        if key not in seen:
            out.append((key, dict(prev.key_values), Observation(outcome=Outcome.MISSING)))
    return out


def evaluate_alert(
    alert: AlertConfig,
    *,
    fetch: Callable[[], QueryResultLike],
    store: StoreLike | None,
    run_type: RunType = RunType.MANUAL,
    run_id: str | None = None,
    dry_run: bool = False,
    file_silences: Sequence[Silence] = (),
    clock: Callable[[], datetime] = utcnow,
    task_log_url: str | None = None,
    confirm_commit: bool = False,
    ui_base_url: str | None = None,
) -> EvaluationReport:
    """Evaluate ``alert`` once. Raises StateStoreError if the state DB fails (caller retries).

    ``task_log_url`` (the Airflow page of the evaluating task) goes into the event payloads,
    with the links to the alert's tab and a silence under ``ui_base_url`` (when known).
    ``confirm_commit``: write the history rows unconfirmed and confirm them after the commit
    (for a caller that is retried when it fails: the operator).
    """
    started = time.perf_counter()
    query_ms: float | None = None
    try:
        t0 = time.perf_counter()
        result = fetch()
        query_ms = (time.perf_counter() - t0) * 1000
        evaluation = evaluate_result(
            result.columns, result.rows, key_columns=alert.key_columns, max_rows=alert.max_rows
        )
    except QueryError as exc:
        evaluation = QueryEvaluation(error=str(exc))

    def silenced_by(stored: Sequence[Silence], now: datetime) -> tuple[Silence, ...]:
        candidates = [*stored, *file_silences]
        return tuple(silence_rules.active_for(alert.name, candidates, now, dag_id=alert.dag_id))

    if dry_run or store is None:
        now = clock()
        known = (
            {s.instance_key: s for s in store.list_states(alert.name)} if store is not None else {}
        )
        stored_silences = store.list_silences(now) if store is not None else []
        active = silenced_by(stored_silences, now)
        parents = (
            store.list_states(alert_names=alert.depends_on)
            if store is not None and alert.depends_on
            else []
        )
        inhibited_by = inhibition.inhibiting_parents(alert.depends_on, parents)
        decisions = _decide_all(alert, evaluation, known, now, active, inhibited_by=inhibited_by)
        written = _Written(known, active, decisions, {}, now, inhibited_by=inhibited_by)
        report = _report(alert, evaluation, written, run_type, run_id, True, started, query_ms)
        if run_type is RunType.BACKFILL or not _reaches_anyone(alert):
            return report
        events = [
            (p, e) for p, (_key, decision, _obs) in enumerate(decisions) for e in decision.events
        ]
        instances = sum(1 for key, _d, _o in decisions if key != ALERT_LEVEL_KEY)
        links = _Links(run_id, now, task_log_url, ui_base_url)
        would_send = tuple(
            (row.channel_id, row.payload)
            for _positions, row in _outbox_rows(alert, events, instances, links)
        )
        return replace(report, would_send=would_send)

    backfill = run_type is RunType.BACKFILL

    def work(tx: _Transaction) -> _Written:
        # Re-run whole by the store on deadlocks, so it keeps no state outside ``tx``.
        # The clock is read once the lock is held: read before, an evaluation that waited
        # for another one would stamp its state earlier than the state it read (a new
        # incident could then start before the previous one ended).
        now = clock()
        known = tx.states()
        active = silenced_by(tx.active_silences(now), now)
        inhibited_by = inhibition.inhibiting_parents(
            alert.depends_on, tx.states_of(alert.depends_on, inhibition.INHIBITING_STATES)
        )
        decisions = _decide_all(alert, evaluation, known, now, active, inhibited_by=inhibited_by)
        outbox_ids: dict[int, list[int]] = {}
        history_ids: list[int] = []
        events: list[tuple[int, Event]] = []
        for position, (key, decision, obs) in enumerate(decisions):
            if not backfill:
                gone = obs.outcome is Outcome.MISSING and decision.state.state is State.OK
                if gone and not decision.state.remembers_flaps:
                    tx.delete_state(key)
                else:
                    tx.save_state(decision.state)
                events.extend((position, event) for event in decision.events)
                for action in _incident_actions(alert, known.get(key), decision, now):
                    tx.add_incident_action(action)
                outbox_ids[position] = []
            entry = _history(alert, decision, obs, now, run_type, run_id, query_ms, inhibited_by)
            if confirm_commit:
                entry = replace(entry, commit_confirmed=False)
            history_ids.append(tx.add_history(entry))
        instances = sum(1 for key, _d, _o in decisions if key != ALERT_LEVEL_KEY)
        links = _Links(run_id, now, task_log_url, ui_base_url)
        for position, row_id in _enqueue(tx, alert, events, instances, links):
            outbox_ids[position].append(row_id)
        return _Written(known, active, decisions, outbox_ids, now, tuple(history_ids), inhibited_by)

    written = store.run_in_alert_transaction(alert.name, work)
    if confirm_commit:
        _confirm(store, alert.name, written.history_ids)
    return _report(alert, evaluation, written, run_type, run_id, False, started, query_ms)


def _reaches_anyone(alert: AlertConfig) -> bool:
    """Whether any event of ``alert`` has a channel: its own, routed or escalation ones."""
    return bool(alert.channel_slots() or alert.escalation_slots())


def _incident_actions(
    alert: AlertConfig, prev: InstanceState | None, decision: Decision, now: datetime
) -> list[IncidentAction]:
    """The incident actions the evaluation itself takes (actor and source ``sentinel``):
    each escalation step sent, and an acknowledgement re-armed by a worse value."""
    out = []
    ladder = alert.escalation
    for event in decision.events:
        if event.kind is EventKind.ESCALATION and event.escalation_step is not None:
            step = ladder[event.escalation_step]
            detail: dict[str, Any] = {
                "step": event.escalation_step + 1,
                "steps": len(ladder),
                "receiver": step.receiver,
                "after_seconds": int(step.after.total_seconds()),
            }
            action = "escalated"
        elif event.reason is Reason.ACK_REARMED:
            detail = {"was_acked_by": (prev.acked_by if prev is not None else None) or ""}
            action = "rearmed"
        else:
            continue
        out.append(
            IncidentAction(
                alert_name=alert.name,
                instance_key=event.instance_key,
                firing_since=event.firing_since,
                action=action,
                actor="sentinel",
                source="sentinel",
                at=now,
                detail=detail,
            )
        )
    return out


def _confirm(store: StoreLike, alert_name: str, history_ids: Sequence[int]) -> None:
    """Confirm a committed evaluation; when that fails the rows stay unconfirmed, which only
    makes a later try of the same run deliver instead of evaluating: never an error here."""
    try:
        store.confirm_commit(history_ids)
    except StateStoreError as exc:
        log.warning(
            "alert %s: evaluation committed, but confirming it failed (%s); a retry of this "
            "run will only deliver its notifications",
            alert_name,
            exc,
        )


def _decide_all(
    alert: AlertConfig,
    evaluation: QueryEvaluation,
    known: dict[str, InstanceState],
    now: datetime,
    active: Sequence[Silence],
    policy: Policy | None = None,
    *,
    inhibited_by: tuple[str, ...] = (),
) -> list[tuple[str, Decision, Observation]]:
    policy = alert.policy if policy is None else policy
    windows_on = [w for w in alert.mute_windows if mutewindows.active(w, now)]
    out = []
    for key, key_values, obs in _observations(alert, evaluation, known):
        prev = known.get(key) or initial_state(alert.name, key, key_values)
        silenced = silence_rules.mutes(active, key)
        muting = mutewindows.muting_windows(
            alert.mute_windows, known.get(key), now, active_now=windows_on
        )
        # the mutes in order: silences and mute windows (the state machine's ``silenced``),
        # then inhibition by the parents (core/inhibition.py), which holds what they let out
        decision = inhibition.decide(
            prev,
            obs,
            now=now,
            policy=policy,
            silenced=silenced or bool(muting),
            inhibited_by=inhibited_by,
        )
        resolves = prev.effective_state is State.FIRING and decision.state.state is State.OK
        if not silenced and mutewindows.lets_resolved_through(muting, prev, resolves):
            decision = inhibition.decide(
                prev, obs, now=now, policy=policy, silenced=False, inhibited_by=inhibited_by
            )
        out.append((key, decision, obs))
    return out


def _muted_by(
    alert: AlertConfig, prev: InstanceState | None, now: datetime, on: tuple[str, ...]
) -> tuple[str, ...]:
    """The names of the mute windows that muted an instance (as :func:`_decide_all` chose);
    ``on``: the names of those active at ``now``."""
    active_now = [w for w in alert.mute_windows if w.name in on]
    muting = mutewindows.muting_windows(alert.mute_windows, prev, now, active_now=active_now)
    return tuple(w.name for w in muting)


def decide_evaluation(
    alert: AlertConfig,
    evaluation: QueryEvaluation,
    known: dict[str, InstanceState],
    now: datetime,
    active: Sequence[Silence],
    *,
    policy: Policy | None = None,
) -> list[tuple[str, Decision, Observation]]:
    """What one evaluation decides for every instance it touches (the query's instances, the
    known ones that went missing, a keyed alert's alert-level instance), given the known
    states, the active silences and the alert's mute windows: the decisions
    :func:`evaluate_alert` writes. Backtests (``backtest/engine.py``) call it with a
    simulated clock, states kept in memory and the policy to try (default: the alert's)."""
    return _decide_all(alert, evaluation, known, now, active, policy)


@dataclass(frozen=True)
class _Links:
    """What every payload of one evaluation shares besides its events."""

    run_id: str | None
    now: datetime
    task_log_url: str | None
    ui_base_url: str | None


def _enqueue(
    tx: _Transaction,
    alert: AlertConfig,
    events: Sequence[tuple[int, Event]],
    instances: int,
    links: _Links,
) -> list[tuple[int, int]]:
    """Put the evaluation's events in the outbox (:func:`_outbox_rows`). Returns (position of
    the decision, outbox row id) pairs; a grouped row is listed under each member's."""
    out: list[tuple[int, int]] = []
    for positions, row in _outbox_rows(alert, events, instances, links):
        row_id = tx.enqueue(row)
        out.extend((position, row_id) for position in positions)
    return out


def _outbox_rows(
    alert: AlertConfig, events: Sequence[tuple[int, Event]], instances: int, links: _Links
) -> list[tuple[tuple[int, ...], OutboxEntry]]:
    """The outbox rows for the evaluation's events, as ``core.grouping`` plans them: one row
    per (event, channel), or one grouped row per channel carrying them all; each with the
    positions of the decisions it speaks for. A dry run previews exactly these."""
    if not events or not _reaches_anyone(alert):  # nobody to tell: no payload to build
        return []
    payload_of = {
        id(event): event_payload(
            event,
            alert,
            event_id=str(uuid.uuid4()),
            run_id=links.run_id,
            evaluated_at=links.now,
            task_log_url=links.task_log_url,
            ui_base_url=links.ui_base_url,
        )
        for _position, event in events
    }
    position_of = {id(event): position for position, event in events}
    groups: dict[int, EventPayload] = {}  # one grouped payload per max_listed, shared
    out: list[tuple[tuple[int, ...], OutboxEntry]] = []
    plans = plan_messages(alert, [event for _position, event in events])
    single = [(plan, {id(e) for e in plan.single}) for plan in plans if plan.single]
    for position, event in events:  # event by event, then channel by channel, as always
        for plan, sends in single:
            if id(event) in sends:
                payload = payload_of[id(event)]
                row = outbox_row(
                    alert,
                    plan,
                    event.instance_key,
                    event.kind,
                    payload,
                    now=links.now,
                    run_id=links.run_id,
                )
                out.append(((position,), row))
    for plan in plans:
        if not plan.grouped:
            continue
        if plan.max_listed not in groups:
            groups[plan.max_listed] = group_payload(
                [payload_of[id(e)] for e in plan.grouped],
                alert,
                event_id=str(uuid.uuid4()),
                run_id=links.run_id,
                evaluated_at=links.now,
                instances=instances,
                max_listed=plan.max_listed,
                task_log_url=links.task_log_url,
                ui_base_url=links.ui_base_url,
            )
        grouped = groups[plan.max_listed]
        members = tuple(
            OutboxMember(e.instance_key, e.kind, payload_of[id(e)].event_id) for e in plan.grouped
        )
        row = outbox_row(
            alert,
            plan,
            ALERT_LEVEL_KEY,
            grouped.kind,
            grouped,
            now=links.now,
            run_id=links.run_id,
            members=members,
        )
        out.append((tuple(dict.fromkeys(position_of[id(e)] for e in plan.grouped)), row))
    return out


def outbox_row(
    alert: AlertConfig,
    plan: ChannelPlan,
    instance_key: str,
    kind: EventKind,
    payload: EventPayload,
    *,
    now: datetime,
    run_id: str | None,
    members: tuple[OutboxMember, ...] = (),
) -> OutboxEntry:
    """The outbox row of ``payload`` for the channel of ``plan``: its idempotency key is the
    event id and the channel id. An evaluation's rows and an acknowledgement's (``acks.py``)."""
    return OutboxEntry(
        event_id=payload.event_id,
        alert_name=alert.name,
        instance_key=instance_key,
        kind=kind,
        channel_id=plan.channel_id,
        channel_kind=plan.config.channel,
        payload=payload.to_json(),
        idempotency_key=f"{payload.event_id}:{plan.channel_id}",
        created_at=now,
        run_id=run_id,
        destination=_destination(plan.config),
        members=members,
        group_key=plan.group_key,
    )


def _destination(channel: ChannelConfig) -> str:
    """The channel's public destination (no secret), cut to fit its column."""
    text = channel.public_destination()
    return text if len(text) <= DESTINATION_LENGTH else text[: DESTINATION_LENGTH - 1] + "…"


def _history(
    alert: AlertConfig,
    decision: Decision,
    obs: Observation,
    now: datetime,
    run_type: RunType,
    run_id: str | None,
    query_ms: float | None,
    inhibited_by: tuple[str, ...] = (),
) -> HistoryEntry:
    state = decision.state
    return HistoryEntry(
        alert_name=alert.name,
        dag_id=alert.dag_id,
        instance_key=state.instance_key,
        evaluated_at=now,
        run_type=run_type,
        run_id=run_id,
        outcome=obs.outcome,
        state=state.shown_state,
        reason=decision.reason.value,
        actual_value=obs.actual_value,
        threshold=obs.threshold,
        context=dict(obs.context),
        key_values=dict(state.key_values),
        error=obs.error,
        duration_ms=int(query_ms) if query_ms is not None else None,
        events=tuple(e.kind for e in decision.events) if run_type is not RunType.BACKFILL else (),
        inhibited_by=inhibited_by,
    )


def _slots_of(alert: AlertConfig, event: Event) -> tuple[ChannelSlot, ...]:
    """The channels ``event`` goes to: its step's receiver's for an escalation."""
    if event.kind is EventKind.ESCALATION and event.escalation_step is not None:
        if event.escalation_step < len(alert.escalation):
            return alert.escalation_slots(event.escalation_step)
        return ()
    return alert.channel_slots()


def _report(
    alert: AlertConfig,
    evaluation: QueryEvaluation,
    written: _Written,
    run_type: RunType,
    run_id: str | None,
    dry_run: bool,
    started: float,
    query_ms: float | None,
) -> EvaluationReport:
    known, decisions, outbox_ids = written.known, written.decisions, written.outbox_ids
    now = written.now
    muted_now = mutewindows.active_names(alert.mute_windows, now)
    silenced = silence_rules.mutes(written.silences, None) or bool(muted_now)
    instances = []
    events = []
    notify = run_type is not RunType.BACKFILL
    for position, (key, decision, obs) in enumerate(decisions):
        prev = known.get(key)
        muted_by = _muted_by(alert, prev, now, muted_now)
        instances.append(
            InstanceReport(
                instance_key=key,
                key_values=dict(decision.state.key_values),
                outcome=obs.outcome,
                previous_state=prev.shown_state if prev else State.OK,
                state=decision.state.shown_state,
                reason=decision.reason,
                actual_value=obs.actual_value,
                threshold=obs.threshold,
                context=dict(obs.context),
                events=tuple(e.kind.value for e in decision.events) if notify else (),
                silenced=silence_rules.mutes(written.silences, key) or bool(muted_by),
                muted_by=muted_by,
                acked_by=decision.state.acked_by,
                held=decision.reason is Reason.INHIBITED,
            )
        )
        if notify:
            for event in decision.events:
                events.append(
                    {
                        "kind": event.kind.value,
                        "instance_key": key,
                        "reason": event.reason.value,
                        "reason_code": event.reason.code,
                        "outbox_ids": outbox_ids.get(position, []),
                        "channels": [s.config.channel for s in _slots_of(alert, event)],
                    }
                )
    states = [i.state for i in instances] or [State.OK]
    overall = max(states, key=lambda s: s.urgency)
    if not evaluation.ok:
        outcome = Outcome.ERROR
    elif any(i.status is Outcome.ALERT for i in evaluation.instances):
        outcome = Outcome.ALERT
    else:
        outcome = Outcome.OK
    return EvaluationReport(
        alert_name=alert.name,
        dag_id=alert.dag_id,
        evaluated_at=now,
        run_type=run_type,
        run_id=run_id,
        dry_run=dry_run,
        outcome=outcome,
        state=overall,
        silenced=silenced,
        error=evaluation.error,
        instances=tuple(instances),
        events=tuple(events),
        row_count=evaluation.row_count,
        duration_ms=(time.perf_counter() - started) * 1000,
        query_ms=query_ms,
        muted_by=muted_now,
        inhibited_by=written.inhibited_by,
    )
