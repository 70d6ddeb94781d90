"""The read model's views: frozen, typed, written as JSON by one method (``View.to_json``).

The JSON keys are the field names; the ``Annotated`` text beside each field is its meaning
on docs/reference/read-model.md (``scripts/gen_docs_read_model.py`` reads it).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from types import UnionType
from typing import Annotated, Union, get_args, get_origin, get_type_hints

from sqlsentinel_airflow.core.clock import rfc3339
from sqlsentinel_airflow.core.incidents import IncidentKind
from sqlsentinel_airflow.core.model import EventKind, JsonValue, Outcome, RunType, State
from sqlsentinel_airflow.core.silences import SilenceStatus
from sqlsentinel_airflow.store.records import OutboxStatus

__all__ = [
    "DELIVERIES_SHOWN",
    "FIRING_LABELS_SHOWN",
    "INSTANCES_IN_LIST",
    "SPARK_POINTS",
    "UNDELIVERED",
    "VIEWS",
    "AlertStatus",
    "AlertSummary",
    "ConfigErrorView",
    "DeliveryMemberView",
    "DeliveryView",
    "DocsFact",
    "DocsView",
    "EvaluationView",
    "IncidentKind",
    "IncidentView",
    "InstanceView",
    "InvalidAlertView",
    "LinkView",
    "MuteWindowView",
    "ReceiverView",
    "ReportItem",
    "ReportSection",
    "ReportView",
    "RoutingView",
    "SampleView",
    "SilenceView",
    "SparkSeries",
    "View",
]

SPARK_POINTS = 30  # recent values an alert summary carries
INSTANCES_IN_LIST = 25  # instances an alert summary carries unless all are asked for
FIRING_LABELS_SHOWN = 10  # firing instances an alert summary names
DELIVERIES_SHOWN = 200  # undelivered notifications an alert summary lists (newest first)
# ...and `sqlsentinel status` per alert, by default its pending ones only: a summary of every
# alert, where a year of dead letters listed 200 at a time was a second and a half of reading
# and a table of up to 200,000 lines (dead letters: `sqlsentinel outbox --status dead`)
DELIVERIES_IN_STATUS = 5
UNDELIVERED = (OutboxStatus.PENDING, OutboxStatus.DEAD)  # what a summary counts and lists


class AlertStatus(str, enum.Enum):
    """The one word an alert's badge shows, most urgent first."""

    SILENCED = "silenced"
    FIRING = "firing"
    FLAPPING = "flapping"  # flap_detection holds its per-change messages back
    ERROR = "error"
    PENDING = "pending"
    OK = "ok"
    UNKNOWN = "unknown"  # never evaluated


_PLAIN = frozenset({str, int, float, bool, type(None)})


@dataclass(frozen=True)
class View:
    """A view: frozen, and written as JSON field by field (the keys are the field names)."""

    def to_json(self) -> dict[str, JsonValue]:
        writer = _WRITERS.get(type(self))
        if writer is None:
            writer = _WRITERS[type(self)] = _writer(type(self))
        return writer(self)


# Each view class's writer: one function made from its fields' types, once per class, that
# builds the dict in one expression. The SQL Sentinel page writes ~3,900 views (~90,000
# fields): a loop testing every value's type took ~40% of that call's Python
# (docs/benchmarks.md, section 5). A field whose type says nothing (JsonValue) goes
# through _json, the rules of the module doc.
_WRITERS: dict[type[View], Callable[[View], dict[str, JsonValue]]] = {}


def _writer(view: type[View]) -> Callable[[View], dict[str, JsonValue]]:
    hints = get_type_hints(view)
    names: dict[str, object] = {"_json": _json, "_rfc3339": rfc3339}
    items = [
        f"{f.name!r}: {_expression(hints[f.name], f'v.{f.name}', names)}" for f in fields(view)
    ]
    source = "def to_json(v):\n    return {" + ", ".join(items) + "}\n"
    exec(source, names)  # source made of field names and the helpers above, nothing else
    return names["to_json"]  # type: ignore[return-value]


