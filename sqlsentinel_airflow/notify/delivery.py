"""Delivering an alert's outbox: each pending event to each channel, oldest first, then marked.

Runs after the evaluation's transaction has committed (``service.py`` calls it); the decisions
are in docs/adr/0004-delivery-guarantees.md. In short:

- Each outbox row's channel is looked up by ``channel_id`` in the alert's *current* config:
  its own ``notify:`` and the receivers its routes reach (``core.events.alert_channels``; a
  receiver's channel is named by the receiver, not the route, docs/notifications.md).
  A channel that is no longer configured (removed, its destination edited, or a receiver
  no longer reached) cannot ever receive the row, so the row is dead-lettered at once with a
  message that says so. A channel that only moved in the list (or whose receiver was
  renamed) is found by its kind and hash.
- A row is claimed before it is sent (``StateStore.claim_outbox_row``: one conditional
  UPDATE), so two deliverers at once (a task and ``sqlsentinel run``) never both send it; a
  row another deliverer holds is ``in_flight`` here. The claim lapses after ``CLAIM_LEASE``.
- A row is marked delivered right after its send succeeds. A crash between the two resends
  that one row on the first attempt after its claim lapsed, with the same idempotency key;
  nothing else repeats.
- A failed send is recorded (attempts, last error); after the alert's ``delivery_attempts``
  failures the row is dead (``sqlsentinel outbox --status dead``, ``sqlsentinel status``).
- Order is kept per alert, instance and channel: while an older row is still pending, newer
  rows of the same instance for that channel wait (``deferred``, no attempt counted). A
  grouped row (several events of one evaluation, docs/adr/0013-grouped-messages.md) is sent,
  claimed and marked like any row, and waits and holds back for each of its members. After
  a *recoverable* failure (the channel looks down) the channel's other rows wait too, so an
  outage costs one attempt per run instead of one per row.
- A row of a receiver that groups across alerts (``group_by``, docs/adr/0016-groups-across-
  alerts.md) is ``waiting`` until its group's ``group_wait`` has passed, then its group is
  claimed and sent as one message (``notify/group_delivery.py``); the alert's task waits
  that out (:func:`deliver_after_group_wait`).
- Nothing raises for a failed send: the :class:`DeliveryReport` says what happened, and the
  edges decide (the operator fails the task after every channel was tried).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlsentinel_airflow.core.clock import rfc3339, utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig, MessageTemplates
from sqlsentinel_airflow.core.events import alert_channels
from sqlsentinel_airflow.core.grouping import GROUP_CLAIM_MARGIN, group_wait_allowance
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.actionlinks import minter_for
from sqlsentinel_airflow.notify.base import Channel, DeliveryResult, OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.group_delivery import GroupStore, deliver_group
from sqlsentinel_airflow.store.records import OutboxEntry, OutboxStatus

__all__ = [
    "CLAIM_LEASE",
    "DeliveryReport",
    "DeliveryStore",
    "RowDelivery",
    "deliver_after_group_wait",
    "deliver_pending",
    "undelivered_rows",
]

log = logging.getLogger(__name__)

RowStatus = Literal["delivered", "failed", "dead", "deferred", "in_flight", "waiting"]

# How long a claim on a row lasts: longer than any send takes (channel timeouts are seconds),
# shorter than Airflow's default retry_delay, so a retry after a crash can resend.
CLAIM_LEASE = timedelta(seconds=55)
ChannelFactory = Callable[[ChannelConfig, MessageTemplates], Channel[Any]]


class DeliveryStore(GroupStore, Protocol):
    """The part of ``StateStore`` delivery uses."""

    def pending_outbox(self, alert_name: str) -> list[OutboxEntry]: ...
    def claim_outbox_row(
        self, outbox_id: int, token: str, now: datetime, lease: timedelta
    ) -> bool: ...
    def mark_delivered(self, outbox_id: int, now: datetime) -> None: ...
    def mark_attempt_failed(
        self, outbox_id: int, error: str, now: datetime, max_attempts: int
    ) -> OutboxStatus: ...


@dataclass(frozen=True)
class RowDelivery:
    """What happened to one outbox row in one delivery pass."""

    outbox_id: int
    event_id: str
    kind: str
    instance_key: str
    channel: str  # email | slack | webhook | pagerduty | teams
    channel_id: str
    status: RowStatus
    error: str | None = None
    recoverable: bool = True
    # ``waiting``: its group across alerts gathers until then (receiver ``group_wait``)
    due_at: datetime | None = None


@dataclass(frozen=True)
class DeliveryReport:
    """One delivery pass over an alert's pending outbox rows."""

    alert_name: str
    rows: tuple[RowDelivery, ...] = ()

    def _with(self, status: RowStatus) -> list[RowDelivery]:
        return [r for r in self.rows if r.status == status]

    @property
    def delivered(self) -> list[RowDelivery]:
        return self._with("delivered")

    @property
    def failed(self) -> list[RowDelivery]:
        """Attempted and failed, still pending (retried by the task retry and the next run)."""
        return self._with("failed")

    @property
    def deferred(self) -> list[RowDelivery]:
        """Not attempted: an older row for the same channel is still failing."""
        return self._with("deferred")

    @property
    def in_flight(self) -> list[RowDelivery]:
        """Not attempted: another deliverer holds the row's claim (sends it, or died sending)."""
        return self._with("in_flight")

    @property
    def waiting(self) -> list[RowDelivery]:
        """Not attempted: its group across alerts is still gathering (``due_at``)."""
        return self._with("waiting")

    @property
    def dead(self) -> list[RowDelivery]:
        """Given up in this pass (attempts exhausted, or the channel is gone)."""
        return self._with("dead")

    @property
    def complete(self) -> bool:
        """Every pending row was delivered (true when there was nothing to deliver)."""
        return all(r.status == "delivered" for r in self.rows)

    @property
    def retry_may_help(self) -> bool:
        """Some failure may pass by itself, so an Airflow retry is worth it (deferred rows
        only wait behind failed ones, so they follow the failures' verdict; a row in flight
        elsewhere is delivered by its holder, or resent once its claim lapses; a row still
        waiting for its group is sent by the next attempt after its group_wait)."""
        return any(r.recoverable for r in self.failed) or bool(self.in_flight or self.waiting)

    def summary(self) -> str:
        counts = [
            f"{len(rows)} {label}"
            for label, rows in (
                ("delivered", self.delivered),
                ("failed", self.failed),
                ("deferred", self.deferred),
                ("in flight elsewhere", self.in_flight),
                ("waiting for their group", self.waiting),
                ("dead-lettered", self.dead),
            )
            if rows
        ]
        text = ", ".join(counts) or "nothing to deliver"
        problems = [f"{r.kind} to {r.channel}: {r.error}" for r in (*self.failed, *self.dead)]
        return text + (" (" + "; ".join(problems[:5]) + ")" if problems else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_name": self.alert_name,
            "complete": self.complete,
            "delivered": len(self.delivered),
            "failed": len(self.failed),
            "deferred": len(self.deferred),
            "in_flight": len(self.in_flight),
            "waiting": len(self.waiting),
            "dead": len(self.dead),
            "rows": [{**asdict(r), "due_at": rfc3339(r.due_at)} for r in self.rows],
        }


