"""Raw models of alerts.yaml: what may be written, each value checked, every setting optional.

These mirror the file as the user writes it, before ``defaults`` are applied, so that
(1) one model validates a piece of the file with every problem reported at once,
(2) the JSON Schema for editors is generated from the same source of truth (``schema.py``),
and (3) ``resolve.py`` can tell which settings were *written* (``model_fields_set``) when it
merges an alert over ``defaults``. The resolved, concrete models are in ``models.py``.

Value checks come from ``checks.py``; types that parse a value themselves (durations,
``notify_on_error``) declare their JSON Schema explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

from sqlsentinel_airflow.core import mutewindows
from sqlsentinel_airflow.core.config import assets, checks
from sqlsentinel_airflow.core.config.assets import ASSET_REF_SCHEMA, AssetRef, parse_asset_ref
from sqlsentinel_airflow.core.databases import SUPPORTED_URLS, URL_BACKENDS
from sqlsentinel_airflow.core.durations import format_duration

__all__ = [
    "ALERT_ONLY_KEYS",
    "MAX_ESCALATION_STEPS",
    "RawAck",
    "RawAlert",
    "RawAlertSettings",
    "RawChannel",
    "RawDatabase",
    "RawDefaults",
    "RawEmailChannel",
    "RawEscalationStep",
    "RawFile",
    "RawFlapDetection",
    "RawFreshness",
    "RawGrouping",
    "RawLink",
    "RawMatch",
    "RawMessageTemplates",
    "RawMuteWindow",
    "RawPagerDutyChannel",
    "RawReceiver",
    "RawRoute",
    "RawRoutes",
    "RawSilence",
    "RawSlackChannel",
    "RawStateDb",
    "RawTeamsChannel",
    "RawTimeInterval",
    "RawTimeRange",
    "RawWebhookChannel",
    "check_database_url",
]

ALERT_ONLY_KEYS = (
    "name",
    "query",
    "query_file",
    "freshness",
    "mute_windows",
    "depends_on",
    "produces",
)
"""Keys an alert may have that make no sense in ``defaults``."""

_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*(\d+\s*[smhdwSMHDW]\s*)+$|^\s*\d+\s*$"},
        {"type": "integer", "minimum": 1},
    ],
    "examples": ["30s", "5m", "4h", "1d"],
}


def _one_or_many(value: Any) -> Any:
    """A single string where a list is expected means a list of one."""
    return [value] if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _header_values(value: Any) -> Any:
    """Header values written as numbers or booleans are sent as their text."""
    if not isinstance(value, dict):
        return value
    return {key: _header_text(item) for key, item in value.items()}


def _header_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _aware_utc(value: Any) -> Any:
    """Silence times: a date is midnight UTC; a naive date-time is read as UTC."""
    if isinstance(value, str):
        try:
            text = value.strip()
            value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            raise checks.InvalidValue(
                f"{value!r} is not a date-time", hint="write e.g. 2025-06-01T18:00:00Z"
            ) from None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=timezone.utc)
    raise checks.InvalidValue(
        f"{value!r} is not a date-time", hint="write e.g. 2025-06-01T18:00:00Z"
    )


def _distinct_columns(columns: tuple[str, ...]) -> tuple[str, ...]:
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise checks.InvalidValue(f"key_columns repeats {', '.join(repeated)}")
    return columns


NonEmptyStr = Annotated[str, Field(min_length=1)]
PlainText = Annotated[str, Field(min_length=1), AfterValidator(checks.check_plain_text)]
"""Names, tags, owners, silence matches: shown to people, so no control or bidi characters."""
ConnId = Annotated[str, Field(min_length=1)]
Timezone = Annotated[str, AfterValidator(checks.check_timezone)]
Names = Annotated[
    tuple[PlainText, ...],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]
"""Names of other entries of the file (mute windows, alerts): one, or a list."""
Schedule = Annotated[
    assets.ScheduleSpec | None,
    PlainValidator(assets.parse_schedule),
    WithJsonSchema(assets.SCHEDULE_SCHEMA),
]
"""``schedule:``: a cron string, or ``{assets, cron?}`` (docs/assets.md)."""
Produces = Annotated[
    tuple[assets.ProducedAsset, ...] | None,
    PlainValidator(assets.parse_produces),
    WithJsonSchema(assets.PRODUCES_SCHEMA),
]
Email = Annotated[str, AfterValidator(checks.check_email), WithJsonSchema({"type": "string"})]
EmailList = Annotated[
    tuple[Email, ...],
    BeforeValidator(_one_or_many),
    Field(min_length=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    ),
]
HttpUrl = Annotated[
    str,
    AfterValidator(checks.check_http_url),
    WithJsonSchema({"type": "string", "pattern": "^https?://"}),
]
LinkUrl = Annotated[
    str,
    AfterValidator(checks.check_link_url),
    WithJsonSchema({"type": "string", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://", "maxLength": 2000}),
]
"""A link people open from the UI and messages: http(s) only (never ``javascript:``)."""
Duration = Annotated[
    timedelta,
    PlainValidator(checks.parse_positive_duration),
    WithJsonSchema(_DURATION_SCHEMA),
]
GroupWait = Annotated[
    timedelta,
    PlainValidator(checks.parse_group_wait),
    WithJsonSchema(_DURATION_SCHEMA),
]
StatementTimeout = Annotated[
    timedelta,
    PlainValidator(checks.parse_statement_timeout),
    WithJsonSchema(_DURATION_SCHEMA),
]
WebhookTimeout = Annotated[
    timedelta,
    PlainValidator(checks.parse_webhook_timeout),
    WithJsonSchema(_DURATION_SCHEMA),
]
ActionLinkLifetime = Annotated[
    timedelta,
    PlainValidator(checks.parse_action_link_lifetime),
    WithJsonSchema(_DURATION_SCHEMA),
]
OptionalDuration = Annotated[
    timedelta | None,
    PlainValidator(checks.parse_optional_duration),
    WithJsonSchema({"anyOf": [*_DURATION_SCHEMA["anyOf"], {"const": "never"}, {"type": "null"}]}),
]
NotifyOnError = Annotated[
    int | None,
    PlainValidator(checks.parse_notify_on_error),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "boolean"},
                {"type": "string", "pattern": r"^\s*([Aa]fter\s+\d+|never|\d+)\s*$"},
                {"type": "null"},
            ],
            "examples": ["after 3", "never"],
        }
    ),
]
Template = Annotated[
    str,
    AfterValidator(checks.check_template),
    Field(description="Jinja template (or a standalone `{alert_name}`-style format)."),
]
TemplateText = Annotated[
    str | dict[str, str],
    PlainValidator(checks.parse_template_text),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {
                    "type": "object",
                    "properties": {k: {"type": "string"} for k in checks.EVENT_KINDS},
                    "additionalProperties": False,
                },
            ],
            "description": "One Jinja template for every event kind, or one per kind.",
        }
    ),
]
AwareDateTime = Annotated[
    datetime,
    PlainValidator(_aware_utc),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class _Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- channels ---------------------------------------------------------------------------


class RawEmailChannel(_Raw):
    """Email through the smtp provider's SmtpHook."""

    channel: Literal["email"]
    to: EmailList | None = Field(None, description="Recipients (one address or a list).")
    recipients: EmailList | None = Field(None, description="Alias of `to` (standalone files).")
    cc: EmailList | None = None
    bcc: EmailList | None = None
    subject: Template | None = None
    text: TemplateText | None = Field(None, description="Plain-text body template.")
    html: TemplateText | None = Field(None, description="HTML body template (autoescaped).")
    conn_id: ConnId | None = Field(None, description="SMTP connection (default smtp_default).")
    from_email: Email | None = None

    @model_validator(mode="after")
    def _one_recipient_list(self) -> RawEmailChannel:
        if self.to is None and self.recipients is None:
            raise checks.InvalidValue(
                "an email channel needs recipients", hint="write `to: [team@example.com]`"
            )
        if self.to is not None and self.recipients is not None:
            raise checks.InvalidValue(
                "both `to` and `recipients` are set", hint="`recipients` is an alias: keep one"
            )
        return self


