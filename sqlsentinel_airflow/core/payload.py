"""The event payload as a type: the one document every channel renders and every webhook gets.

:class:`EventPayload` is what an evaluation stores in the outbox (and what templates render),
:class:`WebhookBody` is the same plus the row's ``idempotency_key``: the generic webhook's
body. The published JSON Schema (``docs/reference/event-payload.schema.json``) is generated
from :class:`WebhookBody` by :func:`payload_schema`; nobody writes it by hand.

Every producer builds the payload here: evaluation (:func:`event_payload`), the config watch
(:func:`config_error_payload`) and the ``notify-test`` / template samples
(:meth:`EventPayload.as_test`). Version 1 keeps the wire values it was published with
(``kind`` lower-case, ``state`` upper-case, see docs/adr/0008-event-payload-v1.md), and only
those: a ``flapping`` event goes out as ``kind: firing`` with ``flapping: true`` (and the
state underneath), so a receiver validating with the schema as first published accepts it.
Fields added within version 1 (``reason_code``, ``test``, ``flapping``) are optional in the
schema, so events enqueued by an earlier release still validate. Query values are JSON data,
never secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic.main import IncEx
from pydantic_core import core_schema

from sqlsentinel_airflow.airflow_contract import alert_tab_url
from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.config.models import AlertConfig, Severity
from sqlsentinel_airflow.core.durations import format_duration
from sqlsentinel_airflow.core.model import Event, EventKind, JsonValue, Reason, State
from sqlsentinel_airflow.core.redact import public_text

__all__ = [
    "ADDED_IN_VERSION_1",
    "ADDED_NESTED_IN_VERSION_1",
    "CONFIG_ERROR_REASON",
    "CONFIG_VALID_REASON",
    "GROUP_REASON",
    "PAYLOAD_REASON_CODES",
    "PAYLOAD_VERSION",
    "TEST_REASON",
    "EventPayload",
    "PayloadAcknowledgement",
    "PayloadAlert",
    "PayloadEscalation",
    "PayloadGroup",
    "PayloadGroupMember",
    "PayloadInstance",
    "PayloadLink",
    "PayloadLinks",
    "WebhookBody",
    "config_error_payload",
    "escalation_summary",
    "event_payload",
    "group_payload",
    "payload_schema",
    "receiver_group_payload",
]

PAYLOAD_VERSION: Literal[1] = 1

CONFIG_ERROR_REASON = ("invalid_config", "invalid alerts configuration")
"""(code, text) of the config watch's event: the alerts file failed validation."""
CONFIG_VALID_REASON = ("config_valid_again", "the alerts configuration is valid again")
"""(code, text) of the config watch's event: the file validates again after an error event."""
TEST_REASON = ("test", "test message from `sqlsentinel notify-test`, not a real alert")
"""(code, text) of a sample event (``notify-test``, template checks)."""
GROUP_REASON = ("grouped", "events of one evaluation, one message")
RECEIVER_GROUP_TEXT = "events of alerts grouped by the receiver, one message"
"""The reason text of a group across alerts (its code is ``grouped`` too)."""
"""(code, text) of a grouped message: each member keeps its own reason (``group.members``)."""

PAYLOAD_REASON_CODES: tuple[str, ...] = (
    *(reason.code for reason in Reason),
    CONFIG_ERROR_REASON[0],
    CONFIG_VALID_REASON[0],
    TEST_REASON[0],
    GROUP_REASON[0],
)
"""Every ``reason_code`` a payload can carry: the state machine's reasons plus the ones above."""

ADDED_IN_VERSION_1: tuple[str, ...] = (
    "reason_code",
    "test",
    "flapping",
    "group",
    "escalation",
    "acknowledgement",
)
"""Fields added after version 1 was published: always sent, but not required by the schema
(an event enqueued by an earlier release, delivered after the upgrade, lacks them)."""
ADDED_NESTED_IN_VERSION_1: dict[str, tuple[str, ...]] = {
    "PayloadAlert": ("runbook_url", "links"),
    "PayloadLinks": ("alert", "silence", "dashboard"),
    # only a group across alerts carries these (docs/adr/0016-groups-across-alerts.md)
    "PayloadGroup": ("group_by",),
    "PayloadGroupMember": ("alert",),
}
"""The same, inside the objects (by model name): sent, but optional in the schema."""

