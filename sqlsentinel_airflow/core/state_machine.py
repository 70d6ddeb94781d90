"""The per-instance state machine and notify decision (ADR 2), as one pure function.

:func:`decide` maps (previous state, observation, now, policy, silenced) to the next state,
the events to enqueue, and the reason, like Alertmanager's ``notify/dedup_stage.go``: no
clock, no database, no I/O, so every path is unit-tested and the store only persists what
comes out (inside its row-locked transaction).

Semantics, per instance
- ALERT counts towards ``fire_after``; reaching it enters FIRING and sends ``firing``.
  While FIRING a ``reminder`` goes out every ``renotify_after`` after the last notification.
- OK and MISSING (a keyed instance that stopped appearing) count towards ``resolve_after``;
  reaching it leaves FIRING and sends ``resolved`` if ``notify_on_recovery`` and the
  incident's ``firing`` went out. Below ``fire_after``, PENDING falls back to OK silently.
- ERROR (query failed or broke the contract) does not advance the alerting state: state
  becomes ERROR, ``last_good_state`` keeps the state it interrupted, and the ALERT/OK counts
  are left as they were, so an error between two ALERTs neither resets nor advances
  ``fire_after``. After ``notify_on_error`` errors in a row one ``error`` event goes out per
  streak. The next success continues from ``last_good_state``; if the streak was notified
  (and ``notify_on_recovery``), a ``resolved`` event with reason RECOVERED_FROM_ERROR comes
  before any other event of that evaluation.
- A silence suppresses events, never evaluation. When a silence ends and the instance is
  still FIRING, exactly one ``firing`` (reason FIRING_AFTER_SILENCE) goes out, whether the
  incident started under the silence (``firing_notified`` unset) or before it (a silenced
  evaluation while FIRING clears ``last_notified_at``, which restarts the reminder schedule
  with that ``firing``; ``firing_notified`` stays set, so the eventual ``resolved`` is still
  sent). An incident that starts and ends under a silence sends nothing, not even
  ``resolved``; one that ends under a silence sends no ``resolved`` either (the silence
  mutes it). A suppressed ``error`` leaves ``error_notified`` unset, so it goes out once
  the silence ends if the query is still failing.
- Flap detection (``policy.flap``, docs/notifications.md "Flap detection"; off when None).
  A *change* is the alerting state entering or leaving FIRING (PENDING counts as OK). The
  change that makes ``flap.changes`` within ``flap.window`` puts the instance in flap
  (``flapping_since``): one ``flapping`` event (FLAPPING_STARTED) replaces that change's
  own event. While it flaps the machine runs underneath as usual, but its ``firing``,
  ``reminder`` and ``resolved`` are held back, and what it announced is forgotten
  (``firing_notified`` unset). The first evaluation ``flap.stable_for`` after the last
  change settles it: one ``firing`` (SETTLED_FIRING) if it settled FIRING, else one
  ``resolved`` (SETTLED_OK; sent whatever ``notify_on_recovery`` says, it ends the flapping
  notice; none if no ``flapping`` went out), and the change count starts again. Query
  errors neither change nor settle (the next success may). Silences mute like they mute
  firing: a flap seen under a silence is announced (FLAPPING_AFTER_SILENCE) when it ends
  while still flapping; a settle under a silence sends nothing, and an instance that
  settled FIRING gets its FIRING_AFTER_SILENCE ``firing`` when the silence ends.

- Acknowledgements (``acks.py`` writes them on the state; docs/responding.md). While the
  incident is acknowledged no ``reminder`` goes out (ACKNOWLEDGED) and no escalation step;
  its ``resolved`` still does, and resolving ends the acknowledgement. With
  ``ack_rearm_factor`` a numeric value that many times worse than when acknowledged (further
  in the alerting direction: ``value >= acked + (f - 1) * |acked|`` when the acknowledged
  value was at or above its threshold, ``value <= acked - (1 - 1/f) * |acked|`` below it)
  ends it with one ``reminder`` (ACK_REARMED), which restarts the reminder schedule.
- Escalation (``policy.escalation``): each step whose ``after`` has passed since the
  incident began goes out once per incident as an ``escalation`` event (ESCALATED), at the
  first evaluation at or after it, while the incident fires, was announced, is not
  acknowledged, silenced, muted or flapping; never in the evaluation that sends the
  incident's ``firing`` (the first receivers hear first). ``escalation_steps`` on the state
  counts the steps sent; resolving resets it, and the incident's ``resolved`` carries the
  count (``escalated_steps``) so the receivers those steps reached hear the end too.

:func:`check_event_sequence` and :func:`check_events` state the invariants an instance's
event history must satisfy; concurrency tests replay stored history through them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlsentinel_airflow.core.model import (
    Decision,
    Event,
    EventKind,
    FlapPolicy,
    InstanceState,
    JsonValue,
    Observation,
    Outcome,
    Policy,
    Reason,
    State,
)

__all__ = ["check_event_sequence", "check_events", "check_policy", "decide", "initial_state"]


def initial_state(
    alert_name: str, key: str = "", key_values: Mapping[str, JsonValue] | None = None
) -> InstanceState:
    """The state of an instance never evaluated before: OK, no counts, no incident."""
    return InstanceState(alert_name=alert_name, instance_key=key, key_values=dict(key_values or {}))


def check_policy(policy: Policy) -> None:
    """Raise ValueError if ``policy`` cannot drive the state machine (config validates earlier)."""
    if policy.fire_after < 1:
        raise ValueError(f"fire_after must be at least 1, got {policy.fire_after}")
    if policy.resolve_after < 1:
        raise ValueError(f"resolve_after must be at least 1, got {policy.resolve_after}")
    if policy.renotify_after is not None and policy.renotify_after.total_seconds() <= 0:
        raise ValueError(f"renotify_after must be positive, got {policy.renotify_after}")
    if policy.notify_on_error is not None and policy.notify_on_error < 1:
        raise ValueError(f"notify_on_error must be at least 1, got {policy.notify_on_error}")
    flap = policy.flap
    if flap is not None:
        if flap.changes < 2:
            raise ValueError(f"flap_detection.changes must be at least 2, got {flap.changes}")
        for name in ("window", "stable_for"):
            if getattr(flap, name).total_seconds() <= 0:
                raise ValueError(f"flap_detection.{name} must be positive")


_STATE_FIELDS = frozenset(f.name for f in dataclasses.fields(InstanceState))


def _replace(instance: InstanceState, /, **changes: Any) -> InstanceState:
    """``dataclasses.replace(instance, **changes)``, five times faster.

    ``InstanceState`` is a plain frozen dataclass (no ``__post_init__``, no slots), so a
    copy of its fields with some changed is the same object ``replace`` would build; the
    generic ``replace`` costs most of a decision, and a backtest replays a year of a minute
    schedule (525,600 decisions per policy) through this machine (docs/backtests.md).
    """
    if not _STATE_FIELDS.issuperset(changes):
        unknown = ", ".join(sorted(changes.keys() - _STATE_FIELDS))
        raise TypeError(f"InstanceState has no field {unknown}")
    copied: InstanceState = object.__new__(InstanceState)
    fields = copied.__dict__
    fields.update(instance.__dict__)
    fields.update(changes)
    return copied


def _set(own: InstanceState, /, **changes: Any) -> InstanceState:
    """``own`` with ``changes`` made in place, returned: ONLY for the copy :func:`decide` made
    of the previous state for this decision (``base``), before it is returned. A decision then
    copies the state once instead of once per step (half a decision's cost, which a backtest
    pays for every evaluation of a year: docs/backtests.md). The names are this module's own
    literals, checked by its tests; :func:`_replace` checks them for the first copy."""
    own.__dict__.update(changes)
    return own


@dataclass(frozen=True)
class _Step:
    """What one branch of the machine decided: the next state, at most one event, the reason."""

    state: InstanceState
    event: EventKind | None
    reason: Reason
    firing_since: datetime | None = None  # the incident the event belongs to


def _event(
    kind: EventKind,
    reason: Reason,
    state: InstanceState,
    now: datetime,
    *,
    firing_since: datetime | None,
    error: str | None,
) -> Event:
    return Event(
        kind=kind,
        alert_name=state.alert_name,
        instance_key=state.instance_key,
        reason=reason,
        occurred_at=now,
        state=state.state,
        actual_value=state.last_value,
        threshold=state.last_threshold,
        context=dict(state.last_context),
        key_values=dict(state.key_values),
        firing_since=firing_since,
        error=error,
    )


def _unannounced(firing: InstanceState) -> InstanceState:
    """A FIRING instance seen under a silence (the decision's own copy): announce it again
    once the silence is over.

    ``firing_notified`` stays as it was (a ``resolved`` is still owed if the ``firing`` went
    out); clearing ``last_notified_at`` restarts the reminder schedule with a new ``firing``.
    """
    return _set(firing, last_notified_at=None)


def _unacknowledged(state: InstanceState) -> InstanceState:
    """``state`` (the decision's own copy) without its acknowledgement."""
    return _set(
        state, acked_at=None, acked_by=None, ack_comment=None, ack_source=None, ack_value=None
    )


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _worse_than_acknowledged(state: InstanceState, factor: float | None) -> bool:
    """Whether the value got ``factor`` times worse than when the incident was acknowledged.

    Worse is further in the alerting direction: for a value at or above its threshold when
    acknowledged, ``value >= factor * acked``; below it, ``value <= acked / factor``. Values
    that are not numbers (and a zero value at acknowledgement) never re-arm.
    """
    if factor is None:
        return False
    value, acked = _number(state.last_value), _number(state.ack_value)
    if value is None or acked is None or acked == 0:
        return False
    threshold = _number(state.last_threshold)
    above = threshold is None or acked >= threshold
    magnitude = abs(acked)
    if above:
        return value >= acked + (factor - 1) * magnitude
    return value <= acked - (1 - 1 / factor) * magnitude


def _escalations(state: InstanceState, now: datetime, policy: Policy) -> list[int]:
    """The escalation steps due now (indexes into ``policy.escalation``), in order: the
    incident fires, its firing went out, nobody acknowledged it, it does not flap, and the
    step's ``after`` has passed since it started; each step once per incident."""
    ladder = policy.escalation
    if (
        not ladder
        or state.escalation_steps >= len(ladder)
        or state.state is not State.FIRING
        or not state.firing_notified
        or state.last_notified_at is None  # silenced: announced again when it ends
        or state.acked_at is not None
        or state.flapping_since is not None
        or state.firing_since is None
    ):
        return []
    age = now - state.firing_since
    return [i for i in range(state.escalation_steps, len(ladder)) if age >= ladder[i].after]


def _on_alert(base: InstanceState, now: datetime, policy: Policy, silenced: bool) -> _Step:
    """``base``: the decision's own copy, changed in place (read what it was first)."""
    alerts = base.consecutive_alerts + 1
    was_firing, since = base.state is State.FIRING, base.firing_since
    notified_before, last_notified = base.firing_notified, base.last_notified_at
    counted = _set(base, consecutive_alerts=alerts, consecutive_oks=0)
    if was_firing:
        if silenced:  # when the silence ends, the incident is announced again
            return _Step(_unannounced(counted), None, Reason.SILENCED)
        if not notified_before or last_notified is None:  # a silence has ended
            notified = _set(counted, firing_notified=True, last_notified_at=now)
            return _Step(notified, EventKind.FIRING, Reason.FIRING_AFTER_SILENCE, since)
        if counted.acked_at is not None:
            if _worse_than_acknowledged(counted, policy.ack_rearm_factor):
                rearmed = _set(_unacknowledged(counted), last_notified_at=now)
                return _Step(rearmed, EventKind.REMINDER, Reason.ACK_REARMED, since)
            return _Step(counted, None, Reason.ACKNOWLEDGED)
        if policy.renotify_after is None:
            return _Step(counted, None, Reason.STILL_FIRING_NO_REMINDERS)
        if now - last_notified >= policy.renotify_after:
            reminded = _set(counted, last_notified_at=now)
            return _Step(reminded, EventKind.REMINDER, Reason.REMINDER_DUE, since)
        return _Step(counted, None, Reason.STILL_FIRING)
    if alerts < policy.fire_after:
        return _Step(_set(counted, state=State.PENDING), None, Reason.PENDING_FIRE_AFTER)
    firing = _set(counted, state=State.FIRING, firing_since=now)
    if silenced:
        return _Step(
            _set(firing, firing_notified=False, last_notified_at=None),
            None,
            Reason.SILENCED,
        )
    notified = _set(firing, firing_notified=True, last_notified_at=now)
    return _Step(notified, EventKind.FIRING, Reason.FIRST_FIRING, now)


def _on_ok(base: InstanceState, policy: Policy, silenced: bool) -> _Step:
    """``base``: the decision's own copy, changed in place (read what it was first)."""
    oks = base.consecutive_oks + 1
    was_firing, since, notified_before = (
        base.state is State.FIRING,
        base.firing_since,
        base.firing_notified,
    )
    counted = _set(base, consecutive_oks=oks, consecutive_alerts=0)
    if not was_firing:
        return _Step(_set(counted, state=State.OK), None, Reason.OK)
    if oks < policy.resolve_after:
        still = _unannounced(counted) if silenced else counted
        return _Step(still, None, Reason.PENDING_RESOLVE_AFTER)
    resolved = _set(
        _unacknowledged(counted),
        state=State.OK,
        firing_since=None,
        firing_notified=False,
        escalation_steps=0,
    )
    if silenced:
        return _Step(resolved, None, Reason.SILENCED)
    if not notified_before:
        return _Step(resolved, None, Reason.RESOLVED_UNNOTIFIED)
    if not policy.notify_on_recovery:
        return _Step(resolved, None, Reason.RESOLVED_QUIETLY)
    return _Step(resolved, EventKind.RESOLVED, Reason.RESOLVED, since)


def _on_flap(
    step: _Step, was_firing: bool, now: datetime, flap: FlapPolicy | None, silenced: bool
) -> _Step:
    """Flap detection over the machine's step (the module doc says the rules); ``flap`` None
    (flap detection turned off) settles an instance that was flapping and forgets changes.
    ``step.state`` is the decision's own copy, changed in place."""
    state = step.state
    firing = state.state is State.FIRING
    changed = firing != was_firing
    changes = (*state.flap_changes, now) if changed else state.flap_changes
    if state.flapping_since is None:
        if flap is None:
            return _Step(_set(state, flap_changes=()), step.event, step.reason, step.firing_since)
        recent = tuple(t for t in changes if now - t < flap.window)
        if not changed or len(recent) < flap.changes:
            kept = recent[-(flap.changes - 1) :]
            return _Step(_set(state, flap_changes=kept), step.event, step.reason, step.firing_since)
        flapping = _set(_unflagged(state), flapping_since=now, flap_changes=(now,))
        if silenced:
            return _Step(_set(flapping, flap_notified=False), None, Reason.SILENCED)
        flapping = _set(flapping, flap_notified=True)
        return _Step(flapping, EventKind.FLAPPING, Reason.FLAPPING_STARTED, state.firing_since)
    last = changes[-1] if changes else state.flapping_since
    if flap is not None and (changed or now - last < flap.stable_for):  # still flapping
        held = _set(_unflagged(state), flap_changes=(last,))
        if silenced:  # announced again once the silence is over, as a firing would be
            return _Step(_set(held, flap_notified=False), None, Reason.SILENCED)
        if not held.flap_notified:
            announced = _set(held, flap_notified=True)
            return _Step(
                announced, EventKind.FLAPPING, Reason.FLAPPING_AFTER_SILENCE, state.firing_since
            )
        return _Step(held, None, Reason.FLAPPING)
    told = state.flap_notified
    settled = _set(state, flapping_since=None, flap_changes=(), flap_notified=False)
    if firing:
        if silenced:  # the firing goes out when the silence ends (FIRING_AFTER_SILENCE)
            return _Step(
                _set(settled, firing_notified=False, last_notified_at=None), None, Reason.SILENCED
            )
        settled = _set(settled, firing_notified=True, last_notified_at=now)
        return _Step(settled, EventKind.FIRING, Reason.SETTLED_FIRING, state.firing_since)
    if silenced:
        return _Step(settled, None, Reason.SILENCED)
    if not told:
        return _Step(settled, None, Reason.SETTLED_OK)
    return _Step(settled, EventKind.RESOLVED, Reason.SETTLED_OK, None)


def _unflagged(state: InstanceState) -> InstanceState:
    """A flapping instance's alerting state with nothing announced (its events are held)."""
    if state.state is State.FIRING:
        return _set(state, firing_notified=False, last_notified_at=None)
    return state


def _decide_error(
    prev: InstanceState, obs: Observation, now: datetime, policy: Policy, silenced: bool
) -> Decision:
    errors = prev.consecutive_errors + 1
    state = _replace(
        prev,
        state=State.ERROR,
        last_good_state=prev.effective_state,
        consecutive_errors=errors,
        state_since=now if prev.state is not State.ERROR else (prev.state_since or now),
        last_evaluated_at=now,
        last_outcome=Outcome.ERROR,
        last_error=obs.error,
    )
    threshold = policy.notify_on_error
    if threshold is None:
        return Decision(state, (), Reason.ERROR_NOT_NOTIFIED)
    if prev.error_notified:
        return Decision(state, (), Reason.ERROR_ALREADY_NOTIFIED)
    if errors < threshold:
        return Decision(state, (), Reason.ERROR_BELOW_THRESHOLD)
    if silenced:
        return Decision(state, (), Reason.SILENCED)
    state = _set(state, error_notified=True)
    event = _event(
        EventKind.ERROR,
        Reason.ERROR_NOTIFIED,
        state,
        now,
        firing_since=state.firing_since,
        error=obs.error,
    )
    return Decision(state, (event,), Reason.ERROR_NOTIFIED)


def decide(
    prev: InstanceState,
    obs: Observation,
    *,
    now: datetime,
    policy: Policy,
    silenced: bool,
) -> Decision:
    """The next state of one instance, the events to enqueue, and the main reason.

    Pure: the same arguments always give the same decision. ``now`` must be timezone-aware
    (and so must the datetimes in ``prev``); ``silenced`` says whether an active silence
    covers the alert at ``now``. The reason is that of the last event emitted, else that of
    the transition.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (use datetime.now(timezone.utc))")
    check_policy(policy)
    if obs.outcome is Outcome.ERROR:
        return _decide_error(prev, obs, now, policy, silenced)

    events: list[Event] = []
    was_firing = prev.effective_state is State.FIRING
    base = _replace(
        prev,
        state=prev.effective_state,
        consecutive_errors=0,
        error_notified=False,
        last_error=None,
        last_evaluated_at=now,
        last_outcome=obs.outcome,
        last_value=obs.actual_value,
        last_threshold=obs.threshold,
        last_context=dict(obs.context),
    )
    recovered = prev.error_notified and policy.notify_on_recovery and not silenced
    if obs.outcome is Outcome.ALERT:
        step = _on_alert(base, now, policy, silenced)
    else:  # OK, or MISSING: the instance is no longer in the result, which counts as OK
        step = _on_ok(base, policy, silenced)
    if policy.flap is not None or base.flapping_since is not None or base.flap_changes:
        step = _on_flap(step, was_firing, now, policy.flap, silenced)

    state = step.state
    state = _set(
        state,
        last_good_state=state.state,
        state_since=now if state.state is not prev.state else (prev.state_since or now),
    )
    if recovered:
        events.append(
            _event(
                EventKind.RESOLVED,
                Reason.RECOVERED_FROM_ERROR,
                state,
                now,
                firing_since=state.firing_since,
                error=prev.last_error,
            )
        )
    if step.event is not None:
        event = _event(
            step.event, step.reason, state, now, firing_since=step.firing_since, error=None
        )
        if step.event is EventKind.RESOLVED and prev.escalation_steps:
            # the receivers an escalation step reached hear how the incident ended
            event = dataclasses.replace(event, escalated_steps=prev.escalation_steps)
        events.append(event)
    if not silenced and step.event is not EventKind.FIRING:  # the first receivers hear first
        due = _escalations(state, now, policy)
        if due:
            state = _set(state, escalation_steps=due[-1] + 1)
            events.extend(
                dataclasses.replace(
                    _event(
                        EventKind.ESCALATION,
                        Reason.ESCALATED,
                        state,
                        now,
                        firing_since=state.firing_since,
                        error=None,
                    ),
                    escalation_step=i,
                )
                for i in due
            )
    reason = events[-1].reason if events else step.reason
    return Decision(state, tuple(events), reason)


# --- invariants over an instance's event history ------------------------------------------


def check_event_sequence(kinds: Sequence[EventKind]) -> None:
    """Raise ValueError if one instance's event kinds, in order, cannot come from :func:`decide`.

    Kinds alone cannot tell a quietly ended incident from a lost ``resolved``, so this strict
    check holds for histories made with ``notify_on_recovery`` on and no silences: ``firing``
    and ``resolved`` alternate, ``reminder`` only inside an open incident, one ``error`` per
    streak, each followed by its recovery ``resolved`` (counted before the incident's own).
    A ``flapping`` ends what was announced; nothing but errors and their recoveries follows
    it until the one ``firing`` or ``resolved`` it settles with.
    For histories with silences or quiet recoveries use :func:`check_events`.
    """
    incident_open = False
    error_open = False
    flapping = False
    for position, kind in enumerate(kinds):
        where = f"event {position} ({kind.value})"
        if kind is EventKind.FLAPPING:
            if flapping:
                raise ValueError(f"{where}: a second flapping before it settled")
            flapping, incident_open = True, False
        elif kind is EventKind.FIRING:
            if incident_open:
                raise ValueError(f"{where}: a second firing without a resolved in between")
            incident_open, flapping = True, False
        elif kind in (EventKind.REMINDER, EventKind.ESCALATION, EventKind.ACKNOWLEDGED):
            if not incident_open:
                raise ValueError(f"{where}: a {kind.value} without an open incident")
        elif kind is EventKind.ERROR:
            if error_open:
                raise ValueError(f"{where}: a second error event in one error streak")
            error_open = True
        elif error_open:  # RESOLVED: the recovery from the notified error comes first
            error_open = False
        elif flapping:  # the settle
            flapping = False
        elif incident_open:
            incident_open = False
        else:
            raise ValueError(f"{where}: a resolved without an open incident or error")


def check_events(events: Sequence[Event]) -> None:
    """Raise ValueError if one instance's events, in order, cannot come from :func:`decide`.

    Unlike :func:`check_event_sequence` this holds under silences and quiet recoveries: it
    follows incidents by ``firing_since``. Incidents never go back in time; an incident gets
    one FIRST_FIRING (or SETTLED_FIRING) ``firing``, and FIRING_AFTER_SILENCE ones only while
    unresolved; ``reminder`` and ``resolved`` belong to the current incident, after a
    ``firing`` of it and before its ``resolved``; a RECOVERED_FROM_ERROR ``resolved`` follows
    an ``error``. A ``flapping`` ends the announced incident: until a ``firing`` or a
    SETTLED_OK ``resolved`` (which needs a ``flapping`` before it) only errors follow.
    """
    first_fired: set[datetime] = set()
    resolved: set[datetime] = set()
    current: datetime | None = None  # the announced incident that may get reminders / resolved
    latest: datetime | None = None
    error_open = False
    flapping = False
    for position, event in enumerate(events):
        where = f"event {position} ({event.kind.value}, {event.reason.value})"
        incident = event.firing_since
        if event.kind is EventKind.ERROR:
            error_open = True
        elif event.kind is EventKind.RESOLVED and event.reason is Reason.RECOVERED_FROM_ERROR:
            if not error_open:
                raise ValueError(f"{where}: a recovery without an error event before it")
            error_open = False
        elif event.kind is EventKind.FLAPPING:  # (a flap settled under a silence says nothing)
            flapping, current = True, None
        elif event.kind is EventKind.RESOLVED and event.reason is Reason.SETTLED_OK:
            if not flapping:
                raise ValueError(f"{where}: settled without a flapping event before it")
            flapping = False
        elif event.kind is EventKind.FIRING:
            if incident is None:
                raise ValueError(f"{where}: a firing event without firing_since")
            if latest is not None and incident < latest:
                raise ValueError(f"{where}: incident since {incident} is older than {latest}")
            if incident in resolved:
                raise ValueError(f"{where}: the incident since {incident} was already resolved")
            if event.reason is not Reason.FIRING_AFTER_SILENCE:
                if incident in first_fired:
                    raise ValueError(f"{where}: a second firing for the incident since {incident}")
                first_fired.add(incident)
            flapping, current, latest = False, incident, incident
        elif flapping:
            raise ValueError(f"{where}: sent while flapping")
        elif incident is None or incident != current:
            raise ValueError(
                f"{where}: for the incident since {incident}, but the announced open incident "
                f"is {current}"
            )
        elif event.kind is EventKind.RESOLVED:
            resolved.add(incident)
            current = None
