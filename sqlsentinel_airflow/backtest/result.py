"""What a backtest found: a frozen tree, JSON by one method (:meth:`BacktestResult.to_dict`).

A backtest runs one alert's evaluations over a time range through the real state machine
(docs/backtests.md) under its current policy and, optionally, a proposed one. The result
holds, once, the values the evaluations saw (one :class:`ValueSeries` per instance: parallel
arrays, compact enough for a year of a minute schedule) and, per policy, what the alert
would have done (:class:`PolicyRun`: incidents and counts). The CLI prints it, ``--format
json`` writes :meth:`BacktestResult.to_dict`, and the plot and the UI panel draw it.

JSON conventions are the read model's: lower-case enum values, RFC 3339 UTC times
(``core/clock.py``), durations in seconds.
"""

from __future__ import annotations

import enum
import math
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.jsonvalues import as_number
from sqlsentinel_airflow.core.model import EventKind, FlapPolicy, JsonValue, Policy

__all__ = [
    "CURRENT",
    "POLICY_KEYS",
    "PROPOSED",
    "BacktestIncident",
    "BacktestResult",
    "ChannelInfo",
    "Counts",
    "PolicyRun",
    "PolicySettings",
    "Source",
    "ValueSeries",
]

CURRENT = "current"
PROPOSED = "proposed"

IncidentKindName = Literal["firing", "error"]

POLICY_KEYS = (
    "fire_after",
    "resolve_after",
    "renotify_after",
    "notify_on_recovery",
    "notify_on_error",
)
"""The alert settings a backtest may change (``--set``): those of ``core.model.Policy``."""


class Source(str, enum.Enum):
    """Where the evaluations came from."""

    REPLAY = "replay"  # the values recorded in the state DB's history, decided again
    AS_OF = "as_of"  # the alert's query run as of every schedule tick


def _epoch(value: datetime) -> float:
    if value.tzinfo is None:  # the engine's times are aware; a naive one is UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _number(value: JsonValue) -> float:
    """A value as a chart draws it (``core.jsonvalues.as_number``); NaN when it is not one."""
    number = as_number(value)
    return math.nan if number is None else number


_PLAIN = frozenset({int, float})


def _json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class ValueSeries:
    """What one instance's evaluations saw, in time order, as parallel arrays.

    ``times`` are POSIX seconds (UTC); ``values`` and ``thresholds`` are floats with NaN where
    the evaluation had no numeric value (an error, a text value, no ``actual_value``). Arrays,
    not lists of objects: a year of a minute schedule is 525,600 points (about 12 MB).
    Treat them as read-only. :meth:`downsampled` thins them for display.
    """

    instance_key: str
    key_values: dict[str, JsonValue] = field(default_factory=dict)
    times: array[float] = field(default_factory=lambda: array("d"))
    values: array[float] = field(default_factory=lambda: array("d"))
    thresholds: array[float] = field(default_factory=lambda: array("d"))

    def __len__(self) -> int:
        return len(self.times)

    def append(self, at: datetime, value: JsonValue, threshold: JsonValue) -> None:
        """Add one point (the engine builds a series in order; nothing else should)."""
        self.times.append(_epoch(at))
        # plain numbers first: a replay appends 525,600 of them
        self.values.append(float(value) if type(value) in _PLAIN else _number(value))
        self.thresholds.append(
            float(threshold) if type(threshold) in _PLAIN else _number(threshold)
        )

    def downsampled(self, max_points: int) -> ValueSeries:
        """At most about ``max_points`` points that keep the shape: the series cut into
        ``max_points // 2`` buckets, each kept as its lowest and its highest value (in time
        order), so a spike survives thinning. The series itself when it is short enough."""
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2, got {max_points}")
        n = len(self.times)
        if n <= max_points:
            return self
        buckets = max_points // 2
        times, values, thresholds = array("d"), array("d"), array("d")
        for b in range(buckets):
            lo, hi = b * n // buckets, (b + 1) * n // buckets
            chosen = _extremes(self.values, lo, hi)
            for i in chosen:
                times.append(self.times[i])
                values.append(self.values[i])
                thresholds.append(self.thresholds[i])
        return ValueSeries(self.instance_key, dict(self.key_values), times, values, thresholds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "instance_key": self.instance_key,
            "key_values": dict(self.key_values),
            "times": [rfc3339(datetime.fromtimestamp(t, timezone.utc)) for t in self.times],
            "values": [_json_number(v) for v in self.values],
            "thresholds": [_json_number(v) for v in self.thresholds],
        }