Timestamp = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A timezone-aware time, written as RFC 3339 in UTC (``core.clock.rfc3339``)."""

_JSON = "any JSON value from the query"

V1_KINDS = (EventKind.FIRING, EventKind.REMINDER, EventKind.RESOLVED, EventKind.ERROR)
"""The ``kind`` values version 1 was published with; no other goes on the wire."""
V1_STATES = (State.OK, State.PENDING, State.FIRING, State.ERROR)
"""The ``state`` values version 1 was published with (FLAPPING is shown, never sent)."""


def _published(allowed: tuple[EventKind, ...] | tuple[State, ...]) -> AfterValidator:
    def check(value: EventKind | State) -> EventKind | State:
        if value not in allowed:
            raise ValueError(f"{value.value!r} is not a value version 1 of the payload has")
        return value

    return AfterValidator(check)


PayloadKind = Annotated[
    EventKind,
    _published(V1_KINDS),
    WithJsonSchema({"enum": [k.value for k in V1_KINDS], "title": "EventKind", "type": "string"}),
]
PayloadState = Annotated[
    State,
    _published(V1_STATES),
    WithJsonSchema({"enum": [s.value for s in V1_STATES], "title": "State", "type": "string"}),
]


class _Frozen(BaseModel):
    # extra="forbid" catches a producer's typo; the published schema stays open to additions
    # (``_PublishedSchema``). In the output every field is present, defaults included.
    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_serialization_defaults_required=True
    )


class PayloadLink(_Frozen):
    """One of the alert's ``links`` (alerts.yaml)."""

    title: str
    url: str = Field(description="http(s)")


class PayloadAlert(_Frozen):
    """The alert the event is about (from alerts.yaml)."""

    name: str
    description: str
    severity: Severity
    dag_id: str
    owner: str
    tags: list[str]
    runbook_url: str | None = Field(
        default=None, description="its `runbook_url` (http(s)): what to do when it fires"
    )
    links: list[PayloadLink] = Field(
        default_factory=list, description="its `links`, as written (title and http(s) URL)"
    )


class PayloadInstance(_Frozen):
    """Which instance of the alert: its key, and the key columns' values."""

    key: str = Field(description="'' for single-row alerts")
    key_values: dict[str, JsonValue]


class PayloadLinks(_Frozen):
    """Where to look next."""

    task_log: str | None = Field(description="the Airflow page of the task that sent the event")
    alert: str | None = Field(
        default=None,
        description="the alert's SQL Sentinel tab in Airflow (null: Airflow's [api] base_url "
        "is not set)",
    )
    silence: str | None = Field(
        default=None,
        description="the tab with its silence dialog open for this instance, to confirm "
        "(opening it changes nothing); null for `resolved` events and without a base_url",
    )
    dashboard: str | None = Field(
        default=None, description="the SQL Sentinel page in Airflow's UI (config watch events)"
    )


class PayloadGroupMember(_Frozen):
    """One event of a grouped message: what a single message would have said of it."""

    event_id: str = Field(description="uuid4 of the event")
    kind: PayloadKind
    flapping: bool = Field(default=False, description="a flapping notice (sent as firing)")
    reason: str
    reason_code: str = Field(json_schema_extra={"enum": list(PAYLOAD_REASON_CODES)})
    state: PayloadState
    instance: PayloadInstance
    actual_value: JsonValue = Field(description=_JSON)
    threshold: JsonValue = Field(description=_JSON)
    context: dict[str, JsonValue]
    firing_since: Timestamp | None
    occurred_at: Timestamp
    error: str | None
    alert: str | None = Field(
        default=None,
        description="the member's alert, in a group across alerts (`group.by` `receiver`); "
        "null in a group of one evaluation",
    )


