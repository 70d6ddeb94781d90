"""Assets of an alert's DAG (docs/assets.md): its schedule on assets and the assets it produces.

The Airflow side of ``core/config/assets.py``:

- a leaf the alert waits for becomes ``Asset.ref(uri=...)`` / ``Asset.ref(name=...)``: the
  scheduler resolves a reference to the active asset of that URI or name, whatever name the
  producer gave it (``Asset("s3://...")``, ``Asset(name="orders", uri="s3://...")``), and
  queues the alert's DAG on an event of either (``airflow.assets.manager``, 3.1 and 3.3). A
  URI is first normalized by Airflow's own ``Asset`` (``S3://a/b/`` is ``s3://a/b``), since a
  reference matches the stored, normalized URI;
- ``AssetAll`` / ``AssetAny`` are ``&`` / ``|``; a cron with assets is ``AssetOrTimeSchedule``
  over a ``CronTriggerTimetable`` in the alert's timezone;
- ``produces`` becomes one task per distinct ``on`` (the assets its outlets), after the
  evaluation, skipped unless the evaluation's report has events of those kinds.

An asset Airflow's normalizer refuses at DAG build time (``postgres://host/db`` without
schema and table) raises :class:`AssetRefused`, which the factory turns into a located error
and a placeholder DAG, like any invalid alert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import Asset

from sqlsentinel_airflow.core.config.assets import (
    AssetAll,
    AssetCondition,
    AssetRef,
    ProducedAsset,
)
from sqlsentinel_airflow.core.config.models import AlertConfig

__all__ = [
    "AssetRefused",
    "airflow_condition",
    "airflow_schedule",
    "asset_event_extra",
    "asset_reference",
    "check_assets",
    "produced_groups",
    "produced_task_id",
    "to_airflow_asset",
]


class AssetRefused(ValueError):
    """Airflow refused one of the alert's assets; ``key`` is where it is written."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


def to_airflow_asset(ref: AssetRef, key: str) -> Asset:
    """The ``Asset`` a DAG declares (an outlet of ``produces``)."""
    try:
        if ref.uri is not None:
            return Asset(uri=ref.uri)
        return Asset(name=str(ref.name))
    except (ValueError, TypeError) as exc:
        raise AssetRefused(f"Airflow refuses the asset {ref.describe()}: {exc}", key) from None


def asset_reference(ref: AssetRef, key: str = "schedule.assets") -> Any:
    """The Task SDK reference (``AssetUriRef`` / ``AssetNameRef``) of ``ref``: what a
    schedule or an inlet names. A URI is first normalized by Airflow's own ``Asset``
    (``S3://a/b/`` is ``s3://a/b``): references are looked up by the stored, normalized URI.
    ``key``: where ``ref`` is written, for :class:`AssetRefused`."""
    if ref.uri is not None:
        return Asset.ref(uri=to_airflow_asset(ref, key).uri)
    return Asset.ref(name=str(ref.name))


def airflow_condition(condition: AssetCondition) -> Any:
    """The Airflow asset expression of ``condition`` (references joined by ``&`` / ``|``)."""
    if isinstance(condition, AssetRef):
        return asset_reference(condition)
    parts = [airflow_condition(item) for item in condition.items]
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if isinstance(condition, AssetAll) else combined | part
    return combined


def airflow_schedule(alert: AlertConfig) -> Any:
    """The DAG's ``schedule``: None when disabled, the cron string (a ``CronTriggerTimetable``
    in the ``start_date``'s timezone), the asset expression, or both as ``AssetOrTimeSchedule``."""
    if not alert.enabled:
        return None
    if alert.assets is None:
        return alert.schedule
    condition = airflow_condition(alert.assets)
    if alert.schedule is None:
        return condition
    from sqlsentinel_airflow.airflow_compat import AssetOrTimeSchedule, CronTriggerTimetable

    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(alert.schedule, timezone=alert.timezone),
        assets=condition,
    )


def check_assets(alert: AlertConfig) -> None:
    """Build every Airflow asset of ``alert`` once; :class:`AssetRefused` for the first bad one."""
    if alert.assets is not None:
        airflow_condition(alert.assets)
    for produced in alert.produces:
        to_airflow_asset(produced.asset, "produces")
    if alert.freshness is not None and alert.freshness.asset is not None:
        asset_reference(alert.freshness.asset, "freshness.asset")


# --- produces -------------------------------------------------------------------------------


def produced_groups(
    produces: Sequence[ProducedAsset],
) -> dict[tuple[str, ...], tuple[ProducedAsset, ...]]:
    """The produced assets by their ``on`` kinds, in written order: one task per group, as a
    task that succeeds updates every one of its outlets."""
    groups: dict[tuple[str, ...], list[ProducedAsset]] = {}
    for produced in produces:
        groups.setdefault(tuple(sorted(produced.on)), []).append(produced)
    return {on: tuple(items) for on, items in groups.items()}


def produced_task_id(on: Sequence[str]) -> str:
    """``produce_firing_resolved``: the task that updates the assets produced on ``on``."""
    return "produce_" + "_".join(sorted(on))


def asset_event_extra(
    report: Mapping[str, Any] | None, on: Sequence[str], *, alert: str, dag_id: str, run_id: str
) -> dict[str, Any] | None:
    """The asset event's ``extra`` for an evaluation ``report`` (the evaluate task's XCom),
    or None when it sent no event of the kinds ``on`` (or was a dry run: nothing was sent)."""
    if not report or report.get("dry_run"):
        return None
    events = [
        {
            "kind": event.get("kind"),
            "instance_key": event.get("instance_key"),
            "reason_code": event.get("reason_code"),
        }
        for event in report.get("events") or ()
        if isinstance(event, Mapping) and event.get("kind") in on
    ]
    if not events:
        return None
    return {
        "alert": alert,
        "dag_id": dag_id,
        "run_id": run_id,
        "state": report.get("state"),
        "events": events,
    }