def _expression(kind: object, ref: str, names: dict[str, object]) -> str:
    """Python source writing ``ref`` (a field of type ``kind``) as JSON, as _json would."""
    if kind in _PLAIN or kind is dict or get_origin(kind) is dict:
        return ref  # _json returns plain values and dicts as they are
    if kind is datetime:
        return f"_rfc3339({ref})"
    args = get_args(kind)
    if get_origin(kind) in (Union, UnionType) and type(None) in args and len(args) == 2:
        (inner,) = (a for a in args if a is not type(None))
        shown = _expression(inner, ref, names)
        return ref if shown == ref else f"(None if {ref} is None else {shown})"
    if isinstance(kind, type) and issubclass(kind, View):
        return f"{ref}.to_json()"
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        texts, cls = f"_texts{len(names)}", f"_class{len(names)}"
        names[texts], names[cls] = {m: str(m.value).lower() for m in kind}, kind
        return f"({texts}[{ref}] if {ref}.__class__ is {cls} else _json({ref}))"
    if get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis:
        if args[0] in _PLAIN:
            return f"list({ref})"
        return f"[{_expression(args[0], 'e', names)} for e in {ref}]"
    return f"_json({ref})"


def _json(value: object) -> JsonValue:
    if type(value) in _PLAIN:  # most fields: no isinstance tests (a str enum is not plain)
        return value  # type: ignore[return-value]
    if isinstance(value, View):
        return value.to_json()
    if isinstance(value, enum.Enum):  # before str: the package's enums are str enums
        return str(value.value).lower()
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value


# --- the views --------------------------------------------------------------------------------

AlertName = Annotated[str, "the alert's name (`name:` in alerts.yaml)"]
DagId = Annotated[str | None, "the alert's DAG id (null on rows written before it was stored)"]
InstanceKey = Annotated[
    str, 'the instance: "" for a single-row alert, else the key columns\' values as JSON'
]
InstanceLabel = Annotated[
    str, 'the instance as people write it: `table_name=customers` ("" for a single-row alert)'
]


@dataclass(frozen=True)
class AckView(View):
    """Who acknowledged an instance's incident (docs/responding.md)."""

    by: Annotated[str, "who: the Airflow user, the Slack user, or the email recipient"]
    at: Annotated[datetime, "when"]
    comment: Annotated[str | None, "what they said (null: nothing)"]
    source: Annotated[str, "where: `ui`, `cli`, `slack` or `email`"]


@dataclass(frozen=True)
class IncidentActionView(View):
    """What a person or the escalation ladder did to an incident: a line of its timeline."""

    id: Annotated[int, "the action's id"]
    alert: AlertName
    instance_key: InstanceKey
    label: InstanceLabel
    firing_since: Annotated[datetime | None, "the incident (when it began)"]
    action: Annotated[str, "`acknowledged`, `unacknowledged`, `rearmed` or `escalated`"]
    actor: Annotated[str, "who (`sentinel` for the escalation ladder)"]
    source: Annotated[str, "`ui`, `cli`, `slack`, `email` or `sentinel`"]
    comment: Annotated[str | None, "what they said (null: nothing)"]
    detail: Annotated[
        dict[str, JsonValue], 'more: an escalation\'s `{"step": 1, "steps": 2, "receiver": ...}`'
    ]
    at: Annotated[datetime, "when"]