class PayloadGroup(_Frozen):
    """The events of one evaluation of a keyed alert sent as one message
    (docs/adr/0013-grouped-messages.md): how many of each kind, and every member."""

    by: Literal["evaluation", "receiver"] = Field(
        default="evaluation",
        description="what the members share: one evaluation of the alert, or (`receiver`) a "
        "receiver's `group_by` values across alerts, gathered for its `group_wait`",
    )
    group_by: dict[str, str] | None = Field(
        default=None,
        description="with `by` `receiver`: the `group_by` fields and the values the members "
        'share (e.g. `{"owner": "data-team"}`); null otherwise',
    )
    size: int = Field(description="how many events (members) the message covers")
    instances: int = Field(
        description="how many instances the evaluation looked at (the `of` in `50 of 50`)"
    )
    counts: dict[str, int] = Field(
        description="members per kind: firing, reminder, resolved, error, flapping (flapping "
        "members are sent with kind firing and flapping true)"
    )
    max_listed: int = Field(description="how many members a message lists before `+k more`")
    members: list[PayloadGroupMember] = Field(description="every member, in evaluation order")


class PayloadEscalation(_Frozen):
    """An escalation step (docs/responding.md): the incident was not acknowledged within the
    step's ``after``, so this step's receiver is told, once."""

    step: int = Field(description="which step, from 1")
    steps: int = Field(description="how many steps the ladder has")
    after_seconds: float = Field(description="the step's `after`: seconds since the incident began")
    receiver: str = Field(description="the receiver this step notifies (`receivers:`)")
    summary: str = Field(
        default="",
        description="for people: `Escalated (step 1 of 2): not acknowledged for 15m`",
    )


def escalation_summary(step: int, steps: int, after_seconds: float) -> str:
    """``Escalated (step 1 of 2): not acknowledged for 15m``: what every channel says of an
    escalation step (``step`` from 1)."""
    after = format_duration(timedelta(seconds=after_seconds))
    return f"Escalated (step {step} of {steps}): not acknowledged for {after}"


class PayloadAcknowledgement(_Frozen):
    """Who acknowledged the incident (docs/responding.md)."""

    by: str
    at: Timestamp
    comment: str = ""
    source: str = Field(description="where: ui, cli, slack or email")