class RawSlackChannel(_Raw):
    """Slack through a slackwebhook connection, a webhook URL, or a Slack app's bot token."""

    channel: Literal["slack"]
    conn_id: ConnId | None = Field(None, description="A slackwebhook connection.")
    webhook_url: HttpUrl | None = Field(
        None, description="Incoming-webhook URL, e.g. ${SLACK_URL}."
    )
    bot_conn_id: ConnId | None = Field(
        None,
        description="A slack (Slack API) connection whose password is a Slack app's bot token: "
        "messages go through chat.postMessage with Acknowledge and Snooze buttons; needs "
        "`slack_channel`.",
    )
    slack_channel: str | None = Field(
        None,
        description="Channel override, e.g. #data-alerts; with `bot_conn_id` the channel to "
        "post to (a name or an id such as C0123ABCD).",
    )
    username: str | None = None
    icon_emoji: str | None = None
    text: TemplateText | None = Field(None, description="Message text template (mrkdwn).")

    @model_validator(mode="after")
    def _one_destination(self) -> RawSlackChannel:
        given = [
            name
            for name in ("conn_id", "webhook_url", "bot_conn_id")
            if getattr(self, name) is not None
        ]
        if not given:
            raise checks.InvalidValue(
                "a slack channel needs `conn_id`, `webhook_url` or `bot_conn_id`",
                hint="write `conn_id: slack_alerts` (a slackwebhook connection), "
                "`webhook_url: ${SLACK_WEBHOOK_URL}`, or `bot_conn_id: slack_bot` with "
                "`slack_channel: '#data-alerts'` (a Slack app, for buttons)",
            )
        if len(given) > 1:
            raise checks.InvalidValue(
                f"{' and '.join(f'`{name}`' for name in given)} are both set",
                hint="keep one of them: `bot_conn_id` posts as a Slack app (with buttons), "
                "the others through an incoming webhook",
            )
        if self.bot_conn_id is not None and not (self.slack_channel or "").strip():
            raise checks.InvalidValue(
                "a slack channel with `bot_conn_id` needs `slack_channel`",
                hint="write `slack_channel: '#data-alerts'` (or the channel's id, C0123ABCD): "
                "a bot token is not bound to a channel, an incoming webhook is",
            )
        return self