@dataclass(frozen=True)
class InstanceView(View):
    """The state of one instance of an alert: ``(alert, instance_key)`` names it."""

    alert: AlertName
    dag_id: Annotated[str | None, "the alert's DAG id"]
    instance_key: InstanceKey
    label: InstanceLabel
    key_values: Annotated[dict[str, JsonValue], "the key columns and their values ({} if none)"]
    state: Annotated[State, "the alerting state (FLAPPING while flap detection holds it)"]
    last_good_state: Annotated[State, "the state before the query started failing"]
    since: Annotated[datetime | None, "when it entered its state"]
    firing_since: Annotated[datetime | None, "when the current incident began"]
    last_evaluated_at: Annotated[datetime | None, "the last evaluation"]
    last_outcome: Annotated[Outcome | None, "what the last evaluation observed"]
    last_value: Annotated[JsonValue, "`actual_value` of the last evaluation"]
    last_threshold: Annotated[JsonValue, "`threshold` of the last evaluation"]
    last_context: Annotated[dict[str, JsonValue], "the other columns of the last evaluation"]
    last_error: Annotated[str | None, "the last query error (redacted)"]
    last_notified_at: Annotated[datetime | None, "when a firing or reminder last went out"]
    silenced: Annotated[bool, "a silence of the alert or of this instance mutes it now"]
    flapping_since: Annotated[
        datetime | None, "when it began to flap (flap_detection); null while it does not"
    ] = None
    ack: Annotated[AckView | None, "the acknowledgement of its current incident (null: none)"] = (
        None
    )
    escalation_steps: Annotated[int, "escalation steps sent in its current incident"] = 0
    inhibited_by: Annotated[
        tuple[str, ...],
        "the parent alerts (`depends_on`) firing or failing at its last evaluation: its "
        "notifications are held while they are (empty: none)",
    ] = ()


@dataclass(frozen=True)
class EvaluationView(View):
    """One evaluation of one instance (a row of the history)."""

    id: Annotated[int | None, "the history row's id (page with `before_id`)"]
    alert: AlertName
    dag_id: DagId
    instance_key: InstanceKey
    key_values: Annotated[dict[str, JsonValue], "the key columns and their values"]
    evaluated_at: Annotated[datetime, "when it was evaluated"]
    run_type: Annotated[RunType, "what ran it"]
    run_id: Annotated[str | None, "the Airflow run (or CLI run) id"]
    outcome: Annotated[Outcome, "what the query said"]
    state: Annotated[State, "the state after it"]
    reason: Annotated[str | None, "why the notify decision came out so, in English"]
    reason_code: Annotated[str | None, "the same reason's stable name (`first_firing`)"]
    actual_value: Annotated[JsonValue, "the `actual_value` column"]
    threshold: Annotated[JsonValue, "the `threshold` column"]
    context: Annotated[dict[str, JsonValue], "the other columns"]
    error: Annotated[str | None, "the query error (redacted)"]
    duration_ms: Annotated[int | None, "how long the query took"]
    events: Annotated[tuple[EventKind, ...], "the notifications it enqueued"]
    repeats: Annotated[
        int,
        "how many evaluations after this one that changed nothing are folded into this row "
        "(docs/operations.md, 'Retention and compaction'); 0 for a row of one evaluation",
    ] = 0
    last_evaluated_at: Annotated[
        datetime | None, "the last evaluation the row stands for (null when `repeats` is 0)"
    ] = None
    samples: Annotated[
        tuple[SampleView, ...],
        "the folded evaluations, oldest first: all `repeats` of them in the CLI; the UI API "
        "sends them with `samples=true` only, the newest `limit` evaluations of the page",
    ] = ()
    inhibited_by: Annotated[
        tuple[str, ...],
        "the parent alerts (`depends_on`) firing or failing at this evaluation; with reason "
        "`inhibited` a notification was held for them (empty: none)",
    ] = ()


@dataclass(frozen=True)
class SampleView(View):
    """An evaluation folded into the history row before it: same outcome, state, threshold,
    context and reason as that row; its own time, value and query duration."""

    evaluated_at: Annotated[datetime, "when it was evaluated"]
    actual_value: Annotated[JsonValue, "the `actual_value` column"]
    duration_ms: Annotated[int | None, "how long the query took"]


