"""Acknowledging an incident: "I'm on it", from every place people are (docs/responding.md).

One function per action, shared by every edge (the CLI, the UI's API, Slack's buttons, the
links in emails), so an acknowledgement means the same wherever it was made:

- An acknowledgement belongs to one firing incident of one instance. It is kept on the
  instance's state row (who, when, the comment, where, and the value at that moment), so the
  state machine (``core/state_machine.py``) reads it with the rest of the state: while it
  holds, no reminders and no escalation steps go out; the ``resolved`` still does. Resolving
  ends it; with ``ack.rearm_factor`` a value that gets that many times worse ends it too, with
  one reminder.
- It is written in the alert's transaction (the lock every evaluation takes), so it cannot
  interleave with an evaluation: either that evaluation saw the acknowledgement, or it ran
  before it and the acknowledgement applies from the next one.
- Every acknowledgement and unacknowledgement is recorded in the incident's actions (the
  ``incident_actions`` table), its timeline beside the evaluations.
- Channels that track incidents on their side (PagerDuty: its sender class sets
  ``SENDS_ACKNOWLEDGEMENTS``) get an ``acknowledged`` event through the outbox, in the same
  transaction, with the same guarantees as any event; the alert's next run delivers it.
  Unacknowledging sends nothing: PagerDuty has no such action.

Acknowledging an instance that is not firing raises :class:`NotFiringError` (the edges answer
409 or exit 1); acknowledging one that already is changes nothing (``AckResult.changed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig
from sqlsentinel_airflow.core.events import channel_id
from sqlsentinel_airflow.core.grouping import ChannelPlan, escalated_channels
from sqlsentinel_airflow.core.instances import key_label
from sqlsentinel_airflow.core.model import Event, EventKind, InstanceState, Reason, State
from sqlsentinel_airflow.core.payload import PayloadAcknowledgement, event_payload
from sqlsentinel_airflow.errors import SentinelError
from sqlsentinel_airflow.evaluation import outbox_row
from sqlsentinel_airflow.readmodel import ack_view
from sqlsentinel_airflow.store.records import IncidentAction, OutboxEntry
from sqlsentinel_airflow.store.store import StateStore
from sqlsentinel_airflow.store.tables import NAME_LENGTH
from sqlsentinel_airflow.store.transaction import AlertTransaction

__all__ = [
    "ACK_SOURCES",
    "MAX_COMMENT_CHARS",
    "AckResult",
    "NotFiringError",
    "acknowledge",
    "same_incident",
    "unacknowledge",
]

ACK_SOURCES = ("ui", "cli", "slack", "email")
MAX_COMMENT_CHARS = 2000


class NotFiringError(SentinelError):
    """The instance has no firing incident to acknowledge (or no acknowledgement to take
    back)."""


@dataclass(frozen=True)
class AckResult:
    """What one acknowledgement (or unacknowledgement) did to one instance."""

    alert_name: str
    instance_key: str
    changed: bool  # False: it already was (un)acknowledged
    state: InstanceState  # after
    firing_since: datetime | None

    def to_json(self) -> dict[str, object]:
        """What the UI's API and ``sqlsentinel ack --format json`` answer for it."""
        ack = ack_view(self.state)
        return {
            "instance_key": self.instance_key,
            "changed": self.changed,
            "ack": ack.to_json() if ack is not None else None,
        }


def same_incident(firing_since: datetime | None, incident: datetime) -> bool:
    """Whether an instance firing since ``firing_since`` is still the incident that started
    at ``incident`` (to the second: some state databases keep no microseconds)."""
    if firing_since is None:
        return False
    return firing_since.replace(microsecond=0) == incident.replace(microsecond=0)


def _firing(state: InstanceState) -> bool:
    return state.effective_state is State.FIRING


def _targets(
    alert: AlertConfig, states: dict[str, InstanceState], instance_key: str | None, doing: str
) -> list[InstanceState]:
    if instance_key is not None:
        found = states.get(instance_key)
        if found is None or not _firing(found):
            label = f"instance {key_label(instance_key)} of " if instance_key else ""
            raise NotFiringError(
                f"{label}alert {alert.name!r} is not firing: there is no incident to {doing} "
                "(see `sqlsentinel status` for what fires)"
            )
        return [found]
    firing = [s for _key, s in sorted(states.items()) if _firing(s)]
    if not firing:
        raise NotFiringError(
            f"alert {alert.name!r} has no firing instance: there is no incident to {doing}"
        )
    return firing


def _check(by: str, source: str, comment: str) -> None:
    if source not in ACK_SOURCES:
        raise ValueError(f"source must be one of {', '.join(ACK_SOURCES)}, got {source!r}")
    if not by.strip():
        raise ValueError("say who acknowledges (by)")
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValueError(f"the comment is longer than {MAX_COMMENT_CHARS} characters")