_METHODS = ("POST", "PUT", "PATCH", "GET")


class RawWebhookChannel(_Raw):
    """A JSON webhook through an http connection or a URL."""

    channel: Literal["webhook"]
    url: HttpUrl | None = Field(None, description="https URL (http only to localhost).")
    conn_id: ConnId | None = Field(None, description="An http connection.")
    endpoint: str | None = Field(None, description="Path appended to the connection's host.")
    method: Annotated[
        Literal["POST", "PUT", "PATCH", "GET"],
        BeforeValidator(_upper),
        WithJsonSchema({"enum": [*_METHODS, *(m.lower() for m in _METHODS)]}),
    ] = "POST"
    headers: Annotated[dict[str, str], BeforeValidator(_header_values)] | None = None
    timeout: WebhookTimeout | None = Field(None, description="Request timeout; at most 10m.")
    hmac_secret_conn_id: ConnId | None = Field(
        None, description="Connection whose password signs the body (HMAC-SHA256)."
    )

    @model_validator(mode="after")
    def _one_destination(self) -> RawWebhookChannel:
        if self.url is None and self.conn_id is None:
            raise checks.InvalidValue(
                "a webhook channel needs `url` or `conn_id`",
                hint="write `url: https://host/path` or `conn_id: my_http_conn`",
            )
        if self.url is not None and self.conn_id is not None:
            raise checks.InvalidValue("both `url` and `conn_id` are set", hint="keep one of them")
        return self


class RawPagerDutyChannel(_Raw):
    """PagerDuty Events API v2 through a pagerduty_events connection (key = its password)."""

    channel: Literal["pagerduty"]
    conn_id: ConnId = Field(
        description="A pagerduty_events connection; its password is the integration key."
    )
    source: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        None, description="The event's source (default: the alert's dag_id)."
    )
    summary: TemplateText | None = Field(
        None, description="Summary template (one line, at most 1024 characters)."
    )


class RawTeamsChannel(_Raw):
    """Microsoft Teams through an incoming webhook (Workflows or a legacy connector)."""

    channel: Literal["teams"]
    conn_id: ConnId | None = Field(
        None, description="A connection whose password is the webhook URL."
    )
    webhook_url: HttpUrl | None = Field(None, description="Webhook URL, e.g. ${TEAMS_URL}.")
    text: TemplateText | None = Field(None, description="Card text template (markdown).")
    timeout: WebhookTimeout | None = Field(None, description="Request timeout; at most 10m.")

    @model_validator(mode="after")
    def _one_destination(self) -> RawTeamsChannel:
        if self.conn_id is None and self.webhook_url is None:
            raise checks.InvalidValue(
                "a teams channel needs `conn_id` or `webhook_url`",
                hint="write `conn_id: teams_alerts` or `webhook_url: ${TEAMS_WEBHOOK_URL}`",
            )
        if self.conn_id is not None and self.webhook_url is not None:
            raise checks.InvalidValue(
                "both `conn_id` and `webhook_url` are set", hint="keep one of them"
            )
        return self


RawChannel = Annotated[
    RawEmailChannel | RawSlackChannel | RawWebhookChannel | RawPagerDutyChannel | RawTeamsChannel,
    Field(discriminator="channel"),
]


# --- alert settings ---------------------------------------------------------------------

MAX_LINKS = 10


class RawLink(_Raw):
    """A link shown on the alert's page and in its messages (a dashboard, a playbook)."""

    title: Annotated[PlainText, Field(max_length=80)] = Field(
        description="What the link opens, shown as its text; at most 80 characters."
    )
    url: LinkUrl = Field(description="An http(s) URL.")


class RawMessageTemplates(_Raw):
    """Template overrides; a channel's own template wins over these, these over built-ins."""

    subject: TemplateText | None = Field(None, description="Email subject.")
    text: TemplateText | None = Field(None, description="Email plain-text body.")
    html: TemplateText | None = Field(None, description="Email HTML body.")
    slack: TemplateText | None = Field(None, description="Slack message text.")
    pagerduty: TemplateText | None = Field(None, description="PagerDuty summary (one line).")
    teams: TemplateText | None = Field(None, description="Microsoft Teams card text.")


def _at_most_links(links: tuple[RawLink, ...]) -> tuple[RawLink, ...]:
    if len(links) > MAX_LINKS:
        raise checks.InvalidValue(
            f"{len(links)} links; at most {MAX_LINKS}",
            hint="link the rest from the runbook page",
        )
    return links


class RawFlapDetection(_Raw):
    """Flap detection (docs/notifications.md, "Flap detection"): ``changes`` OK<->FIRING
    changes within ``window`` hold back the per-change messages until ``stable_for`` passes
    without a change."""

    changes: Annotated[int, Field(ge=2)] = Field(
        description="Changes between OK and FIRING within `window` that make the alert flap; "
        "at least 2."
    )
    window: Duration = Field(description="How far back changes are counted, e.g. 30m.")
    stable_for: Duration = Field(
        description="How long without a change before it has settled, e.g. 15m."
    )


def _off_is_none(value: Any) -> Any:
    """``flap_detection: false`` (or ``off``, which YAML reads as false) turns it off."""
    return None if value is False else value


