"""What changed between two versions of an alerts file: added, removed and changed alerts.

The config watch logs this diff after every edit and returns it as XCom, so a reviewer sees
what a deploy did ("schedule of `orders_backlog`: `*/5 * * * *` -> `* * * * *`").

The previous version is kept between DAG runs as a *snapshot* (JSON in an Airflow
Variable), and a snapshot must never hold a secret: settings that are plainly not secret
(schedule, severity, conn_id, ...) are kept as values, everything else (the SQL, the
description, the channels with their URLs and headers) only as a truncated SHA-256, enough
to say "the query changed" without storing it. Settings the alerts file did not set but the
package derived (``slug``, the SQL ``dialect``) or that only say where the alert is written
(``source_file``, ``source_line``, ...) are left out: moving an alert within the file is not
a change.

Pure Python: no Airflow import.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlsentinel_airflow.core.config.assets import (
    AssetAll,
    AssetAny,
    AssetRef,
    ProducedAsset,
    describe,
)
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.durations import format_duration
from sqlsentinel_airflow.core.redact import secret_field_names

__all__ = [
    "SHOWN_FIELDS",
    "AlertSnapshot",
    "ConfigDiff",
    "FieldChange",
    "diff_snapshots",
    "snapshot_alert",
    "snapshot_alerts",
]

SHOWN_FIELDS = (
    "dag_id",
    "schedule",
    "assets",  # shown as describe() text: `s3://a and s3://b`
    "produces",
    "enabled",
    "timezone",
    "severity",
    "conn_id",
    "owner",
    "tags",
    "key_columns",
    "timeout",
    "retries",
    "retry_delay",
    "fire_after",
    "resolve_after",
    "renotify_after",
    "notify_on_recovery",
    "notify_on_error",
    "fail_task_on_alert",
    "max_rows",
    "query_file",
)
"""Settings whose values are shown in the diff; every other setting is compared by hash.
A setting declared secret on the model (``core.redact.SECRET``) is only hashed, even if
listed here."""

_IGNORED_FIELDS = frozenset({"name", "slug", "dialect"})
# Settings newer than some stored snapshots: left out while empty, so an alert without any
# reads as it did before them, not as changed, after an upgrade
_LEFT_OUT_EMPTY = frozenset(
    {
        "mute_windows",
        "ack_rearm_factor",
        "escalation",
        "escalation_receivers",
        "escalation_from",
        "assets",
        "produces",
    }
)
# ... and so are the keys they added inside ``routing`` (and its hits)
_ROUTING_LEFT_OUT_EMPTY = ("escalation", "escalation_from", "escalation_applied")
_WHERE_WRITTEN = "source_"  # source_file, source_line, source_index: where, not what
_DIGEST_CHARS = 16

AlertSnapshot = dict[str, Any]
"""``{"values": {setting: JSON value}, "hashes": {setting: truncated sha256}}``."""


def _shown(value: Any) -> Any:
    if isinstance(value, (AssetRef, AssetAll, AssetAny)):
        return describe(value)
    if isinstance(value, ProducedAsset):
        return value.describe()
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, tuple):
        return [_shown(v) for v in value]
    return value


def _hash(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]


def snapshot_alert(alert: AlertConfig) -> AlertSnapshot:
    """The secret-free comparable form of one alert."""
    dumped = alert.model_dump(mode="json")  # hashed only: a secret changing is still a change
    if isinstance(dumped.get("routing"), dict):
        dumped["routing"] = _without_empty_escalation(dumped["routing"])
    secret = secret_field_names(alert)
    values = {
        name: _shown(getattr(alert, name))
        for name in SHOWN_FIELDS
        if name in dumped
        and name not in secret
        and not (name in _LEFT_OUT_EMPTY and not dumped[name])
    }
    hashes = {
        name: _hash(value)
        for name, value in sorted(dumped.items())
        if name not in values
        and name not in _IGNORED_FIELDS
        and not name.startswith(_WHERE_WRITTEN)
        and not (name in _LEFT_OUT_EMPTY and not value)
    }
    return {"values": values, "hashes": hashes}


def _without_empty_escalation(routing: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in routing.items() if not (k in _ROUTING_LEFT_OUT_EMPTY and not v)}
    kept["hits"] = [
        {k: v for k, v in hit.items() if not (k in _ROUTING_LEFT_OUT_EMPTY and not v)}
        for hit in routing.get("hits") or ()
    ]
    return kept


def snapshot_alerts(alerts: Iterable[AlertConfig]) -> dict[str, AlertSnapshot]:
    """The snapshot of every alert, by name."""
    return {alert.name: snapshot_alert(alert) for alert in alerts}


@dataclass(frozen=True)
class FieldChange:
    """One changed setting; ``before``/``after`` only for settings in ``SHOWN_FIELDS``."""

    field: str
    shown: bool
    before: Any = None
    after: Any = None

    def describe(self) -> str:
        if not self.shown:
            return f"{self.field} changed"
        return f"{self.field}: {json.dumps(self.before)} -> {json.dumps(self.after)}"

    def to_dict(self) -> dict[str, Any]:
        if not self.shown:
            return {"field": self.field}
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class ConfigDiff:
    """Alerts added, removed and changed (with the settings that changed), sorted by name."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: Mapping[str, tuple[FieldChange, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def lines(self) -> list[str]:
        """Human-readable lines for the task log."""
        if self.empty:
            return ["no alert was added, removed or changed"]
        out = [f"added: {name}" for name in self.added]
        out += [f"removed: {name}" for name in self.removed]
        for name, changes in self.changed.items():
            out.append(f"changed: {name} ({'; '.join(c.describe() for c in changes)})")
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON form returned as XCom."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": {
                name: [c.to_dict() for c in changes] for name, changes in self.changed.items()
            },
        }


def _field_changes(before: AlertSnapshot, after: AlertSnapshot) -> tuple[FieldChange, ...]:
    changes: list[FieldChange] = []
    old_values, new_values = before.get("values", {}), after.get("values", {})
    for name in [n for n in SHOWN_FIELDS if n in old_values or n in new_values]:
        if old_values.get(name) != new_values.get(name):
            changes.append(FieldChange(name, True, old_values.get(name), new_values.get(name)))
    old_hashes, new_hashes = before.get("hashes", {}), after.get("hashes", {})
    for name in sorted(set(old_hashes) | set(new_hashes)):
        if old_hashes.get(name) != new_hashes.get(name):
            changes.append(FieldChange(name, False))
    return tuple(changes)


def diff_snapshots(
    before: Mapping[str, AlertSnapshot], after: Mapping[str, AlertSnapshot]
) -> ConfigDiff:
    """The diff from ``before`` to ``after`` (both from :func:`snapshot_alerts`)."""
    changed: dict[str, tuple[FieldChange, ...]] = {}
    for name in sorted(set(before) & set(after)):
        changes = _field_changes(before[name], after[name])
        if changes:
            changed[name] = changes
    return ConfigDiff(
        added=tuple(sorted(set(after) - set(before))),
        removed=tuple(sorted(set(before) - set(after))),
        changed=changed,
    )
