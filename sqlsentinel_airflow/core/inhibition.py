"""Inhibition: a child alert's notifications held while a parent it depends on is down.

``depends_on: [parent, ...]`` (docs/assets.md, "Dependencies between alerts") says an alert
only means something while its parents are healthy: when the upstream table is stale, ten
downstream alerts firing at once tell nobody anything new. Like Alertmanager's inhibition,
this is a mute applied after the state machine, never a change to what is evaluated:

- a parent *inhibits* while any of its instances is FIRING or ERROR (its state rows, read in
  the child's evaluation transaction: :func:`inhibiting_parents`);
- an inhibited child evaluates and records history as usual; the notifications it would send
  are held (reason ``inhibited``, the parents' names on the state and history rows): a new
  ``firing``, a reminder, an escalation step, an ``error``, a ``flapping`` notice;
- a ``resolved`` always goes out for an incident (or error streak) whose message was sent;
- when no parent inhibits any more, a child still firing whose ``firing`` was held sends one
  (``firing_after_inhibition``); one that resolved meanwhile sends nothing (its ``firing``
  never went out); an incident announced before the parent went down is not announced again:
  a reminder that came due while held goes out at the next evaluation, escalation steps go
  on from where they stood;
- a silence or mute window wins: under one, nothing is held by inhibition (nothing goes out).

:func:`decide` is :func:`core.state_machine.decide` with this mute; pure, like it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlsentinel_airflow.core.model import (
    Decision,
    EventKind,
    InstanceState,
    Observation,
    Policy,
    Reason,
    State,
)
from sqlsentinel_airflow.core.state_machine import decide as decide_state

__all__ = ["INHIBITING_STATES", "decide", "inhibited_by_text", "inhibiting_parents"]

INHIBITING_STATES = frozenset({State.FIRING, State.ERROR})
"""A parent with an instance in one of these states inhibits its children."""


def inhibiting_parents(
    depends_on: Sequence[str], parent_states: Iterable[InstanceState]
) -> tuple[str, ...]:
    """The names of ``depends_on`` (in its order) with an instance FIRING or ERROR among
    ``parent_states`` (the state rows of the parents; rows of other alerts are ignored)."""
    down = {s.alert_name for s in parent_states if s.state in INHIBITING_STATES}
    return tuple(name for name in depends_on if name in down)


def inhibited_by_text(parents: Sequence[str], *, most: int = 5) -> str:
    """How people read who inhibits (the run note, the CLI): ``inhibited by a, b``;
    empty when nobody does."""
    if not parents:
        return ""
    more = f" and {len(parents) - most} more" if len(parents) > most else ""
    return f"inhibited by {', '.join(parents[:most])}{more}"


def decide(
    prev: InstanceState,
    obs: Observation,
    *,
    now: datetime,
    policy: Policy,
    silenced: bool,
    inhibited_by: tuple[str, ...] = (),
) -> Decision:
    """The state machine's decision for one instance, with the notifications inhibition holds
    held (see the module doc). ``inhibited_by``: the inhibiting parents' names (empty: none).
    The decision's state carries ``inhibited_by``."""
    free = decide_state(prev, obs, now=now, policy=policy, silenced=silenced)
    if not inhibited_by:
        return _released(prev, free)
    resolved = tuple(e for e in free.events if e.kind is EventKind.RESOLVED)
    if silenced or len(resolved) == len(free.events):
        # nothing to hold: a silence already holds everything, or there is nothing but a
        # ``resolved`` (which always goes out) or nothing at all to send
        return dataclasses.replace(
            free, state=dataclasses.replace(free.state, inhibited_by=inhibited_by)
        )
    held = decide_state(prev, obs, now=now, policy=policy, silenced=True)
    state = held.state
    announced = prev.firing_notified and prev.last_notified_at is not None
    if (
        announced
        and state.state is State.FIRING
        and state.firing_since == prev.firing_since
        and state.last_notified_at is None
    ):
        # a silence forgets the announcement so that it is made again when the silence
        # ends; an incident people already know of is not announced again after inhibition:
        # its reminders go on from the last one sent
        state = dataclasses.replace(state, last_notified_at=prev.last_notified_at)
    state = dataclasses.replace(state, inhibited_by=inhibited_by)
    return Decision(state=state, events=resolved, reason=Reason.INHIBITED)


def _released(prev: InstanceState, free: Decision) -> Decision:
    """``free`` for an instance no parent inhibits now: its state forgets the parents, and a
    held ``firing`` that goes out now says why it comes late."""
    state = free.state
    if state.inhibited_by:
        state = dataclasses.replace(state, inhibited_by=())
    if not prev.inhibited_by:
        return free if state is free.state else dataclasses.replace(free, state=state)
    events = tuple(
        dataclasses.replace(e, reason=Reason.FIRING_AFTER_INHIBITION)
        if e.reason is Reason.FIRING_AFTER_SILENCE
        else e
        for e in free.events
    )
    reason = (
        Reason.FIRING_AFTER_INHIBITION
        if free.reason is Reason.FIRING_AFTER_SILENCE
        else free.reason
    )
    return Decision(state=state, events=events, reason=reason)
