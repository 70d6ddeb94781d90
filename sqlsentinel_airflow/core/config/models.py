"""Typed, immutable models of alerts.yaml (docs/reference/alerts-yaml.md).

Two stages:
- *raw* models (``raw.py``: ``RawFile``, ``RawAlert``, ``RawDefaults``) mirror what may be
  written, every setting optional, so ``defaults`` inheritance can be applied and the JSON
  Schema exported;
- resolved models (``AlertsConfig``, ``AlertConfig``) are what the rest of the package uses:
  every setting concrete, durations as ``timedelta``, the SQL text loaded from ``query_file``.

The loader (``loader.py``) turns YAML into raw models, merges defaults and produces resolved
models, locating every error. No raw dicts travel past it.

Fields that hold secrets are declared here, once, with ``Annotated[..., SECRET]``;
``core.redact`` collects their values (``secret_values``) and masks them (``public_dump``),
so no other module keeps its own list (docs/security.md, "What is masked, where").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sqlsentinel_airflow.airflow_contract import DEFAULT_DAG_ID_PREFIX
from sqlsentinel_airflow.core.config.assets import (
    AssetCondition,
    AssetRef,
    ProducedAsset,
    describe_trigger,
)
from sqlsentinel_airflow.core.config.checks import MAX_GROUP_WAIT, MAX_STATEMENT_TIMEOUT
from sqlsentinel_airflow.core.model import EscalationStep, FlapPolicy, Policy
from sqlsentinel_airflow.core.mutewindows import MuteWindow
from sqlsentinel_airflow.core.redact import SECRET, url_origin
from sqlsentinel_airflow.errors import QueryError

__all__ = [
    "DEFAULT_ACTION_LINK_LIFETIME",
    "DEFAULT_DAG_ID_PREFIX",
    "DEFAULT_GROUP_WAIT",
    "MAX_GROUP_WAIT",
    "UNGROUPED_CHANNELS",
    "ActionLinks",
    "AlertConfig",
    "AlertsConfig",
    "ChannelConfig",
    "ChannelSlot",
    "DatabaseConfig",
    "EmailChannel",
    "FileSilence",
    "FreshnessCheck",
    "GroupByField",
    "Link",
    "MessageGrouping",
    "MessageTemplates",
    "PagerDutyChannel",
    "Receiver",
    "RouteHit",
    "RouteStep",
    "Routing",
    "Severity",
    "SlackChannel",
    "StateDbConfig",
    "TeamsChannel",
    "TemplateText",
    "WebhookChannel",
    "describe_channel",
    "slugify",
]

DEFAULT_MAX_ROWS_SINGLE = 1
DEFAULT_MAX_ROWS_KEYED = 1000

Severity = Literal["info", "warning", "critical"]

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """The dag_id-safe slug of an alert name: lowercase ASCII letters, digits and ``_``."""
    return _SLUG_RE.sub("_", name.lower()).strip("_")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


# --- message templates (notify/templates.py renders them) --------------------------------

EventKindName = Literal[
    "firing", "reminder", "resolved", "error", "flapping", "escalation", "group"
]
TemplateText = str | dict[EventKindName, str]
"""A message template: one Jinja text for every event kind, or one text per kind (``group``:
a grouped message, docs/notifications.md "Grouped messages"; ``escalation``: an escalation
step, docs/responding.md)."""


class MessageTemplates(_Frozen):
    """Template overrides of an alert (or ``defaults``); unset parts use the built-in defaults."""

    subject: TemplateText | None = None  # email subject
    text: TemplateText | None = None  # email plain-text body
    html: TemplateText | None = None  # email HTML body
    slack: TemplateText | None = None  # Slack message text (mrkdwn)
    pagerduty: TemplateText | None = None  # PagerDuty summary (one line of plain text)
    teams: TemplateText | None = None  # Microsoft Teams card text (Adaptive Card markdown)


# --- grouped messages (core/grouping.py decides; docs/adr/0013-grouped-messages.md) -------

PEOPLE_CHANNELS = frozenset({"email", "slack", "teams"})
"""Channels people read: grouped by default. A webhook is read by a program written against
one event per document, so it is grouped only when asked (``by_evaluation: true``)."""
UNGROUPED_CHANNELS = frozenset({"pagerduty"})
"""Channels never grouped, whatever ``group:`` says: PagerDuty deduplicates per incident
(``dedup_key``), so each event of each instance is its own PagerDuty event."""
DEFAULT_MAX_LISTED = 20


class MessageGrouping(_Frozen):
    """``group:`` of an alert (or ``defaults``, or a receiver): one message per channel for the
    events of one evaluation of a keyed alert that concern two or more instances."""

    by_evaluation: bool | None = None  # None: people's channels (email, Slack), not webhooks
    max_listed: int = Field(default=DEFAULT_MAX_LISTED, ge=1, le=1000)  # listed in a message

    def groups(self, channel_kind: str) -> bool:
        """Whether a channel of this kind gets one message per evaluation."""
        if channel_kind in UNGROUPED_CHANNELS:
            return False
        if self.by_evaluation is None:
            return channel_kind in PEOPLE_CHANNELS
        return self.by_evaluation


# --- links --------------------------------------------------------------------------------


class Link(_Frozen):
    """A link of an alert (``links:``): its text and an http(s) URL."""

    title: str
    url: str


# --- channels ---------------------------------------------------------------------------


class EmailChannel(_Frozen):
    """Email through the smtp provider's SmtpHook."""

    channel: Literal["email"]
    to: tuple[str, ...] = Field(alias="recipients", min_length=1)
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str | None = None
    conn_id: str = "smtp_default"
    from_email: str | None = None
    text: TemplateText | None = None  # plain-text body template
    html: TemplateText | None = None  # HTML body template

    def public_destination(self) -> str:
        """Where it goes, as shown in the outbox and the UI: the addresses (bcc counted)."""
        shown = ", ".join((*self.to, *self.cc))
        return shown + (f" (+{len(self.bcc)} bcc)" if self.bcc else "")


