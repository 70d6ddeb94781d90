"""Inhibition rules (core/inhibition.py) on a frozen clock.

A child instance is evaluated minute by minute while its parent is up or down (the parent's
names are what ``inhibiting_parents`` found); every event it would send is recorded. What is
held, what is released and what always goes out is checked event by event, and every event
sequence must still satisfy the state machine's invariants.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.core import inhibition
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
from sqlsentinel_airflow.core.state_machine import check_event_sequence, initial_state

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
ALERT = Observation(Outcome.ALERT, actual_value=20, threshold=10)
OK = Observation(Outcome.OK, actual_value=1, threshold=10)
ERROR = Observation(Outcome.ERROR, error="relation does not exist")
PARENT = ("orders_loaded",)


class Child:
    """One child instance, evaluated at given minutes with its parents up or down."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.state = initial_state("revenue_low", "", {})
        self.events: list[tuple[float, EventKind, Reason]] = []
        self.reasons: list[Reason] = []

    def at(
        self,
        minute: float,
        obs: Observation,
        *,
        down: tuple[str, ...] = (),
        silenced: bool = False,
    ) -> list[tuple[EventKind, Reason]]:
        d = inhibition.decide(
            self.state,
            obs,
            now=T0 + timedelta(minutes=minute),
            policy=self.policy,
            silenced=silenced,
            inhibited_by=down,
        )
        assert d.state.inhibited_by == down  # the state says who held it, or nobody
        self.state = d.state
        self.reasons.append(d.reason)
        out = [(e.kind, e.reason) for e in d.events]
        self.events.extend((minute, k, r) for k, r in out)
        return out

    def kinds(self) -> list[EventKind]:
        return [k for _m, k, _r in self.events]


def _check(child: Child) -> None:
    check_event_sequence(child.kinds())


def test_inhibiting_parents_are_those_firing_or_failing_in_depends_on_order() -> None:
    def row(alert: str, state: State) -> InstanceState:
        return InstanceState(alert_name=alert, state=state)

    rows = [
        row("b", State.ERROR),
        row("a", State.FIRING),
        row("c", State.OK),
        row("d", State.PENDING),
        row("unrelated", State.FIRING),
    ]
    assert inhibition.inhibiting_parents(("a", "b", "c", "d"), rows) == ("a", "b")
    assert inhibition.inhibiting_parents(("c", "d"), rows) == ()
    assert inhibition.inhibiting_parents((), rows) == ()


def test_a_firing_that_starts_under_a_down_parent_is_held_then_sent_once() -> None:
    child = Child(Policy(renotify_after=timedelta(minutes=30)))
    assert child.at(0, ALERT, down=PARENT) == []
    assert child.reasons[-1] is Reason.INHIBITED
    assert child.state.state is State.FIRING and not child.state.firing_notified
    for minute in (5, 30, 60):  # no reminder either: nothing was announced
        assert child.at(minute, ALERT, down=PARENT) == []
    assert child.at(65, ALERT) == [(EventKind.FIRING, Reason.FIRING_AFTER_INHIBITION)]
    assert child.at(70, ALERT) == []  # once
    assert child.at(95, ALERT) == [(EventKind.REMINDER, Reason.REMINDER_DUE)]
    assert child.at(100, OK) == [(EventKind.RESOLVED, Reason.RESOLVED)]
    _check(child)


def test_a_child_that_resolves_while_held_sends_nothing_ever() -> None:
    child = Child()
    assert child.at(0, ALERT, down=PARENT) == []
    assert child.at(5, OK, down=PARENT) == []
    assert child.state.state is State.OK
    assert child.at(10, OK) == []  # the parent recovered: nothing owed
    assert child.at(15, OK) == []
    assert child.events == []


def test_a_resolved_is_never_held_for_an_incident_whose_firing_went_out() -> None:
    child = Child()
    assert child.at(0, ALERT) == [(EventKind.FIRING, Reason.FIRST_FIRING)]
    assert child.at(5, ALERT, down=PARENT) == []
    assert child.at(10, OK, down=PARENT) == [(EventKind.RESOLVED, Reason.RESOLVED)]
    assert child.at(15, OK) == []
    _check(child)


def test_an_announced_incident_is_not_announced_again_its_reminder_waits() -> None:
    child = Child(Policy(renotify_after=timedelta(minutes=30)))
    assert child.at(0, ALERT) == [(EventKind.FIRING, Reason.FIRST_FIRING)]
    assert child.at(10, ALERT, down=PARENT) == []
    assert child.at(30, ALERT, down=PARENT) == []  # the reminder came due: held
    assert child.reasons[-1] is Reason.INHIBITED
    assert child.state.last_notified_at == T0  # not forgotten, as a silence would
    # released: the held reminder, not a second ``firing``
    assert child.at(40, ALERT) == [(EventKind.REMINDER, Reason.REMINDER_DUE)]
    assert child.at(45, ALERT) == []
    _check(child)