def _default_factory(config: ChannelConfig, templates: MessageTemplates) -> Channel[Any]:
    return build_channel(config, templates=templates)


class _CurrentChannels:
    """The alert's configured channels, found by ``channel_id`` (or by hash if they moved)."""

    def __init__(self, alert: AlertConfig, factory: ChannelFactory) -> None:
        self._alert = alert
        self._factory = factory
        self._by_id: dict[str, ChannelConfig] = {}
        self._by_hash: dict[str, ChannelConfig] = {}
        for cid, config in alert_channels(alert):  # its own and its receivers' channels
            self._by_id[cid] = config
            self._by_hash.setdefault(_hash_part(cid), config)
        self._senders: dict[str, Channel[Any] | DeliveryError] = {}
        self._minter = (
            minter_for(alert.action_links, _ui_base_url()) if alert.action_links else None
        )

    def config(self, cid: str) -> ChannelConfig | None:
        return self._by_id.get(cid) or self._by_hash.get(_hash_part(cid))

    def sender(self, cid: str, config: ChannelConfig) -> Channel[Any] | DeliveryError:
        if cid not in self._senders:
            try:
                sender = self._factory(config, self._alert.templates)
            except DeliveryError as exc:
                self._senders[cid] = exc
            else:
                if self._minter is not None:
                    sender.offer_action_links(self._minter)
                self._senders[cid] = sender
        return self._senders[cid]