class SlackChannel(_Frozen):
    """Slack through SlackWebhookHook (a ``slackwebhook`` connection), a per-alert webhook URL,
    or a Slack app's bot token (``bot_conn_id``, a ``slack`` connection: SlackHook,
    ``chat.postMessage``), whose messages carry Acknowledge and Snooze buttons
    (docs/responding.md, "From Slack")."""

    channel: Literal["slack"]
    conn_id: str | None = None
    webhook_url: Annotated[str | None, SECRET] = None  # Slack's token is in the path
    bot_conn_id: str | None = None  # a ``slack`` connection: the bot token is its password
    slack_channel: str | None = None
    username: str | None = None
    icon_emoji: str | None = None
    text: TemplateText | None = None  # message text template (mrkdwn)

    def public_destination(self) -> str:
        """Where it goes, without the secret webhook URL: the Slack channel if named, else
        the connection, else "Slack webhook"."""
        if self.slack_channel:
            return self.slack_channel
        if self.bot_conn_id:
            return f"Slack connection {self.bot_conn_id}"
        if self.conn_id:
            return f"Slack connection {self.conn_id}"
        return "Slack webhook"


class WebhookChannel(_Frozen):
    """A generic HTTP webhook through HttpHook (an http connection) or a URL."""

    channel: Literal["webhook"]
    url: Annotated[str | None, SECRET] = None  # tokens live in webhook paths and queries
    conn_id: str | None = None
    endpoint: str | None = None  # path appended to the connection's host
    method: Literal["POST", "PUT", "PATCH", "GET"] = "POST"
    headers: Annotated[dict[str, str], SECRET] = Field(default_factory=dict)  # API keys
    timeout: timedelta = timedelta(seconds=10)
    hmac_secret_conn_id: str | None = None  # the connection's password signs the body

    def public_destination(self) -> str:
        """Where it goes: the URL's scheme and host only (tokens live in paths and queries),
        or the connection (its endpoint is a path, so it is left out)."""
        if self.url:
            return f"{self.method} {url_origin(self.url)}"
        return f"{self.method} via connection {self.conn_id}"