MAX_ESCALATION_STEPS = 10
_RECEIVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _name_check(what: str) -> Callable[[str], str]:
    """The check of a receiver's or a mute window's name; ``what`` names it in the error."""

    def check(value: str) -> str:
        if not _RECEIVER_NAME.match(value):
            raise checks.InvalidValue(
                f"{value[:80]!r} is not a {what} name",
                hint="up to 64 letters, digits, `_`, `-` and `.`, starting with a letter or digit",
            )
        return value

    return check


ReceiverName = Annotated[
    str,
    AfterValidator(_name_check("receiver")),
    WithJsonSchema({"type": "string", "pattern": _RECEIVER_NAME.pattern}),
]


class RawEscalationStep(_Raw):
    """One step of an escalation ladder (docs/responding.md, "Escalation")."""

    after: Duration = Field(
        description="How long after the incident began, still unacknowledged, e.g. 15m."
    )
    receiver: ReceiverName = Field(description="A name of `receivers`: told once, at this step.")


def _ladder(steps: tuple[RawEscalationStep, ...]) -> tuple[RawEscalationStep, ...]:
    if len(steps) > MAX_ESCALATION_STEPS:
        raise checks.InvalidValue(
            f"{len(steps)} escalation steps; at most {MAX_ESCALATION_STEPS}",
            hint="a ladder that long reaches everybody: end it with the last people to wake",
        )
    for i in range(1, len(steps)):
        if steps[i].after <= steps[i - 1].after:
            raise checks.InvalidValue(
                f"step {i + 1} (after {format_duration(steps[i].after)}) does not come "
                f"after step {i} (after {format_duration(steps[i - 1].after)})",
                hint="list the steps in order of `after`, each later than the one before",
            )
    return steps


EscalationLadder = Annotated[
    tuple[RawEscalationStep, ...],
    AfterValidator(_ladder),
    Field(json_schema_extra={"maxItems": MAX_ESCALATION_STEPS}),
]


class RawAck(_Raw):
    """What an acknowledgement does (docs/responding.md)."""

    rearm_factor: Annotated[float, Field(gt=1)] | None = Field(
        None,
        description="An acknowledged incident whose value gets this many times worse than when "
        "it was acknowledged is announced again (one reminder) and needs a new acknowledgement; "
        "greater than 1. Unset: an acknowledgement lasts until the incident resolves.",
    )


class RawGrouping(_Raw):
    """Grouped messages (docs/notifications.md, "Grouped messages"): the events of one
    evaluation of a keyed alert that concern two or more instances go to a channel as one
    message, with the counts and the instances listed."""

    by_evaluation: bool | None = Field(
        None,
        description="true: every channel gets one message per evaluation; false: one message "
        "per event; unset: email, Slack and Teams are grouped, webhooks are not. PagerDuty "
        "is never grouped (it deduplicates per incident).",
    )
    max_listed: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        None, description="Instances a message lists before `+k more` (20)."
    )


def _group_switch(value: Any) -> Any:
    """``group: false`` / ``group: true`` stand for ``{by_evaluation: false/true}``."""
    return {"by_evaluation": value} if isinstance(value, bool) else value


GroupSetting = Annotated[RawGrouping | None, BeforeValidator(_group_switch)]