@dataclass(frozen=True)
class IncidentView(View):
    """One incident of one instance: a stretch of FIRING, or of query errors, from the
    evaluation that entered it to the one that left it (docs/ui.md, "Incidents")."""

    id: Annotated[int, "the history id of the evaluation that started it (page with `before`)"]
    alert: AlertName
    dag_id: DagId
    instance_key: InstanceKey
    key_values: Annotated[dict[str, JsonValue], "the key columns and their values ({} if none)"]
    kind: Annotated[IncidentKind, "`firing` or `error` (a query-error stretch)"]
    started_at: Annotated[datetime, "the evaluation that entered it"]
    start_run_id: Annotated[str | None, "that evaluation's run"]
    ended_at: Annotated[datetime | None, "the evaluation that left it (null: ongoing)"]
    end_run_id: Annotated[str | None, "that evaluation's run"]
    ongoing: Annotated[bool, "not left yet"]
    duration_seconds: Annotated[float | None, "from start to end (null while ongoing)"]
    evaluations: Annotated[int, "evaluations during it (the one that left it not counted)"]
    peak_value: Annotated[
        JsonValue,
        "the `actual_value` furthest past its threshold among its ALERT evaluations "
        "(the largest when there is no numeric threshold; null for `error`)",
    ]
    peak_threshold: Annotated[JsonValue, "the `threshold` at the peak"]
    peak_at: Annotated[datetime | None, "when the peak was evaluated"]
    notifications: Annotated[
        dict[str, int], "notifications enqueued for it, by event (`firing`, `reminder`, ...)"
    ]
    silenced: Annotated[bool, "a silence muted a notification during it"]
    error: Annotated[str | None, "the query error it began with (`error` only; redacted)"]
    actions: Annotated[
        tuple[IncidentActionView, ...],
        "what people and the escalation ladder did to it (acknowledged, escalated...), "
        "oldest first",
    ] = ()


@dataclass(frozen=True)
class DeliveryMemberView(View):
    """One event a grouped message carried (docs/adr/0013-grouped-messages.md)."""

    instance_key: InstanceKey
    label: InstanceLabel
    kind: Annotated[EventKind, "the event"]
    event_id: Annotated[str, "the event's id (uuid)"]


@dataclass(frozen=True)
class DeliveryView(View):
    """One notification of one event to one channel (a row of the outbox), without payload."""

    id: Annotated[int | None, "the outbox row's id"]
    alert: AlertName
    instance_key: InstanceKey
    kind: Annotated[EventKind, "the event"]
    channel: Annotated[str, "the channel type"]
    channel_id: Annotated[str, "the channel: its position, type and a hash of its settings"]
    destination: Annotated[
        str | None,
        "where it went, without secrets: email addresses, the Slack channel (or `Slack "
        "webhook`), a webhook's scheme and host (null on rows enqueued before it was stored)",
    ]
    status: Annotated[OutboxStatus, "`dead`: gave up after `delivery_attempts` failures"]
    attempts: Annotated[int, "sends tried so far"]
    last_error: Annotated[str | None, "why the last send failed (redacted)"]
    created_at: Annotated[datetime, "when the event was enqueued"]
    last_attempt_at: Annotated[datetime | None, "the last send"]
    delivered_at: Annotated[datetime | None, "when it was delivered"]
    idempotency_key: Annotated[str, "the key a receiver can drop a re-delivery by"]
    members: Annotated[
        tuple[DeliveryMemberView, ...],
        "a grouped message: the events of one evaluation it carried, in order (then `kind` "
        'is the most urgent of theirs and `instance_key` is ""); empty for one event',
    ] = ()
    batch_id: Annotated[
        str | None,
        "grouped across alerts by its receiver (`group_by`): the message that carried it, "
        "shared by every row that message carried and its event id; null otherwise, and "
        "until a deliverer claims the group",
    ] = None


@dataclass(frozen=True)
class SilenceView(View):
    """A silence, stored (CLI, UI) or declared in the alerts file (`source: config`)."""

    id: Annotated[int | None, "its id (null for a silence declared in the file)"]
    match: Annotated[str, "the glob matched against alert names and DAG ids"]
    starts_at: Annotated[datetime, "start"]
    ends_at: Annotated[datetime, "planned end"]
    ended_at: Annotated[datetime | None, "when someone ended it early"]
    created_at: Annotated[datetime | None, "when it was stored"]
    reason: Annotated[str, "why, as its author wrote it"]
    author: Annotated[str, "who (the alerts file for a declared silence)"]
    source: Annotated[str, "`cli`, `ui` or `config`"]
    status: Annotated[SilenceStatus, "at the time of the answer"]
    can_end: Annotated[bool, "whether it can be ended early (a declared one ends with the file)"]
    instance_key: Annotated[
        str | None, "the one instance of a keyed alert it mutes (its key); null: every instance"
    ]
    instance_label: Annotated[str | None, "that instance as `table_name=customers` (or null)"]