class PagerDutyChannel(_Frozen):
    """PagerDuty Events API v2 through the pagerduty provider: a ``pagerduty_events``
    connection whose password is the integration (routing) key, never the file."""

    channel: Literal["pagerduty"]
    conn_id: str
    source: str | None = None  # payload.source; None: the alert's dag_id
    summary: TemplateText | None = None  # summary template (one line, at most 1024 characters)

    def public_destination(self) -> str:
        """Where it goes: the connection (the routing key is its password)."""
        return f"PagerDuty connection {self.conn_id}"


class TeamsChannel(_Frozen):
    """Microsoft Teams through an incoming webhook (a Workflows "post to a channel when a
    webhook request is received" URL, or a legacy connector URL): an Adaptive Card."""

    channel: Literal["teams"]
    conn_id: str | None = None  # the connection's password is the webhook URL
    webhook_url: Annotated[str | None, SECRET] = None  # the URL's signature is its token
    text: TemplateText | None = None  # card text template (Adaptive Card markdown)
    timeout: timedelta = timedelta(seconds=10)

    def public_destination(self) -> str:
        """Where it goes, without the secret URL: the connection, else "Teams webhook"."""
        if self.conn_id:
            return f"Teams connection {self.conn_id}"
        return "Teams webhook"


ChannelConfig = Annotated[
    EmailChannel | SlackChannel | WebhookChannel | PagerDutyChannel | TeamsChannel,
    Field(discriminator="channel"),
]


def describe_channel(channel: ChannelConfig) -> str:
    """One line about a notification channel, without secrets (no webhook URLs or headers)."""
    if isinstance(channel, EmailChannel):
        return f"email to {', '.join(channel.to)} via connection `{channel.conn_id}`"
    if isinstance(channel, SlackChannel):
        where = f" to {channel.slack_channel}" if channel.slack_channel else ""
        if channel.bot_conn_id:
            return f"slack{where} via Slack app connection `{channel.bot_conn_id}`"
        if channel.conn_id:
            return f"slack{where} via connection `{channel.conn_id}`"
        return f"slack{where} via webhook URL (hidden)"
    if isinstance(channel, PagerDutyChannel):
        return f"pagerduty via connection `{channel.conn_id}`"
    if isinstance(channel, TeamsChannel):
        if channel.conn_id:
            return f"teams via connection `{channel.conn_id}`"
        return "teams via webhook URL (hidden)"
    if channel.conn_id:
        endpoint = f" endpoint `{channel.endpoint}`" if channel.endpoint else ""
        return f"webhook {channel.method} via connection `{channel.conn_id}`{endpoint}"
    return f"webhook {channel.method} to URL (hidden)"


# --- receivers and routes (core/config/routes.py decides; docs/notifications.md) ----------


GroupByField = Literal["owner", "severity", "alert"]
DEFAULT_GROUP_WAIT = timedelta(minutes=1)


class Receiver(_Frozen):
    """A named receiver of ``receivers:``: channels defined once, reached through routes."""

    name: str
    notify: tuple[ChannelConfig, ...]
    group: MessageGrouping | None = None  # None: the alert's own ``group``
    # across alerts (docs/adr/0016-groups-across-alerts.md): the alert fields whose values
    # make one group of its channels' messages, and how long a group gathers; () for none
    group_by: tuple[GroupByField, ...] = ()
    group_wait: timedelta = DEFAULT_GROUP_WAIT


class RouteStep(_Frozen):
    """One route on the way to a receiver: its YAML path and its conditions, for people."""

    path: str  # routes.routes[0]
    match: str  # "severity: critical; tags: finance"