class RawAlertSettings(_Raw):
    """Settings an alert may write and ``defaults`` may provide."""

    description: str | None = None
    schedule: Schedule = Field(
        None,
        description="Five-field cron expression or macro (@daily), in the alert's timezone; "
        "one that never fires (`0 0 31 2 *`) is refused. Or `{assets, cron}`: run when the "
        "assets are updated (a URI, `{name: ...}`, a list = all of them, `{all: [...]}` / "
        "`{any: [...]}`), and at least on `cron` if given (docs/assets.md).",
    )
    enabled: bool | None = Field(None, description="false: the DAG exists but only runs manually.")
    key_columns: (
        Annotated[
            tuple[NonEmptyStr, ...],
            BeforeValidator(_one_or_many),
            AfterValidator(_distinct_columns),
        ]
        | None
    ) = Field(None, description="One alert instance per distinct value of these columns.")
    conn_id: ConnId | None = Field(None, description="Airflow connection the query runs on.")
    timezone: Timezone | None = Field(
        None, description="IANA timezone the schedule is read in, e.g. Europe/Berlin."
    )
    owner: PlainText | None = Field(
        None, description="Owner of the DAG's task; one line of printable text."
    )
    tags: Annotated[tuple[PlainText, ...], BeforeValidator(_one_or_many)] | None = Field(
        None,
        description="DAG tags, besides `sqlsentinel` and the severity; merged with `defaults`; "
        "each one line of printable text.",
    )
    severity: Literal["info", "warning", "critical"] | None = None
    timeout: StatementTimeout | None = Field(
        None, description="Statement timeout on the database; at most 24h."
    )
    retries: Annotated[int, Field(ge=0)] | None = None
    retry_delay: Duration | None = None
    fire_after: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Consecutive ALERT results before the alert fires."
    )
    resolve_after: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Consecutive OK results before the alert resolves."
    )
    renotify_after: OptionalDuration = Field(None, description="Reminder interval while firing.")
    notify_on_recovery: bool | None = None
    notify_on_error: NotifyOnError = Field(
        None, description="Notify when the query fails this many runs in a row."
    )
    flap_detection: Annotated[RawFlapDetection | None, BeforeValidator(_off_is_none)] = Field(
        None,
        description="`{changes, window, stable_for}`: one `flapping` message instead of one "
        "per change, then one with the state it settled in; null or false: off (the default).",
    )
    ack: RawAck | None = Field(
        None, description="`{rearm_factor}`: what an acknowledgement does (docs/responding.md)."
    )
    escalation: EscalationLadder | None = Field(
        None,
        description="The escalation ladder: `[{after, receiver}]`, strictly increasing `after`, "
        f"at most {MAX_ESCALATION_STEPS} steps. Each step tells its receiver once, while the "
        "incident is unacknowledged that long after it began; `[]`: none. Wins over the "
        "routes' and `defaults`'.",
    )
    fail_task_on_alert: bool | None = None
    max_rows: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Row cap: default 1, or 1000 with key_columns."
    )
    notify: tuple[RawChannel, ...] | None = Field(None, description="Where notifications go.")
    templates: RawMessageTemplates | None = Field(
        None,
        description="Message templates (subject, text, html, slack, pagerduty, teams); "
        "merged over defaults.",
    )
    group: GroupSetting = Field(
        None,
        description="`{by_evaluation, max_listed}`: one message per channel for the events of "
        "one evaluation of a keyed alert (email, Slack and Teams by default); false: one per "
        "event.",
    )
    delivery_attempts: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Failed sends of one notification before it is dead-lettered (10)."
    )
    runbook_url: LinkUrl | None = Field(
        None,
        description="What to do when it fires: an http(s) link shown on its page and in every "
        "message.",
    )
    links: Annotated[tuple[RawLink, ...], AfterValidator(_at_most_links)] | None = Field(
        None,
        json_schema_extra={"maxItems": MAX_LINKS},
        description="More links (`{title, url}`, at most 10) shown beside the runbook; merged "
        "with `defaults` (defaults first).",
    )


class RawDefaults(RawAlertSettings):
    """``defaults``: any alert setting; an alert's own value wins, ``tags`` are merged."""


class RawFreshness(_Raw):
    """``freshness:``: ALERT when a table (or an asset) was last updated longer ago than
    ``within`` (docs/freshness.md)."""

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["table"]}, {"required": ["asset"]}]}
    )

    table: NonEmptyStr | None = Field(
        None,
        description="The table, e.g. analytics.orders (quoted as the database quotes names); "
        "needs `column` and a query connection.",
    )
    column: NonEmptyStr | None = Field(
        None, description="Its timestamp (or date) column: the check reads MAX(column)."
    )
    asset: Annotated[
        AssetRef | None,
        PlainValidator(parse_asset_ref),
        WithJsonSchema(ASSET_REF_SCHEMA),
    ] = Field(
        None,
        description="An Airflow asset (`s3://...`, `{uri: ...}` or `{name: ...}`): its last "
        "event's time is used when there is one.",
    )
    within: Duration = Field(description="How old the last update may be, e.g. 6h.")
    timezone: Timezone | None = Field(
        None, description="IANA timezone a timestamp without one is read in (default UTC)."
    )

    @model_validator(mode="after")
    def _something_to_check(self) -> RawFreshness:
        if self.table is None and self.asset is None:
            raise checks.InvalidValue(
                "freshness needs a `table` (with `column`) or an `asset`",
                hint="e.g. `freshness: {table: analytics.orders, column: loaded_at, within: 6h}`",
            )
        if self.table is not None and self.column is None:
            raise checks.InvalidValue(
                "freshness `table` needs `column`: the timestamp column to read MAX() of",
                hint="e.g. `column: loaded_at`",
            )
        if self.column is not None and self.table is None:
            raise checks.InvalidValue(
                "freshness `column` needs `table`", hint="e.g. `table: analytics.orders`"
            )
        return self


