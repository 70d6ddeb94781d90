"""Folding an instance's evaluations into incidents (core/incidents.py), and the views of them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sqlsentinel_airflow.core.incidents import Evaluated, Incident, IncidentFold, IncidentKind
from sqlsentinel_airflow.core.model import EventKind, Outcome, Reason, State
from sqlsentinel_airflow.readmodel import incident_view

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
LETTERS = {"o": State.OK, "p": State.PENDING, "f": State.FIRING, "e": State.ERROR}
OUTCOMES = {State.OK: Outcome.OK, State.PENDING: Outcome.ALERT, State.FIRING: Outcome.ALERT}


def _ev(n: int, state: State, **kwargs: Any) -> Evaluated:
    outcome = Outcome.ERROR if state is State.ERROR else OUTCOMES[state]
    fields: dict[str, Any] = {"outcome": outcome, "threshold": 10, "run_id": f"r{n}"}
    fields.update(kwargs)
    return Evaluated(
        id=n, instance_key="", evaluated_at=T0 + timedelta(minutes=n), state=state, **fields
    )


def _fold(evaluations: list[Evaluated]) -> list[Incident]:
    """Every incident the evaluations make, in their last form, oldest first."""
    fold, last = IncidentFold(), {}
    for e in evaluations:
        for incident in fold.add(e):
            last[incident.start_id] = incident
    return sorted(last.values(), key=lambda i: i.start_id)


def _spans(script: str) -> list[tuple[str, int, int | None, int]]:
    """One evaluation a minute per letter (o ok, p pending, f firing, e error), ids from 1."""
    found = _fold([_ev(n, LETTERS[c]) for n, c in enumerate(script, start=1)])
    return [(i.kind.value, i.start_id, i.end_id, i.evaluations) for i in found]


@pytest.mark.parametrize(
    ("script", "spans"),
    [
        ("oooo", []),
        ("oppoo", []),  # pending that never fired is no incident
        ("opffo", [("firing", 3, 5, 2)]),
        ("offff", [("firing", 2, None, 4)]),  # still open
        # resolve_after: the state stays FIRING through the OKs it waits for
        ("offffo", [("firing", 2, 6, 4)]),
        # an error in the middle of firing: the firing goes on, the error is its own incident
        ("ofeefo", [("firing", 2, 6, 4), ("error", 3, 5, 2)]),
        # errors, then the instance resolves: both end at the same evaluation
        ("ofeeo", [("firing", 2, 5, 3), ("error", 3, 5, 2)]),
        ("oeeo", [("error", 2, 4, 2)]),
        ("opef", [("error", 3, 4, 1), ("firing", 4, None, 1)]),
        ("fofo", [("firing", 1, 2, 1), ("firing", 3, 4, 1)]),
    ],
)
def test_stretches_of_firing_and_of_errors_are_incidents(
    script: str, spans: list[tuple[str, int, int | None, int]]
) -> None:
    assert _spans(script) == spans


def test_a_fold_goes_on_from_the_incidents_left_open() -> None:
    first = IncidentFold()
    first.add(_ev(1, State.FIRING, actual_value=12))
    first.add(_ev(2, State.ERROR, error="boom"))
    opened = first.open()
    assert [(i.kind, i.ongoing) for i in opened] == [
        (IncidentKind.FIRING, True),
        (IncidentKind.ERROR, True),
    ]
    later = IncidentFold(opened)
    touched = later.add(_ev(3, State.OK))
    assert [(i.kind, i.end_id, i.evaluations) for i in touched] == [
        (IncidentKind.ERROR, 3, 1),
        (IncidentKind.FIRING, 3, 2),
    ]
    assert later.open() == ()
    with pytest.raises(ValueError, match="has ended; only open ones go on"):
        IncidentFold(touched)


def test_the_peak_is_the_value_furthest_past_the_threshold_in_its_direction() -> None:
    f, alert = State.FIRING, Outcome.ALERT
    rising = _fold(
        [_ev(1, f, actual_value=12), _ev(2, f, actual_value=30), _ev(3, f, actual_value=30)]
    )
    (incident,) = rising
    assert (incident.peak_value, incident.peak_threshold, incident.peak_id) == (30, 10, 2)
    # a first value below its threshold (a decimal kept as text is a number): lowest wins
    (falling,) = _fold(
        [_ev(1, f, actual_value="8"), _ev(2, f, actual_value=30), _ev(3, f, actual_value=2)]
    )
    assert (falling.peak_value, falling.peak_id) == (2, 3)
    # OK evaluations while resolve_after waits do not rank, nor do texts and bools
    (waiting,) = _fold(
        [
            _ev(1, f, actual_value=12),
            _ev(2, f, outcome=Outcome.OK, actual_value=99),
            _ev(3, f, outcome=alert, actual_value=True),
        ]
    )
    assert waiting.peak_value == 12
    (text,) = _fold([_ev(1, f, actual_value="late"), _ev(2, f, actual_value="later")])
    view = incident_view("a", text)
    assert (view.peak_value, view.evaluations, view.ongoing, view.duration_seconds) == (
        "late",
        2,
        True,
        None,
    )


def test_notifications_belong_to_the_incident_they_were_sent_for() -> None:
    f = State.FIRING
    found = _fold(
        [
            _ev(1, f, actual_value=12, events=(EventKind.FIRING,), reason=Reason.FIRST_FIRING),
            _ev(2, State.ERROR, events=(EventKind.ERROR,), error="boom"),
            # the recovery from the error and a reminder in one evaluation, under a silence
            _ev(
                3,
                f,
                actual_value=13,
                events=(EventKind.RESOLVED, EventKind.REMINDER),
                reason=Reason.SILENCED,
            ),
            _ev(4, State.OK, events=(EventKind.RESOLVED,), reason=Reason.RESOLVED),
        ]
    )
    firing, error = (incident_view("a", i) for i in found)
    assert firing.notifications == {"firing": 1, "reminder": 1, "resolved": 1}
    assert (firing.evaluations, firing.silenced, firing.error) == (3, True, None)
    assert firing.duration_seconds == 180.0
    assert error.notifications == {"error": 1, "resolved": 1}
    # the evaluation that ended it was silenced: what it would have sent was muted
    assert (error.error, error.peak_value, error.evaluations, error.silenced) == (
        "boom",
        None,
        1,
        True,
    )
    # an incident that ended quietly (resolved under a silence) says so; the stored code of a
    # reason counts like the reason
    (quiet,) = _fold([_ev(1, f, actual_value=12), _ev(2, State.OK, reason="silenced")])
    view = incident_view("a", quiet)
    assert (view.notifications, view.silenced) == ({}, True)
    # an error that was never notified: its recovery sends no resolved
    (unsent,) = _fold([_ev(1, State.ERROR), _ev(2, State.OK, events=(EventKind.RESOLVED,))])
    assert unsent.notifications == {}