def _ui_base_url() -> str | None:
    """Airflow's ``[api] base_url`` (None when unset, or outside Airflow: the links in
    messages need the address people reach the UI at)."""
    try:
        from sqlsentinel_airflow.airflow_compat import configured_api_base_url

        return configured_api_base_url()
    except ImportError:
        return None


def _hash_part(cid: str) -> str:
    """``kind:digest`` of a channel id: the identity without the position in the list."""
    return cid.split(":", 1)[-1]


def _row(
    entry: OutboxEntry,
    status: RowStatus,
    result: DeliveryResult | None = None,
    due_at: datetime | None = None,
) -> RowDelivery:
    return RowDelivery(
        outbox_id=int(entry.id or 0),
        event_id=entry.event_id,
        kind=str(getattr(entry.kind, "value", entry.kind)),
        instance_key=entry.instance_key,
        channel=entry.channel_kind,
        channel_id=entry.channel_id,
        status=status,
        error=result.error if result is not None else None,
        recoverable=result.recoverable if result is not None else True,
        due_at=due_at,
    )


def deliver_pending(
    alert: AlertConfig,
    store: DeliveryStore,
    *,
    clock: Callable[[], datetime] = utcnow,
    channel_factory: ChannelFactory = _default_factory,
    pending: Sequence[OutboxEntry] | None = None,
) -> DeliveryReport:
    """Deliver every pending outbox row of ``alert``, oldest first; never raises for a send.

    ``alert`` is the *current* config: its channels decide where rows go. A state DB failure
    raises StateStoreError (a row sent but not yet marked is then resent next time).
    ``pending`` is the alert's pending rows when the caller already read them (one query for
    many alerts); rows another deliverer took since are skipped by the claim.
    """
    channels = _CurrentChannels(alert, channel_factory)
    token = str(uuid.uuid4())
    if pending is None:
        pending = store.pending_outbox(alert.name)
    outcomes: list[RowDelivery] = []
    waiting: set[tuple[str, str]] = set()  # (instance, channel) with an older row still pending
    down: set[str] = set()  # channels that failed recoverably in this pass
    done: set[int] = set()  # rows a group's message of this pass already spoke for
    for entry in pending:
        assert entry.id is not None, "outbox rows read from the store have ids"
        if entry.id in done:
            continue
        # a grouped row speaks for each of its members' instances (ADR 13): it waits behind
        # any of them, and holds back newer rows of every one of them
        lanes = {(key, entry.channel_id) for key in entry.instance_keys}
        if entry.channel_id in down or lanes & waiting:
            outcomes.append(_row(entry, "deferred"))
            waiting |= lanes  # a newer row of a member must not overtake this one
            continue
        config = channels.config(entry.channel_id)
        if config is None:
            outcomes.append(_dead_letter_gone_channel(alert, entry, store, clock()))
            continue
        if entry.group_key is not None:  # grouped across alerts (ADR 16)
            sender = channels.sender(entry.channel_id, config)
            rows = _deliver_grouped(alert, entry, sender, store, token, clock)
            done.update(r.outbox_id for r in rows)
            outcomes.extend(rows)
            if any(r.status != "delivered" for r in rows):
                waiting |= lanes
            if any(r.status == "failed" and r.recoverable for r in rows):
                down.add(entry.channel_id)
            continue
        if not store.claim_outbox_row(entry.id, token, clock(), CLAIM_LEASE):
            outcomes.append(_row(entry, "in_flight"))  # another deliverer is sending it
            waiting |= lanes
            continue
        sender = channels.sender(entry.channel_id, config)
        if isinstance(sender, DeliveryError):
            result = DeliveryResult.failed(str(sender), recoverable=sender.recoverable)
        else:
            result = sender.send(OutboundEvent(entry.payload, entry.idempotency_key))
        outcome = _record(alert, entry, result, store, clock())
        outcomes.append(outcome)
        if outcome.status == "failed":
            waiting |= lanes
            if outcome.recoverable:
                down.add(entry.channel_id)
    report = DeliveryReport(alert.name, tuple(outcomes))
    if outcomes:
        log.info("alert %s: notifications: %s", alert.name, report.summary())
    return report


