"""Building the views from the store's records: one function per view, and the alert summary.

Here, and only here, error texts are redacted (``core.redact.redact_text``) and reasons split
into ``reason`` and ``reason_code``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from sqlsentinel_airflow.core import mutewindows
from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.clock import epoch_seconds
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence
from sqlsentinel_airflow.core.incidents import Incident, IncidentKind
from sqlsentinel_airflow.core.instances import instance_label, key_label
from sqlsentinel_airflow.core.jsonvalues import as_number
from sqlsentinel_airflow.core.model import (
    EventKind,
    InstanceState,
    Outcome,
    Reason,
    RunType,
    Silence,
    State,
)
from sqlsentinel_airflow.core.mutewindows import MuteWindow
from sqlsentinel_airflow.core.redact import public_text, redact_text
from sqlsentinel_airflow.errors import ConfigError
from sqlsentinel_airflow.readmodel.views import (
    DELIVERIES_SHOWN,
    FIRING_LABELS_SHOWN,
    INSTANCES_IN_LIST,
    AckView,
    AlertStatus,
    AlertSummary,
    ConfigErrorView,
    DeliveryMemberView,
    DeliveryView,
    DocsView,
    EvaluationView,
    IncidentActionView,
    IncidentView,
    InstanceView,
    InvalidAlertView,
    MuteWindowView,
    SampleView,
    SilenceView,
    SparkSeries,
)
from sqlsentinel_airflow.store.records import (
    HistoryEntry,
    IncidentAction,
    OutboxEntry,
    OutboxStatus,
    RecentValue,
)

__all__ = [
    "AlertFacts",
    "alert_status",
    "alert_summary",
    "config_error_view",
    "delivery_view",
    "evaluation_view",
    "incident_view",
    "instance_view",
    "invalid_alert_view",
    "mute_window_view",
    "reason_fields",
    "silence_view",
    "silences_for",
    "spark_series",
    "worst_instance",
]


def reason_fields(reason: Reason | str | None) -> tuple[str | None, str | None]:
    """``(reason, reason_code)`` of a stored reason: a Reason, its English, or its code.

    Text naming no known reason (written by a newer version) is shown as is, without code.
    """
    if reason is None:
        return None, None
    known = reason if isinstance(reason, Reason) else Reason.parse(reason)
    if known is None:
        return reason, None
    return known.value, known.code


def instance_view(
    state: InstanceState, dag_id: str | None, *, silenced: bool = False
) -> InstanceView:
    """``silenced``: an active silence (of the alert or of this instance) covers it."""
    return InstanceView(
        alert=state.alert_name,
        dag_id=dag_id,
        instance_key=state.instance_key,
        label=instance_label(state.key_values),
        key_values=state.key_values,
        state=state.shown_state,
        last_good_state=state.last_good_state,
        since=state.state_since,
        firing_since=state.firing_since,
        last_evaluated_at=state.last_evaluated_at,
        last_outcome=state.last_outcome,
        last_value=state.last_value,
        last_threshold=state.last_threshold,
        last_context=state.last_context,
        last_error=redact_text(state.last_error),
        last_notified_at=state.last_notified_at,
        silenced=silenced,
        flapping_since=state.flapping_since,
        ack=ack_view(state),
        escalation_steps=state.escalation_steps,
        inhibited_by=state.inhibited_by,
    )


def ack_view(state: InstanceState) -> AckView | None:
    """The acknowledgement of the instance's current incident, if any."""
    if state.acked_at is None:
        return None
    return AckView(
        by=state.acked_by or "",
        at=state.acked_at,
        comment=state.ack_comment,
        source=state.ack_source or "",
    )


def incident_action_view(action: IncidentAction) -> IncidentActionView:
    return IncidentActionView(
        id=action.id or 0,
        alert=action.alert_name,
        instance_key=action.instance_key,
        label=key_label(action.instance_key) or "",
        firing_since=action.firing_since,
        action=action.action,
        actor=action.actor,
        source=action.source,
        comment=action.comment,
        detail=dict(action.detail),
        at=action.at,
    )