def _extremes(values: array[float], lo: int, hi: int) -> list[int]:
    """The indexes of the lowest and highest number in ``values[lo:hi]``, in order (the first
    index when the bucket has no number)."""
    low = high = -1
    for i in range(lo, hi):
        v = values[i]
        if math.isnan(v):
            continue
        if low < 0 or v < values[low]:
            low = i
        if high < 0 or v > values[high]:
            high = i
    if low < 0:
        return [lo]
    return sorted({low, high})


@dataclass(frozen=True)
class PolicySettings:
    """The state machine's knobs a run used (``core.model.Policy``), as alerts.yaml spells
    them; ``changed`` names those that differ from the alert's current policy."""

    fire_after: int
    resolve_after: int
    renotify_after: timedelta | None
    notify_on_recovery: bool
    notify_on_error: int | None
    changed: tuple[str, ...] = ()
    flap: FlapPolicy | None = None  # the alert's flap_detection, kept (never changed by --set)

    @classmethod
    def of(cls, policy: Policy, current: Policy | None = None) -> PolicySettings:
        changed: tuple[str, ...] = ()
        if current is not None:
            changed = tuple(
                name for name in POLICY_KEYS if getattr(policy, name) != getattr(current, name)
            )
        return cls(
            fire_after=policy.fire_after,
            resolve_after=policy.resolve_after,
            renotify_after=policy.renotify_after,
            notify_on_recovery=policy.notify_on_recovery,
            notify_on_error=policy.notify_on_error,
            changed=changed,
            flap=policy.flap,
        )

    @property
    def policy(self) -> Policy:
        return Policy(
            fire_after=self.fire_after,
            resolve_after=self.resolve_after,
            renotify_after=self.renotify_after,
            notify_on_recovery=self.notify_on_recovery,
            notify_on_error=self.notify_on_error,
            flap=self.flap,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "fire_after": self.fire_after,
            "resolve_after": self.resolve_after,
            "renotify_after_seconds": (
                None if self.renotify_after is None else self.renotify_after.total_seconds()
            ),
            "notify_on_recovery": self.notify_on_recovery,
            "notify_on_error": self.notify_on_error,
            "changed": list(self.changed),
        }


@dataclass(frozen=True)
class ChannelInfo:
    """One channel of the alert: its stable id (``core/events.channel_id``), its kind and
    its public destination (never a secret)."""

    id: str
    kind: str
    destination: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "destination": self.destination}


def _per_channel(
    events: Mapping[str, int], channels: Iterable[ChannelInfo]
) -> dict[str, dict[str, int]]:
    """Every event goes to every channel of the alert (``evaluation._enqueue``)."""
    return {c.id: {kind: n for kind, n in events.items() if n} for c in channels}


@dataclass(frozen=True)
class BacktestIncident:
    """One incident the run would have had: a stretch of FIRING (``firing``) or of query
    errors (``error``) of one instance, with the semantics of ``core/incidents.py``.

    ``ended_at`` None: still going on at the end of the range (``duration_seconds`` then
    runs to the range's end). ``notifications``: event kind -> events the incident sent
    (each goes to every channel: :meth:`per_channel`). The peak is the ALERT evaluation with
    the highest numeric value (firing incidents only).
    """

    kind: IncidentKindName
    instance_key: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float
    evaluations: int
    silenced: int = 0
    peak_at: datetime | None = None
    peak_value: JsonValue = None
    peak_threshold: JsonValue = None
    notifications: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    key_values: dict[str, JsonValue] = field(default_factory=dict)

    @property
    def ongoing(self) -> bool:
        return self.ended_at is None

    def per_channel(self, channels: Iterable[ChannelInfo]) -> dict[str, dict[str, int]]:
        return _per_channel(self.notifications, channels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "instance_key": self.instance_key,
            "key_values": dict(self.key_values),
            "started_at": rfc3339(self.started_at),
            "ended_at": rfc3339(self.ended_at),
            "ongoing": self.ongoing,
            "duration_seconds": self.duration_seconds,
            "evaluations": self.evaluations,
            "silenced": self.silenced,
            "peak_at": rfc3339(self.peak_at),
            "peak_value": self.peak_value,
            "peak_threshold": self.peak_threshold,
            "notifications": dict(self.notifications),
            "error": self.error,
        }