@dataclass(frozen=True)
class MuteWindowView(View):
    """A recurring mute window of the alert's file (`mute_windows:`) that matches it."""

    name: Annotated[str, "its name"]
    when: Annotated[str, "when it is active, as the file says (`saturday, sunday (UTC)`)"]
    match: Annotated[str, "which alerts it matches (`tags: batch`; `any alert`)"]
    reason: Annotated[str, "why, as the file says"]
    active: Annotated[bool, "whether it mutes the alert now"]
    starts_at: Annotated[datetime | None, "its next start (null while active, or none ahead)"]
    ends_at: Annotated[
        datetime | None, "the end of the current occurrence, or of the next (null: none ahead)"
    ]
    notify_firing_at_end: Annotated[bool, "an incident firing when it ends sends one `firing`"]
    notify_resolved_inside: Annotated[
        bool, "an incident announced before it that resolves inside sends its `resolved`"
    ]


@dataclass(frozen=True)
class SparkSeries(View):
    """The recent evaluations of the alert's worst instance, for a sparkline: four parallel
    lists, oldest first (point ``i`` is ``at[i]``, ``value[i]``, ``threshold[i]``,
    ``outcome[i]``). Lists rather than one object per point, and times as numbers rather
    than RFC 3339 text: the SQL Sentinel page's 1,000 alerts carry 30,000 points."""

    at: Annotated[
        tuple[float, ...],
        "when each was evaluated, in seconds since 1970-01-01 UTC, with its microseconds "
        "(JavaScript: `new Date(at * 1000)`)",
    ]
    value: Annotated[tuple[float | None, ...], "`actual_value` as a number (null: not numeric)"]
    threshold: Annotated[tuple[float | None, ...], "`threshold` as a number (null: not numeric)"]
    outcome: Annotated[tuple[Outcome, ...], "what the query said"]


@dataclass(frozen=True)
class DocsFact(View):
    """One line of the DAG's documentation: ``Schedule`` = ``0 9 * * * in UTC``."""

    label: Annotated[str, "what it is"]
    text: Annotated[str, "its value, as Markdown"]


@dataclass(frozen=True)
class LinkView(View):
    """One of the alert's ``links``."""

    title: Annotated[str, "its text"]
    url: Annotated[str, "an http(s) URL"]


@dataclass(frozen=True)
class ReceiverView(View):
    """A named receiver an alert reaches through `routes:`, and the routes that led there."""

    name: Annotated[str, "the receiver's name (`receivers[].name`)"]
    channels: Annotated[tuple[str, ...], "its channels, one line each, without secrets"]
    via: Annotated[
        tuple[str, ...],
        "each path of routes that took the alert to it: `routes.routes[0] (severity: critical)`",
    ]


@dataclass(frozen=True)
class RoutingView(View):
    """Where `routes:` sends the alert (`sqlsentinel routes` prints the same)."""

    receivers: Annotated[tuple[ReceiverView, ...], "the receivers reached, in the order reached"]
    nobody_via: Annotated[tuple[str, ...], "routes that took the alert but name no receiver"]
    renotify: Annotated[
        str | None, "the `renotify_after` a route sets, where from, and whether it applies"
    ]
    reaches_nobody: Annotated[bool, "no channel of its own and no receiver: nobody is told"]
    escalation: Annotated[
        tuple[str, ...],
        "the escalation ladder, one line per step: `step 1 after 15m: receiver oncall "
        "(webhook POST via connection `pager`)`; empty without one",
    ] = ()
    escalation_from: Annotated[
        str | None, "where the ladder is written: `the alert`, `defaults` or a route's path"
    ] = None


