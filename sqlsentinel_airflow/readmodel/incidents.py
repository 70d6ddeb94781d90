"""An alert's incidents as views: what the UI's API and ``sqlsentinel incidents`` show.

The incidents themselves (each instance's stretches of FIRING or of query errors, with
their evaluations, peak and notifications) are folded by ``core.incidents`` as the history is
written, and kept by the state DB (``StateStore.incidents``): a listing reads one page of
them, whatever the length of the history (docs/ui.md, "Incidents").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlsentinel_airflow.core.incidents import IncidentKind
from sqlsentinel_airflow.readmodel.build import incident_action_view, incident_view
from sqlsentinel_airflow.readmodel.views import IncidentActionView, IncidentView
from sqlsentinel_airflow.store.store import StateStore

__all__ = ["incident_views"]


def incident_views(
    store: StateStore,
    alert_name: str,
    *,
    limit: int = 50,
    before: int | None = None,
    instance_key: str | None = None,
    since: datetime | None = None,
) -> tuple[tuple[IncidentView, ...], int | None]:
    """The alert's incidents that began before the evaluation ``before`` (an incident's id),
    newest first; with ``since``, only those still going on at that time or later. Returns
    the page and the cursor of the next one (None: no more)."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    found, more = store.incidents(
        alert_name, limit=limit, before=before, instance_key=instance_key, since=since
    )
    views = tuple(incident_view(alert_name, incident) for incident in found)
    firing = [v.started_at for v in views if v.kind is IncidentKind.FIRING]
    if firing:
        # an incident's actions name it by when it began (the instance's firing_since)
        done: dict[tuple[str, datetime | None], list[IncidentActionView]] = {}
        for action in reversed(
            store.incident_actions(alert_name, instance_key=instance_key, since=min(firing))
        ):
            done.setdefault((action.instance_key, action.firing_since), []).append(
                incident_action_view(action)
            )
        views = tuple(
            replace(v, actions=tuple(done.get((v.instance_key, v.started_at), ()))) for v in views
        )
    return views, views[-1].id if more and views else None
