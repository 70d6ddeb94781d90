"""Incidents: each instance's stretches of FIRING, or of query errors, found in the history.

What counts (the state machine's semantics, docs/adr/0002-evaluation-semantics.md):

- A **firing** incident runs from the evaluation whose state became FIRING to the first one
  whose state is neither FIRING nor ERROR. Query errors do not end it: an error leaves the
  alerting state as it was, and the instance goes on FIRING (or resolves) afterwards. The
  OK evaluations that ``resolve_after`` waits for belong to it (the state stays FIRING).
- An **error** incident is a stretch of ERROR evaluations (the query failed or broke the
  contract): monitoring was blind. It is an incident of its own, also when it lies within a
  firing incident. A keyed alert records errors on its alert-level instance ``""`` only.
- PENDING that never reached ``fire_after`` is no incident; backfill rows are left out (they
  re-evaluate the past without moving state).

How it reads (a year of a minute schedule is 525,600 rows per alert): never every row. The
database compares each row's state with the row before (``StateStore.state_changes``, a
``LAG`` window over the alert's newest rows), so only the state changes reach Python. The
scan starts with the newest :data:`FIRST_SCAN` rows and grows four-fold until the page has
``limit`` incidents that began inside it, the scan reaches ``since`` or the alert's first row,
or :data:`MAX_SCAN` rows were read. An incident still open at the oldest row read is followed
back to where it began (``StateStore.last_row_outside``: one indexed backward read) when the
page has room for it; one open at ``before`` (a later page) is followed forward to where it
ended. The figures of an incident (count, peak, notifications) are summed up in the
database over its own rows (``StateStore.incident_figures``): a few rows reach Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlsentinel_airflow.core.model import State
from sqlsentinel_airflow.readmodel.build import incident_view
from sqlsentinel_airflow.readmodel.views import IncidentKind, IncidentView
from sqlsentinel_airflow.store.records import StateChange
from sqlsentinel_airflow.store.store import StateStore

__all__ = [
    "FIRST_SCAN",
    "INSIDE",
    "MAX_SCAN",
    "IncidentPage",
    "IncidentSpan",
    "find_incidents",
    "fold_changes",
    "incident_views",
]

FIRST_SCAN = 2_000  # rows of the first scan; each further scan reads four times as many
MAX_SCAN = 1_100_000  # rows one listing reads at most (two years of a minute schedule)

INSIDE: dict[IncidentKind, frozenset[State]] = {
    IncidentKind.FIRING: frozenset({State.FIRING, State.ERROR}),
    IncidentKind.ERROR: frozenset({State.ERROR}),
}
"""The states an incident of each kind goes on through."""


@dataclass(frozen=True)
class IncidentSpan:
    """Where an incident lies in the history: the change that entered it, the one that left it
    (None: still open, as far as was read), and whether the start is known to be the true one
    (False: the instance was already in it at the oldest row read)."""

    kind: IncidentKind
    start: StateChange
    end: StateChange | None
    start_known: bool = True

    @property
    def instance_key(self) -> str:
        return self.start.instance_key


def fold_changes(
    changes: Iterable[StateChange], known_past: Callable[[str], bool]
) -> list[IncidentSpan]:
    """The incidents the state changes of an alert (oldest first) delimit, oldest first.

    ``known_past(instance_key)`` says whether the instance's first change given is its first
    evaluation or follows one outside every incident; otherwise an incident it is in at its
    first change (or a firing one it may be in beneath first errors) has an unknown start.
    A change to the state the instance already has is ignored.
    """
    spans: list[IncidentSpan] = []
    opened: dict[tuple[str, IncidentKind], tuple[StateChange, bool]] = {}
    seen: set[str] = set()
    alerting_known: set[str] = set()  # instances whose state beneath errors is known
    for change in changes:
        key = change.instance_key
        first = key not in seen
        seen.add(key)
        if first and known_past(key):
            alerting_known.add(key)
        if change.state is State.ERROR:
            if (key, IncidentKind.ERROR) not in opened:
                opened[key, IncidentKind.ERROR] = (change, not first or known_past(key))
            continue  # an error does not move the alerting state
        error = opened.pop((key, IncidentKind.ERROR), None)
        if error is not None:
            spans.append(IncidentSpan(IncidentKind.ERROR, error[0], change, error[1]))
        firing = opened.get((key, IncidentKind.FIRING))
        if change.state is State.FIRING and firing is None:
            opened[key, IncidentKind.FIRING] = (change, key in alerting_known)
        elif change.state is not State.FIRING and firing is not None:
            del opened[key, IncidentKind.FIRING]
            spans.append(IncidentSpan(IncidentKind.FIRING, firing[0], change, firing[1]))
        alerting_known.add(key)
    for (_key, kind), (start, known) in opened.items():
        spans.append(IncidentSpan(kind, start, None, known))
    return sorted(spans, key=lambda s: s.start.id)


@dataclass(frozen=True)
class IncidentPage:
    """Up to ``limit`` incidents, newest first; ``next_before``: the cursor of the next page
    (None: no more); ``rows_read``: the history rows the scans compared."""

    spans: tuple[IncidentSpan, ...]
    next_before: int | None
    rows_read: int


def find_incidents(
    store: StateStore,
    alert_name: str,
    *,
    limit: int = 50,
    before: int | None = None,
    instance_key: str | None = None,
    since: datetime | None = None,
) -> IncidentPage:
    """The alert's incidents that began before the evaluation ``before`` (an incident's id),
    newest first; with ``since``, only those still going on at that time or later."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    changes: list[StateChange] = []
    below, size, rows_read, reached = before, FIRST_SCAN, 0, False
    while True:
        scan = store.state_changes(
            alert_name, below_id=below, newest=size, instance_key=instance_key
        )
        changes[:0] = scan.changes
        rows_read += scan.rows_read
        reached = scan.reached_first_row
        if scan.lowest_id is None or reached:
            break
        below = scan.lowest_id
        whole = [s for s in fold_changes(changes, lambda _k: False) if s.start_known]
        if len(whole) >= limit or rows_read >= MAX_SCAN:
            break
        if since is not None and changes[0].evaluated_at < since:
            break
        size *= 4

    def past_known(_key: str) -> bool:
        return reached

    spans = fold_changes(changes, past_known)
    if not reached and below is not None and sum(s.start_known for s in spans) < limit:
        # room on the page: follow the incidents open at the oldest row read back to their start
        extended: set[str] = set()
        for key in sorted({s.instance_key for s in spans if not s.start_known}):
            calm = store.last_row_outside(alert_name, key, below, INSIDE[IncidentKind.FIRING])
            earlier = store.state_changes(
                alert_name, above_id=calm, below_id=below, instance_key=key
            )
            changes[:0] = earlier.changes
            rows_read += earlier.rows_read
            extended.add(key)
        changes.sort(key=lambda c: c.id)
        spans = fold_changes(changes, lambda key: key in extended)
    shown = [
        s
        for s in reversed(spans)
        if s.start_known and (since is None or s.end is None or s.end.evaluated_at >= since)
    ]
    page = shown[:limit]
    if before is not None:  # an incident open at `before` may have ended after it
        page = [_ended_after(store, alert_name, s, before) if s.end is None else s for s in page]
    more = len(shown) > limit or (len(page) == limit and not reached)
    return IncidentPage(tuple(page), page[-1].start.id if more and page else None, rows_read)


def _ended_after(
    store: StateStore, alert_name: str, span: IncidentSpan, before: int
) -> IncidentSpan:
    end = store.next_row_outside(alert_name, span.instance_key, before, INSIDE[span.kind])
    return IncidentSpan(span.kind, span.start, end, span.start_known)


def incident_views(
    store: StateStore,
    alert_name: str,
    *,
    limit: int = 50,
    before: int | None = None,
    instance_key: str | None = None,
    since: datetime | None = None,
) -> tuple[tuple[IncidentView, ...], int | None]:
    """The page of :func:`find_incidents` as views (what the CLI and the API show), and the
    cursor of the next page."""
    page = find_incidents(
        store, alert_name, limit=limit, before=before, instance_key=instance_key, since=since
    )
    views = tuple(
        incident_view(
            alert_name,
            span,
            store.incident_figures(
                alert_name,
                span.instance_key,
                span.start.id,
                span.end.id if span.end is not None else None,
                peaks=span.kind is IncidentKind.FIRING,
            ),
        )
        for span in page.spans
    )
    return views, page.next_before
