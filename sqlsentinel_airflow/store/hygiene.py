"""The state database's facts behind the monthly report (docs/operations.md, "The monthly report").

Every statement reads an index range, never an alert's whole history, so the report stays
fast on a year of state:

- firing incidents that ended in the window: ``incidents`` by ``ended_at`` (the ongoing ones
  are the instances' ``firing_since`` in the small ``state`` table);
- notifications delivered per alert: ``outbox`` by ``(status, created_at)``, grouped;
- query durations: each alert's newest ``samples`` evaluations in the window, read backwards
  from the ``(alert_name, id)`` index from the first id of the window (found once through
  ``evaluated_at``): one ``LATERAL`` statement on PostgreSQL, one per alert elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ARRAY, Connection, Text, bindparam, column, func, select, true

from sqlsentinel_airflow.core.incidents import IncidentKind
from sqlsentinel_airflow.store.inlists import in_list_chunks
from sqlsentinel_airflow.store.records import OutboxStatus
from sqlsentinel_airflow.store.tables import history, incidents, outbox

__all__ = ["EndedFiring", "HygieneFacts", "read_hygiene_facts"]


@dataclass(frozen=True)
class EndedFiring:
    """A firing incident that ended inside the window."""

    alert_name: str
    instance_key: str
    started_at: datetime
    ended_at: datetime


@dataclass(frozen=True)
class HygieneFacts:
    """What the report needs from the state DB besides the instances' states."""

    ended_firing: tuple[EndedFiring, ...]
    delivered: dict[str, int]  # notifications delivered per alert (created in the window)
    durations: dict[str, list[int]]  # each alert's newest query durations (ms) in the window


def read_hygiene_facts(
    conn: Connection, alert_names: Sequence[str], since: datetime, samples: int
) -> HygieneFacts:
    names = set(alert_names)
    i = incidents.c
    ended = tuple(
        EndedFiring(name, key, started, ended_at)
        for name, key, started, ended_at in conn.execute(
            select(i.alert_name, i.instance_key, i.started_at, i.ended_at).where(
                i.ended_at >= since, i.kind == IncidentKind.FIRING.value
            )
        ).all()
        if name in names
    )
    o = outbox.c
    delivered = {
        name: int(n)
        for name, n in conn.execute(
            select(o.alert_name, func.count())
            .where(o.status == OutboxStatus.DELIVERED.value, o.created_at >= since)
            .group_by(o.alert_name)
        ).all()
        if name in names
    }
    return HygieneFacts(ended, delivered, _durations(conn, alert_names, since, samples))


def _durations(
    conn: Connection, alert_names: Sequence[str], since: datetime, samples: int
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {name: [] for name in alert_names}
    h = history.c
    first = conn.execute(
        select(h.id).where(h.evaluated_at >= since).order_by(h.evaluated_at).limit(1)
    ).scalar()
    if first is None or not found:
        return found
    in_window = (h.id >= first, h.evaluated_at >= since, h.duration_ms.is_not(None))
    if conn.dialect.name != "postgresql":
        query = (
            select(h.duration_ms)
            .where(h.alert_name == bindparam("name"), *in_window)
            .order_by(h.id.desc())
            .limit(samples)
        )
        for name in found:
            found[name] = [int(d) for d in conn.scalars(query, {"name": name})]
        return found
    for names in in_list_chunks(list(found)):
        wanted = (
            func.unnest(bindparam("names", names, type_=ARRAY(Text)))
            .table_valued(column("name", Text))
            .render_derived(name="wanted")
        )
        newest = (
            select(h.alert_name, h.duration_ms)
            .where(h.alert_name == wanted.c.name, *in_window)
            .order_by(h.id.desc())
            .limit(samples)
            .lateral()
        )
        for name, duration in conn.execute(
            select(newest.c.alert_name, newest.c.duration_ms)
            .select_from(wanted)
            .join(newest, true())
        ).all():
            found[name].append(int(duration))
    return found