class RawAlert(RawAlertSettings):
    """One entry of ``alerts``."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["query"]},
                {"required": ["query_file"]},
                {"required": ["freshness"]},
            ]
        }
    )

    name: PlainText = Field(
        description="Unique, one line of printable text; the dag_id is dag_id_prefix + slug(name)."
    )
    query: NonEmptyStr | None = Field(
        None, description="The SQL; returns a `status` column ('ALERT' or 'OK')."
    )
    query_file: NonEmptyStr | None = Field(
        None,
        description="Path of a .sql file inside this YAML file's folder, relative to it; "
        "a regular file of at most 1 MiB.",
    )
    freshness: RawFreshness | None = Field(
        None,
        description="Instead of a query: ALERT when a table or asset was last updated longer "
        "ago than `within` (docs/freshness.md).",
    )
    mute_windows: Names | None = Field(
        None,
        description="Names of `mute_windows` that mute this alert too, besides those whose "
        "`match` selects it.",
    )
    depends_on: Names | None = Field(
        None,
        description="Names of alerts of this file it depends on (one or a list): "
        "`sqlsentinel run` evaluates them first, its Airflow task waits while their DAGs "
        "run, and while one of them fires or errors its notifications are held.",
    )
    produces: Produces = Field(
        None,
        description="Assets the alert's DAG updates when an evaluation sends events: a URI, "
        "`{name: ...}`, or `{uri: ..., on: [firing, resolved]}` (the default kinds; also with "
        "`name`); a list for several (docs/assets.md).",
    )


# --- file-level pieces ------------------------------------------------------------------


class RawStateDb(_Raw):
    """Where alert state lives: an Airflow connection or a SQLAlchemy URL."""

    conn_id: ConnId | None = None
    url: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _one_target(self) -> RawStateDb:
        if (self.conn_id is None) == (self.url is None):
            raise checks.InvalidValue(
                "state_db needs exactly one of `conn_id` or `url`",
                hint="e.g. `state_db: {conn_id: sqlsentinel_state}`",
            )
        return self


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+._-]*)://")


def check_database_url(value: str, name: str = "database.url") -> str:
    """A query-database URL an alert can run on, stripped; messages name ``name``, never the value."""
    scheme = _URL_SCHEME.match(value.strip())
    if not scheme:
        raise checks.InvalidValue(
            f"{name} is not a SQLAlchemy URL",
            hint="e.g. postgresql://user@host/db or ${DATABASE_URL}"
            if name == "database.url"
            else f"set {name} to e.g. postgresql://user@host/db, or set conn_id on the alerts",
        )
    backend = scheme.group(1).split("+", 1)[0].lower()
    if backend not in URL_BACKENDS:
        raise checks.InvalidValue(
            f"{name} uses '{backend}', which cannot run from a URL (supported: {SUPPORTED_URLS})",
            hint="create an Airflow connection for it and set conn_id on the alerts",
        )
    return value.strip()


def _sqlalchemy_url(value: str) -> str:
    return check_database_url(value)


class RawActionLinks(_Raw):
    """Acknowledge links in emails: signed with the password of an Airflow connection,
    valid for ``expire_after``, usable once (docs/responding.md)."""

    conn_id: ConnId = Field(
        description="Airflow connection whose password (a random key, at least 16 "
        "characters) signs the links; the workers that send email and the api-server read it."
    )
    expire_after: ActionLinkLifetime | None = Field(
        None,
        description="How long a link works after its email was sent (default 24h, at most 7d).",
    )
    require_login: bool | None = Field(
        None,
        description="A click must come from an Airflow user who may edit the alert's DAG "
        "(default true). false: the link alone acknowledges, in the recipients' name.",
    )


class RawDatabase(_Raw):
    """Standalone SQL Sentinel's default query database."""

    url: Annotated[str, AfterValidator(_sqlalchemy_url)] = Field(
        description="SQLAlchemy URL used by alerts without conn_id; ${DATABASE_URL} allowed."
    )


class RawSilence(_Raw):
    """Planned maintenance: events of matching alerts are suppressed until ``until``."""

    match: PlainText = Field(description="Alert name or glob (daily_*); printable text.")
    until: AwareDateTime = Field(description="End; a time without offset is UTC.")
    starts: AwareDateTime | None = Field(None, description="Start (default: now).")
    reason: str = ""
    instance: PlainText | None = Field(
        None,
        description=(
            "Only this instance of a keyed alert: `table_name=customers` (key=value pairs "
            "separated by commas) or its key as JSON; `match` is then that alert's name."
        ),
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> RawSilence:
        if self.starts is not None and self.until <= self.starts:
            raise checks.InvalidValue("silence `until` is not after `starts`")
        return self


# --- receivers and routes (docs/notifications.md, "Receivers and routes") --------------------

Globs = Annotated[
    tuple[PlainText, ...],
    BeforeValidator(_one_or_many),
    Field(min_length=1),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    ),
]
SeverityName = Literal["info", "warning", "critical"]


class RawReceiver(_Raw):
    """A named receiver: channels defined once, reached through ``routes:``."""

    name: ReceiverName = Field(description="Unique; routes name it in `receiver`.")
    notify: Annotated[tuple[RawChannel, ...], Field(min_length=1)] = Field(
        description="Its channels; secrets only from Airflow connections (`conn_id`), so no "
        "`webhook_url`, `url` or `headers`."
    )
    group: GroupSetting = Field(
        None, description="Grouped messages for its channels; wins over the alert's `group`."
    )
    group_by: tuple[Literal["owner", "severity", "alert"], ...] = Field(
        (),
        min_length=1,
        description="Group its channels' messages across alerts: events of alerts that share "
        "these values (`owner`, `severity`, `alert`), pending together, go out as one message "
        'per channel (docs/notifications.md, "Groups across alerts").',
    )
    group_wait: GroupWait | None = Field(
        None,
        description="With `group_by` (ignored without it): how long a group gathers events "
        "after its oldest pending one before it is sent (1m; at most 10m).",
    )


class RawMatch(_Raw):
    """Conditions on an alert; every one given must hold. Globs: `*`, `?`, `[...]`."""

    severity: (
        Annotated[
            tuple[SeverityName, ...],
            BeforeValidator(_one_or_many),
            Field(min_length=1),
            WithJsonSchema(
                {
                    "anyOf": [
                        {"enum": ["info", "warning", "critical"]},
                        {
                            "type": "array",
                            "items": {"enum": ["info", "warning", "critical"]},
                            "minItems": 1,
                        },
                    ]
                }
            ),
        ]
        | None
    ) = Field(None, description="One of these severities.")
    owner: Globs | None = Field(None, description="The owner matches one of these globs.")
    tags: Globs | None = Field(None, description="The alert has a tag matching each glob.")
    alert: Globs | None = Field(None, description="The alert name matches one of these globs.")


