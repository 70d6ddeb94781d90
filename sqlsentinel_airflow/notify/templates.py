"""Message texts: sandboxed Jinja templates over an event payload, with defaults per kind.

Every event kind (``firing``, ``reminder``, ``resolved``, ``error``, ``flapping``) has a default
template for every message part: the email ``subject``, plain ``text`` and ``html`` bodies, the
``slack`` text, the ``pagerduty`` summary (one line) and the ``teams`` card text. A template is chosen, most specific first, from the channel's own setting,
then the alert's (or ``defaults``') ``templates:``, then the built-in default; each of those
may be one template for every kind or a mapping ``{firing: ..., resolved: ...}``.

Safety, decided once here:
- templates run in a bounded Jinja sandbox (``notify.sandbox``): no Python internals, and
  limits on value and output size, loop work, call depth and CPU time, so a template can
  neither hang a run nor exhaust memory (docs/notifications.md, "Template limits");
- query values are *data*: they reach a template as variables and are never parsed as
  template code, so a value ``{{ 7*7 }}`` arrives literally;
- the HTML part autoescapes, the Slack part escapes ``&``, ``<`` and ``>`` in every
  value (Slack's control characters), and the Teams part backslash-escapes the markdown
  characters of every value, so a value cannot inject markup or links;
- a subject from a standalone SQL Sentinel file (``"Alert: {alert_name}"``, no Jinja marker)
  is filled in the old way, with a formatter that allows plain names only (no attribute or
  index access);
- a custom template that fails to render, or exceeds a limit, never blocks a notification:
  the default template is used and the problem is reported (``notify-test`` renders strictly
  and shows it; ``validate`` refuses a template that exceeds a limit on a sample event).

Pure Python: no Airflow import, so the texts are unit-tested without it.
"""

from __future__ import annotations

import contextlib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from jinja2 import Template
from markupsafe import escape

from sqlsentinel_airflow.core.config.models import MessageTemplates, TemplateText
from sqlsentinel_airflow.core.durations import format_duration
from sqlsentinel_airflow.core.instances import instance_label, value_text
from sqlsentinel_airflow.core.payload import escalation_summary
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.sandbox import (
    BoundedEnvironment,
    TemplateLimitError,
    check_format_spec,
    render_bounded,
)

__all__ = [
    "DEFAULT_TEMPLATES",
    "EVENT_KINDS",
    "LEGACY_FIELDS",
    "MAX_CONTEXT_ROWS",
    "MAX_VALUE_CHARS",
    "Part",
    "Rendered",
    "TemplateLimitError",
    "display",
    "is_legacy_format",
    "message_context",
    "render_part",
    "render_template",
    "slack_escape",
    "teams_escape",
]

Part = Literal["subject", "text", "html", "slack", "pagerduty", "teams"]
EVENT_KINDS = ("firing", "reminder", "resolved", "error", "flapping", "escalation", "group")
MAX_CONTEXT_ROWS = 15
MAX_VALUE_CHARS = 200
MAX_SUBJECT_CHARS = 250
MAX_SUMMARY_CHARS = 1024  # PagerDuty's limit on payload.summary
MAX_ERROR_CHARS = 1500
MAX_ERROR_LINES = 50  # lines of ``error_lines``; the rest is counted
LEGACY_FIELDS = ("alert_name", "status", "actual_value", "threshold", "description", "severity")
"""Placeholders a standalone SQL Sentinel ``{alert_name}``-style subject may use."""

_STATUS = {
    "firing": "FIRING",
    "reminder": "STILL FIRING",
    "resolved": "RESOLVED",
    "error": "ERROR",
    "flapping": "FLAPPING",
    "escalation": "ESCALATED",
}
# a grouped message shows the most urgent of its members' kinds (flapping under firing)
_GROUP_HEADLINE_ORDER = ("firing", "flapping", "error", "reminder", "resolved")
_GROUP_WORDS = {
    "firing": "firing",
    "reminder": "still firing",
    "resolved": "resolved",
    "error": "failing",
    "flapping": "flapping",
}
_LEGACY_STATUS = {
    "firing": "ALERT",
    "reminder": "ALERT",
    "resolved": "OK",
    "error": "ERROR",
    "flapping": "FLAPPING",
    "escalation": "ALERT",
    "group": "ALERT",
}
_JINJA_MARKER = re.compile(r"\{\{|\{%|\{#")
_FORMAT_FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(![rsa])?(:[^{}]*)?\}")