class EventPayload(_Frozen):
    """One event, as stored in the outbox and rendered by every channel (version 1)."""

    model_config = ConfigDict(title="SQL Sentinel event payload, version 1")

    version: Literal[1] = PAYLOAD_VERSION
    event_id: str = Field(description="uuid4; shared by every channel's copy")
    kind: PayloadKind
    reason: str = Field(description="why, in English (may be reworded: match on reason_code)")
    reason_code: str = Field(
        description="why, as a stable name (Reason.code, e.g. first_firing)",
        json_schema_extra={"enum": list(PAYLOAD_REASON_CODES)},
    )
    state: PayloadState = Field(
        description="the instance's state after the evaluation (upper-case); while it flaps, "
        "the state underneath"
    )
    alert: PayloadAlert
    instance: PayloadInstance
    actual_value: JsonValue = Field(description=_JSON)
    threshold: JsonValue = Field(description=_JSON)
    context: dict[str, JsonValue] = Field(description="the other columns of the row")
    firing_since: Timestamp | None
    occurred_at: Timestamp
    evaluated_at: Timestamp
    error: str | None
    run_id: str | None
    links: PayloadLinks
    test: bool = Field(default=False, description="a sample from notify-test, not a real alert")
    flapping: bool = Field(
        default=False,
        description="a flapping notice (flap_detection): the instance keeps changing between OK "
        "and FIRING, so its per-change messages are held back until it is stable; then one "
        "firing or resolved (reason_code settled_firing, settled_ok) says how it settled. "
        "Sent as kind firing",
    )
    group: PayloadGroup | None = Field(
        default=None,
        description='a grouped message (docs/notifications.md, "Grouped messages"): the '
        "events of one evaluation of a keyed alert for two or more instances; `kind` and "
        "`state` are the most urgent of its members, `instance` is the alert's (key ''), "
        "`reason_code` is `grouped`. Absent on a single event",
    )

    escalation: PayloadEscalation | None = Field(
        default=None,
        description="an escalation step (reason_code `escalated`): the incident is still "
        "unacknowledged after the step's `after`. Sent as kind firing. Absent otherwise",
    )
    acknowledgement: PayloadAcknowledgement | None = Field(
        default=None,
        description="someone acknowledged the incident (reason_code `acknowledged`): sent to "
        "channels that track incidents (PagerDuty). Sent as kind firing. Absent otherwise",
    )

    def to_json(self) -> dict[str, JsonValue]:
        """The JSON document (what the outbox stores and templates read); ``group``,
        ``escalation`` and ``acknowledgement`` only when set, and ``group.group_by`` and the
        members' ``alert`` only on a group across alerts, so each document is what it was
        before those existed."""
        exclude: dict[str, IncEx | bool] = {
            name: True
            for name in ("group", "escalation", "acknowledgement")
            if getattr(self, name) is None
        }
        if self.group is not None and self.group.by == "evaluation":
            # the fields of a group across alerts stay out
            members: IncEx = {"__all__": {"alert"}}
            exclude["group"] = {"group_by": True, "members": members}
        return self.model_dump(mode="json", exclude=exclude or None)

    def as_test(self) -> EventPayload:
        """This payload marked as a sample (``notify-test``, template checks): ``[TEST]``."""
        code, text = TEST_REASON
        return self.model_copy(update={"reason": text, "reason_code": code, "test": True})


class WebhookBody(EventPayload):
    """The generic webhook's body: the payload plus the outbox row's idempotency key."""

    model_config = ConfigDict(title="SQL Sentinel webhook event, version 1")

    idempotency_key: str = Field(description="event_id:channel_id; drop repeats")


def event_payload(
    event: Event,
    alert: AlertConfig,
    *,
    event_id: str,
    run_id: str | None,
    evaluated_at: datetime,
    task_log_url: str | None = None,
    ui_base_url: str | None = None,
) -> EventPayload:
    """The payload of one event of ``alert``. ``task_log_url``: the evaluating task's page;
    ``ui_base_url``: Airflow's ``[api] base_url``, for the links to the alert's tab and to a
    silence (left out when None: a wrong link is worse than none)."""
    alert_url = silence_url = None
    if ui_base_url:
        alert_url = alert_tab_url(ui_base_url, alert.dag_id)
        if event.kind is not EventKind.RESOLVED:
            silence_url = alert_tab_url(
                ui_base_url, alert.dag_id, silence=True, instance_key=event.instance_key or None
            )
    flapping = event.kind is EventKind.FLAPPING
    escalation = None
    if event.kind is EventKind.ESCALATION and event.escalation_step is not None:
        ladder = alert.escalation
        step = ladder[event.escalation_step]
        escalation = PayloadEscalation(
            step=event.escalation_step + 1,
            steps=len(ladder),
            after_seconds=step.after.total_seconds(),
            receiver=step.receiver,
            summary=escalation_summary(
                event.escalation_step + 1, len(ladder), step.after.total_seconds()
            ),
        )
    on_wire = flapping or event.kind in (EventKind.ESCALATION, EventKind.ACKNOWLEDGED)
    return EventPayload(
        event_id=event_id,
        kind=EventKind.FIRING if on_wire else event.kind,
        escalation=escalation,
        flapping=flapping,
        reason=event.reason.value,
        reason_code=event.reason.code,
        state=event.state,
        alert=PayloadAlert(
            name=alert.name,
            description=public_text(alert, alert.description),
            severity=alert.severity,
            dag_id=alert.dag_id,
            owner=alert.owner,
            tags=list(alert.tags),
            runbook_url=alert.runbook_url,
            links=[PayloadLink(title=link.title, url=link.url) for link in alert.links],
        ),
        instance=PayloadInstance(key=event.instance_key, key_values=dict(event.key_values)),
        actual_value=event.actual_value,
        threshold=event.threshold,
        context=dict(event.context),
        firing_since=event.firing_since,
        occurred_at=event.occurred_at,
        evaluated_at=evaluated_at,
        error=event.error,
        run_id=run_id,
        links=PayloadLinks(task_log=task_log_url, alert=alert_url, silence=silence_url),
    )


