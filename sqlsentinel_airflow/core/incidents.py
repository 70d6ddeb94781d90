"""Incidents: an instance's stretches of FIRING, or of query errors, folded one evaluation at
a time. Pure: the state DB keeps them up to date as it writes history (``store``), and a
backtest folds simulated evaluations the same way.

What counts (the state machine's semantics, docs/adr/0002-evaluation-semantics.md):

- A **firing** incident runs from the evaluation whose state became FIRING to the first one
  whose state is neither FIRING, FLAPPING nor ERROR. Query errors do not end it: an error
  leaves the alerting state as it was. A flap is one incident until it settles OK, however
  often the state changed underneath (a flap that began from OK opens one). The OK evaluations that ``resolve_after`` waits for belong to it
  (the state stays FIRING).
- An **error** incident is a stretch of ERROR evaluations (the query failed or broke the
  contract): monitoring was blind. It is an incident of its own, also when it lies within a
  firing incident. A keyed alert records errors on its alert-level instance ``""`` only.
- PENDING that never reached ``fire_after`` is no incident; backfill evaluations are not
  folded (they re-evaluate the past without moving state).

What an incident adds up to: its evaluations (the one that ended it not counted), how many
a silence muted (that one counted), its peak and the notifications sent for it. The peak is
the value furthest past the threshold among its ALERT evaluations with a numeric value: the
highest if the first evaluation's value was at or above its threshold (or either is not a
number), else the lowest; the earliest of equals; the first evaluation when none is numeric.
Notifications: for a firing incident its ``firing``, ``reminder`` and ``flapping`` events
and the ``resolved`` that ended it (the ``error`` and recovery ``resolved`` events of errors within
it belong to the error incident); for an error incident its ``error`` events and the
recovery ``resolved`` that followed a notified error.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlsentinel_airflow.core.jsonvalues import as_number
from sqlsentinel_airflow.core.model import EventKind, JsonValue, Outcome, Reason, State

__all__ = ["Evaluated", "Incident", "IncidentFold", "IncidentKind", "PeakDirection"]


class IncidentKind(str, enum.Enum):
    """What an incident is a stretch of."""

    FIRING = "firing"  # the instance was FIRING (query errors in between do not end it)
    ERROR = "error"  # the query failed (or broke the contract) evaluation after evaluation


class PeakDirection(str, enum.Enum):
    """Which way a firing incident's values go past the threshold, fixed by its first one."""

    HIGH = "high"
    LOW = "low"


@dataclass(frozen=True)
class Evaluated:
    """What the fold needs of one (non-backfill) evaluation of one instance."""

    id: int  # increasing with time: a history id, or a tick number in a backtest
    instance_key: str
    evaluated_at: datetime
    state: State  # as recorded: ERROR for a query error
    outcome: Outcome
    reason: Reason | str | None = None
    actual_value: JsonValue = None
    threshold: JsonValue = None
    events: tuple[EventKind, ...] = ()  # the events this evaluation enqueued
    error: str | None = None
    run_id: str | None = None
    dag_id: str | None = None
    key_values: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Incident:
    """One incident of one instance, as far as folded: ``end_id`` None while it goes on."""

    kind: IncidentKind
    instance_key: str
    start_id: int
    started_at: datetime
    start_run_id: str | None = None
    dag_id: str | None = None
    key_values: dict[str, JsonValue] = field(default_factory=dict)
    end_id: int | None = None
    ended_at: datetime | None = None
    end_run_id: str | None = None
    evaluations: int = 1
    silenced: int = 0
    peak_id: int | None = None
    peak_at: datetime | None = None
    peak_value: JsonValue = None
    peak_threshold: JsonValue = None
    peak_direction: PeakDirection | None = None  # firing only
    peak_ranked: bool = False  # the peak is a numeric ALERT value (else: the first evaluation)
    notifications: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # the query error an error incident began with

    @property
    def ongoing(self) -> bool:
        return self.end_id is None

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class IncidentFold:
    """The incidents of ONE instance, fed its evaluations in id order.

    Start from nothing (the instance's first evaluation) or from the incidents still open
    after the evaluations folded before (as the state DB stores them). ``add`` returns the
    incidents the evaluation opened, continued or closed, in their new form: what the store
    writes back.
    """

    def __init__(self, open_incidents: tuple[Incident, ...] = ()) -> None:
        self._open: dict[IncidentKind, Incident] = {}
        for incident in open_incidents:
            if not incident.ongoing:
                raise ValueError(f"incident {incident.start_id} has ended; only open ones go on")
            self._open[incident.kind] = incident

    def open(self) -> tuple[Incident, ...]:
        return tuple(sorted(self._open.values(), key=lambda i: i.start_id))

    def add(self, e: Evaluated) -> tuple[Incident, ...]:
        touched: list[Incident] = []
        error = self._open.get(IncidentKind.ERROR)
        firing = self._open.get(IncidentKind.FIRING)
        if e.state is State.ERROR:
            error = _opened(IncidentKind.ERROR, e) if error is None else _counted(error, e)
            self._open[IncidentKind.ERROR] = error
            touched.append(error)
            if firing is not None:  # an error does not move the alerting state
                firing = _counted(firing, e)
                self._open[IncidentKind.FIRING] = firing
                touched.append(firing)
            return tuple(touched)
        if error is not None:
            del self._open[IncidentKind.ERROR]
            touched.append(_ended(error, e))
        alerting = e.state is State.FIRING or e.state is State.FLAPPING
        if firing is None and alerting:
            firing = _opened(IncidentKind.FIRING, e)
            self._open[IncidentKind.FIRING] = firing
            touched.append(firing)
        elif firing is not None and alerting:
            firing = _counted(firing, e)
            self._open[IncidentKind.FIRING] = firing
            touched.append(firing)
        elif firing is not None:
            del self._open[IncidentKind.FIRING]
            touched.append(_ended(firing, e))
        return tuple(touched)


