#!/usr/bin/env python3
"""Generate docs/reference/alerts-yaml.md from the JSON Schema of alerts.yaml.

    .venv/bin/python scripts/gen_docs_reference.py           # rewrite the page
    .venv/bin/python scripts/gen_docs_reference.py --check   # exit 1 if the page is stale

Keys, types, descriptions and which keys are required come from ``json_schema()`` (what
``sqlsentinel schema`` prints); defaults come from the resolved models (``models.py``: what
a key that nobody wrote becomes). Only two things are written here by hand: an example value
per key (``EXAMPLES``; tests/docs/test_docs_reference.py loads every one through the real
loader) and a description for keys whose schema has none (``NOTES``). A key in the schema
without an example makes this script fail, so a new key cannot reach the page undocumented.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from generated import write_or_check  # noqa: E402  (scripts/generated.py)

PAGE = REPO / "docs" / "reference" / "alerts-yaml.md"

# section id -> (title, $defs name or "" for the top level, resolved model, where it sits)
SECTIONS: list[tuple[str, str, str, str]] = [
    ("file", "Top level", "", "the top level of the file"),
    ("alert", "Alert settings", "RawAlert", "each item of `alerts:`, and `defaults:`"),
    ("email", "Email channel", "RawEmailChannel", "an item of `notify:` with `channel: email`"),
    ("slack", "Slack channel", "RawSlackChannel", "an item of `notify:` with `channel: slack`"),
    (
        "webhook",
        "Webhook channel",
        "RawWebhookChannel",
        "an item of `notify:` with `channel: webhook`",
    ),
    (
        "pagerduty",
        "PagerDuty channel",
        "RawPagerDutyChannel",
        "an item of `notify:` with `channel: pagerduty`",
    ),
    ("teams", "Teams channel", "RawTeamsChannel", "an item of `notify:` with `channel: teams`"),
    (
        "templates",
        "Message templates",
        "RawMessageTemplates",
        "`templates:` of an alert or `defaults`",
    ),
    ("link", "Links", "RawLink", "each item of `links:` of an alert or `defaults`"),
    (
        "flap_detection",
        "Flap detection",
        "RawFlapDetection",
        "`flap_detection:` of an alert or `defaults`",
    ),
    (
        "escalation_step",
        "Escalation step",
        "RawEscalationStep",
        "each item of `escalation:` of an alert, `defaults`, a route or `routes:`",
    ),
    ("ack", "Acknowledgements", "RawAck", "`ack:` of an alert or `defaults`"),
    ("freshness", "Freshness check", "RawFreshness", "`freshness:` of an alert"),
    (
        "group",
        "Grouped messages",
        "RawGrouping",
        "`group:` of an alert, `defaults` or a receiver",
    ),
    ("state_db", "state_db", "RawStateDb", "`state_db:` at the top level"),
    ("database", "database", "RawDatabase", "`database:` at the top level (standalone files)"),
    ("silence", "Silences", "RawSilence", "each item of `silences:` at the top level"),
    ("receiver", "Receivers", "RawReceiver", "each item of `receivers:` at the top level"),
    ("routes", "Routes", "RawRoutes", "`routes:` at the top level: the root of the routing tree"),
    ("route", "Route", "RawRoute", "each item of `routes:` under the root or under a route"),
    ("match", "Match", "RawMatch", "`match:` of a route or a mute window"),
    (
        "mute_window",
        "Mute windows",
        "RawMuteWindow",
        "each item of `mute_windows:` at the top level",
    ),
    (
        "interval",
        "Mute window interval",
        "RawTimeInterval",
        "each item of `intervals:` of a mute window",
    ),
    ("times", "Times of day", "RawTimeRange", "each item of `times:` of an interval"),
    (
        "action_links",
        "Action links",
        "RawActionLinks",
        "`action_links:` at the top level: Acknowledge links in emails",
    ),
]
SECTION_OF_DEF = {d: s for s, _t, d, _w in SECTIONS if d}
SECTION_OF_DEF["RawDefaults"] = "alert"

# Example values, as YAML text. Every one is loaded by the real loader in a test.
EXAMPLES: dict[tuple[str, str], str] = {
    ("file", "version"): "1",
    ("file", "dag_id_prefix"): "alerts_",
    ("file", "state_db"): "{conn_id: sqlsentinel_state}",
    ("file", "database"): "{url: '${DATABASE_URL}'}",
    ("file", "defaults"): "{conn_id: warehouse, timezone: Europe/Berlin}",
    ("file", "alerts"): "[{name: stuck, conn_id: warehouse, schedule: '@hourly', "
    "query_file: sql/stuck.sql}]",
    ("file", "silences"): "[{match: 'table_*', until: 2030-01-01T06:00:00Z}]",
    ("alert", "name"): "daily_revenue_check",
    ("alert", "query"): "\"SELECT 'OK' AS status\"",
    ("alert", "query_file"): "sql/revenue.sql",
    ("alert", "mute_windows"): "[weekends]",
    ("alert", "freshness"): "{table: analytics.orders, column: loaded_at, within: 6h}",
    ("freshness", "table"): "analytics.orders",
    ("freshness", "column"): "loaded_at",
    ("freshness", "asset"): "s3://warehouse/orders",
    ("freshness", "within"): "6h",
    ("freshness", "timezone"): "Europe/Berlin",
    ("alert", "depends_on"): "[orders_loaded]",
    ("alert", "produces"): "[s3://alerts/orders_low, {name: orders_alerts}]",
    ("alert", "description"): "Revenue below 10k yesterday",
    ("alert", "schedule"): '"0 9 * * *"',
    ("alert", "enabled"): "false",
    ("alert", "key_columns"): "[table_name]",
    ("alert", "conn_id"): "warehouse",
    ("alert", "timezone"): "Europe/Berlin",
    ("alert", "owner"): "data-team",
    ("alert", "tags"): "[finance]",
    ("alert", "severity"): "critical",
    ("alert", "timeout"): "5m",
    ("alert", "retries"): "2",
    ("alert", "retry_delay"): "30s",
    ("alert", "fire_after"): "3",
    ("alert", "resolve_after"): "2",
    ("alert", "renotify_after"): "4h",
    ("alert", "notify_on_recovery"): "false",
    ("alert", "notify_on_error"): "after 3",
    ("alert", "flap_detection"): "{changes: 4, window: 30m, stable_for: 15m}",
    ("alert", "fail_task_on_alert"): "true",
    ("alert", "max_rows"): "50",
    ("alert", "notify"): "[{channel: email, to: [team@example.com]}]",
    ("alert", "templates"): "{subject: 'Revenue: {{ alert.name }}'}",
    ("alert", "delivery_attempts"): "20",
    ("alert", "runbook_url"): "https://wiki.example.com/runbooks/revenue",
    ("alert", "links"): "[{title: Revenue dashboard, url: 'https://bi.example.com/d/revenue'}]",
    ("alert", "group"): "{by_evaluation: true, max_listed: 50}",
    ("alert", "escalation"): "[{after: 15m, receiver: oncall}, {after: 1h, receiver: leads}]",
    ("alert", "ack"): "{rearm_factor: 2}",
    ("escalation_step", "after"): "15m",
    ("escalation_step", "receiver"): "oncall",
    ("ack", "rearm_factor"): "2",
    ("routes", "escalation"): "[{after: 30m, receiver: oncall}]",
    ("route", "escalation"): "[{after: 15m, receiver: oncall}]",
    ("group", "by_evaluation"): "true",
    ("group", "max_listed"): "50",
    ("receiver", "group"): "false",
    ("receiver", "group_by"): "[owner]",
    ("receiver", "group_wait"): "2m",
    ("flap_detection", "changes"): "4",
    ("flap_detection", "window"): "30m",
    ("flap_detection", "stable_for"): "15m",
    ("link", "title"): "Revenue dashboard",
    ("link", "url"): "https://bi.example.com/d/revenue",
    ("email", "channel"): "email",
    ("email", "to"): "[team@example.com]",
    ("email", "recipients"): "[team@example.com]",
    ("email", "cc"): "[lead@example.com]",
    ("email", "bcc"): "audit@example.com",
    ("email", "subject"): "'Revenue alert: {{ alert.name }}'",
    ("email", "text"): "'{{ alert.name }} is {{ state }}'",
    ("email", "html"): "{firing: '<b>{{ alert.name }}</b> fired'}",
    ("email", "conn_id"): "smtp_alerts",
    ("email", "from_email"): "alerts@example.com",
    ("slack", "channel"): "slack",
    ("slack", "conn_id"): "slack_alerts",
    ("slack", "webhook_url"): "${SLACK_WEBHOOK_URL}",
    ("slack", "bot_conn_id"): "slack_bot",
    ("slack", "slack_channel"): "'#data-alerts'",
    ("slack", "username"): "SQL Sentinel",
    ("slack", "icon_emoji"): "':rotating_light:'",
    ("slack", "text"): "'*{{ alert.name }}* is {{ state }}'",
    ("webhook", "channel"): "webhook",
    ("webhook", "url"): "https://example.internal/hooks/alerts",
    ("webhook", "conn_id"): "alerts_api",
    ("webhook", "endpoint"): "/v1/alerts",
    ("webhook", "method"): "PUT",
    ("webhook", "headers"): "{X-Team: data}",
    ("webhook", "timeout"): "30s",
    ("webhook", "hmac_secret_conn_id"): "alerts_hmac",
    ("pagerduty", "channel"): "pagerduty",
    ("pagerduty", "conn_id"): "pagerduty_oncall",
    ("pagerduty", "source"): "warehouse-prod",
    ("pagerduty", "summary"): "'{{ alert.name }}: {{ actual_value }}'",
    ("teams", "channel"): "teams",
    ("teams", "conn_id"): "teams_data_alerts",
    ("teams", "webhook_url"): "${TEAMS_WEBHOOK_URL}",
    ("teams", "text"): "'**{{ alert.name }}** is {{ status }}'",
    ("teams", "timeout"): "30s",
    ("templates", "subject"): "'[{{ alert.severity }}] {{ alert.name }}'",
    ("templates", "text"): "{resolved: '{{ alert.name }} is OK again'}",
    ("templates", "html"): "'<p>{{ alert.description }}</p>'",
    ("templates", "slack"): "'{{ alert.name }}: {{ state }}'",
    ("templates", "pagerduty"): "'[{{ alert.severity }}] {{ alert.name }}: {{ actual_value }}'",
    ("templates", "teams"): "'**{{ alert.name }}** is {{ status }}'",
    ("state_db", "conn_id"): "sqlsentinel_state",
    ("state_db", "url"): "postgresql://sentinel@db.internal/sentinel",
    ("database", "url"): "${DATABASE_URL}",
    ("silence", "match"): "'daily_*'",
    ("silence", "until"): "2030-01-01T06:00:00Z",
    ("silence", "starts"): "2029-12-31T22:00:00Z",
    ("silence", "reason"): "warehouse migration",
    ("silence", "instance"): "table_name=customers",
    (
        "file",
        "receivers",
    ): "[{name: data-team, notify: [{channel: email, to: [team@example.com]}]}]",
    ("file", "routes"): "{receiver: data-team}",
    ("receiver", "name"): "data-team",
    ("receiver", "notify"): "[{channel: slack, conn_id: slack_alerts}]",
    ("routes", "receiver"): "data-team",
    ("routes", "renotify_after"): "12h",
    ("routes", "routes"): "[{match: {severity: critical}, receiver: oncall}]",
    ("route", "match"): "{severity: critical, tags: [finance]}",
    ("route", "receiver"): "oncall",
    ("route", "continue"): "true",
    ("route", "renotify_after"): "1h",
    ("route", "routes"): "[{match: {alert: 'revenue_*'}, receiver: oncall}]",
    ("match", "severity"): "[critical, warning]",
    ("match", "owner"): "'data-*'",
    ("match", "tags"): "[finance, 'team-*']",
    ("match", "alert"): "'revenue_*'",
    ("file", "mute_windows"): "[{name: weekends, intervals: [{weekdays: [saturday, sunday]}]}]",
    ("mute_window", "name"): "weekends",
    ("mute_window", "match"): "{tags: [batch]}",
    ("mute_window", "timezone"): "Europe/Berlin",
    ("mute_window", "intervals"): "[{weekdays: ['sunday#1'], times: [{start_time: '02:00', "
    "end_time: '06:00'}]}]",
    ("mute_window", "reason"): "nightly loads are retried on Monday",
    ("mute_window", "notify_firing_at_end"): "false",
    ("mute_window", "notify_resolved_inside"): "true",
    ("interval", "times"): "[{start_time: '22:00', end_time: '24:00'}]",
    ("interval", "weekdays"): "['monday:friday', 'sunday#-1']",
    ("interval", "days_of_month"): "[1, '-3:-1']",
    ("interval", "months"): "[december, 'june:august']",
    ("interval", "years"): "['2026:2027']",
    ("file", "action_links"): "{conn_id: sqlsentinel_action_links, expire_after: 24h}",
    ("action_links", "conn_id"): "sqlsentinel_action_links",
    ("action_links", "expire_after"): "24h",
    ("action_links", "require_login"): "true",
    ("times", "start_time"): "'22:00'",
    ("times", "end_time"): "'24:00'",
}

# Descriptions for keys whose schema has none yet.
NOTES: dict[tuple[str, str], str] = {
    ("file", "version"): "Version of the file format; this release reads 1.",
    ("file", "state_db"): "Where alert state, history and the outbox live (else Airflow config, "
    "`SQLSENTINEL_STATE_DB_URL`, or SQLite in `$AIRFLOW_HOME/sqlsentinel/`).",
    (
        "file",
        "database",
    ): "Standalone SQL Sentinel's query database; alerts without `conn_id` use it.",
    ("file", "defaults"): "Any alert setting, applied to every alert that does not set it.",
    ("file", "alerts"): "The alerts; each becomes one DAG.",
    ("file", "silences"): "Planned maintenance: events of matching alerts are suppressed.",
    ("alert", "description"): "Shown in the DAG list, the DAG docs and notifications.",
    ("alert", "owner"): "Owner of the DAG's task.",
    ("alert", "tags"): "DAG tags, besides `sqlsentinel` and the severity; merged with `defaults`.",
    ("alert", "severity"): "Shown in notifications and as a DAG tag.",
    ("alert", "retries"): "Task retries when the query fails or a notification is not delivered.",
    ("alert", "retry_delay"): "Wait between task retries.",
    ("alert", "notify_on_recovery"): "Send `resolved` when a firing alert recovers.",
    ("alert", "fail_task_on_alert"): "Make the task fail (red) while the alert fires.",
    ("email", "channel"): "Selects the channel.",
    ("email", "cc"): "Copy recipients.",
    ("email", "bcc"): "Blind-copy recipients.",
    ("email", "subject"): "Subject template.",
    ("email", "from_email"): "Sender (else the SMTP connection's `from_email`).",
    ("slack", "channel"): "Selects the channel.",
    ("slack", "username"): "Sender name shown in Slack.",
    ("slack", "icon_emoji"): "Sender icon.",
    ("webhook", "channel"): "Selects the channel.",
    ("webhook", "method"): "HTTP method.",
    ("webhook", "headers"): "Extra request headers.",
    ("webhook", "timeout"): "Request timeout.",
    ("pagerduty", "channel"): "Selects the channel.",
    ("teams", "channel"): "Selects the channel.",
    ("state_db", "conn_id"): "An Airflow connection to the state database.",
    ("state_db", "url"): "A SQLAlchemy URL of the state database.",
    ("silence", "reason"): "Why; shown with the silence.",
    ("mute_window", "reason"): "Why; shown with the window.",
}


def _resolved_models() -> dict[str, type[BaseModel]]:
    from sqlsentinel_airflow.core.config.models import (
        AlertConfig,
        AlertsConfig,
        EmailChannel,
        FileSilence,
        MessageTemplates,
        PagerDutyChannel,
        SlackChannel,
        StateDbConfig,
        TeamsChannel,
        WebhookChannel,
    )
    from sqlsentinel_airflow.core.mutewindows import MuteWindow

    return {
        "file": AlertsConfig,
        "alert": AlertConfig,
        "email": EmailChannel,
        "slack": SlackChannel,
        "webhook": WebhookChannel,
        "pagerduty": PagerDutyChannel,
        "teams": TeamsChannel,
        "templates": MessageTemplates,
        "state_db": StateDbConfig,
        "silence": FileSilence,
        "mute_window": MuteWindow,
    }


def _code(value: str) -> str:
    return "`" + value.replace("|", "\\|") + "`"


def _cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|") if "`" not in text else text


# --- types ------------------------------------------------------------------------------


def _options(prop: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """The alternatives of a property, without null; and whether ${VAR} is accepted."""
    out: list[dict[str, Any]] = []
    variable = False
    stack = [prop]
    while stack:
        item = stack.pop(0)
        if "anyOf" in item and not any(k in item for k in ("type", "const", "enum", "$ref")):
            stack[0:0] = item["anyOf"]
            continue
        if item.get("$ref") == "#/$defs/VariableReference":
            variable = True
        elif item.get("type") != "null":
            out.append(item)
    return out, variable


def _type_of(option: dict[str, Any]) -> str:
    from sqlsentinel_airflow.core.config import raw

    if "oneOf" in option:
        return " or ".join(_type_of(o) for o in option["oneOf"])
    if "$ref" in option:
        name = option["$ref"].rsplit("/", 1)[1]
        section = SECTION_OF_DEF.get(name, name)
        title = next(t for s, t, _d, _w in SECTIONS if s == section)
        return f"[{title.lower()}](#{_anchor(title)})"
    if "const" in option:
        return _code(str(option["const"]))
    if "enum" in option:
        values = list(dict.fromkeys(str(v) for v in option["enum"]))
        upper = [v for v in values if v == v.upper()] or values
        return " \\| ".join(_code(v) for v in upper) + (
            " (any case)" if len(upper) < len(values) else ""
        )
    kind = option.get("type")
    if kind == "string":
        pattern = option.get("pattern")
        if pattern == raw._DURATION_SCHEMA["anyOf"][0]["pattern"]:
            return "duration (`30s`, `5m`, `4h`, `1d`, `1h30m`)"
        if pattern == "^https?://":
            return "URL (https, or http to localhost)"
        if pattern == "^[Hh][Tt][Tt][Pp][Ss]?://":
            return "URL (http or https)"
        if pattern and "[Aa]fter" in pattern:  # notify_on_error
            return "`after N` or `never`"
        if pattern:
            return f"string matching {_code(pattern)}"
        if option.get("format") == "date-time":
            return "date-time (ISO 8601; UTC without an offset)"
        return "string"
    if kind == "integer":
        low = option.get("minimum")
        return "integer" + (f" ≥ {low}" if low is not None else "")
    if kind == "number":
        low = option.get("exclusiveMinimum")
        return "number" + (f" > {low}" if low is not None else "")
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        items = option.get("items", {})
        inner = " or ".join(_type_of(o) for o in _options(items)[0])
        return f"list of {inner}"
    if kind == "object":
        properties = option.get("properties")
        if properties:
            return "mapping of " + ", ".join(f"`{k}`" for k in properties) + " to string"
        extra = option.get("additionalProperties")
        if isinstance(extra, dict) and extra.get("type"):
            return f"mapping of string to {extra['type']}"
        return "mapping"
    raise SystemExit(f"gen_docs_reference: no rendering for schema option {option!r}")


def _render_type(prop: dict[str, Any]) -> tuple[str, bool]:
    if "x-type-text" in prop:  # a recursive form the schema keeps shallow (asset conditions)
        return str(prop["x-type-text"]), False
    options, variable = _options(prop)
    options.sort(key=lambda o: o.get("type") != "string")  # patterns first: they name the rest
    seen: list[str] = []
    for option in options:
        text = _type_of(option)
        if option.get("type") == "integer" and any(s.startswith("duration") for s in seen):
            text = "seconds (integer ≥ 1)"
        if option.get("type") == "boolean" and any(s.startswith("`after N`") for s in seen):
            text = "`true` (= after 1) or `false` (= never)"
        if text not in seen:
            seen.append(text)
    return " or ".join(seen), variable


def _anchor(title: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in title.lower().replace(" ", "-"))


# --- defaults ---------------------------------------------------------------------------


_TEMPLATE_KEYS = {
    ("email", "subject"),
    ("email", "text"),
    ("email", "html"),
    ("slack", "text"),
    ("pagerduty", "summary"),
    ("teams", "text"),
    *(("templates", k) for k in ("subject", "text", "html", "slack", "pagerduty", "teams")),
}


def _default(section: str, key: str, required: bool) -> str:
    from sqlsentinel_airflow.core.config.models import (
        DEFAULT_MAX_ROWS_KEYED,
        DEFAULT_MAX_ROWS_SINGLE,
    )
    from sqlsentinel_airflow.core.durations import format_duration

    if required:
        return "required"
    if section == "alert" and key == "schedule":
        return "required (here or in `defaults`)"
    if section == "alert" and key == "conn_id":
        return "required (here or in `defaults`), unless `database` is set"
    if section == "alert" and key == "query":
        return "this, `query_file` or `freshness`"
    if section == "alert" and key == "query_file":
        return "this, `query` or `freshness`"
    if section == "alert" and key == "freshness":
        return "this, `query` or `query_file`"
    if section == "freshness" and key in ("table", "asset"):
        return "this and/or " + ("`asset`" if key == "table" else "`table`")
    if section == "freshness" and key == "column":
        return "required with `table`"
    if section == "freshness" and key == "timezone":
        return "`UTC`"
    if section == "alert" and key == "max_rows":
        return f"`{DEFAULT_MAX_ROWS_SINGLE}`; `{DEFAULT_MAX_ROWS_KEYED}` with `key_columns`"
    if section == "alert" and key == "templates":
        return "built-in templates per event kind"
    if section == "alert" and key == "group":
        return "email, Slack and Teams grouped, webhooks not, PagerDuty never; 20 listed"
    if section == "receiver" and key == "group":
        return "the alert's `group`"
    if section == "receiver" and key == "group_by":
        return "— (no grouping across alerts)"
    if section == "receiver" and key == "group_wait":
        return "`1m`"
    if section == "group" and key == "by_evaluation":
        return "— (email, Slack and Teams yes, webhooks no; PagerDuty never)"
    if section == "group" and key == "max_listed":
        return "`20`"
    if section == "email" and key in ("to", "recipients"):
        return "`to` or `recipients` required"
    if section == "slack" and key in ("conn_id", "webhook_url", "bot_conn_id"):
        return "one of `conn_id` / `webhook_url` / `bot_conn_id`"
    if section == "teams" and key in ("conn_id", "webhook_url"):
        return "this or the other of `conn_id` / `webhook_url`"
    if (section, key) == ("pagerduty", "source"):
        return "the alert's dag_id"
    if section == "webhook" and key in ("url", "conn_id"):
        return "this or the other of `url` / `conn_id`"
    if section == "state_db":
        return "one of `conn_id` / `url`"
    if (section, key) == ("route", "continue"):
        return "`false`"
    if section in ("routes", "route") and key == "receiver":
        return "the parent route's" if section == "route" else "— (no default receiver)"
    if section in ("routes", "route") and key == "renotify_after":
        return "the parent route's" if section == "route" else "— (the alerts' own)"
    if (section, key) == ("mute_window", "match"):
        return "— (every alert)"
    if (section, key) in _TEMPLATE_KEYS:
        return "built-in template"
    models = _resolved_models()
    model = models.get(section)
    if model is None:
        return "—"
    field_name = "recipients" if (section, key) == ("email", "to") else key
    if section == "file" and key == "defaults":
        return "—"
    if section == "file" and key in ("alerts",):
        return "required"
    field = model.model_fields.get(field_name)
    if field is None:
        return "—"
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return {
            "renotify_after": "never (no reminders)",
            "notify_on_error": "never",
            "flap_detection": "off",
        }.get(key, "—")
    if isinstance(value, timedelta):
        return _code(format_duration(value))
    if isinstance(value, bool):
        return _code(str(value).lower())
    if key == "notify_on_error" and isinstance(value, int):
        return _code(f"after {value}")
    if isinstance(value, (tuple, list, dict)) and not value:
        return "none"
    if isinstance(value, str) and not value:
        return '`""`'
    return _code(str(value))


# --- the page ---------------------------------------------------------------------------


def _properties(schema: dict[str, Any], def_name: str) -> tuple[dict[str, Any], list[str], str]:
    if not def_name:
        return schema["properties"], [], schema.get("description", "")
    body = schema["$defs"][def_name]
    required = list(body.get("required", []))
    return body["properties"], required, body.get("description", "")


def _description(section: str, key: str, prop: dict[str, Any]) -> str:
    text = prop.get("description") or NOTES.get((section, key))
    if not text:
        raise SystemExit(f"gen_docs_reference: `{key}` in {section} has no description")
    return " ".join(str(text).replace("``", "`").split())


def generate() -> str:
    from sqlsentinel_airflow.core.config import json_schema
    from sqlsentinel_airflow.core.config.raw import ALERT_ONLY_KEYS

    schema = json_schema()
    missing = []
    lines = [
        "# alerts.yaml reference",
        "",
        "<!-- GENERATED by scripts/gen_docs_reference.py from the JSON Schema; do not edit.",
        "     tests/docs/test_docs_reference.py fails when this page differs from a fresh run. -->",
        "",
        "Every key `alerts.yaml` accepts, generated from the JSON Schema that "
        "`sqlsentinel schema` prints and the loader validates with, so this page cannot drift "
        "from the code. Defaults are what a key nobody wrote becomes. Each example is loaded "
        "by the real loader in the docs tests.",
        "",
        "- Default `—`: not set. `required` keys must be written.",
        "- Durations: `30s`, `5m`, `4h`, `1d`, combinations like `1h30m`, or an integer of seconds.",
        "- `${VAR}` and `${VAR:-default}` are expanded from the environment in string values "
        "after YAML parsing; never inside `query` or a `query_file`. Keys marked **${}** also "
        "accept a reference where a number, boolean or list is expected "
        "(`retries: ${RETRIES}`).",
        "- Unknown keys are errors (with a did-you-mean hint); top-level keys starting with "
        "`x-` are ignored, a place for YAML anchors.",
        "- Editors: save `sqlsentinel schema > alerts.schema.json` and start the file with "
        "`# yaml-language-server: $schema=./alerts.schema.json`.",
        "",
    ]
    for section, title, def_name, where in SECTIONS:
        properties, required, doc = _properties(schema, def_name)
        lines += [f"## {title}", "", f"Where: {where}."]
        if doc and section not in ("file", "alert"):  # alert: "One entry of alerts"
            lines += ["", " ".join(doc.replace("``", "`").split())]
        if section == "alert":
            only = ", ".join(f"`{k}`" for k in ALERT_ONLY_KEYS)
            lines += [
                "",
                f"{only} belong to an alert only; every other key may also be written once "
                "in `defaults`. An alert's own value wins, except that `tags` and `links` are "
                "merged (defaults first) and `templates` are merged part by part (`notify` "
                "replaces).",
            ]
        lines += [
            "",
            "| key | type | default | description | example |",
            "|---|---|---|---|---|",
        ]
        first = ALERT_ONLY_KEYS if section == "alert" else ()
        order = [*(k for k in first if k in properties), *properties]
        for key in dict.fromkeys(order):
            prop = properties[key]
            kind, variable = _render_type(prop)
            if variable:
                kind += " **${}**"
            example = EXAMPLES.get((section, key))
            if example is None:
                missing.append(f"{section}.{key}")
                example = ""
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"`{key}`",
                        kind,
                        _default(section, key, key in required),
                        _cell(_description(section, key, prop)),
                        _code(f"{key}: {example}"),
                    ]
                )
                + " |"
            )
        lines.append("")
    if missing:
        raise SystemExit(
            "gen_docs_reference: no example for " + ", ".join(missing) + " (add them to EXAMPLES)"
        )
    stale = sorted(f"{s}.{k}" for s, k in EXAMPLES if not _has_key(schema, s, k))
    if stale:
        raise SystemExit(
            "gen_docs_reference: EXAMPLES for keys not in the schema: " + ", ".join(stale)
        )
    return "\n".join(lines).rstrip("\n") + "\n"


def _has_key(schema: dict[str, Any], section: str, key: str) -> bool:
    def_name = next(d for s, _t, d, _w in SECTIONS if s == section)
    return key in _properties(schema, def_name)[0]


def main(argv: list[str] | None = None) -> int:
    return write_or_check(PAGE, generate(), script=__file__, doc=__doc__, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