_HEADLINE_ORDER = (EventKind.FIRING, EventKind.ERROR, EventKind.REMINDER, EventKind.RESOLVED)
"""Which member kind a grouped message is sent as: the first present (the most urgent)."""
GROUP_COUNT_KINDS = ("firing", "reminder", "resolved", "error", "flapping")
"""The keys of ``group.counts``, always all present."""


def group_payload(
    members: Sequence[EventPayload],
    alert: AlertConfig,
    *,
    event_id: str,
    run_id: str | None,
    evaluated_at: datetime,
    instances: int,
    max_listed: int,
    task_log_url: str | None = None,
    ui_base_url: str | None = None,
) -> EventPayload:
    """One message for the events ``members`` (payloads of :func:`event_payload`) of one
    evaluation: ``kind`` and ``state`` the most urgent of theirs, the alert's instance (key
    ''), ``group`` listing them all (docs/adr/0013-grouped-messages.md)."""
    if not members:
        raise ValueError("a grouped message needs at least one member")
    counts, kind, state = _group_counts(members)
    alert_url = silence_url = None
    if ui_base_url:
        alert_url = alert_tab_url(ui_base_url, alert.dag_id)
        if kind is not EventKind.RESOLVED:
            silence_url = alert_tab_url(ui_base_url, alert.dag_id, silence=True)
    return _grouped(
        members,
        kind,
        state,
        event_id=event_id,
        reason=GROUP_REASON[1],
        run_id=run_id,
        evaluated_at=evaluated_at,
        links=PayloadLinks(task_log=task_log_url, alert=alert_url, silence=silence_url),
        group=PayloadGroup(
            size=len(members),
            instances=instances,
            counts=counts,
            max_listed=max_listed,
            members=[_member(m) for m in members],
        ),
    )


def _grouped(
    members: Sequence[EventPayload],
    kind: EventKind,
    state: State,
    *,
    event_id: str,
    reason: str,
    run_id: str | None,
    evaluated_at: datetime,
    links: PayloadLinks,
    group: PayloadGroup,
) -> EventPayload:
    """The envelope every grouped message shares: no single instance, value or context of
    its own (the members carry theirs), the first member's alert, the earliest firing."""
    return EventPayload(
        event_id=event_id,
        kind=kind,
        reason=reason,
        reason_code=GROUP_REASON[0],
        state=state,
        alert=members[0].alert,
        instance=PayloadInstance(key="", key_values={}),
        actual_value=None,
        threshold=None,
        context={},
        firing_since=min((m.firing_since for m in members if m.firing_since), default=None),
        occurred_at=evaluated_at,
        evaluated_at=evaluated_at,
        error=None,
        run_id=run_id,
        links=links,
        group=group,
    )


def _member(m: EventPayload, alert: str | None = None) -> PayloadGroupMember:
    return PayloadGroupMember(
        event_id=m.event_id,
        kind=m.kind,
        flapping=m.flapping,
        reason=m.reason,
        reason_code=m.reason_code,
        state=m.state,
        instance=m.instance,
        actual_value=m.actual_value,
        threshold=m.threshold,
        context=dict(m.context),
        firing_since=m.firing_since,
        occurred_at=m.occurred_at,
        error=m.error,
        alert=alert,
    )


def _group_counts(members: Sequence[EventPayload]) -> tuple[dict[str, int], EventKind, State]:
    counts = dict.fromkeys(GROUP_COUNT_KINDS, 0)
    for member in members:
        counts["flapping" if member.flapping else member.kind.value] += 1
    kinds = {m.kind for m in members}
    kind = next(k for k in _HEADLINE_ORDER if k in kinds)
    return counts, kind, max((m.state for m in members), key=lambda s: s.urgency)