class RawRoute(_Raw):
    """A route: alerts it matches go to its receiver, or to the first of its routes that
    matches them; the next sibling is tried only with `continue: true`."""

    model_config = ConfigDict(populate_by_name=True)

    match: RawMatch | None = Field(None, description="Conditions; none: every alert.")
    receiver: ReceiverName | None = Field(
        None, description="A name of `receivers`; default: the parent route's."
    )
    continue_: bool | None = Field(
        None,
        alias="continue",
        description="true: after this route took an alert, its next siblings are tried too.",
    )
    renotify_after: OptionalDuration = Field(
        None,
        description="Reminder interval for alerts this route takes that set no "
        "`renotify_after` of their own; inherited by its routes.",
    )
    escalation: EscalationLadder | None = Field(
        None,
        description="Escalation ladder for alerts this route takes that set no `escalation` "
        "of their own; inherited by its routes; wins over `defaults`.",
    )
    routes: tuple[RawRoute, ...] | None = Field(None, description="Child routes, in order.")


class RawRoutes(_Raw):
    """The root of the routing tree: every alert enters here."""

    receiver: ReceiverName | None = Field(
        None, description="The default receiver: alerts no route takes go here."
    )
    renotify_after: OptionalDuration = Field(
        None, description="Reminder interval inherited by every route."
    )
    escalation: EscalationLadder | None = Field(
        None, description="Escalation ladder inherited by every route."
    )
    routes: tuple[RawRoute, ...] | None = Field(None, description="Routes, tried in order.")


# --- mute windows (docs/notifications.md, "Mute windows"; core/mutewindows.py) -------------


def _checked(parse: Any, hint: str) -> Any:
    """An AfterValidator from a ``core.mutewindows`` parser: its ValueError, with ``hint``."""

    def check(value: Any) -> Any:
        try:
            parse(value)
        except ValueError as exc:
            raise checks.InvalidValue(str(exc), hint=hint) from None
        return value

    return check


WindowName = Annotated[
    str,
    AfterValidator(_name_check("mute window")),
    WithJsonSchema({"type": "string", "pattern": _RECEIVER_NAME.pattern}),
]


def _time_of_day(value: str, *, end: bool) -> str:
    try:
        mutewindows.parse_time(value, end=end)
    except ValueError as exc:
        hint = "write e.g. 06:00 or 24:00" if end else "write e.g. 22:00"
        raise checks.InvalidValue(str(exc), hint=hint) from None
    return value


def _time_start(value: str) -> str:
    return _time_of_day(value, end=False)


def _time_end(value: str) -> str:
    return _time_of_day(value, end=True)


_WEEKDAY_HINT = (
    "a weekday (monday ... sunday), a range (monday:friday, saturday:sunday), or the n-th "
    "of the month (sunday#1, friday#-1)"
)
_DAY_HINT = "-1 is the last day; ranges: 1:7, -7:-1, 25:-1"
_MONTH_HINT = "january ... december or 1 to 12, or a range: march:may, november:february"
_YEAR_HINT = "a year or a range of years: 2027, 2026:2028"


def _not_empty(value: tuple[Any, ...]) -> tuple[Any, ...]:
    # not Field(min_length=1): pydantic then also calls a list "too short" whose items
    # failed, which would add a wrong "must not be empty" to each located error
    if not value:
        raise checks.InvalidValue("must not be empty")
    return value


def _one_value_or_many(value: Any) -> Any:
    """A single string or number where a list is expected means a list of one."""
    return [value] if isinstance(value, (str, int)) and not isinstance(value, bool) else value


_NOT_EMPTY = AfterValidator(_not_empty)
_MIN_ONE = Field(json_schema_extra={"minItems": 1})


def _list_schema(example: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [example, {"type": "array", "items": example, "minItems": 1}]})


_TEXT_OR_INT: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
Weekdays = Annotated[
    tuple[Annotated[str, AfterValidator(_checked(mutewindows.parse_weekday, _WEEKDAY_HINT))], ...],
    BeforeValidator(_one_value_or_many),
    _NOT_EMPTY,
    _list_schema(
        {"type": "string", "examples": ["monday:friday", "saturday", "sunday#1", "friday#-1"]}
    ),
]
DaysOfMonth = Annotated[
    tuple[
        Annotated[str | int, AfterValidator(_checked(mutewindows.parse_day_of_month, _DAY_HINT))],
        ...,
    ],
    BeforeValidator(_one_value_or_many),
    _NOT_EMPTY,
    _list_schema({**_TEXT_OR_INT, "examples": [1, -1, "1:7", "-7:-1"]}),
]
Months = Annotated[
    tuple[
        Annotated[str | int, AfterValidator(_checked(mutewindows.parse_month, _MONTH_HINT))], ...
    ],
    BeforeValidator(_one_value_or_many),
    _NOT_EMPTY,
    _list_schema({**_TEXT_OR_INT, "examples": ["december", 3, "june:august"]}),
]
Years = Annotated[
    tuple[Annotated[str | int, AfterValidator(_checked(mutewindows.parse_year, _YEAR_HINT))], ...],
    BeforeValidator(_one_value_or_many),
    _NOT_EMPTY,
    _list_schema({**_TEXT_OR_INT, "examples": [2027, "2026:2028"]}),
]