def evaluation_view(entry: HistoryEntry) -> EvaluationView:
    reason, code = reason_fields(entry.reason)
    return EvaluationView(
        id=entry.id,
        alert=entry.alert_name,
        dag_id=entry.dag_id,
        instance_key=entry.instance_key,
        key_values=entry.key_values,
        evaluated_at=entry.evaluated_at,
        run_type=RunType(entry.run_type),
        run_id=entry.run_id,
        outcome=Outcome(entry.outcome),
        state=State(entry.state),
        reason=reason,
        reason_code=code,
        actual_value=entry.actual_value,
        threshold=entry.threshold,
        context=entry.context,
        error=redact_text(entry.error),
        duration_ms=entry.duration_ms,
        events=tuple(EventKind(k) for k in entry.events),
        repeats=entry.repeats,
        last_evaluated_at=entry.last_evaluated_at if entry.samples else None,
        samples=tuple(
            SampleView(
                evaluated_at=s.evaluated_at, actual_value=s.actual_value, duration_ms=s.duration_ms
            )
            for s in entry.samples
        ),
        inhibited_by=entry.inhibited_by,
    )


def incident_view(alert_name: str, incident: Incident) -> IncidentView:
    """An incident as the state DB keeps it (``core.incidents`` says what its figures mean)."""
    firing = incident.kind is IncidentKind.FIRING
    return IncidentView(
        id=incident.start_id,
        alert=alert_name,
        dag_id=incident.dag_id,
        instance_key=incident.instance_key,
        key_values=incident.key_values,
        kind=incident.kind,
        started_at=incident.started_at,
        start_run_id=incident.start_run_id,
        ended_at=incident.ended_at,
        end_run_id=incident.end_run_id,
        ongoing=incident.ongoing,
        duration_seconds=incident.duration_seconds,
        evaluations=incident.evaluations,
        peak_value=incident.peak_value if firing else None,
        peak_threshold=incident.peak_threshold if firing else None,
        peak_at=incident.peak_at if firing else None,
        notifications=dict(incident.notifications),
        silenced=incident.silenced > 0,
        error=redact_text(incident.error),
    )


def delivery_view(entry: OutboxEntry) -> DeliveryView:
    return DeliveryView(
        id=entry.id,
        alert=entry.alert_name,
        instance_key=entry.instance_key,
        kind=EventKind(entry.kind),
        channel=entry.channel_kind,
        channel_id=entry.channel_id,
        destination=redact_text(entry.destination),
        status=OutboxStatus(entry.status),
        attempts=entry.attempts,
        last_error=redact_text(entry.last_error),
        created_at=entry.created_at,
        last_attempt_at=entry.last_attempt_at,
        delivered_at=entry.delivered_at,
        idempotency_key=entry.idempotency_key,
        members=tuple(
            DeliveryMemberView(
                instance_key=m.instance_key,
                label=key_label(m.instance_key) or "",
                kind=EventKind(m.kind),
                event_id=m.event_id,
            )
            for m in entry.members
        ),
        batch_id=entry.batch_id,
    )


@lru_cache(maxsize=1024)
def mute_window_view(window: MuteWindow, now: datetime) -> MuteWindowView:
    """A mute window with whether it is active at ``now`` and its next start and end.

    Cached: a list of alerts asks about the same windows (each alert of a file carries
    those that match it) at the same ``now``, and finding the next start and end takes
    0.1 to 0.4 ms."""
    starts, ends = mutewindows.occurrence(window, now)
    return MuteWindowView(
        name=window.name,
        when=mutewindows.describe(window),
        match=window.match.describe(),
        reason=window.reason,
        active=mutewindows.active(window, now),
        starts_at=starts,
        ends_at=ends,
        notify_firing_at_end=window.notify_firing_at_end,
        notify_resolved_inside=window.notify_resolved_inside,
    )


def silence_view(silence: Silence, now: datetime) -> SilenceView:
    return SilenceView(
        id=silence.id,
        match=silence.match,
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        ended_at=silence.ended_at,
        created_at=silence.created_at,
        reason=silence.reason,
        author=silence.author,
        source=silence.source,
        status=silence_rules.silence_status(silence, now),
        can_end=silence.id is not None,  # a declared silence ends when the file says so
        instance_key=silence.instance_key,
        instance_label=key_label(silence.instance_key),
    )


def silences_for(
    alert_name: str,
    dag_id: str | None,
    stored: Iterable[Silence],
    declared: Iterable[FileSilence],
    now: datetime,
) -> list[Silence]:
    """The unexpired silences, stored and declared in the alert's file, that match the alert."""
    found = [s for s in stored if silence_rules.matches(s, alert_name, dag_id)]
    for item in declared:
        try:
            silence = silence_rules.from_file(item, now)
        except ValueError:  # invalid in the file: validation reports it, nothing to show
            continue
        if silence_rules.matches(silence, alert_name, dag_id):
            found.append(silence)
    return [
        s
        for s in found
        if silence_rules.silence_status(s, now) is not silence_rules.SilenceStatus.EXPIRED
    ]


