"""A freshness check's asset as its task's inlet, and reading that asset's last event.

Airflow side of ``freshness: {asset: ...}`` (docs/freshness.md). The alert's task declares
the asset as an inlet by reference, ``Asset.ref(uri=...)`` or ``Asset.ref(name=...)``: a
reference matches the asset a producer declared whatever else it wrote (a producer's
``Asset(name="orders", uri="s3://warehouse/orders")`` is found by either). The task reads
the last event from ``context["inlet_events"][ref]`` (Task SDK), which the task runner builds
before ``execute`` by asking the API server for the referenced asset.

Checked in the released sources: Task SDK 1.1.8 (Airflow 3.1.8) returns the whole list of
the asset's events, oldest first; Task SDK 1.3.2 (Airflow 3.3.2) a lazy accessor that can
ask for the newest one only (``.ascending(False).limit(1)``). Both are handled here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlsentinel_airflow.core.config.assets import AssetRef
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.dags.assets import asset_reference

__all__ = ["freshness_inlets", "last_event_time"]


def freshness_inlets(alert: AlertConfig) -> list[Any]:
    """The inlets of ``alert``'s task: its freshness check's asset, if any."""
    check = alert.freshness
    if check is None or check.asset is None:
        return []
    return [asset_reference(check.asset, "freshness.asset")]


def last_event_time(context: Any) -> Callable[[AssetRef], datetime | None]:
    """The time of an inlet asset's last event in this task's ``context`` (None: none)."""

    def last(ref: AssetRef) -> datetime | None:
        events = context["inlet_events"][asset_reference(ref, "freshness.asset")]
        if hasattr(events, "ascending"):  # Task SDK 1.2+: ask for the newest event only
            newest = list(events.ascending(False).limit(1))
            return newest[0].timestamp if newest else None
        return events[-1].timestamp if events else None  # 1.1: all of them, oldest first

    return last