def test_while_held_with_nothing_to_send_the_reason_is_the_state_machines() -> None:
    child = Child()
    child.at(0, ALERT)
    assert child.at(5, ALERT, down=PARENT) == []
    assert child.reasons[-1] is Reason.STILL_FIRING_NO_REMINDERS  # nothing was held
    child.at(6, OK, down=PARENT)
    assert child.at(7, OK, down=PARENT) == []
    assert child.reasons[-1] is Reason.OK


def test_an_error_is_held_and_sent_once_the_parent_recovers_if_it_still_fails() -> None:
    child = Child(Policy(notify_on_error=1))
    assert child.at(0, ERROR, down=PARENT) == []
    assert child.reasons[-1] is Reason.INHIBITED and not child.state.error_notified
    assert child.at(5, ERROR) == [(EventKind.ERROR, Reason.ERROR_NOTIFIED)]
    assert child.at(10, ERROR) == []
    assert child.at(15, OK, down=PARENT) == [(EventKind.RESOLVED, Reason.RECOVERED_FROM_ERROR)]


def test_an_error_streak_that_ends_while_held_sends_nothing() -> None:
    child = Child(Policy(notify_on_error=1))
    assert child.at(0, ERROR, down=PARENT) == []
    assert child.at(5, OK, down=PARENT) == []
    assert child.at(10, OK) == []
    assert child.events == []


def test_escalation_steps_wait_while_held_and_go_on_after() -> None:
    ladder = (EscalationStep(after=timedelta(minutes=15), receiver="lead"),)
    child = Child(Policy(escalation=ladder))
    assert child.at(0, ALERT) == [(EventKind.FIRING, Reason.FIRST_FIRING)]
    assert child.at(20, ALERT, down=PARENT) == []
    assert child.state.escalation_steps == 0
    assert child.at(25, ALERT) == [(EventKind.ESCALATION, Reason.ESCALATED)]
    assert child.at(30, ALERT) == []


def test_a_silence_wins_nothing_is_held_by_inhibition_under_it() -> None:
    child = Child()
    assert child.at(0, ALERT, down=PARENT, silenced=True) == []
    assert child.reasons[-1] is Reason.SILENCED  # the silence muted it, not the parent
    # silence over, parent still down: held now by the parent
    assert child.at(5, ALERT, down=PARENT) == []
    assert child.reasons[-1] is Reason.INHIBITED
    assert child.at(10, ALERT) == [(EventKind.FIRING, Reason.FIRING_AFTER_INHIBITION)]


def test_fire_after_counts_on_while_held() -> None:
    child = Child(Policy(fire_after=3))
    assert child.at(0, ALERT, down=PARENT) == []
    assert child.reasons[-1] is Reason.PENDING_FIRE_AFTER  # nothing to hold yet
    assert child.at(1, ALERT, down=PARENT) == []
    assert child.at(2, ALERT, down=PARENT) == []
    assert child.reasons[-1] is Reason.INHIBITED  # the firing it would have sent
    assert child.at(3, ALERT) == [(EventKind.FIRING, Reason.FIRING_AFTER_INHIBITION)]


def test_a_flapping_notice_is_held_like_a_firing() -> None:
    flap = FlapPolicy(changes=3, window=timedelta(minutes=30), stable_for=timedelta(minutes=20))
    child = Child(Policy(flap=flap))
    for minute, obs in ((0, ALERT), (1, OK), (2, ALERT)):
        assert child.at(minute, obs, down=PARENT) == []
    assert child.state.flapping_since is not None and not child.state.flap_notified
    sent = child.at(3, ALERT)
    assert [k for k, _r in sent] == [EventKind.FLAPPING]


@pytest.mark.parametrize("down", [("a",), ("a", "b")])
def test_the_state_and_the_decision_name_the_parents_and_forget_them_after(
    down: tuple[str, ...],
) -> None:
    child = Child()
    child.at(0, ALERT, down=down)
    assert child.state.inhibited_by == down
    child.at(1, ALERT)
    assert child.state.inhibited_by == ()


def test_decide_without_parents_is_the_state_machine() -> None:
    from sqlsentinel_airflow.core.state_machine import decide

    prev = dataclasses.replace(initial_state("x"), state=State.OK)
    for obs in (ALERT, OK, ERROR):
        a = inhibition.decide(prev, obs, now=T0, policy=Policy(), silenced=False)
        b = decide(prev, obs, now=T0, policy=Policy(), silenced=False)
        assert a == b