def spark_series(history: Sequence[HistoryEntry | RecentValue]) -> SparkSeries:
    """Evaluations (as the store lists them, newest first) as a series, oldest first."""
    oldest_first = history[::-1]
    # 30,000 points on the SQL Sentinel page: the common types are tested inline
    utc = timezone.utc
    return SparkSeries(
        at=tuple(
            [
                t.timestamp() if t.tzinfo is utc else epoch_seconds(t)
                for t in [h.evaluated_at for h in oldest_first]
            ]
        ),
        value=_numbers([h.actual_value for h in oldest_first]),
        threshold=_numbers([h.threshold for h in oldest_first]),
        outcome=tuple(
            [o if type(o) is Outcome else Outcome(o) for o in [h.outcome for h in oldest_first]]
        ),
    )


def _numbers(values: list[object]) -> tuple[float | None, ...]:
    """:func:`as_number` of each, plain floats and ints without a call."""
    return tuple(
        [v if type(v) is float else float(v) if type(v) is int else as_number(v) for v in values]
    )


def _since(state: InstanceState) -> datetime | None:
    """When the instance entered the state it shows (FLAPPING: when it began to flap)."""
    if state.shown_state is State.FLAPPING:
        return state.flapping_since
    return state.state_since


def worst_instance(states: Sequence[InstanceState]) -> InstanceState | None:
    """The instance whose state is most urgent (the first one on ties)."""
    return max(states, key=lambda s: s.shown_state.urgency) if states else None


def alert_status(
    states: Sequence[InstanceState],
    silenced: bool,
    silenced_instances: Collection[str] = (),
) -> tuple[AlertStatus, AlertStatus]:
    """``(status, state)``: the badge word and the alerting state beneath any silence.

    ``silenced``: a silence of every instance is active; ``silenced_instances``: the keys of
    the instances a silence of their own mutes. The badge shows the most urgent state among
    the other instances (an unsilenced instance that fires keeps the alert ``firing``), and
    ``silenced`` when only muted instances are worse than OK.
    """
    worst = worst_instance(states)
    state = (
        AlertStatus(worst.shown_state.value.lower()) if worst is not None else AlertStatus.UNKNOWN
    )
    if silenced:
        return AlertStatus.SILENCED, state
    loud = worst_instance([s for s in states if s.instance_key not in silenced_instances])
    if worst is None or worst.shown_state is State.OK:
        return state, state
    if loud is not None and loud.shown_state.urgency >= worst.shown_state.urgency:
        return state, state  # the worst instance is not muted
    if loud is None or loud.shown_state.urgency <= State.OK.urgency:
        return AlertStatus.SILENCED, state  # only muted instances are in trouble
    return AlertStatus(loud.shown_state.value.lower()), state


def config_error_view(error: ConfigError) -> ConfigErrorView:
    """One located error; its message and hint redacted (a value quoted from the file)."""
    message = redact_text(error.message) or ""
    hint = redact_text(error.hint)
    shown = ConfigError(
        message,
        file=error.file,
        line=error.line,
        column=error.column,
        path=error.path,
        hint=hint,
    )
    return ConfigErrorView(
        file=error.file,
        line=error.line,
        column=error.column,
        path=error.path,
        message=message,
        hint=hint,
        text=shown.format(),
    )


def invalid_alert_view(
    *,
    dag_id: str,
    name: str,
    source_file: str | None,
    errors: Sequence[ConfigError],
    paused: bool | None = None,
) -> InvalidAlertView:
    return InvalidAlertView(
        dag_id=dag_id,
        name=name,
        source_file=source_file,
        errors=tuple(config_error_view(e) for e in errors),
        paused=paused,
    )