class RawTimeRange(_Raw):
    """Times of day in the window's timezone: `start_time` inclusive, `end_time` exclusive."""

    start_time: Annotated[str, AfterValidator(_time_start)] = Field(
        description="HH:MM, 00:00 to 23:59.", examples=["22:00"]
    )
    end_time: Annotated[str, AfterValidator(_time_end)] = Field(
        description="HH:MM, up to 24:00 (midnight at the end of the day).", examples=["06:00"]
    )

    @model_validator(mode="after")
    def _ends_after_start(self) -> RawTimeRange:
        start = mutewindows.parse_time(self.start_time, end=False)
        if mutewindows.parse_time(self.end_time, end=True) <= start:
            raise checks.InvalidValue(
                f"end_time {self.end_time} is not after start_time {self.start_time}",
                hint="a range ends the same day: for a night write two, 22:00-24:00 and "
                "00:00-06:00",
            )
        return self


class RawTimeInterval(_Raw):
    """When the window is active: every field given must hold (like Alertmanager's
    time_intervals); ranges are inclusive."""

    times: Annotated[tuple[RawTimeRange, ...], _NOT_EMPTY, _MIN_ONE] | None = Field(
        None, description="Times of day; any of them."
    )
    weekdays: Weekdays | None = Field(
        None,
        description="Weekdays or ranges (monday:friday; a range may wrap: saturday:sunday); "
        "`sunday#1` is the month's first Sunday, `friday#-1` its last Friday.",
    )
    days_of_month: DaysOfMonth | None = Field(
        None, description="Days 1 to 31, negative from the month's end (-1: the last), ranges."
    )
    months: Months | None = Field(
        None, description="Names or 1 to 12, ranges (may wrap: november:february)."
    )
    years: Years | None = Field(None, description="Years or ranges.")

    @model_validator(mode="after")
    def _says_something(self) -> RawTimeInterval:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise checks.InvalidValue(
                "an interval needs at least one of times, weekdays, days_of_month, months, years",
                hint="an interval that says nothing would mute for ever; use a silence for that",
            )
        return self


class RawMuteWindow(_Raw):
    """A recurring mute: events of the alerts it matches are held while it is active."""

    name: WindowName = Field(description="Unique; shown where it mutes an alert.")
    match: RawMatch | None = Field(None, description="Which alerts; none: every alert.")
    timezone: Timezone | None = Field(None, description="IANA timezone of its times (UTC).")
    intervals: Annotated[tuple[RawTimeInterval, ...], _NOT_EMPTY, _MIN_ONE] = Field(
        description="Active when any interval holds."
    )
    reason: str = ""
    notify_firing_at_end: bool | None = Field(
        None,
        description="An incident still firing when the window ends sends one firing (true, "
        "default); false: it stays muted until it resolves.",
    )
    notify_resolved_inside: bool | None = Field(
        None,
        description="An incident announced before the window that resolves inside it sends "
        "its resolved (true); default false: nothing.",
    )


def _version(value: int) -> int:
    if value != 1:
        raise checks.InvalidValue(
            f"unsupported version {value}", hint="this release reads `version: 1`"
        )
    return value


_PREFIX = re.compile(r"^[A-Za-z0-9_.-]*$")


def _dag_id_prefix(value: str) -> str:
    if not _PREFIX.match(value):
        raise checks.InvalidValue(
            f"{value!r} cannot start a dag_id", hint="use letters, digits, `_`, `-` and `.`"
        )
    return value


class RawFile(_Raw):
    """The whole alerts.yaml."""

    model_config = ConfigDict(
        title="SQL Sentinel alerts file",
        json_schema_extra={"patternProperties": {"^x-": {}}},  # ignored keys, for anchors
    )

    version: Annotated[int, AfterValidator(_version), WithJsonSchema({"const": 1})] | None = None
    dag_id_prefix: Annotated[str, AfterValidator(_dag_id_prefix)] | None = Field(
        None, description="Prefix of every alert's dag_id (default sqlsentinel_)."
    )
    state_db: RawStateDb | None = None
    database: RawDatabase | None = None
    defaults: RawDefaults | None = None
    alerts: tuple[RawAlert, ...] | None = None
    silences: tuple[RawSilence, ...] | None = None
    receivers: tuple[RawReceiver, ...] | None = Field(
        None, description="Named receivers, reached through `routes`."
    )
    routes: RawRoutes | None = Field(
        None, description="The routing tree: which receivers each alert reaches."
    )
    mute_windows: tuple[RawMuteWindow, ...] | None = Field(
        None, description="Recurring mutes (weekends, nightly maintenance) of matching alerts."
    )
    action_links: RawActionLinks | None = Field(
        None,
        description="Signed Acknowledge links in emails (firing, reminder, escalation), "
        "keyed with an Airflow connection's password.",
    )