class RouteHit(_Frozen):
    """A route that took the alert: the routes that led there (root first, the deciding
    route last) and the receiver it names or inherits (None: nobody)."""

    steps: tuple[RouteStep, ...]
    receiver: str | None = None
    renotify_after: timedelta | None = None  # None: never (when ``renotify_from`` is set)
    renotify_from: str | None = None  # the route that set it (this one or a parent); None: none
    escalation: tuple[EscalationStep, ...] = ()  # the ladder its routes set (``escalation_from``)
    escalation_from: str | None = None  # the route that set it (this one or a parent); None: none


class Routing(_Frozen):
    """Where ``routes:`` sends an alert: every route that took it, the receivers reached
    (each once, in the order first reached), and the ``renotify_after`` its routes set
    (``renotify_from`` names the route; None when no route sets one)."""

    hits: tuple[RouteHit, ...] = ()
    receivers: tuple[Receiver, ...] = ()
    renotify_after: timedelta | None = None
    renotify_from: str | None = None
    renotify_applied: bool = False  # the alert uses it (it sets no renotify_after of its own)
    # the escalation ladder of the first route that took the alert and sets one (inherited)
    escalation: tuple[EscalationStep, ...] = ()
    escalation_from: str | None = None
    escalation_applied: bool = False  # the alert uses it (it sets no escalation of its own)

    def via(self, receiver: str) -> tuple[RouteHit, ...]:
        """The routes that led to ``receiver``."""
        return tuple(hit for hit in self.hits if hit.receiver == receiver)


class ChannelSlot(NamedTuple):
    """One channel an alert notifies: its own (``receiver`` None, ``position`` in
    ``notify:``) or the ``position``-th channel of a receiver it reaches."""

    receiver: str | None
    position: int
    config: ChannelConfig


# --- file-level pieces ------------------------------------------------------------------


class StateDbConfig(_Frozen):
    """Where state lives: an Airflow connection, or a SQLAlchemy URL."""

    conn_id: str | None = None
    url: Annotated[str | None, SECRET] = None  # may hold a password


DEFAULT_ACTION_LINK_LIFETIME = timedelta(hours=24)


class ActionLinks(_Frozen):
    """``action_links:`` of a file: emails carry signed "Acknowledge" links
    (``core/actionlinks.py``; docs/responding.md, "Links in emails")."""

    conn_id: str  # its password is the HMAC key that signs and verifies the links
    expire_after: timedelta = DEFAULT_ACTION_LINK_LIFETIME  # at most 7 days
    require_login: bool = True  # a click must come from an Airflow user who may edit the DAG


class DatabaseConfig(_Frozen):
    """Standalone SQL Sentinel's ``database: {url: ...}``: the default query connection."""

    url: Annotated[str, SECRET]  # may hold a password


class FileSilence(_Frozen):
    """A silence declared in alerts.yaml (planned maintenance reviewed like code)."""

    match: str
    until: datetime
    starts: datetime | None = None
    reason: str = ""
    instance: str | None = None  # as written (`table_name=customers`)
    instance_key: str | None = None  # the instance's key, resolved against the alert's key_columns


# --- resolved alert ---------------------------------------------------------------------


class FreshnessCheck(_Frozen):
    """``freshness:`` resolved (docs/freshness.md): the table and column as written (checked
    as SQL names in the alert's dialect), the asset, the age allowed, the timezone of naive
    timestamps."""

    table: str | None = None
    column: str | None = None
    asset: AssetRef | None = None
    within: timedelta
    timezone: str = "UTC"