def acknowledge(
    store: StateStore,
    alert: AlertConfig,
    instance_key: str | None,
    *,
    by: str,
    source: str,
    comment: str = "",
    now: datetime | None = None,
    ui_base_url: str | None = None,
    incident: datetime | None = None,
) -> list[AckResult]:
    """Acknowledge the firing incident of ``instance_key`` (None: of every firing instance;
    ``""``: a single-row alert's), by ``by`` from ``source`` (ui, cli, slack, email).
    ``incident``: only the incident firing since then (an email link names the incident it
    was sent for); NotFiringError when the instance's current incident is another one.

    ``store`` is a ``StateStore``. Raises NotFiringError when there is nothing to
    acknowledge, StateStoreError when the state database fails (nothing is then written).
    """
    comment = comment.strip()
    by = by.strip()[:NAME_LENGTH]
    _check(by, source, comment)

    def work(tx: AlertTransaction) -> list[AckResult]:
        at = now or utcnow()
        out: list[AckResult] = []
        for state in _targets(alert, tx.states(), instance_key, "acknowledge"):
            if incident is not None and not same_incident(state.firing_since, incident):
                raise NotFiringError(
                    f"the incident of alert {alert.name!r} this was sent for is over "
                    "(the instance fires again since; acknowledge the new incident instead)"
                )
            if state.acknowledged:
                out.append(_result(state, state, changed=False))
                continue
            acked = replace(
                state,
                acked_at=at,
                acked_by=by,
                ack_comment=comment or None,
                ack_source=source,
                ack_value=state.last_value,
            )
            _write(tx, state, acked, "acknowledged", by, source, at, comment=comment or None)
            senders = _ack_channels(alert, state.escalation_steps)
            for row in _ack_rows(alert, acked, senders, at, ui_base_url):
                tx.enqueue(row)
            out.append(_result(state, acked, changed=True))
        return out

    return store.run_in_alert_transaction(alert.name, work)


def unacknowledge(
    store: StateStore,
    alert: AlertConfig,
    instance_key: str | None,
    *,
    by: str,
    source: str,
    now: datetime | None = None,
) -> list[AckResult]:
    """Take back the acknowledgement of ``instance_key``'s incident (None: of every firing
    instance): its reminders and escalation steps are due again from the next evaluation."""
    by = by.strip()[:NAME_LENGTH]
    _check(by, source, "")

    def work(tx: AlertTransaction) -> list[AckResult]:
        at = now or utcnow()
        out: list[AckResult] = []
        for state in _targets(alert, tx.states(), instance_key, "unacknowledge"):
            if not state.acknowledged:
                out.append(_result(state, state, changed=False))
                continue
            cleared = replace(
                state,
                acked_at=None,
                acked_by=None,
                ack_comment=None,
                ack_source=None,
                ack_value=None,
            )
            detail = {"was_acked_by": state.acked_by or ""}
            _write(tx, state, cleared, "unacknowledged", by, source, at, detail=detail)
            out.append(_result(state, cleared, changed=True))
        return out

    return store.run_in_alert_transaction(alert.name, work)


def _result(before: InstanceState, after: InstanceState, *, changed: bool) -> AckResult:
    return AckResult(after.alert_name, after.instance_key, changed, after, before.firing_since)


def _write(
    tx: AlertTransaction,
    before: InstanceState,
    after: InstanceState,
    action: str,
    by: str,
    source: str,
    at: datetime,
    *,
    comment: str | None = None,
    detail: dict[str, str] | None = None,
) -> None:
    """Save the instance's new state and record the action on its incident."""
    tx.save_state(after)
    tx.add_incident_action(
        IncidentAction(
            alert_name=after.alert_name,
            instance_key=after.instance_key,
            firing_since=before.firing_since,
            action=action,
            actor=by,
            source=source,
            at=at,
            comment=comment,
            detail=dict(detail or {}),
        )
    )


def _ack_channels(alert: AlertConfig, escalated_steps: int) -> list[tuple[str, ChannelConfig]]:
    """``(channel_id, config)`` of the channels the incident reached whose sender wants
    acknowledgements: the alert's own and routed ones, and those of the escalation steps it
    had sent (a receiver no step reached has no incident to acknowledge)."""
    from sqlsentinel_airflow.notify.channels import CHANNEL_TYPES

    reached = dict(
        [
            *(
                (channel_id(s.position, s.config, s.receiver), s.config)
                for s in alert.channel_slots()
            ),
            *escalated_channels(alert, escalated_steps),
        ]
    )
    return [
        (cid, config)
        for cid, config in reached.items()
        if getattr(CHANNEL_TYPES.get(config.channel), "SENDS_ACKNOWLEDGEMENTS", False)
    ]


def _ack_rows(
    alert: AlertConfig,
    acked: InstanceState,
    senders: Sequence[tuple[str, ChannelConfig]],
    at: datetime,
    ui_base_url: str | None,
) -> list[OutboxEntry]:
    if not senders:
        return []
    event = Event(
        kind=EventKind.ACKNOWLEDGED,
        alert_name=alert.name,
        instance_key=acked.instance_key,
        reason=Reason.ACKNOWLEDGED,
        occurred_at=at,
        state=acked.state,
        actual_value=acked.last_value,
        threshold=acked.last_threshold,
        context=dict(acked.last_context),
        key_values=dict(acked.key_values),
        firing_since=acked.firing_since,
    )
    payload = event_payload(
        event,
        alert,
        event_id=str(uuid.uuid4()),
        run_id=None,
        evaluated_at=at,
        ui_base_url=ui_base_url,
    ).model_copy(
        update={
            "acknowledgement": PayloadAcknowledgement(
                by=acked.acked_by or "",
                at=at,
                comment=acked.ack_comment or "",
                source=acked.ack_source or "",
            )
        }
    )
    return [
        outbox_row(
            alert,
            ChannelPlan(cid, config),
            acked.instance_key,
            EventKind.ACKNOWLEDGED,
            payload,
            now=at,
            run_id=None,
        )
        for cid, config in senders
    ]