_GROUP_CLAIMS_PER_PASS = 3  # an old batch resent, then the rows gathered since


def _deliver_grouped(
    alert: AlertConfig,
    entry: OutboxEntry,
    sender: Channel[Any] | DeliveryError,
    store: DeliveryStore,
    token: str,
    clock: Callable[[], datetime],
) -> list[RowDelivery]:
    """What became of ``entry`` and of the other rows of ``alert`` its group's message
    carried. A batch left by an earlier send (failed, or its deliverer died) goes first, as
    the same set; then the rows gathered since, if their group_wait has passed."""
    out: list[RowDelivery] = []
    for _ in range(_GROUP_CLAIMS_PER_PASS):
        sent = deliver_group(
            alert, entry, sender, store, token=token, clock=clock, lease=CLAIM_LEASE
        )
        claim = sent.claim
        mine = [r for r in claim.rows if r.alert_name == alert.name]
        if claim.status == "none":  # delivered by another deliverer since it was read
            return [*out, _row(entry, "delivered")]
        if claim.status == "waiting":
            return [*out, *(_row(r, "waiting", due_at=claim.due_at) for r in mine)]
        if claim.status == "in_flight":
            rest = [] if any(r.id == entry.id for r in mine) else [_row(entry, "deferred")]
            return [*out, *(_row(r, "in_flight") for r in mine), *rest]
        status: RowStatus = "failed"
        if sent.status is OutboxStatus.DELIVERED:
            status = "delivered"
        elif sent.status is OutboxStatus.DEAD:
            status = "dead"
        out.extend(_row(r, status, sent.result) for r in mine)
        _log_group(alert, claim.batch_id or "", len(claim.rows), status, sent.result)
        if status != "delivered" or any(r.id == entry.id for r in claim.rows):
            return out
    return [*out, _row(entry, "deferred")]


def _log_group(
    alert: AlertConfig, batch_id: str, size: int, status: str, result: DeliveryResult | None
) -> None:
    if status == "delivered":
        log.info("alert %s: delivered group message %s (%s rows)", alert.name, batch_id[:8], size)
    else:
        error = result.error if result is not None else None
        log.warning(
            "alert %s: group message %s (%s rows) %s: %s",
            alert.name,
            batch_id[:8],
            size,
            "dead-lettered" if status == "dead" else "failed, will retry as the same set",
            error,
        )


