"""decide() with acknowledgements and escalation ladders, on a frozen clock.

An acknowledgement lives on the state (``acked_at``...); these tests put it there the way
``acks.acknowledge`` does and check what the next evaluations send.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.core.model import (
    EscalationStep,
    EventKind,
    FlapPolicy,
    InstanceState,
    Observation,
    Outcome,
    Policy,
    Reason,
    State,
)
from sqlsentinel_airflow.core.state_machine import check_event_sequence, decide, initial_state

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
LADDER = (
    EscalationStep(after=timedelta(minutes=15), receiver="team_lead"),
    EscalationStep(after=timedelta(hours=1), receiver="manager"),
)


def _obs(value: float, outcome: Outcome = Outcome.ALERT, threshold: float = 10) -> Observation:
    return Observation(outcome, actual_value=value, threshold=threshold)


class Run:
    """One instance evaluated minute by minute; records every event."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.state = initial_state("orders_late", "", {})
        self.events: list[tuple[float, EventKind, Reason]] = []
        self.kinds: list[EventKind] = []

    def at(self, minute: float, obs: Observation, *, silenced: bool = False) -> list[EventKind]:
        d = decide(
            self.state,
            obs,
            now=T0 + timedelta(minutes=minute),
            policy=self.policy,
            silenced=silenced,
        )
        self.state = d.state
        for e in d.events:
            self.events.append((minute, e.kind, e.reason))
            self.kinds.append(e.kind)
        return [e.kind for e in d.events]

    def ack(self, minute: float, by: str = "ana") -> None:
        self.state = dataclasses.replace(
            self.state,
            acked_at=T0 + timedelta(minutes=minute),
            acked_by=by,
            ack_source="ui",
            ack_value=self.state.last_value,
        )


def test_an_acknowledged_incident_gets_no_reminders_but_its_resolved() -> None:
    run = Run(Policy(renotify_after=timedelta(minutes=30)))
    assert run.at(0, _obs(20)) == [EventKind.FIRING]
    assert run.at(30, _obs(20)) == [EventKind.REMINDER]
    run.ack(31)
    for minute in (60, 90, 120, 600):
        assert run.at(minute, _obs(20)) == []
    assert dataclasses.replace(run.state).acked_by == "ana"
    d = decide(
        run.state, _obs(20), now=T0 + timedelta(minutes=601), policy=run.policy, silenced=False
    )
    assert d.reason is Reason.ACKNOWLEDGED
    assert run.at(630, _obs(5, Outcome.OK)) == [EventKind.RESOLVED]
    # resolving ends the acknowledgement: the next incident is not acknowledged
    assert run.state.acked_at is None and run.state.acked_by is None
    assert run.state.ack_value is None and run.state.ack_source is None
    assert run.at(640, _obs(20)) == [EventKind.FIRING]
    assert run.at(670, _obs(20)) == [EventKind.REMINDER]
    check_event_sequence(run.kinds)


def test_the_acknowledgement_survives_a_query_error() -> None:
    run = Run(Policy(renotify_after=timedelta(minutes=30), notify_on_error=1))
    run.at(0, _obs(20))
    run.ack(1)
    assert run.at(30, Observation(Outcome.ERROR, error="boom")) == [EventKind.ERROR]
    assert run.state.acknowledged
    # recovery from the error, still firing: the recovery resolved, no reminder
    assert run.at(60, _obs(20)) == [EventKind.RESOLVED]
    assert run.state.acknowledged and run.state.state is State.FIRING


@pytest.mark.parametrize(
    ("threshold", "acked_value", "worse", "not_worse"),
    [
        (10, 20, 40, 39.9),  # above the threshold: 2x the value is worse
        (10, 5, 2.5, 2.6),  # below it (a "too few rows" alert): half is worse
        (-10, -5, 0, -0.1),  # negative values above the threshold: |value| further up
    ],
)
def test_rearm_factor_ends_the_acknowledgement_once_with_one_reminder(
    threshold: float, acked_value: float, worse: float, not_worse: float
) -> None:
    run = Run(Policy(renotify_after=timedelta(hours=4), ack_rearm_factor=2.0))
    run.at(0, _obs(acked_value, threshold=threshold))
    run.ack(1)
    assert run.state.ack_value == acked_value
    assert run.at(10, _obs(not_worse, threshold=threshold)) == []
    assert run.state.acknowledged
    assert run.at(20, _obs(worse, threshold=threshold)) == [EventKind.REMINDER]
    assert run.events[-1][2] is Reason.ACK_REARMED
    assert not run.state.acknowledged
    # once: the reminder schedule restarted from the re-arm, not another re-arm
    assert run.at(30, _obs(worse * 3, threshold=threshold)) == []
    assert run.at(20 + 240, _obs(worse, threshold=threshold)) == [EventKind.REMINDER]
    assert run.events[-1][2] is Reason.REMINDER_DUE