@dataclass(frozen=True)
class AlertFacts:
    """What the caller knows of an alert besides the state DB (None: does not know)."""

    dag_id: str
    name: str
    description: str = ""
    severity: str = "warning"
    owner: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool | None = None
    paused: bool | None = None
    stale: bool | None = None
    runbook_url: str | None = None
    config_errors: tuple[ConfigError, ...] = ()  # why a stale alert is stale
    mute_windows: tuple[MuteWindow, ...] = ()  # those of its file that match it

    @classmethod
    def of_config(cls, alert: AlertConfig) -> AlertFacts:
        """The facts an alerts file gives (the CLI's)."""
        return cls(
            dag_id=alert.dag_id,
            name=alert.name,
            description=public_text(alert, alert.description),
            severity=alert.severity,
            owner=alert.owner,
            tags=tuple(alert.tags),
            enabled=alert.enabled,
            runbook_url=public_text(alert, alert.runbook_url) if alert.runbook_url else None,
            mute_windows=alert.mute_windows,
        )


def alert_summary(
    facts: AlertFacts,
    *,
    states: Sequence[InstanceState],
    silences: Sequence[Silence],
    outbox_counts: Mapping[OutboxStatus, int],
    now: datetime,
    delivered: bool | None = None,
    deliveries: Sequence[OutboxEntry] | None = None,
    spark: Sequence[HistoryEntry | RecentValue] | None = None,
    docs: DocsView | None = None,
    can_edit: bool | None = None,
    all_instances: bool = False,
) -> AlertSummary:
    """One alert from its stored states, the silences that apply (:func:`silences_for`), its
    outbox counts (``StateStore.outbox_counts``) and what else the caller knows. Counts
    without ``delivered`` (a list of alerts: ``StateStore.delivered_alerts`` says whether
    any was instead, as ``delivered``) leave ``delivered_deliveries`` null."""
    active = [s for s in silences if silence_rules.is_active(s, now)]
    windows = tuple(mute_window_view(w, now) for w in facts.mute_windows)
    whole = silence_rules.mutes(active, None) or any(w.active for w in windows)
    muted = {s.instance_key for s in states if silence_rules.mutes(active, s.instance_key)}
    status, state = alert_status(states, whole, muted)
    worst = worst_instance(states)
    evaluated = [s.last_evaluated_at for s in states if s.last_evaluated_at is not None]
    ordered = sorted(states, key=lambda s: (-s.shown_state.urgency, s.instance_key))
    shown = ordered if all_instances else ordered[:INSTANCES_IN_LIST]
    firing = sorted(
        (s for s in states if s.shown_state is State.FIRING),
        key=lambda s: (s.instance_key in muted, s.instance_key),
    )
    return AlertSummary(
        dag_id=facts.dag_id,
        name=facts.name,
        description=facts.description,
        severity=facts.severity,
        owner=facts.owner,
        tags=facts.tags,
        enabled=facts.enabled,
        paused=facts.paused,
        stale=facts.stale,
        config_errors=tuple(config_error_view(e) for e in facts.config_errors),
        status=status,
        state=state,
        since=_since(worst) if worst else None,
        firing_since=worst.firing_since if worst else None,
        last_value=worst.last_value if worst else None,
        threshold=worst.last_threshold if worst else None,
        last_error=redact_text(worst.last_error) if worst else None,
        last_evaluated_at=max(evaluated) if evaluated else None,
        instance_count=len(states),
        firing_instances=len(firing),
        acknowledged_instances=sum(1 for s in firing if s.acked_at is not None),
        inhibited_by=tuple(dict.fromkeys(p for s in states for p in s.inhibited_by)),
        firing_instance_labels=tuple(
            instance_label(s.key_values) for s in firing[:FIRING_LABELS_SHOWN] if s.key_values
        ),
        instances=tuple(
            instance_view(s, facts.dag_id, silenced=s.instance_key in muted) for s in shown
        ),
        pending_deliveries=outbox_counts.get(OutboxStatus.PENDING, 0),
        dead_deliveries=outbox_counts.get(OutboxStatus.DEAD, 0),
        delivered_deliveries=outbox_counts.get(OutboxStatus.DELIVERED),
        has_delivered=bool(outbox_counts.get(OutboxStatus.DELIVERED) or delivered),
        deliveries=(
            tuple(delivery_view(d) for d in deliveries[:DELIVERIES_SHOWN])
            if deliveries is not None
            else None
        ),
        silenced=status is AlertStatus.SILENCED,
        silences=tuple(silence_view(s, now) for s in silences),
        mute_windows=windows,
        spark_instance=worst.instance_key if worst else None,
        spark=spark_series(spark) if spark is not None else None,
        docs=docs,
        can_edit=can_edit,
        runbook_url=facts.runbook_url,
    )
