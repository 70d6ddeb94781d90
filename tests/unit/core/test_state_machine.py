"""decide(): table-driven runs of outcome sequences, plus the event-history invariants.

Each scenario is a list of steps ``(minute, outcome, silenced, events, state)``: the driver
feeds the outcome at T0 + minute and asserts the kinds of the emitted events (a
space-separated string, "" for none) and the state afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqlsentinel_airflow.core.model import (
    Decision,
    Event,
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

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
A, K, E, M = Outcome.ALERT, Outcome.OK, Outcome.ERROR, Outcome.MISSING  # K: the OK outcome
OK, PENDING, FIRING, ERROR = State.OK, State.PENDING, State.FIRING, State.ERROR
S = True  # silenced
_ = False

Step = tuple[float, Outcome, bool, str, State]


def _observation(outcome: Outcome, minute: float) -> Observation:
    if outcome is E:
        return Observation(outcome, error=f"boom at {minute}")
    if outcome is M:
        return Observation(outcome)
    return Observation(outcome, actual_value=minute, threshold=10, context={"m": minute})


def run(
    policy: Policy, steps: Sequence[Step], state: InstanceState | None = None
) -> list[Decision]:
    """Feed every step to ``decide`` and check its events and state; return the decisions."""
    state = state or initial_state("orders_late", '{"t":"orders"}', {"t": "orders"})
    decisions = []
    for number, (minute, outcome, silenced, kinds, expected) in enumerate(steps):
        now = T0 + timedelta(minutes=minute)
        decision = decide(
            state, _observation(outcome, minute), now=now, policy=policy, silenced=silenced
        )
        got = " ".join(e.kind.value for e in decision.events)
        assert (got, decision.state.state) == (kinds, expected), (
            f"step {number} at minute {minute} ({outcome.value}, silenced={silenced}): "
            f"reason {decision.reason.value}"
        )
        for event in decision.events:
            assert event.occurred_at == now
            assert event.alert_name == "orders_late"
            assert event.instance_key == '{"t":"orders"}'
            assert event.key_values == {"t": "orders"}
        assert decision.state.last_evaluated_at == now
        assert decision.state.last_outcome is outcome
        state = decision.state
        decisions.append(decision)
    every_event = [e for d in decisions for e in d.events]
    check_events(every_event)
    return decisions


def reasons(decisions: Sequence[Decision]) -> list[Reason]:
    return [d.reason for d in decisions]


# --- fire_after / resolve_after -------------------------------------------------------


def test_fire_after_three_with_interruptions() -> None:
    decisions = run(
        Policy(fire_after=3),
        [
            (0, A, _, "", PENDING),
            (1, A, _, "", PENDING),
            (2, K, _, "", OK),  # an OK restarts the count
            (3, A, _, "", PENDING),
            (4, M, _, "", OK),  # so does disappearing
            (5, A, _, "", PENDING),
            (6, A, _, "", PENDING),
            (7, A, _, "firing", FIRING),
            (8, A, _, "", FIRING),
            (9, K, _, "resolved", OK),
        ],
    )
    assert reasons(decisions) == [
        Reason.PENDING_FIRE_AFTER,
        Reason.PENDING_FIRE_AFTER,
        Reason.OK,
        Reason.PENDING_FIRE_AFTER,
        Reason.OK,
        Reason.PENDING_FIRE_AFTER,
        Reason.PENDING_FIRE_AFTER,
        Reason.FIRST_FIRING,
        Reason.STILL_FIRING_NO_REMINDERS,
        Reason.RESOLVED,
    ]
    firing = decisions[7].events[0]
    assert firing.firing_since == T0 + timedelta(minutes=7)
    assert (firing.actual_value, firing.threshold, firing.context) == (7, 10, {"m": 7})
    resolved = decisions[9].events[0]
    assert resolved.firing_since == T0 + timedelta(minutes=7)  # the incident it ends
    assert decisions[9].state.firing_since is None
    assert decisions[9].state.firing_notified is False


def test_resolve_after_two_with_flapping() -> None:
    decisions = run(
        Policy(resolve_after=2),
        [
            (0, A, _, "firing", FIRING),
            (1, K, _, "", FIRING),
            (2, A, _, "", FIRING),  # flapped back: one incident, no second firing
            (3, K, _, "", FIRING),
            (4, M, _, "resolved", OK),
            (5, K, _, "", OK),
            (6, A, _, "firing", FIRING),  # a new incident
        ],
    )
    assert decisions[1].reason is Reason.PENDING_RESOLVE_AFTER
    assert decisions[5].reason is Reason.OK
    assert decisions[6].events[0].firing_since == T0 + timedelta(minutes=6)


def test_counters_and_state_since() -> None:
    decisions = run(
        Policy(fire_after=2),
        [(0, A, _, "", PENDING), (1, A, _, "firing", FIRING), (2, A, _, "", FIRING)],
    )
    last = decisions[-1].state
    assert (last.consecutive_alerts, last.consecutive_oks, last.consecutive_errors) == (3, 0, 0)
    assert decisions[0].state.state_since == T0
    assert last.state_since == T0 + timedelta(minutes=1)
    assert last.firing_since == T0 + timedelta(minutes=1)
    assert last.last_notified_at == T0 + timedelta(minutes=1)
    assert (last.last_value, last.last_threshold, last.last_context) == (2, 10, {"m": 2})


def test_pending_falls_back_to_ok_without_an_event() -> None:
    run(Policy(fire_after=2, resolve_after=3), [(0, A, _, "", PENDING), (1, K, _, "", OK)])


# --- reminders ------------------------------------------------------------------------

_HOURLY_ALERTS = [(60.0 * h, A) for h in range(10)]


def test_reminders_every_four_hours() -> None:
    expected = ["firing", "", "", "", "reminder", "", "", "", "reminder", ""]
    decisions = run(
        Policy(renotify_after=timedelta(hours=4)),
        [(m, o, _, k, FIRING) for (m, o), k in zip(_HOURLY_ALERTS, expected, strict=True)],
    )
    assert decisions[1].reason is Reason.STILL_FIRING
    assert decisions[4].reason is Reason.REMINDER_DUE
    assert decisions[4].state.last_notified_at == T0 + timedelta(hours=4)
    assert decisions[8].events[0].firing_since == T0


def test_no_reminders_when_renotify_after_is_off() -> None:
    expected = ["firing"] + [""] * 9
    decisions = run(
        Policy(renotify_after=None),
        [(m, o, _, k, FIRING) for (m, o), k in zip(_HOURLY_ALERTS, expected, strict=True)],
    )
    assert set(reasons(decisions[1:])) == {Reason.STILL_FIRING_NO_REMINDERS}


# --- notify_on_recovery ---------------------------------------------------------------


def test_notify_on_recovery_off_resolves_quietly() -> None:
    decisions = run(
        Policy(notify_on_recovery=False),
        [(0, A, _, "firing", FIRING), (1, K, _, "", OK), (2, A, _, "firing", FIRING)],
    )
    assert decisions[1].reason is Reason.RESOLVED_QUIETLY


# --- silences -------------------------------------------------------------------------


def test_silence_starting_mid_incident_and_ending_while_firing_sends_one_firing() -> None:
    decisions = run(
        Policy(renotify_after=timedelta(hours=4)),
        [
            (0, A, _, "firing", FIRING),
            (60, A, S, "", FIRING),
            (300, A, S, "", FIRING),  # a reminder would be due: silenced
            (360, A, _, "firing", FIRING),  # silence over, still firing: exactly one firing
            (420, A, _, "", FIRING),
            (600, A, _, "reminder", FIRING),  # reminders count from the new firing
            (660, K, _, "resolved", OK),
        ],
    )
    assert reasons(decisions)[1:4] == [
        Reason.SILENCED,
        Reason.SILENCED,
        Reason.FIRING_AFTER_SILENCE,
    ]
    assert decisions[3].events[0].firing_since == T0  # the same incident


def test_incident_ending_after_the_silence_still_gets_its_resolved() -> None:
    decisions = run(
        Policy(resolve_after=2),
        [
            (0, A, _, "firing", FIRING),
            (1, A, S, "", FIRING),
            (2, K, S, "", FIRING),
            (3, K, _, "resolved", OK),
        ],
    )
    assert decisions[3].reason is Reason.RESOLVED


def test_silence_covering_a_whole_incident_sends_nothing() -> None:
    decisions = run(
        Policy(fire_after=2, renotify_after=timedelta(minutes=1)),
        [
            (0, A, S, "", PENDING),
            (1, A, S, "", FIRING),
            (2, A, S, "", FIRING),
            (3, K, S, "", OK),
            (4, K, _, "", OK),  # the silence ends after the incident: no late resolved
        ],
    )
    assert reasons(decisions)[1:4] == [Reason.SILENCED] * 3
    assert decisions[1].state.firing_notified is False


def test_incident_started_under_silence_fires_once_when_it_ends() -> None:
    decisions = run(
        Policy(),
        [
            (0, A, S, "", FIRING),
            (1, A, _, "firing", FIRING),
            (2, A, _, "", FIRING),
            (3, K, _, "resolved", OK),
        ],
    )
    assert decisions[1].reason is Reason.FIRING_AFTER_SILENCE
    assert decisions[1].events[0].firing_since == T0


def test_resolving_unannounced_incident_sends_nothing() -> None:
    decisions = run(Policy(), [(0, A, S, "", FIRING), (1, K, _, "", OK)])
    assert decisions[1].reason is Reason.RESOLVED_UNNOTIFIED


# --- query errors ---------------------------------------------------------------------


def test_errors_do_not_reset_or_advance_fire_after() -> None:
    decisions = run(
        Policy(fire_after=3, notify_on_error=2),
        [
            (0, A, _, "", PENDING),
            (1, E, _, "", ERROR),
            (2, A, _, "", PENDING),  # two ALERTs so far, the error did not count
            (3, E, _, "", ERROR),
            (4, E, _, "error", ERROR),  # second error in a row
            (5, E, _, "", ERROR),
            (6, A, _, "resolved firing", FIRING),  # recovery first, then the third ALERT fires
        ],
    )
    assert decisions[1].state.last_good_state is PENDING
    assert decisions[1].state.consecutive_alerts == 1
    assert decisions[2].state.consecutive_alerts == 2
    assert reasons(decisions)[3:6] == [
        Reason.ERROR_BELOW_THRESHOLD,
        Reason.ERROR_NOTIFIED,
        Reason.ERROR_ALREADY_NOTIFIED,
    ]
    error = decisions[4].events[0]
    assert error.error == "boom at 4"
    assert error.actual_value == 2  # the last good values are kept through errors
    recovered, firing = decisions[6].events
    assert (recovered.reason, recovered.error) == (Reason.RECOVERED_FROM_ERROR, "boom at 5")
    assert firing.reason is Reason.FIRST_FIRING
    assert decisions[6].reason is Reason.FIRST_FIRING
    assert decisions[6].state.error_notified is False
    assert decisions[6].state.consecutive_errors == 0
    assert decisions[6].state.last_error is None


def test_errors_do_not_reset_resolve_after() -> None:
    decisions = run(
        Policy(resolve_after=2, notify_on_error=1),
        [
            (0, A, _, "firing", FIRING),
            (1, K, _, "", FIRING),
            (2, E, _, "error", ERROR),
            (3, K, _, "resolved resolved", OK),  # recovery, then the second OK resolves
        ],
    )
    assert decisions[2].state.last_good_state is FIRING
    assert decisions[2].state.state_since == T0 + timedelta(minutes=2)
    assert decisions[2].events[0].firing_since == T0
    assert [e.reason for e in decisions[3].events] == [
        Reason.RECOVERED_FROM_ERROR,
        Reason.RESOLVED,
    ]


def test_error_while_firing_then_alert_continues_the_incident() -> None:
    decisions = run(
        Policy(notify_on_error=1, renotify_after=timedelta(hours=1)),
        [
            (0, A, _, "firing", FIRING),
            (10, E, _, "error", ERROR),
            (20, A, _, "resolved", FIRING),  # recovery only: the incident goes on
            (60, A, _, "reminder", FIRING),
        ],
    )
    assert decisions[2].reason is Reason.RECOVERED_FROM_ERROR
    assert decisions[3].events[0].firing_since == T0


def test_notify_on_error_none_never_notifies_errors() -> None:
    decisions = run(
        Policy(notify_on_error=None),
        [(m, E, _, "", ERROR) for m in range(5)] + [(5, K, _, "", OK)],
    )
    assert set(reasons(decisions[:5])) == {Reason.ERROR_NOT_NOTIFIED}
    assert decisions[4].state.consecutive_errors == 5


def test_silenced_error_is_sent_when_the_silence_ends() -> None:
    decisions = run(
        Policy(notify_on_error=1),
        [(0, E, S, "", ERROR), (1, E, _, "error", ERROR), (2, K, S, "", OK)],
    )
    assert decisions[0].reason is Reason.SILENCED
    assert decisions[2].state.error_notified is False


def test_recovery_is_not_announced_when_notify_on_recovery_is_off() -> None:
    run(
        Policy(notify_on_error=1, notify_on_recovery=False),
        [(0, E, _, "error", ERROR), (1, K, _, "", OK), (2, E, _, "error", ERROR)],
    )


# --- keyed instances ------------------------------------------------------------------


def test_instances_appearing_and_disappearing_via_missing() -> None:
    policy = Policy(resolve_after=1)
    orders = initial_state("tables_late", '{"t":"orders"}', {"t": "orders"})
    users = initial_state("tables_late", '{"t":"users"}', {"t": "users"})
    results = {  # minute -> what the query returned per key
        0: {"orders": A},
        1: {"orders": A, "users": A},
        2: {"users": A},
        3: {},
    }
    states = {"orders": orders, "users": users}
    emitted: dict[str, list[str]] = {"orders": [], "users": []}
    for minute, rows in results.items():
        for name, state in states.items():
            outcome = rows.get(name, M)
            if outcome is M and state.last_outcome is None:
                continue  # never seen: nothing to resolve
            decision = decide(
                state,
                Observation(outcome),
                now=T0 + timedelta(minutes=minute),
                policy=policy,
                silenced=False,
            )
            states[name] = decision.state
            emitted[name] += [f"{minute}:{e.kind.value}" for e in decision.events]
            assert all(e.key_values == {"t": name} for e in decision.events)
    assert emitted == {"orders": ["0:firing", "2:resolved"], "users": ["1:firing", "3:resolved"]}
    assert states["orders"].last_outcome is M


# --- guards ---------------------------------------------------------------------------


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        decide(
            initial_state("a"),
            Observation(A),
            now=datetime(2024, 1, 1),
            policy=Policy(),
            silenced=False,
        )


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (Policy(fire_after=0), "fire_after must be at least 1, got 0"),
        (Policy(resolve_after=0), "resolve_after must be at least 1, got 0"),
        (Policy(notify_on_error=0), "notify_on_error must be at least 1, got 0"),
        (Policy(renotify_after=timedelta(0)), "renotify_after must be positive"),
    ],
)
def test_invalid_policy_is_rejected(policy: Policy, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_policy(policy)


def test_initial_state() -> None:
    state = initial_state("a", '{"k":1}', {"k": 1})
    assert (state.alert_name, state.instance_key, state.key_values) == ("a", '{"k":1}', {"k": 1})
    assert (state.state, state.effective_state, state.last_outcome) == (OK, OK, None)


# --- the invariant checkers -----------------------------------------------------------

F, R, RES, ERR = EventKind.FIRING, EventKind.REMINDER, EventKind.RESOLVED, EventKind.ERROR


@pytest.mark.parametrize(
    "kinds", [[], [F, R, R, RES, F], [ERR, RES], [F, ERR, RES, R, RES], [ERR, F, RES, RES]]
)
def test_check_event_sequence_accepts_possible_histories(kinds: list[EventKind]) -> None:
    check_event_sequence(kinds)


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ([F, F], r"event 1 \(firing\): a second firing without a resolved in between"),
        ([R], r"event 0 \(reminder\): a reminder without an open incident"),
        ([F, RES, R], r"event 2 \(reminder\): a reminder without an open incident"),
        ([RES], r"event 0 \(resolved\): a resolved without an open incident or error"),
        ([ERR, ERR], r"event 1 \(error\): a second error event in one error streak"),
    ],
)
def test_check_event_sequence_rejects_impossible_histories(
    kinds: list[EventKind], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_event_sequence(kinds)


def _ev(kind: EventKind, reason: Reason, minute: int | None) -> Event:
    since = None if minute is None else T0 + timedelta(minutes=minute)
    return Event(kind, "a", "", reason, occurred_at=T0, state=FIRING, firing_since=since)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [_ev(F, Reason.FIRST_FIRING, 0), _ev(F, Reason.FIRST_FIRING, 0)],
            "a second firing for the incident since 2024-03-01 09:00:00",
        ),
        (
            [
                _ev(F, Reason.FIRST_FIRING, 0),
                _ev(RES, Reason.RESOLVED, 0),
                _ev(R, Reason.REMINDER_DUE, 0),
            ],
            "but the announced open incident is None",
        ),
        (
            [
                _ev(F, Reason.FIRST_FIRING, 0),
                _ev(RES, Reason.RESOLVED, 0),
                _ev(F, Reason.FIRING_AFTER_SILENCE, 0),
            ],
            "the incident since 2024-03-01 09:00:00.* was already resolved",
        ),
        (
            [_ev(F, Reason.FIRST_FIRING, 5), _ev(F, Reason.FIRST_FIRING, 0)],
            "is older than",
        ),
        ([_ev(RES, Reason.RECOVERED_FROM_ERROR, None)], "a recovery without an error event"),
        ([_ev(F, Reason.FIRST_FIRING, None)], "a firing event without firing_since"),
    ],
)
def test_check_events_rejects_impossible_histories(events: list[Event], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_events(events)


# --- properties -----------------------------------------------------------------------

_outcomes = st.lists(st.sampled_from([A, K, E, M]), max_size=40)
_policies = st.builds(
    Policy,
    fire_after=st.integers(1, 3),
    resolve_after=st.integers(1, 3),
    renotify_after=st.sampled_from([None, timedelta(minutes=2), timedelta(minutes=5)]),
    notify_on_recovery=st.booleans(),
    notify_on_error=st.sampled_from([None, 1, 2, 3]),
    flap=st.sampled_from(
        [
            None,
            FlapPolicy(2, timedelta(minutes=5), timedelta(minutes=3)),
            FlapPolicy(3, timedelta(minutes=10), timedelta(minutes=2)),
        ]
    ),
)


def _replay(
    policy: Policy, outcomes: Sequence[Outcome], silences: Sequence[bool]
) -> tuple[list[Event], InstanceState]:
    state = initial_state("p")
    events: list[Event] = []
    for minute, (outcome, silenced) in enumerate(zip(outcomes, silences, strict=False)):
        decision = decide(
            state,
            _observation(outcome, minute),
            now=T0 + timedelta(minutes=minute),
            policy=policy,
            silenced=silenced,
        )
        events += decision.events
        state = decision.state
    return events, state


@settings(max_examples=300, deadline=None)
@given(_outcomes, _policies)
def test_unsilenced_histories_alternate_firing_and_resolved(
    outcomes: list[Outcome], policy: Policy
) -> None:
    policy = dataclasses.replace(policy, notify_on_recovery=True)
    events, state = _replay(policy, outcomes, [False] * len(outcomes))
    kinds = [e.kind for e in events]
    check_event_sequence(kinds)
    check_events(events)
    told = [
        e.kind
        for e in events
        if e.kind in (F, RES, EventKind.FLAPPING) and e.reason is not Reason.RECOVERED_FROM_ERROR
    ]
    if policy.flap is None:
        firings = kinds.count(EventKind.FIRING)
        resolved = sum(
            1 for e in events if e.kind is RES and e.reason is not Reason.RECOVERED_FROM_ERROR
        )
        assert firings - resolved == (1 if state.effective_state is FIRING else 0)
    if state.flapping_since is None:  # what people were told last is what it is
        assert (told[-1:] == [F]) == (state.effective_state is FIRING)


@settings(max_examples=300, deadline=None)
@given(_outcomes, _policies, st.lists(st.booleans(), min_size=40, max_size=40))
def test_any_history_satisfies_the_incident_invariants(
    outcomes: list[Outcome], policy: Policy, silences: list[bool]
) -> None:
    events, state = _replay(policy, outcomes, silences)
    check_events(events)
    assert all(e.kind is not R or e.firing_since is not None for e in events)
    if state.effective_state is not FIRING:
        assert state.firing_since is None and state.firing_notified is False


@settings(max_examples=200, deadline=None)
@given(_outcomes, _policies, st.lists(st.booleans(), min_size=40, max_size=40))
def test_a_decision_never_changes_the_state_it_was_given(
    outcomes: list[Outcome], policy: Policy, silences: list[bool]
) -> None:
    """decide() builds its new state in one copy it changes in place: the previous state,
    which the caller (or a second policy in a backtest) still holds, stays as it was."""
    state = initial_state("orders_late")
    for minute, (outcome, silenced) in enumerate(zip(outcomes, silences, strict=False)):
        before = dataclasses.asdict(state)
        decision = decide(
            state,
            _observation(outcome, minute),
            now=T0 + timedelta(minutes=minute),
            policy=policy,
            silenced=silenced,
        )
        assert dataclasses.asdict(state) == before
        assert decision.state is not state
        state = decision.state