def receiver_group_payload(
    members: Sequence[EventPayload],
    *,
    event_id: str,
    group_by: dict[str, str],
    evaluated_at: datetime,
    max_listed: int,
) -> EventPayload:
    """One message for the events ``members`` (outbox payloads, oldest first) of alerts a
    receiver groups across (docs/adr/0016-groups-across-alerts.md): like
    :func:`group_payload`, with ``group.by`` ``receiver``, the shared ``group_by`` values and
    each member's alert. ``alert`` is the first member's (the version 1 field must name one
    alert; the members name theirs)."""
    if not members:
        raise ValueError("a grouped message needs at least one member")
    counts, kind, state = _group_counts(members)
    return _grouped(
        members,
        kind,
        state,
        event_id=event_id,
        reason=RECEIVER_GROUP_TEXT,
        run_id=None,
        evaluated_at=evaluated_at,
        links=PayloadLinks(task_log=None),
        group=PayloadGroup(
            by="receiver",
            group_by=dict(group_by),
            size=len(members),
            instances=len({(m.alert.name, m.instance.key) for m in members}),
            counts=counts,
            max_listed=max_listed,
            members=[_member(m, m.alert.name) for m in members],
        ),
    )


def config_error_payload(
    *,
    event_id: str,
    source: str,
    messages: Sequence[str],
    dag_id: str,
    owner: str,
    run_id: str | None,
    occurred_at: datetime,
    task_log_url: str | None = None,
    dashboard_url: str | None = None,
    valid_again: bool = False,
) -> EventPayload:
    """The config watch's event: the alerts file ``source`` is invalid (``messages``), or,
    with ``valid_again``, valid after it was not (a ``resolved`` event, no messages)."""
    code, text = CONFIG_VALID_REASON if valid_again else CONFIG_ERROR_REASON
    return EventPayload(
        event_id=event_id,
        kind=EventKind.RESOLVED if valid_again else EventKind.ERROR,
        reason=text,
        reason_code=code,
        state=State.OK if valid_again else State.ERROR,
        alert=PayloadAlert(
            name="alerts configuration",
            description=f"validation of {source}",
            severity="critical",
            dag_id=dag_id,
            owner=owner,
            tags=[],
        ),
        instance=PayloadInstance(key="", key_values={}),
        actual_value=None,
        threshold=None,
        context={"file": source, "errors": len(messages)},
        firing_since=None,
        occurred_at=occurred_at,
        evaluated_at=occurred_at,
        error="\n".join(messages) if messages else None,
        run_id=run_id,
        links=PayloadLinks(task_log=task_log_url, dashboard=dashboard_url),
    )


class _PublishedSchema(GenerateJsonSchema):
    """Without field titles ("Event Id" repeats the name) and open to fields added later:
    version 1 promises additive changes, so a receiver validating with this schema must
    accept a field it does not know yet."""

    def field_title_should_be_set(self, schema: object) -> bool:  # type: ignore[override]
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        generated = super().model_schema(schema)
        generated.pop("additionalProperties", None)
        return generated


def payload_schema() -> dict[str, JsonValue]:
    """The JSON Schema (draft 2020-12) of the webhook body, generated from :class:`WebhookBody`.

    ``docs/reference/event-payload.schema.json`` is this, committed
    (``scripts/gen_event_payload_schema.py`` writes it; a test compares).
    """
    generated: JsonSchemaValue = WebhookBody.model_json_schema(
        mode="serialization", schema_generator=_PublishedSchema
    )
    generated["required"] = [f for f in generated["required"] if f not in ADDED_IN_VERSION_1]
    for name, added in ADDED_NESTED_IN_VERSION_1.items():
        nested = generated["$defs"][name]
        nested["required"] = [f for f in nested["required"] if f not in added]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **generated}