def _record(
    alert: AlertConfig,
    entry: OutboxEntry,
    result: DeliveryResult,
    store: DeliveryStore,
    now: datetime,
) -> RowDelivery:
    assert entry.id is not None
    kind = getattr(entry.kind, "value", entry.kind)
    if result.delivered:
        store.mark_delivered(entry.id, now)
        log.info(
            "alert %s: delivered %s event %s to %s (outbox #%s)",
            alert.name,
            kind,
            entry.event_id[:8],
            entry.channel_kind,
            entry.id,
        )
        return _row(entry, "delivered", result)
    error = result.error or "unknown error"
    status = store.mark_attempt_failed(entry.id, error, now, alert.delivery_attempts)
    if status is OutboxStatus.DELIVERED:  # a concurrent run got there first
        return _row(entry, "delivered")
    if status is OutboxStatus.DEAD:
        log.error(
            "alert %s: gave up on %s event %s to %s after %s attempts (outbox #%s): %s",
            alert.name,
            kind,
            entry.event_id[:8],
            entry.channel_kind,
            alert.delivery_attempts,
            entry.id,
            error,
        )
        return _row(entry, "dead", result)
    log.warning(
        "alert %s: %s event %s to %s failed (%s; outbox #%s, will retry): %s",
        alert.name,
        kind,
        entry.event_id[:8],
        entry.channel_kind,
        "recoverable" if result.recoverable else "needs a fix",
        entry.id,
        error,
    )
    return _row(entry, "failed", result)


def _dead_letter_gone_channel(
    alert: AlertConfig, entry: OutboxEntry, store: DeliveryStore, now: datetime
) -> RowDelivery:
    assert entry.id is not None
    kind = getattr(entry.kind, "value", entry.kind)
    error = (
        f"channel {entry.channel_id} ({entry.channel_kind}) is no longer configured for alert "
        f"{alert.name!r}: it was removed from alerts.yaml or its destination changed, so this "
        f"{kind} event was not sent"
    )
    store.mark_attempt_failed(entry.id, error, now, 1)
    log.error("alert %s: dead-lettered outbox #%s: %s", alert.name, entry.id, error)
    return _row(entry, "dead", DeliveryResult.failed(error, recoverable=False))


GROUP_POLL = timedelta(seconds=2)  # how often a task looks at a group another one is sending
# a task waiting for its group also outlasts a dead deliverer's claim (core.grouping)
assert CLAIM_LEASE + GROUP_POLL <= GROUP_CLAIM_MARGIN


def deliver_after_group_wait(
    alert: AlertConfig,
    store: DeliveryStore,
    report: DeliveryReport,
    *,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    channel_factory: ChannelFactory = _default_factory,
) -> DeliveryReport:
    """Wait out the group_wait of ``alert``'s rows that ``report`` left gathering, then
    deliver again, until none waits (docs/adr/0016-groups-across-alerts.md).

    The alert's own task sends its group when nobody else did: it sleeps until the group is
    due (at most ``group_wait``, which the config bounds to 10m), then claims it. A group that
    another deliverer holds is looked at every ``GROUP_POLL`` until it is delivered or its
    claim lapsed (then this task resends it, as the same set). Returns one report for all
    passes (a row's last outcome; a row another deliverer settled meanwhile is left out)."""
    allowance = group_wait_allowance(alert)
    if not allowance:
        return report
    deadline = clock() + allowance
    outcomes = {r.outbox_id: r for r in report.rows}
    while report.waiting or report.in_flight:
        now = clock()
        if now >= deadline:
            break
        due = min((r.due_at for r in report.waiting if r.due_at is not None), default=deadline)
        if report.in_flight:
            due = min(due, now + GROUP_POLL)
        sleep(max(0.0, (min(due, deadline) - now).total_seconds()))
        report = deliver_pending(alert, store, clock=clock, channel_factory=channel_factory)
        # a row this pass no longer found pending was sent (or given up) by the deliverer
        # that held it; it reports that, this task no longer owes it
        settled = {i: r for i, r in outcomes.items() if r.status in ("delivered", "dead")}
        outcomes = settled | {r.outbox_id: r for r in report.rows}
    return DeliveryReport(alert.name, tuple(outcomes.values()))


def undelivered_rows(reports: Sequence[DeliveryReport]) -> list[RowDelivery]:
    """Rows of several passes that did not get delivered (failed, deferred or dead)."""
    return [r for report in reports for r in report.rows if r.status != "delivered"]
