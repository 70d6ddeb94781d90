"""decide() with flap detection (docs/notifications.md, "Flap detection"), on a frozen clock.

Each scenario is a list of steps ``(minute, outcome, silenced, events, shown state, reason)``
fed at T0 + minute: the driver asserts the event kinds (space-separated, "" for none), the
state history and the UI show (``shown_state``) and the decision's reason code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.core.model import (
    Decision,
    EventKind,
    FlapPolicy,
    InstanceState,
    Observation,
    Outcome,
    Policy,
    Reason,
    State,
)
from sqlsentinel_airflow.core.state_machine import (
    check_event_sequence,
    check_events,
    check_policy,
    decide,
    initial_state,
)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
A, K, E, M = Outcome.ALERT, Outcome.OK, Outcome.ERROR, Outcome.MISSING
OK, PENDING, FIRING, ERROR, FLAPPING = (
    State.OK,
    State.PENDING,
    State.FIRING,
    State.ERROR,
    State.FLAPPING,
)
S, _ = True, False  # silenced or not
# 3 changes within 10 minutes flap; settled after 5 minutes without one
FLAP = Policy(
    flap=FlapPolicy(changes=3, window=timedelta(minutes=10), stable_for=timedelta(minutes=5))
)

Step = tuple[float, Outcome, bool, str, State, str]


def run(
    policy: Policy, steps: Sequence[Step], state: InstanceState | None = None
) -> list[Decision]:
    state = state or initial_state("orders_late")
    decisions = []
    for number, (minute, outcome, silenced, kinds, shown, reason) in enumerate(steps):
        now = T0 + timedelta(minutes=minute)
        obs = Observation(outcome, error="boom") if outcome is E else Observation(outcome, minute)
        decision = decide(state, obs, now=now, policy=policy, silenced=silenced)
        got = (
            " ".join(e.kind.value for e in decision.events),
            decision.state.shown_state,
            decision.reason.code,
        )
        assert got == (kinds, shown, reason), f"step {number} at minute {minute}"
        state = decision.state
        decisions.append(decision)
    check_events([e for d in decisions for e in d.events])
    return decisions


def _flapping_by_minute_2() -> list[Step]:
    """ALERT, OK, ALERT a minute apart: the third change (minute 2) starts the flap."""
    return [
        (0, A, _, "firing", FIRING, "first_firing"),
        (1, K, _, "resolved", OK, "resolved"),
        (2, A, _, "flapping", FLAPPING, "flapping_started"),
    ]


def test_the_change_that_makes_k_within_the_window_sends_one_flapping_instead_of_its_own() -> None:
    (*_earlier, entered) = run(FLAP, _flapping_by_minute_2())
    (event,) = entered.events
    assert event.kind is EventKind.FLAPPING and event.reason is Reason.FLAPPING_STARTED
    assert event.state is FIRING  # the payload's state: the one underneath (version 1 values)
    assert event.firing_since == T0 + timedelta(minutes=2)
    assert (
        entered.state.state is FIRING
        and entered.state.flapping_since == entered.state.last_evaluated_at
    )
    assert entered.state.firing_notified is False  # what it held back was never announced


def test_changes_spread_wider_than_the_window_never_flap() -> None:
    run(
        FLAP,
        [
            (0, A, _, "firing", FIRING, "first_firing"),
            (6, K, _, "resolved", OK, "resolved"),
            (12, A, _, "firing", FIRING, "first_firing"),  # the change at 0 left the window
            (18, K, _, "resolved", OK, "resolved"),
        ],
    )


def test_pending_is_no_change_and_fire_after_counts_only_real_firings() -> None:
    policy = Policy(fire_after=2, flap=FLAP.flap)
    run(
        policy,
        [
            (0, A, _, "", PENDING, "pending_fire_after"),
            (1, K, _, "", OK, "ok"),
            (2, A, _, "", PENDING, "pending_fire_after"),
            (3, K, _, "", OK, "ok"),  # OK <-> PENDING four times: no change at all
            (4, A, _, "", PENDING, "pending_fire_after"),
            (5, A, _, "firing", FIRING, "first_firing"),
        ],
    )


def test_while_flapping_changes_send_nothing_and_history_shows_flapping() -> None:
    decisions = run(
        FLAP,
        [
            *_flapping_by_minute_2(),
            (3, K, _, "", FLAPPING, "flapping"),
            (4, A, _, "", FLAPPING, "flapping"),
            (5, A, _, "", FLAPPING, "flapping"),  # no change, but not stable for 5m yet
            (8, K, _, "", FLAPPING, "flapping"),  # a change restarts the stability clock
            (12, K, _, "", FLAPPING, "flapping"),
        ],
    )
    assert decisions[-1].state.state is OK  # the machine runs on underneath
    assert decisions[-1].state.flap_changes == (T0 + timedelta(minutes=8),)


def test_settles_firing_after_stable_for_with_one_firing() -> None:
    decisions = run(
        FLAP,
        [
            *_flapping_by_minute_2(),
            (3, K, _, "", FLAPPING, "flapping"),
            (4, A, _, "", FLAPPING, "flapping"),
            (8, A, _, "", FLAPPING, "flapping"),
            (9, A, _, "firing", FIRING, "settled_firing"),  # 5 minutes after the change at 4
            (10, A, _, "", FIRING, "still_firing_no_reminders"),
            (11, K, _, "resolved", OK, "resolved"),  # back to normal, the count starts again
            (12, A, _, "firing", FIRING, "first_firing"),
        ],
    )
    settled = decisions[6]
    assert settled.events[0].firing_since == T0 + timedelta(minutes=4)
    assert (
        settled.state.firing_notified
        and settled.state.last_notified_at == settled.state.last_evaluated_at
    )
    assert settled.state.flapping_since is None and settled.state.flap_changes == ()


def test_settles_ok_after_stable_for_with_one_resolved_even_with_notify_on_recovery_off() -> None:
    policy = Policy(notify_on_recovery=False, flap=FLAP.flap)
    run(
        policy,
        [
            (0, A, _, "firing", FIRING, "first_firing"),
            (1, K, _, "", OK, "resolved_quietly"),
            (2, A, _, "flapping", FLAPPING, "flapping_started"),
            (3, K, _, "", FLAPPING, "flapping"),
            (7, K, _, "", FLAPPING, "flapping"),
            (8, K, _, "resolved", OK, "settled_ok"),  # it ends the flapping notice
            (9, K, _, "", OK, "ok"),
        ],
    )


def test_reminders_are_held_while_flapping_and_resume_after_settling_firing() -> None:
    policy = Policy(renotify_after=timedelta(minutes=2), flap=FLAP.flap)
    run(
        policy,
        [
            *_flapping_by_minute_2(),
            (4, A, _, "", FLAPPING, "flapping"),
            (6, A, _, "", FLAPPING, "flapping"),  # a reminder would be due: held
            (7, A, _, "firing", FIRING, "settled_firing"),
            (8, A, _, "", FIRING, "still_firing"),
            (9, A, _, "reminder", FIRING, "reminder_due"),
        ],
    )


def test_an_hour_of_oscillation_sends_one_flapping_then_one_settled() -> None:
    policy = Policy(flap=FlapPolicy(4, timedelta(minutes=30), timedelta(minutes=15)))
    state = initial_state("orders_late")
    kinds: list[EventKind] = []
    every = []
    for minute in range(60 + 20):
        outcome = (A if minute % 2 == 0 else K) if minute < 60 else A
        decision = decide(
            state,
            Observation(outcome),
            now=T0 + timedelta(minutes=minute),
            policy=policy,
            silenced=False,
        )
        kinds += [e.kind for e in decision.events]
        every += decision.events
        state = decision.state
    F, RES, FL = EventKind.FIRING, EventKind.RESOLVED, EventKind.FLAPPING
    assert kinds == [F, RES, F, FL, F]  # 3 changes told, the 4th flaps, settled firing at 75
    assert every[-1].reason is Reason.SETTLED_FIRING
    assert every[-1].occurred_at == T0 + timedelta(minutes=75)
    check_event_sequence(kinds)
    check_events(every)


def test_a_silence_mutes_the_flapping_and_it_is_announced_when_the_silence_ends() -> None:
    run(
        FLAP,
        [
            (0, A, S, "", FIRING, "silenced"),
            (1, K, S, "", OK, "silenced"),
            (2, A, S, "", FLAPPING, "silenced"),  # flaps under the silence: nothing
            (3, K, S, "", FLAPPING, "silenced"),
            (4, A, _, "flapping", FLAPPING, "flapping_after_silence"),  # silence over
            (5, K, _, "", FLAPPING, "flapping"),
            (6, K, S, "", FLAPPING, "silenced"),  # silenced again: announced again after
            (7, K, _, "flapping", FLAPPING, "flapping_after_silence"),
            (10, K, _, "resolved", OK, "settled_ok"),
        ],
    )


def test_settling_under_a_silence_sends_nothing_and_a_firing_follows_the_silence() -> None:
    run(
        FLAP,
        [
            *_flapping_by_minute_2(),
            (3, K, _, "", FLAPPING, "flapping"),
            (4, A, S, "", FLAPPING, "silenced"),
            (9, A, S, "", FIRING, "silenced"),  # settled FIRING, muted
            (10, A, _, "firing", FIRING, "firing_after_silence"),
        ],
    )
    run(
        FLAP,
        [
            *_flapping_by_minute_2(),
            (3, K, S, "", FLAPPING, "silenced"),
            (8, K, S, "", OK, "silenced"),  # settled OK under the silence
            (9, K, _, "", OK, "ok"),  # nothing owed
        ],
    )


def test_query_errors_neither_change_nor_settle_and_still_notify() -> None:
    policy = Policy(notify_on_error=1, flap=FLAP.flap)
    decisions = run(
        policy,
        [
            *_flapping_by_minute_2(),
            (3, E, _, "error", ERROR, "error_notified"),  # the error is told, flapping or not
            (9, E, _, "", ERROR, "error_already_notified"),  # stable for 7m, but blind
            (10, A, _, "resolved firing", FIRING, "settled_firing"),  # recovery, then settled
        ],
    )
    assert decisions[3].state.flapping_since == T0 + timedelta(minutes=2)  # kept through errors
    assert [e.reason for e in decisions[-1].events] == [
        Reason.RECOVERED_FROM_ERROR,
        Reason.SETTLED_FIRING,
    ]


def test_an_error_between_changes_does_not_break_the_count() -> None:
    run(
        FLAP,
        [
            (0, A, _, "firing", FIRING, "first_firing"),
            (1, E, _, "", ERROR, "error_below_threshold"),
            (2, K, _, "resolved", OK, "resolved"),
            (3, A, _, "flapping", FLAPPING, "flapping_started"),
        ],
    )


def test_turning_flap_detection_off_settles_at_the_next_evaluation() -> None:
    (*_earlier, last) = run(FLAP, _flapping_by_minute_2())
    run(Policy(), [(3, A, _, "firing", FIRING, "settled_firing")], state=last.state)


def test_a_keyed_instance_that_comes_and_goes_flaps_through_missing() -> None:
    run(
        FLAP,
        [
            (0, A, _, "firing", FIRING, "first_firing"),
            (1, M, _, "resolved", OK, "resolved"),
            (2, A, _, "flapping", FLAPPING, "flapping_started"),
            (3, M, _, "", FLAPPING, "flapping"),
            (8, M, _, "resolved", OK, "settled_ok"),
        ],
    )


@pytest.mark.parametrize(
    ("flap", "message"),
    [
        (FlapPolicy(1, timedelta(minutes=1), timedelta(minutes=1)), "changes must be at least 2"),
        (FlapPolicy(2, timedelta(0), timedelta(minutes=1)), "window must be positive"),
        (FlapPolicy(2, timedelta(minutes=1), timedelta(seconds=-1)), "stable_for must be positive"),
    ],
)
def test_policy_checks(flap: FlapPolicy, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_policy(Policy(flap=flap))


F, RES, REM, ERR, FL = (
    EventKind.FIRING,
    EventKind.RESOLVED,
    EventKind.REMINDER,
    EventKind.ERROR,
    EventKind.FLAPPING,
)


@pytest.mark.parametrize(
    "kinds",
    [[F, RES, F, FL, F, REM, RES], [F, FL, RES, F], [FL, ERR, RES, RES], [F, FL, ERR, F, RES, RES]],
)
def test_flapping_sequences_that_decide_can_produce(kinds: list[EventKind]) -> None:
    check_event_sequence(kinds)


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ([F, FL, FL], r"event 2 \(flapping\): a second flapping before it settled"),
        ([F, FL, REM], r"event 2 \(reminder\): a reminder without an open incident"),
        ([F, FL, RES, RES], r"event 3 \(resolved\): a resolved without an open incident"),
    ],
)
def test_flapping_sequences_that_it_cannot(kinds: list[EventKind], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_event_sequence(kinds)


def test_check_events_refuses_a_settled_resolved_without_a_flapping() -> None:
    (*_earlier, entered) = run(FLAP, _flapping_by_minute_2())
    settled = decide(
        entered.state,
        Observation(K),
        now=T0 + timedelta(minutes=3),
        policy=Policy(),  # off: settles at once
        silenced=False,
    )
    assert [e.reason for e in settled.events] == [Reason.SETTLED_OK]
    with pytest.raises(ValueError, match="settled without a flapping event before it"):
        check_events(list(settled.events))