def _mine(kind: IncidentKind) -> tuple[EventKind, ...]:
    if kind is IncidentKind.FIRING:
        return (EventKind.FIRING, EventKind.REMINDER, EventKind.FLAPPING)
    return (EventKind.ERROR,)


def _sent(notifications: dict[str, int], kinds: tuple[EventKind, ...]) -> dict[str, int]:
    if not kinds:
        return notifications
    sent = dict(notifications)
    for kind in kinds:
        sent[kind.value] = sent.get(kind.value, 0) + 1
    return sent


def _silenced(e: Evaluated) -> int:
    return 1 if e.reason in (Reason.SILENCED, Reason.SILENCED.code) else 0


def _opened(kind: IncidentKind, e: Evaluated) -> Incident:
    firing = kind is IncidentKind.FIRING
    mine = _mine(kind)
    incident = Incident(
        kind=kind,
        instance_key=e.instance_key,
        start_id=e.id,
        started_at=e.evaluated_at,
        start_run_id=e.run_id,
        dag_id=e.dag_id,
        key_values=dict(e.key_values),
        silenced=_silenced(e),
        notifications=_sent({}, tuple(k for k in e.events if k in mine)),
        error=None if firing else e.error,
    )
    if not firing:
        return incident
    value, threshold = as_number(e.actual_value), as_number(e.threshold)
    lower = value is not None and threshold is not None and value < threshold
    incident = dataclasses.replace(
        incident,
        peak_id=e.id,
        peak_at=e.evaluated_at,
        peak_value=e.actual_value,
        peak_threshold=e.threshold,
        peak_direction=PeakDirection.LOW if lower else PeakDirection.HIGH,
    )
    return _peaked(incident, e)


def _counted(incident: Incident, e: Evaluated) -> Incident:
    """``incident`` with one more evaluation inside it."""
    mine = _mine(incident.kind)
    changed = dataclasses.replace(
        incident,
        evaluations=incident.evaluations + 1,
        silenced=incident.silenced + _silenced(e),
        notifications=_sent(incident.notifications, tuple(k for k in e.events if k in mine)),
    )
    return _peaked(changed, e) if incident.kind is IncidentKind.FIRING else changed


_RESOLVED = frozenset({Reason.RESOLVED, Reason.RESOLVED.code})
_SETTLED = frozenset({Reason.SETTLED_OK, Reason.SETTLED_OK.code})  # resolved if it was told


def _ended(incident: Incident, e: Evaluated) -> Incident:
    """``incident`` left at ``e`` (which is not counted among its evaluations)."""
    if incident.kind is IncidentKind.FIRING:
        resolved = e.reason in _RESOLVED or (
            e.reason in _SETTLED and EventKind.RESOLVED in e.events
        )
    else:
        resolved = bool(incident.notifications.get(EventKind.ERROR.value)) and (
            EventKind.RESOLVED in e.events
        )
    return dataclasses.replace(
        incident,
        end_id=e.id,
        ended_at=e.evaluated_at,
        end_run_id=e.run_id,
        silenced=incident.silenced + _silenced(e),
        notifications=_sent(incident.notifications, (EventKind.RESOLVED,) if resolved else ()),
    )


def _peaked(incident: Incident, e: Evaluated) -> Incident:
    """``incident`` with ``e`` as its peak if ``e`` is further past the threshold."""
    if e.outcome is not Outcome.ALERT:
        return incident
    value = e.actual_value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return incident  # only JSON numbers rank
    if incident.peak_ranked:
        current = float(incident.peak_value)
        further = (
            value < current if incident.peak_direction is PeakDirection.LOW else value > current
        )
        if not further:  # the earliest of equals stays
            return incident
    return dataclasses.replace(
        incident,
        peak_id=e.id,
        peak_at=e.evaluated_at,
        peak_value=value,
        peak_threshold=e.threshold,
        peak_ranked=True,
    )