@dataclass(frozen=True)
class DocsView(View):
    """The alert's definition as its DAG documents it, without secrets."""

    description: Annotated[str, "the alert's description"]
    facts: Annotated[tuple[DocsFact, ...], "schedule, policy and the other settings"]
    query: Annotated[str | None, "the SQL"]
    channels: Annotated[tuple[str, ...], "where notifications go, one line per channel"]
    banner: Annotated[str, "the warning on a DAG that runs a stale version (or empty)"]
    runbook_url: Annotated[str | None, "`runbook_url`: what to do when it fires (http(s))"]
    links: Annotated[tuple[LinkView, ...], "`links`: more pages about it, as written"]
    routing: Annotated[RoutingView | None, "receivers reached through `routes:` (null: no routes)"]


@dataclass(frozen=True)
class ConfigErrorView(View):
    """One located error of an alerts file: ``alerts.yaml:14:7 alerts[2].schedule: ...``."""

    file: Annotated[str | None, "the alerts file, as the loader names it"]
    line: Annotated[int | None, "the line (1-based; null: the whole file)"]
    column: Annotated[int | None, "the column (1-based)"]
    path: Annotated[str, "where in the YAML (`alerts[2].schedule`; empty: the file)"]
    message: Annotated[str, "what is wrong (redacted)"]
    hint: Annotated[str | None, "what to do about it"]
    text: Annotated[str, "all of it on one line, as the CLI prints it"]


@dataclass(frozen=True)
class InvalidAlertView(View):
    """An alert its file defines but that does not validate: it does not run (its DAG is a
    placeholder that fails with these errors when triggered)."""

    dag_id: Annotated[str, "the placeholder DAG's id (the alert's once it is fixed)"]
    name: AlertName
    source_file: Annotated[str | None, "the alerts file"]
    errors: Annotated[tuple[ConfigErrorView, ...], "what to fix, in file order"]
    paused: Annotated[bool | None, "whether the placeholder DAG is paused (null: the CLI)"]


@dataclass(frozen=True)
class AlertSummary(View):
    """One alert as the dashboard and ``sqlsentinel status`` show it.

    ``status`` is ``silenced`` while a silence or a mute window mutes every instance, else the most urgent
    state among its instances that no silence of their own mutes (or ``unknown`` before its
    first evaluation); when only silenced instances are in trouble it is ``silenced`` too.
    ``state`` is the most urgent state beneath any silence.
    """

    dag_id: Annotated[str, "the alert's DAG id"]
    name: AlertName
    description: Annotated[str, "its description"]
    severity: Annotated[str, "`critical`, `warning` or `info`"]
    owner: Annotated[str, "its owner"]
    tags: Annotated[tuple[str, ...], "its tags"]
    enabled: Annotated[bool | None, "`enabled:` in its file (null: not known, the UI)"]
    paused: Annotated[bool | None, "whether its DAG is paused (null: not known, the CLI)"]
    stale: Annotated[bool | None, "its DAG runs the last valid version (null: the CLI)"]
    config_errors: Annotated[
        tuple[ConfigErrorView, ...], "why a stale alert is stale: its file's current errors"
    ]
    status: Annotated[AlertStatus, "the badge"]
    state: Annotated[AlertStatus, "the state beneath a silence (never `silenced`)"]
    since: Annotated[datetime | None, "when the worst instance entered its state"]
    firing_since: Annotated[datetime | None, "when the worst instance's incident began"]
    last_value: Annotated[JsonValue, "the worst instance's last `actual_value`"]
    threshold: Annotated[JsonValue, "the worst instance's last `threshold`"]
    last_error: Annotated[str | None, "the worst instance's last query error (redacted)"]
    last_evaluated_at: Annotated[datetime | None, "the latest evaluation of any instance"]
    instance_count: Annotated[int, "instances known"]
    firing_instances: Annotated[int, "instances firing"]
    acknowledged_instances: Annotated[int, "firing instances someone acknowledged"]
    inhibited_by: Annotated[
        tuple[str, ...],
        "the parent alerts (`depends_on`) that held its notifications at its last "
        "evaluation (empty: none)",
    ]
    firing_instance_labels: Annotated[
        tuple[str, ...],
        f"the firing instances' labels, unsilenced first, at most {FIRING_LABELS_SHOWN}",
    ]
    instances: Annotated[
        tuple[InstanceView, ...], f"most urgent first (the first {INSTANCES_IN_LIST} in lists)"
    ]
    pending_deliveries: Annotated[int, "notifications waiting for a retry"]
    dead_deliveries: Annotated[int, "notifications given up on"]
    delivered_deliveries: Annotated[
        int | None,
        "notifications delivered (0: none sent yet); null where they are not counted (the "
        "UI's list of alerts and `sqlsentinel status`: a year of them is a million rows)",
    ]
    has_delivered: Annotated[bool, "whether any notification was ever delivered"]
    deliveries: Annotated[
        tuple[DeliveryView, ...] | None,
        f"the pending and dead ones, newest first, at most {DELIVERIES_SHOWN} on an alert's "
        f"page; in `sqlsentinel status` its pending ones (at most {DELIVERIES_IN_STATUS}), or "
        "with `--deliveries N` the newest N pending or dead; null in the UI's list of alerts",
    ]
    silenced: Annotated[bool, "the badge is `silenced`: every instance in trouble is muted now"]
    silences: Annotated[tuple[SilenceView, ...], "active and upcoming silences that match it"]
    mute_windows: Annotated[
        tuple[MuteWindowView, ...], "the mute windows that match it, with their next start/end"
    ]
    spark_instance: Annotated[str | None, "the instance the recent values are of"]
    spark: Annotated[
        SparkSeries | None,
        f"its last {SPARK_POINTS} values, oldest first (null: not asked for, the CLI)",
    ]
    docs: Annotated[DocsView | None, "its definition (the UI's alert page only)"]
    can_edit: Annotated[bool | None, "the user may silence it (the UI only)"]
    runbook_url: Annotated[
        str | None, "`runbook_url` (http(s); null: none, or its file is not known here)"
    ]