# --- values for people ------------------------------------------------------------------------


def display(value: Any, width: int = MAX_VALUE_CHARS) -> str:
    """One line of at most ``width`` characters showing a query value (``n/a`` for none)."""
    return "n/a" if value is None else value_text(value, width)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _show_time(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if value else "n/a"


def link_url(value: Any) -> str:
    """``value`` if it is an http(s) URL, else "": a message makes a link of it, so no other
    scheme (``javascript:``) passes, whatever a stored payload holds."""
    if not isinstance(value, str) or not value.strip():
        return ""
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    if any(c.isspace() or ord(c) < 32 for c in text):
        return ""
    return text


def _links(alert: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    for item in alert.get("links") or ():
        if isinstance(item, Mapping):
            url = link_url(item.get("url"))
            title = display(item.get("title"), 80) if item.get("title") else url
            if url:
                out.append({"title": title, "url": url})
    return out


def slack_escape(text: str) -> str:
    """Escape Slack's control characters so a value shows as text, never as a link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEAMS_MARKDOWN = re.compile(r"([\\`*_\[\]<>~])")


def teams_escape(text: str) -> str:
    """Backslash-escape the markdown characters of an Adaptive Card text that make links and
    emphasis, so a value shows as text (``[x](url)`` stays literal; a number is untouched)."""
    return _TEAMS_MARKDOWN.sub(r"\\\1", text)


# --- the context every template sees ----------------------------------------------------------


def message_context(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The variables of every template, built from a stored event payload (all values data)."""
    # a flapping notice and an escalation step travel as kind firing (payload version 1
    # keeps its kinds)
    kind = "flapping" if payload.get("flapping") else str(payload.get("kind") or "firing")
    escalation = _escalation_context(payload.get("escalation"))
    if escalation is not None:
        kind = "escalation"
    alert = dict(payload.get("alert") or {})
    instance = dict(payload.get("instance") or {})
    key_values = dict(instance.get("key_values") or {})
    context = dict(payload.get("context") or {})
    occurred = _parse_time(payload.get("occurred_at"))
    firing_since = _parse_time(payload.get("firing_since"))
    since = occurred if kind == "error" else (firing_since or occurred)
    duration = ""
    if firing_since and occurred and occurred >= firing_since:
        duration = format_duration(
            occurred.replace(microsecond=0) - firing_since.replace(microsecond=0)
        )
    rows = [(str(name), display(value)) for name, value in context.items()]
    group = _group_context(
        payload.get("group"), str((payload.get("alert") or {}).get("name") or "")
    )
    if group is not None:
        kind = "group"
    return {
        "kind": kind,
        "status": group["status"] if group is not None else _STATUS.get(kind, kind.upper()),
        "group": group,
        "escalation": escalation,
        "test": bool(payload.get("test")),
        "alert": {
            "name": str(alert.get("name") or ""),
            "description": str(alert.get("description") or ""),
            "severity": str(alert.get("severity") or "warning"),
            "dag_id": str(alert.get("dag_id") or ""),
            "owner": str(alert.get("owner") or ""),
            "tags": list(alert.get("tags") or []),
        },
        "event": {
            "id": str(payload.get("event_id") or ""),
            "short_id": str(payload.get("event_id") or "")[:8],
            "kind": kind,
            "reason": str(payload.get("reason") or ""),
            "state": str(payload.get("state") or ""),
            "run_id": payload.get("run_id"),
            "occurred_at": _show_time(occurred),
        },
        "instance": {
            "key": str(instance.get("key") or ""),
            "key_values": {k: display(v, 80) for k, v in key_values.items()},
            "label": instance_label(key_values, 80),
        },
        "actual_value": display(payload.get("actual_value")),
        "threshold": display(payload.get("threshold")),
        "raw": {
            "actual_value": payload.get("actual_value"),
            "threshold": payload.get("threshold"),
            "context": context,
            "key_values": key_values,
        },
        "context": {name: value for name, value in rows},
        "context_rows": rows[:MAX_CONTEXT_ROWS],
        "context_hidden": max(0, len(rows) - MAX_CONTEXT_ROWS),
        "since": _show_time(since),
        "firing_since": _show_time(firing_since),
        "occurred_at": _show_time(occurred),
        "duration": duration,
        "error": display(payload.get("error"), MAX_ERROR_CHARS) if payload.get("error") else "",
        "error_lines": _error_lines(payload.get("error")),
        "task_log_url": str((payload.get("links") or {}).get("task_log") or ""),
        "runbook_url": link_url(alert.get("runbook_url")),
        "links": _links(alert),
        "alert_url": link_url((payload.get("links") or {}).get("alert")),
        "silence_url": link_url((payload.get("links") or {}).get("silence")),
        # an email's Acknowledge link, minted as it is sent (notify/actionlinks.py)
        "ack_url": "",
        "dashboard_url": str((payload.get("links") or {}).get("dashboard") or ""),
    }


def _escalation_context(escalation: Any) -> dict[str, Any] | None:
    """The ``escalation`` variable of an escalation step's message (None otherwise): ``step``
    (from 1), ``steps``, ``after`` (``15m``), ``receiver`` and ``summary`` (``Escalated (step
    1 of 2): not acknowledged for 15m``)."""
    if not isinstance(escalation, Mapping):
        return None
    step, steps = int(escalation.get("step") or 1), int(escalation.get("steps") or 1)
    after_seconds = float(escalation.get("after_seconds") or 0)
    return {
        "step": step,
        "steps": steps,
        "after": format_duration(timedelta(seconds=after_seconds)),
        "receiver": str(escalation.get("receiver") or ""),
        "summary": str(escalation.get("summary") or "")
        or escalation_summary(step, steps, after_seconds),
        "last": step >= steps,
    }


def _group_context(group: Any, alert_name: str = "") -> dict[str, Any] | None:
    """The ``group`` variable of a grouped message (None for a single event): its counts,
    a ``headline`` (``50 of 50 instances``, or ``3 firing, 2 resolved (of 50 instances)``),
    a ``title`` (the alert's name; for a group across alerts, ``3 alerts (owner data-team)``)
    and the first ``max_listed`` members, each as a message would show it."""
    if not isinstance(group, Mapping):
        return None
    members = [m for m in group.get("members") or () if isinstance(m, Mapping)]
    by = str(group.get("by") or "evaluation")
    title = alert_name
    if by == "receiver":
        alerts = len({str(m.get("alert") or "") for m in members})
        shared = ", ".join(f"{k} {v}" for k, v in dict(group.get("group_by") or {}).items())
        if alerts != 1:
            title = f"{alerts} alerts" + (f" ({shared})" if shared else "")
    counts = {kind: int((group.get("counts") or {}).get(kind) or 0) for kind in _GROUP_WORDS}
    size = int(group.get("size") or len(members))
    instances = int(group.get("instances") or size)
    max_listed = max(1, int(group.get("max_listed") or 20))
    present = [kind for kind in _GROUP_HEADLINE_ORDER if counts[kind]]
    summary = ", ".join(f"{counts[kind]} {_GROUP_WORDS[kind]}" for kind in present)
    noun = "instance" if instances == 1 else "instances"
    if len(present) == 1:
        headline = f"{size} of {instances} {noun}"
    else:
        headline = f"{summary} (of {instances} {noun})"
    listed = [_member_context(m) for m in members[:max_listed]]
    return {
        "status": _STATUS[present[0]] if present else "FIRING",
        "by": by,
        "title": title,
        "size": size,
        "instances": instances,
        "counts": counts,
        "summary": summary,
        "headline": headline,
        "members": listed,
        "hidden": max(0, size - len(listed)),
        "max_listed": max_listed,
    }


def _member_context(member: Mapping[str, Any]) -> dict[str, Any]:
    kind = "flapping" if member.get("flapping") else str(member.get("kind") or "firing")
    instance = dict(member.get("instance") or {})
    key_values = dict(instance.get("key_values") or {})
    value, threshold = display(member.get("actual_value")), display(member.get("threshold"))
    if kind == "error":
        detail = display(member.get("error"), MAX_VALUE_CHARS) if member.get("error") else ""
    elif kind in ("resolved", "flapping"):
        detail = f"last value {value} (threshold {threshold})"
    else:
        detail = f"{value} (threshold {threshold})"
    label = instance_label(key_values, 80)
    if member.get("alert"):  # a group across alerts names each member's alert
        label = f"{member['alert']} [{label}]" if label else str(member["alert"])
    return {
        "kind": kind,
        "status": _STATUS.get(kind, kind.upper()),
        "alert": str(member.get("alert") or ""),
        "key": str(instance.get("key") or ""),
        "label": label or "(the alert)",
        "actual_value": value,
        "threshold": threshold,
        "detail": detail,
        "reason": str(member.get("reason") or ""),
        "since": _show_time(_parse_time(member.get("firing_since"))),
    }


def _error_lines(error: Any) -> list[str]:
    """The error's lines, each shown on its own (``error`` is all of them on one line)."""
    if not error:
        return []
    lines = [display(line, MAX_ERROR_CHARS) for line in str(error).splitlines() if line.strip()]
    if len(lines) > MAX_ERROR_LINES:
        lines = [*lines[:MAX_ERROR_LINES], f"... and {len(lines) - MAX_ERROR_LINES} more"]
    return lines


# --- default templates ------------------------------------------------------------------------

_HEADLINES = {
    "firing": "{{ alert.name }} is firing",
    "reminder": "{{ alert.name }} is still firing{% if duration %} ({{ duration }}){% endif %}",
    "resolved": "{{ alert.name }} has resolved",
    "error": "{{ alert.name }}: the alert query failed",
    "flapping": "{{ alert.name }} is flapping between OK and FIRING",
    "escalation": "{{ alert.name }}: {{ escalation.summary }}",
    "group": "{{ group.title if group else alert.name }}: {{ group.summary }}",
}
_TEST = "{% if test %}[TEST] {% endif %}"
_INSTANCE = "{% if instance.label %} [{{ instance.label }}]{% endif %}"
_DURATION = "{% if duration %} ({{ duration }}){% endif %}"

_SUBJECTS = {
    "firing": _TEST + "[{{ alert.severity|upper }}] FIRING: {{ alert.name }}" + _INSTANCE,
    "reminder": _TEST
    + "[{{ alert.severity|upper }}] STILL FIRING: {{ alert.name }}"
    + _INSTANCE
    + " since {{ since }}",
    "resolved": _TEST + "[RESOLVED] {{ alert.name }}" + _INSTANCE,
    "error": _TEST + "[ERROR] {{ alert.name }}: the alert query failed",
    "flapping": _TEST + "[{{ alert.severity|upper }}] FLAPPING: {{ alert.name }}" + _INSTANCE,
    "escalation": _TEST
    + "[{{ alert.severity|upper }}] {{ escalation.summary }} — {{ alert.name }}"
    + _INSTANCE,
    "group": _TEST
    + '{% if status == "RESOLVED" %}[RESOLVED]{% else %}[{{ alert.severity|upper }}] '
    + "{{ status }}:{% endif %} {{ group.headline }} — {{ group.title if group else alert.name }}",
}

# (label, value template) rows of the detail table, per kind
_DETAILS: dict[str, list[tuple[str, str]]] = {
    "firing": [
        ("Value", "{{ actual_value }} (threshold {{ threshold }})"),
        ("Firing since", "{{ since }}"),
    ],
    "reminder": [
        ("Value", "{{ actual_value }} (threshold {{ threshold }})"),
        ("Firing since", "{{ since }}" + _DURATION),
    ],
    "resolved": [
        ("Last value", "{{ actual_value }} (threshold {{ threshold }})"),
        ("Fired", "{{ firing_since }} to {{ occurred_at }}" + _DURATION),
    ],
    "error": [
        ("Error", "{{ error }}"),
        ("Failing since", "{{ since }}"),
    ],
    "flapping": [
        ("Last value", "{{ actual_value }} (threshold {{ threshold }})"),
        ("Flapping since", "{{ occurred_at }}"),
        ("Next message", "when it has been stable long enough, with the state it settled in"),
    ],
    "escalation": [
        ("Value", "{{ actual_value }} (threshold {{ threshold }})"),
        ("Firing since", "{{ since }}" + _DURATION),
        (
            "Escalation",
            "step {{ escalation.step }} of {{ escalation.steps }}, to {{ escalation.receiver }}"
            "{% if not escalation.last %}; acknowledging it stops the next steps{% endif %}",
        ),
    ],
}

# Jinja keeps the newlines around block tags (no trim_blocks, as users expect), so an
# optional line is written as "{% if x %}line\n{% endif %}" and blank lines fall out right.
_TEXT_LAYOUT = """\
@TEST@@HEADLINE@
{% if alert.description %}
{{ alert.description }}
{% endif %}
Status:         {{ status }}
Severity:       {{ alert.severity }}
{% if instance.label %}Instance:       {{ instance.label }}
{% endif %}@DETAILS@{% if context_rows %}
Context:
{% for name, value in context_rows %}  {{ name }}: {{ value }}
{% endfor %}{% if context_hidden %}  ... and {{ context_hidden }} more
{% endif %}{% endif %}
{% if runbook_url %}Runbook: {{ runbook_url }}
{% endif %}{% for link in links %}{{ link.title }}: {{ link.url }}
{% endfor %}{% if ack_url %}Acknowledge (opens a page to confirm): {{ ack_url }}
{% endif %}{% if alert_url %}Open in SQL Sentinel: {{ alert_url }}
{% endif %}{% if silence_url %}Silence (opens the silence form to confirm): {{ silence_url }}
{% endif %}{% if task_log_url %}Task log: {{ task_log_url }}
{% endif %}{% if runbook_url or links or ack_url or alert_url or silence_url or task_log_url %}
{% endif %}-- SQL Sentinel, event {{ event.short_id }} ({{ event.reason }})
"""


_TEXT_LINKS = _TEXT_LAYOUT[_TEXT_LAYOUT.index("{% if runbook_url %}Runbook") :]

# a grouped message: the counts, then one line per listed member, then "+k more"
_GROUP_TEXT = (
    _TEST
    + _HEADLINES["group"]
    + """
{% if alert.description and group.by == "evaluation" %}
{{ alert.description }}
{% endif %}
Status:         {{ status }}
Severity:       {{ alert.severity }}
Instances:      {{ group.headline }}

{% for m in group.members %}  {{ m.status }}  {{ m.label }}{% if m.detail %}: {{ m.detail }}{% endif %}
{% endfor %}{% if group.hidden %}  +{{ group.hidden }} more
{% endif %}
"""
    + _TEXT_LINKS
)


def _text_template(kind: str) -> str:
    if kind == "group":
        return _GROUP_TEXT
    details = "".join(f"{label + ':':<16}{value}\n" for label, value in _DETAILS[kind])
    return (
        _TEXT_LAYOUT.replace("@TEST@", _TEST)
        .replace("@HEADLINE@", _HEADLINES[kind])
        .replace("@DETAILS@", details)
    )


_COLORS = {
    "firing": "#c0392b",
    "reminder": "#d35400",
    "resolved": "#27ae60",
    "error": "#7f8c8d",
    "flapping": "#8e44ad",
    "escalation": "#922b21",
    "group": "#c0392b",
}
_TH = '<th align="left" style="padding:2px 12px 2px 0">'


_GROUP_HTML_ROWS = (
    f"<tr>{_TH}Instances</th><td>{{{{ group.headline }}}}</td></tr>\n</table>\n"
    '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">\n'
    '<tr><th align="left">Status</th><th align="left">Instance</th>'
    '<th align="left">Value</th></tr>\n'
    "{% for m in group.members %}<tr><td>{{ m.status }}</td><td>{{ m.label }}</td>"
    "<td>{{ m.detail }}</td></tr>\n{% endfor %}"
    '{% if group.hidden %}<tr><td colspan="3">+{{ group.hidden }} more</td></tr>\n{% endif %}'
)


def _html_template(kind: str) -> str:
    if kind == "group":
        rows = _GROUP_HTML_ROWS
    else:
        rows = "".join(
            f"<tr>{_TH}{label}</th><td>{value}</td></tr>" for label, value in _DETAILS[kind]
        )
    return (
        '<html><body style="font-family:sans-serif">\n'
        f'<h2 style="color:{_COLORS[kind]}">{_TEST}{_HEADLINES[kind]}</h2>\n'
        "{% if alert.description %}<p>{{ alert.description }}</p>\n{% endif %}"
        '<table cellspacing="0">\n'
        f"<tr>{_TH}Status</th><td>{{{{ status }}}}</td></tr>\n"
        f"<tr>{_TH}Severity</th><td>{{{{ alert.severity }}}}</td></tr>\n"
        f"{{% if instance.label %}}<tr>{_TH}Instance</th><td>{{{{ instance.label }}}}</td></tr>\n"
        "{% endif %}"
        f"{rows}\n</table>\n"
        "{% if context_rows %}<h3>Context</h3>\n"
        '<table border="1" cellpadding="4" cellspacing="0" style="border-collapse:collapse">\n'
        '{% for name, value in context_rows %}<tr><th align="left">{{ name }}</th>'
        "<td>{{ value }}</td></tr>\n{% endfor %}</table>\n"
        "{% if context_hidden %}<p>... and {{ context_hidden }} more</p>\n{% endif %}{% endif %}"
        '{% if runbook_url %}<p><a href="{{ runbook_url }}" style="font-weight:bold">'
        "Open the runbook</a></p>\n{% endif %}"
        "{% if links %}<p>{% for link in links %}"
        '<a href="{{ link.url }}">{{ link.title }}</a>{% if not loop.last %} · {% endif %}'
        "{% endfor %}</p>\n{% endif %}"
        '{% if ack_url %}<p><a href="{{ ack_url }}" style="font-weight:bold">Acknowledge</a>'
        " (opens a page to confirm)</p>\n{% endif %}"
        "{% if alert_url or silence_url %}<p>"
        '{% if alert_url %}<a href="{{ alert_url }}">Open in SQL Sentinel</a>{% endif %}'
        "{% if alert_url and silence_url %} · {% endif %}"
        '{% if silence_url %}<a href="{{ silence_url }}">Silence…</a>'
        " (opens the silence form to confirm){% endif %}</p>\n{% endif %}"
        '{% if task_log_url %}<p><a href="{{ task_log_url }}">Open the task log in Airflow</a>'
        "</p>\n{% endif %}"
        '<p style="color:#888;font-size:small">SQL Sentinel, event {{ event.short_id }} '
        "({{ event.reason }})</p>\n"
        "</body></html>\n"
    )


_SUMMARY_DETAILS = {  # after the headline; a kind not named here adds nothing
    "firing": ": {{ actual_value }} (threshold {{ threshold }})",
    "reminder": ": {{ actual_value }} (threshold {{ threshold }})",
    "error": ": {{ error }}",
}


def _pagerduty_template(kind: str) -> str:
    """One line: PagerDuty shows the summary as the incident's title."""
    if kind == "group":
        return _TEST + _HEADLINES["group"]
    return (
        f"{_TEST}[{{{{ alert.severity|upper }}}}] {_HEADLINES[kind]}{_INSTANCE}"
        + _SUMMARY_DETAILS.get(kind, "")
    )


def _teams_template(kind: str) -> str:
    return f"**{_TEST}{_HEADLINES[kind]}**{{% if alert.description %}}\n\n{{{{ alert.description }}}}{{% endif %}}"


def _slack_template(kind: str) -> str:
    return f"*{_TEST}{_HEADLINES[kind]}*{{% if alert.description %}}\n{{{{ alert.description }}}}{{% endif %}}"


DEFAULT_TEMPLATES: dict[Part, dict[str, str]] = {
    "subject": dict(_SUBJECTS),
    "text": {kind: _text_template(kind) for kind in EVENT_KINDS},
    "html": {kind: _html_template(kind) for kind in EVENT_KINDS},
    "slack": {kind: _slack_template(kind) for kind in EVENT_KINDS},
    "pagerduty": {kind: _pagerduty_template(kind) for kind in EVENT_KINDS},
    "teams": {kind: _teams_template(kind) for kind in EVENT_KINDS},
}


# --- rendering -----------------------------------------------------------------------------------


def _slack_finalize(value: Any) -> str:
    return slack_escape("" if value is None else str(value))


def _teams_finalize(value: Any) -> str:
    return teams_escape("" if value is None else str(value))


_ENVIRONMENTS: dict[str, BoundedEnvironment] = {
    "plain": BoundedEnvironment(autoescape=False),
    "html": BoundedEnvironment(autoescape=True),
    "slack": BoundedEnvironment(autoescape=False, finalize=_slack_finalize),
    "teams": BoundedEnvironment(autoescape=False, finalize=_teams_finalize),
}
_FLAVOR: dict[Part, str] = {
    "subject": "plain",
    "text": "plain",
    "html": "html",
    "slack": "slack",
    "pagerduty": "plain",
    "teams": "teams",
}


@lru_cache(maxsize=512)
def _compiled(flavor: str, source: str) -> Template:
    return _ENVIRONMENTS[flavor].from_string(source)


@dataclass(frozen=True)
class Rendered:
    """A rendered part; ``problem`` says why a custom template was replaced by the default."""

    text: str
    origin: str  # "channel", "templates" or "default"
    problem: str | None = None


def is_legacy_format(source: str) -> bool:
    """A standalone SQL Sentinel ``str.format`` template: ``{name}`` fields and no Jinja marker."""
    return not _JINJA_MARKER.search(source) and bool(_FORMAT_FIELD.search(source))


def _legacy_values(context: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Each standalone placeholder as (text shown, raw value for a format spec)."""
    raw = context["raw"]
    status = _LEGACY_STATUS.get(context["kind"], "ALERT")
    return {
        "alert_name": (context["alert"]["name"], context["alert"]["name"]),
        "status": (status, status),
        "actual_value": (context["actual_value"], raw["actual_value"]),
        "threshold": (context["threshold"], raw["threshold"]),
        "description": (context["alert"]["description"], context["alert"]["description"]),
        "severity": (context["alert"]["severity"], context["alert"]["severity"]),
    }


def _format_legacy(source: str, context: Mapping[str, Any], flavor: str) -> str:
    """``str.format`` restricted to plain names; anything else is kept as written."""
    values = _legacy_values(context)
    out: list[str] = []
    for literal, field, spec, conversion in string.Formatter().parse(source):
        out.append(literal)
        if field is None:
            continue
        if field not in values:
            written = (
                field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            )
            out.append("{" + written + "}")
            continue
        text, raw = values[field]
        if spec:
            check_format_spec(spec, f"the format of `{{{field}}}`")
            # "{actual_value:.2f}" over a text value shows the text
            with contextlib.suppress(TypeError, ValueError):
                text = format(raw, spec)
        if flavor == "html":
            text = str(escape(text))
        elif flavor == "slack":
            text = slack_escape(text)
        elif flavor == "teams":
            text = teams_escape(text)
        out.append(text)
    return "".join(out)


def _template_for(candidate: TemplateText | None, kind: str) -> str | None:
    if candidate is None:
        return None
    if isinstance(candidate, str):
        # one text for every event kind speaks of one instance (``actual_value``...): a
        # grouped message takes only a template written for it, under the `group` key
        return None if kind == "group" else candidate
    value = candidate.get(kind)  # type: ignore[call-overload]
    return value if isinstance(value, str) else None


def render_template(part: Part, source: str, context: Mapping[str, Any]) -> str:
    """``source`` rendered for ``part`` as is, within the sandbox's limits; raises on failure.

    Raises TemplateLimitError when the template exceeds a limit, or whatever the template
    raised (an undefined value called, a type error...).
    """
    flavor = _FLAVOR[part]
    if is_legacy_format(source):
        return _format_legacy(source, context, flavor)
    return render_bounded(_compiled(flavor, source), dict(context))


def _render_source(part: Part, source: str, context: Mapping[str, Any]) -> str:
    text = render_template(part, source, context)
    if part in ("subject", "pagerduty"):  # one line
        text = " ".join(text.split())
        limit = MAX_SUBJECT_CHARS if part == "subject" else MAX_SUMMARY_CHARS
        if len(text) > limit:
            text = text[: limit - 1] + "…"
    return text


def render_part(
    part: Part,
    context: Mapping[str, Any],
    *,
    channel_template: TemplateText | None = None,
    templates: MessageTemplates | None = None,
    strict: bool = False,
) -> Rendered:
    """Render one message part for ``context`` (from :func:`message_context`).

    With ``strict``, a failing custom template raises DeliveryError instead of falling back.
    """
    kind = str(context.get("kind") or "firing")
    default = DEFAULT_TEMPLATES[part].get(kind, DEFAULT_TEMPLATES[part]["firing"])
    chosen, origin = default, "default"
    alert_level = getattr(templates, part, None) if templates is not None else None
    for name, candidate in (("channel", channel_template), ("templates", alert_level)):
        source = _template_for(candidate, kind)
        if source is not None:
            chosen, origin = source, name
            break
    if origin == "default":
        return Rendered(_render_source(part, chosen, context), origin)
    try:
        return Rendered(_render_source(part, chosen, context), origin)
    except Exception as exc:  # any failure of a user's template falls back
        where = "the channel's" if origin == "channel" else "the alert's `templates`"
        if isinstance(exc, TemplateLimitError):
            problem = f"{where} {part} template for {kind!r} exceeds a limit: {exc}"
        else:
            problem = f"{where} {part} template for {kind!r} failed ({type(exc).__name__}: {exc})"
        if strict:
            raise DeliveryError(problem, recoverable=False) from None
        return Rendered(
            _render_source(part, default, context), "default", problem + "; the default was used"
        )