class AlertConfig(_Frozen):
    """One alert with defaults applied and every setting concrete."""

    name: str
    slug: str
    dag_id: str
    description: str = ""
    # A freshness check's is its generated MAX query ("" when it reads an asset only)
    query: str
    query_file: str | None = None  # as written, relative to the YAML file
    freshness: FreshnessCheck | None = None  # instead of a written query (docs/freshness.md)
    # When it runs (docs/assets.md): the cron (None: only when its assets are updated),
    # the asset condition (None: on the cron only); at least one of them is set.
    schedule: str | None
    assets: AssetCondition | None = None
    produces: tuple[ProducedAsset, ...] = ()  # assets its DAG updates when events go out
    enabled: bool = True
    key_columns: tuple[str, ...] = ()
    conn_id: str | None = None  # None: the file's ``database.url``, else DATABASE_URL
    database_url: Annotated[str | None, SECRET] = None  # from ``database.url``
    # No conn_id and no ``database.url``: the name of the variable the URL is read from when
    # the query runs (DATABASE_URL). Only the name is kept, so no manifest or DAG holds it.
    database_url_env: str | None = None
    # The SQL dialect (sqlglot) the query was checked in; not the backend it runs on
    # (execution/backends.py says both).
    dialect: str | None = None
    timezone: str = "UTC"
    owner: str = "airflow"
    tags: tuple[str, ...] = ()
    severity: Severity = "warning"
    # Bounded here too, so an alert kept from an earlier release (a manifest's last valid
    # version) cannot bring back a timeout the databases and the query watchdog cannot take.
    timeout: timedelta = Field(timedelta(minutes=5), gt=timedelta(0), le=MAX_STATEMENT_TIMEOUT)
    retries: int = 2
    retry_delay: timedelta = timedelta(minutes=1)
    fire_after: int = 1
    resolve_after: int = 1
    renotify_after: timedelta | None = None
    notify_on_recovery: bool = True
    notify_on_error: int | None = 3
    flap_detection: FlapPolicy | None = None  # off unless written
    # acknowledgements and escalation (docs/responding.md)
    ack_rearm_factor: float | None = None  # None: an ack lasts until the incident resolves
    escalation: tuple[EscalationStep, ...] = ()  # the ladder, in order of `after`
    # the receivers its steps name, each once, in ladder order (resolved by the loader): an
    # escalation goes to their channels only (``escalation_slots``)
    escalation_receivers: tuple[Receiver, ...] = ()
    escalation_from: str | None = None  # where the ladder is written: alert, defaults, a route
    fail_task_on_alert: bool = False
    max_rows: int = DEFAULT_MAX_ROWS_SINGLE
    notify: tuple[ChannelConfig, ...] = ()  # the alert's own channels (``notify:``)
    routing: Routing | None = None  # None: the file has no ``routes:``
    templates: MessageTemplates = Field(default_factory=MessageTemplates)
    group: MessageGrouping = MessageGrouping()
    delivery_attempts: int = 10  # failed sends of one outbox row before it is dead-lettered
    runbook_url: str | None = None  # http(s), checked by the loader
    links: tuple[Link, ...] = ()
    source_file: str | None = None
    source_line: int | None = None
    source_index: int | None = None  # position in the file's `alerts` list
    # the file's `mute_windows:` whose `match` selects this alert (core/mutewindows.py)
    mute_windows: tuple[MuteWindow, ...] = ()
    # the file's `action_links:` (None: emails carry no Acknowledge links)
    action_links: ActionLinks | None = None
    # the alerts of the file it depends on (``depends_on:``, names as written, in order): while
    # one of them fires or fails, its notifications are held (core/inhibition.py); and their
    # dag_ids (same order; resolved by the loader)
    depends_on: tuple[str, ...] = ()
    depends_on_dag_ids: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _runs_somehow(self) -> AlertConfig:
        if self.schedule is None and self.assets is None:
            raise ValueError("an alert needs a cron schedule, assets to wait for, or both")
        return self

    @property
    def trigger(self) -> str:
        """When it runs, for people: ``0 9 * * * in UTC``, ``when s3://a is updated``."""
        return describe_trigger(self.schedule, self.assets, self.timezone)

    @property
    def policy(self) -> Policy:
        return Policy(
            fire_after=self.fire_after,
            resolve_after=self.resolve_after,
            renotify_after=self.renotify_after,
            notify_on_recovery=self.notify_on_recovery,
            notify_on_error=self.notify_on_error,
            flap=self.flap_detection,
            ack_rearm_factor=self.ack_rearm_factor,
            escalation=self.escalation,
        )

    def channel_slots(self) -> tuple[ChannelSlot, ...]:
        """Every channel notified: the alert's own ``notify:`` first, then the channels of
        each receiver its routes reach (``core.events.alert_channels`` gives their ids)."""
        own = tuple(ChannelSlot(None, i, c) for i, c in enumerate(self.notify))
        if self.routing is None:
            return own
        routed = tuple(
            ChannelSlot(receiver.name, i, c)
            for receiver in self.routing.receivers
            for i, c in enumerate(receiver.notify)
        )
        return own + routed

    def escalation_slots(self, step: int | None = None) -> tuple[ChannelSlot, ...]:
        """The channels of the receivers the escalation ladder names (each receiver once), or
        of step ``step`` (0-based) only: where escalation events go, and nothing else does.
        Named by the receiver like routed channels, so a receiver both routed to and escalated
        to is one channel (one id) for delivery's ordering."""
        names = (
            [s.receiver for s in self.escalation]
            if step is None
            else [self.escalation[step].receiver]
        )
        return tuple(
            ChannelSlot(receiver.name, i, c)
            for receiver in self.escalation_receivers
            if receiver.name in names
            for i, c in enumerate(receiver.notify)
        )

    def receiver_of(self, slot: ChannelSlot) -> Receiver | None:
        """The receiver that brings ``slot`` (None for the alert's own channels)."""
        if slot.receiver is None or self.routing is None:
            return None
        return next((r for r in self.routing.receivers if r.name == slot.receiver), None)

    def grouping(self, slot: ChannelSlot) -> MessageGrouping:
        """How the events of one evaluation reach ``slot``: its receiver's ``group``, else
        the alert's."""
        if slot.receiver is not None and self.routing is not None:
            for receiver in self.routing.receivers:
                if receiver.name == slot.receiver and receiver.group is not None:
                    return receiver.group
        return self.group

    @property
    def query_target(self) -> str:
        """What messages call the query's database: the conn_id, ``database.url`` or the
        environment variable's name; never a URL."""
        return self.conn_id or self.database_url_env or "database.url"

    def query_database_url(self, env: Mapping[str, str] | None = None) -> str | None:
        """The URL the query runs on when there is no conn_id: ``database.url``, else the
        current value of ``database_url_env`` (QueryError, naming only the variable, when
        it is gone); None with a conn_id."""
        if self.conn_id:
            return None
        if self.database_url or not self.database_url_env:
            return self.database_url
        value = (os.environ if env is None else env).get(self.database_url_env, "").strip()
        if not value:
            raise QueryError(
                f"environment variable {self.database_url_env} is not set in this process; "
                "the alert has no conn_id and its file no database.url, so its query runs on "
                f"{self.database_url_env}: set it where the task runs, or set conn_id"
            )
        return value


class AlertsConfig(_Frozen):
    """A whole validated alerts file."""

    version: int = 1
    dag_id_prefix: str = DEFAULT_DAG_ID_PREFIX
    state_db: StateDbConfig | None = None
    database: DatabaseConfig | None = None
    alerts: tuple[AlertConfig, ...] = ()
    silences: tuple[FileSilence, ...] = ()
    mute_windows: tuple[MuteWindow, ...] = ()  # all of ``mute_windows:``, in file order
    action_links: ActionLinks | None = None
    default_notify: tuple[ChannelConfig, ...] = ()  # ``defaults.notify``: config-watch failures
    source_file: str | None = None
    content_hash: str = ""

    def alert(self, name: str) -> AlertConfig:
        for a in self.alerts:
            if a.name == name:
                return a
        raise KeyError(name)

    def by_dag_id(self) -> dict[str, AlertConfig]:
        return {a.dag_id: a for a in self.alerts}