@dataclass(frozen=True)
class ReportItem(View):
    """One alert in a section of the monthly report: why it is there and what to do."""

    alert: AlertName
    dag_id: Annotated[str, "the alert's DAG id"]
    owner: Annotated[str, "its owner"]
    label: Annotated[
        str, 'the instance the figure is of, as `table_name=customers` ("" for the alert)'
    ]
    value: Annotated[
        float | None,
        "the section's figure: percent of the window firing, incidents, days, p95 ms, "
        "notifications (null: none)",
    ]
    why: Annotated[str, "why it is in the section, in English"]
    todo: Annotated[str, "what to do about it"]


@dataclass(frozen=True)
class ReportSection(View):
    """A section of the monthly report: the alerts one rule picks, worst first."""

    id: Annotated[
        str,
        "`always_firing`, `never_fired`, `flapping`, `silenced_long`, `acknowledged_long`, "
        "`no_owner`, `no_runbook`, `slowest_queries` or `most_notifications`",
    ]
    title: Annotated[str, "its heading"]
    rule: Annotated[str, "what puts an alert in it"]
    items: Annotated[tuple[ReportItem, ...], "the alerts, worst first (empty: none)"]


@dataclass(frozen=True)
class ReportView(View):
    """The monthly report (`sqlsentinel report`, the UI's Report page): docs/operations.md,
    "The monthly report"."""

    generated_at: Annotated[datetime, "when it was computed"]
    since: Annotated[datetime, "the start of the window"]
    days: Annotated[int, "the window, in days (`--days`)"]
    long_after_days: Annotated[
        int, "a silence or acknowledgement is long from this many days (`--long-after`)"
    ]
    alerts: Annotated[int, "alerts looked at"]
    sections: Annotated[tuple[ReportSection, ...], "in a fixed order"]


VIEWS: tuple[type[View], ...] = (
    AlertSummary,
    InvalidAlertView,
    ConfigErrorView,
    InstanceView,
    AckView,
    IncidentActionView,
    EvaluationView,
    SampleView,
    IncidentView,
    DeliveryView,
    DeliveryMemberView,
    SilenceView,
    MuteWindowView,
    SparkSeries,
    DocsView,
    DocsFact,
    LinkView,
    RoutingView,
    ReceiverView,
    ReportView,
    ReportSection,
    ReportItem,
)
"""Every view, in the order the reference page documents them."""
