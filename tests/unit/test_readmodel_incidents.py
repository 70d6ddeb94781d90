"""Folding state changes into incidents, and an incident's figures from its evaluations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.core.model import EventKind, Outcome, Reason, State
from sqlsentinel_airflow.readmodel import IncidentKind, incident_view
from sqlsentinel_airflow.readmodel.incidents import IncidentSpan, fold_changes
from sqlsentinel_airflow.store.records import HistoryEntry, IncidentFigures, StateChange

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
LETTERS = {"o": State.OK, "p": State.PENDING, "f": State.FIRING, "e": State.ERROR}


def _changes(script: str, key: str = "", first_id: int = 1) -> list[StateChange]:
    """One evaluation a minute per letter (o ok, p pending, f firing, e error)."""
    return [
        StateChange(
            id=first_id + n,
            instance_key=key,
            evaluated_at=T0 + timedelta(minutes=first_id + n),
            state=LETTERS[letter],
            run_id=f"r{first_id + n}",
        )
        for n, letter in enumerate(script)
    ]


def _spans(script: str, known: bool = True) -> list[tuple[str, int, int | None, bool]]:
    return [
        (s.kind.value, s.start.id, s.end.id if s.end else None, s.start_known)
        for s in fold_changes(_changes(script), lambda _key: known)
    ]


@pytest.mark.parametrize(
    ("script", "spans"),
    [
        ("oooo", []),
        ("oppoo", []),  # pending that never fired is no incident
        ("opffo", [("firing", 3, 5, True)]),
        ("offff", [("firing", 2, None, True)]),  # still open
        # resolve_after: the state stays FIRING through the OKs it waits for
        ("offffo", [("firing", 2, 6, True)]),
        # an error in the middle of firing: the firing goes on, the error is its own incident
        ("ofeefo", [("firing", 2, 6, True), ("error", 3, 5, True)]),
        # errors, then the instance resolves: both end at the same evaluation
        ("ofeeo", [("firing", 2, 5, True), ("error", 3, 5, True)]),
        ("oeeo", [("error", 2, 4, True)]),
        ("opef", [("error", 3, 4, True), ("firing", 4, None, True)]),
        ("fofo", [("firing", 1, 2, True), ("firing", 3, 4, True)]),
    ],
)
def test_stretches_of_firing_and_of_errors_are_incidents(
    script: str, spans: list[tuple[str, int, int | None, bool]]
) -> None:
    assert _spans(script) == spans


def test_an_incident_open_at_the_start_of_the_window_has_no_known_start() -> None:
    assert _spans("ffo", known=False) == [("firing", 1, 3, False)]
    # under first errors the alerting state is not known either: a firing after them may
    # be the same incident as one before the window
    assert _spans("eefo", known=False) == [("error", 1, 3, False), ("firing", 3, 4, False)]
    assert _spans("oefo", known=False) == [("error", 2, 3, True), ("firing", 3, 4, True)]


def test_instances_are_folded_apart_and_repeated_states_are_ignored() -> None:
    changes = sorted(
        _changes("offo", key="a") + _changes("ff", key="b", first_id=10),
        key=lambda c: c.id,
    )
    spans = fold_changes(changes, lambda key: key == "b")
    assert [(s.instance_key, s.start.id, s.end.id if s.end else None) for s in spans] == [
        ("a", 2, 4),
        ("b", 10, None),
    ]


def _row(n: int, outcome: Outcome, value: object, **kwargs: object) -> HistoryEntry:
    return HistoryEntry(
        id=n,
        alert_name="a",
        evaluated_at=T0 + timedelta(minutes=n),
        outcome=outcome,
        state=State.FIRING,
        actual_value=value,  # type: ignore[arg-type]
        threshold=10,
        **kwargs,  # type: ignore[arg-type]
    )


def _span(kind: IncidentKind, start: int, end: int | None) -> IncidentSpan:
    (first,) = _changes("f", first_id=start)
    last = _changes("o", first_id=end)[0] if end is not None else None
    return IncidentSpan(kind, first, last)


def test_the_peak_is_the_value_furthest_past_the_threshold_in_its_direction() -> None:
    alert = Outcome.ALERT
    high, low = _row(5, alert, 30), _row(6, alert, 2)
    span = _span(IncidentKind.FIRING, 1, None)
    rising = IncidentFigures(4, 0, (_row(1, alert, 12),), highest=high, lowest=low)
    view = incident_view("a", span, rising)
    assert (view.peak_value, view.peak_threshold, view.peak_at) == (30, 10, high.evaluated_at)
    falling = IncidentFigures(4, 0, (_row(1, alert, "8"),), highest=high, lowest=low)
    assert incident_view("a", span, falling).peak_value == 2  # a decimal kept as text: a number
    text = IncidentFigures(2, 0, (_row(1, alert, "late"),))
    view = incident_view("a", span, text)
    assert (view.peak_value, view.evaluations, view.ongoing, view.duration_seconds) == (
        "late",
        2,
        True,
        None,
    )


def test_notifications_belong_to_the_incident_they_were_sent_for() -> None:
    alert, ok = Outcome.ALERT, Outcome.OK
    rows = [
        _row(1, alert, 12, events=(EventKind.FIRING,), reason=Reason.FIRST_FIRING),
        _row(2, Outcome.ERROR, None, events=(EventKind.ERROR,), error="boom"),
        # the recovery from the error and a reminder in one evaluation
        _row(3, alert, 13, events=(EventKind.RESOLVED, EventKind.REMINDER), reason=Reason.SILENCED),
        _row(4, ok, 3, events=(EventKind.RESOLVED,), reason=Reason.RESOLVED),
    ]
    view = incident_view("a", _span(IncidentKind.FIRING, 1, 4), IncidentFigures(3, 1, tuple(rows)))
    assert view.notifications == {"firing": 1, "reminder": 1, "resolved": 1}
    assert (view.evaluations, view.silenced, view.error) == (3, True, None)
    assert view.duration_seconds == 180.0
    error = incident_view(
        "a", _span(IncidentKind.ERROR, 2, 3), IncidentFigures(1, 0, tuple(rows[1:3]))
    )
    assert error.notifications == {"error": 1, "resolved": 1}
    assert (error.error, error.peak_value, error.evaluations, error.silenced) == (
        "boom",
        None,
        1,
        False,
    )
    # an incident that ended quietly (resolved under a silence) says so
    quiet = (_row(1, alert, 12), _row(2, ok, 3, reason=Reason.SILENCED))
    view = incident_view("a", _span(IncidentKind.FIRING, 1, 2), IncidentFigures(1, 1, quiet))
    assert (view.notifications, view.silenced) == ({}, True)