def test_values_that_are_not_numbers_never_rearm() -> None:
    run = Run(Policy(ack_rearm_factor=2.0))
    run.at(0, Observation(Outcome.ALERT, actual_value="late", threshold=None))
    run.ack(1)
    assert run.at(10, Observation(Outcome.ALERT, actual_value="very late")) == []
    assert run.state.acknowledged


def test_each_escalation_step_goes_out_once_in_order() -> None:
    run = Run(Policy(renotify_after=None, escalation=LADDER))
    assert run.at(0, _obs(20)) == [EventKind.FIRING]
    assert run.at(10, _obs(20)) == []
    assert run.at(15, _obs(20)) == [EventKind.ESCALATION]
    assert run.state.escalation_steps == 1
    assert run.at(20, _obs(20)) == []
    assert run.at(60, _obs(20)) == [EventKind.ESCALATION]
    assert run.state.escalation_steps == 2
    assert run.at(600, _obs(20)) == []
    reasons = [r for _m, k, r in run.events if k is EventKind.ESCALATION]
    assert reasons == [Reason.ESCALATED, Reason.ESCALATED]
    check_event_sequence(run.kinds)


def test_overdue_steps_all_go_out_at_the_first_evaluation_after_them() -> None:
    run = Run(Policy(escalation=LADDER))
    run.at(0, _obs(20))
    d = decide(run.state, _obs(20), now=T0 + timedelta(hours=2), policy=run.policy, silenced=False)
    assert [(e.kind, e.escalation_step) for e in d.events] == [
        (EventKind.ESCALATION, 0),
        (EventKind.ESCALATION, 1),
    ]
    assert d.state.escalation_steps == 2
    assert all(e.firing_since == T0 for e in d.events)


def test_acknowledging_cancels_the_remaining_steps() -> None:
    run = Run(Policy(escalation=LADDER))
    run.at(0, _obs(20))
    run.at(15, _obs(20))
    run.ack(16)
    assert run.at(60, _obs(20)) == [] and run.at(600, _obs(20)) == []
    assert run.state.escalation_steps == 1


def test_resolving_cancels_the_ladder_and_a_new_incident_starts_it_again() -> None:
    run = Run(Policy(escalation=LADDER))
    run.at(0, _obs(20))
    run.at(16, _obs(20))
    assert run.at(20, _obs(5, Outcome.OK)) == [EventKind.RESOLVED]
    assert run.state.escalation_steps == 0
    run.at(30, _obs(20))
    assert run.at(44, _obs(20)) == []
    assert run.at(45, _obs(20)) == [EventKind.ESCALATION]


def test_no_escalation_while_silenced_pending_or_flapping() -> None:
    run = Run(Policy(escalation=LADDER, fire_after=2))
    run.at(0, _obs(20))  # pending
    assert run.at(20, _obs(20)) == [EventKind.FIRING]  # fires at 20: the ladder counts from here
    assert run.at(30, _obs(20), silenced=True) == []
    assert run.at(40, _obs(20), silenced=True) == []
    # the silence ended: the incident is announced again (the steps wait for the next
    # evaluation: the first receivers hear first), then the ladder continues
    assert run.at(41, _obs(20)) == [EventKind.FIRING]
    assert run.at(42, _obs(20)) == [EventKind.ESCALATION]

    flappy = Run(
        Policy(
            escalation=LADDER,
            flap=FlapPolicy(changes=3, window=timedelta(hours=1), stable_for=timedelta(hours=1)),
        )
    )
    flappy.at(0, _obs(20))
    flappy.at(1, _obs(5, Outcome.OK))
    flappy.at(2, _obs(20))  # third change: flapping
    assert flappy.state.flapping_since is not None
    assert EventKind.ESCALATION not in flappy.at(30, _obs(20))


def test_an_instance_that_never_fired_has_nothing_to_escalate() -> None:
    state = InstanceState(alert_name="a")
    d = decide(state, _obs(5, Outcome.OK), now=T0, policy=Policy(escalation=LADDER), silenced=False)
    assert d.events == () and d.state.escalation_steps == 0