@dataclass(frozen=True)
class Counts:
    """What one policy run adds up to over the range.

    ``incidents``: firing incidents (``error_incidents``: query-error stretches);
    ``events``: event kind -> events sent (silenced ones are not sent);
    ``notifications``: channel id -> event kind -> messages (every event goes to every
    channel); ``firing_seconds``: time spent FIRING, summed over instances; ``flaps``: firing
    incidents that began within ``flap_window_seconds`` after the previous firing incident of
    the same instance ended (docs/backtests.md, "Flaps").
    """

    evaluations: int
    incidents: int
    error_incidents: int
    events: dict[str, int]
    notifications: dict[str, dict[str, int]]
    firing_seconds: float
    flaps: int
    flap_window_seconds: float

    @property
    def messages(self) -> int:
        """Every message every channel would have got."""
        return sum(sum(kinds.values()) for kinds in self.notifications.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluations": self.evaluations,
            "incidents": self.incidents,
            "error_incidents": self.error_incidents,
            # what the machine sends (an acknowledgement is a person's, never replayed)
            "events": {
                kind.value: self.events.get(kind.value, 0)
                for kind in EventKind
                if kind is not EventKind.ACKNOWLEDGED
            },
            "notifications": {c: dict(kinds) for c, kinds in self.notifications.items()},
            "messages": self.messages,
            "firing_seconds": self.firing_seconds,
            "flaps": self.flaps,
            "flap_window_seconds": self.flap_window_seconds,
        }


@dataclass(frozen=True)
class PolicyRun:
    """The alert's evaluations decided under one policy: ``label`` is ``current`` (the
    alert's own settings) or ``proposed`` (with ``--set``)."""

    label: str
    policy: PolicySettings
    incidents: tuple[BacktestIncident, ...]
    counts: Counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "policy": self.policy.to_dict(),
            "incidents": [i.to_dict() for i in self.incidents],
            "counts": self.counts.to_dict(),
        }


@dataclass(frozen=True)
class BacktestResult:
    """One backtest of one alert: the values seen and, per policy, what would have happened.

    ``start``/``end``: the range asked for (``start <= evaluated_at < end``);
    ``evaluations``: the alert's evaluations in it (schedule ticks for as-of, recorded runs
    for replay; an evaluation of a keyed alert covers all its instances); ``runs``: current
    first, then proposed when one was given; ``notes``: what a reader should know (skipped
    backfill rows, ticks whose query failed, a resumed run).
    """

    alert_name: str
    dag_id: str
    source: Source
    start: datetime
    end: datetime
    evaluations: int
    series: tuple[ValueSeries, ...]
    runs: tuple[PolicyRun, ...]
    channels: tuple[ChannelInfo, ...] = ()
    timezone: str = "UTC"
    schedule: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def current(self) -> PolicyRun:
        return self.runs[0]

    @property
    def proposed(self) -> PolicyRun | None:
        return self.runs[1] if len(self.runs) > 1 else None

    def to_dict(self, *, max_points: int | None = None) -> dict[str, Any]:
        """The JSON of the result; ``max_points`` thins each series (:meth:`ValueSeries.downsampled`)."""
        series = (
            self.series if max_points is None else [s.downsampled(max_points) for s in self.series]
        )
        return {
            "alert_name": self.alert_name,
            "dag_id": self.dag_id,
            "source": self.source.value,
            "start": rfc3339(self.start),
            "end": rfc3339(self.end),
            "timezone": self.timezone,
            "schedule": self.schedule,
            "evaluations": self.evaluations,
            "channels": [c.to_dict() for c in self.channels],
            "runs": [r.to_dict() for r in self.runs],
            "series": [s.to_dict() for s in series],
            "notes": list(self.notes),
        }
