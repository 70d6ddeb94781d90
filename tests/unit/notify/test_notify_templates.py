"""Message templates: defaults per kind and part, overrides, sandboxing, values as data."""

from __future__ import annotations

from typing import Any

import pytest

from sqlsentinel_airflow.core.config.models import MessageTemplates
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.templates import (
    DEFAULT_TEMPLATES,
    EVENT_KINDS,
    MAX_CONTEXT_ROWS,
    display,
    is_legacy_format,
    message_context,
    render_part,
)


def payload(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 1,
        "event_id": "0f1e2d3c-0000-4000-8000-000000000000",
        "kind": "firing",
        "reason": "first firing",
        "state": "FIRING",
        "alert": {
            "name": "daily_revenue",
            "description": "Revenue below 10k",
            "severity": "critical",
            "dag_id": "sqlsentinel_daily_revenue",
            "owner": "data",
            "tags": [],
        },
        "instance": {"key": "", "key_values": {}},
        "actual_value": 9120.5,
        "threshold": 10000,
        "context": {"orders": 42},
        "firing_since": "2026-03-01T08:00:00+00:00",
        "occurred_at": "2026-03-01T09:30:00+00:00",
        "evaluated_at": "2026-03-01T09:30:00+00:00",
        "error": None,
        "run_id": "scheduled__2026-03-01T09:30:00+00:00",
        "links": {"task_log": "http://airflow.example/dags/d/runs/r/tasks/t"},
    }
    base.update(changes)
    return base


def render(part: Any, data: dict[str, Any], **kwargs: Any) -> str:
    return str(render_part(part, message_context(data), **kwargs).text)


@pytest.mark.parametrize("kind", EVENT_KINDS)
@pytest.mark.parametrize("part", ["subject", "text", "html", "slack"])
def test_every_kind_has_a_default_for_every_part(part: Any, kind: str) -> None:
    text = render(part, payload(kind=kind, error="boom" if kind == "error" else None))
    assert DEFAULT_TEMPLATES[part][kind]
    assert "daily_revenue" in text


def test_default_subjects_say_status_severity_and_instance() -> None:
    keyed = {"key": '{"region":"eu"}', "key_values": {"region": "eu"}}
    assert render("subject", payload()) == "[CRITICAL] FIRING: daily_revenue"
    assert render("subject", payload(kind="resolved", instance=keyed)) == (
        "[RESOLVED] daily_revenue [region=eu]"
    )
    assert render("subject", payload(kind="reminder")) == (
        "[CRITICAL] STILL FIRING: daily_revenue since 2026-03-01 08:00 UTC"
    )
    assert render("subject", payload(kind="error", error="x")) == (
        "[ERROR] daily_revenue: the alert query failed"
    )
    assert render("subject", payload(test=True)).startswith("[TEST] ")


def test_default_text_body_has_the_facts_people_need() -> None:
    text = render("text", payload(kind="reminder"))
    assert text.splitlines()[0] == "daily_revenue is still firing (1h30m)"
    assert "Revenue below 10k" in text
    assert "Status:         STILL FIRING" in text
    assert "Severity:       critical" in text
    assert "Value:          9120.5 (threshold 10000)" in text
    assert "Firing since:   2026-03-01 08:00 UTC (1h30m)" in text
    assert "  orders: 42" in text
    assert "Task log: http://airflow.example/dags/d/runs/r/tasks/t" in text
    assert "\n\n\n" not in text


def test_error_body_shows_the_error_and_no_value() -> None:
    text = render("text", payload(kind="error", error="relation orders does not exist"))
    assert "Error:          relation orders does not exist" in text
    assert "Value:" not in text


def test_query_values_are_data_not_template_code() -> None:
    data = payload(
        actual_value="{{ 7*7 }}", context={"note": "{% for x in range(3) %}x{% endfor %}"}
    )
    for part in ("subject", "text", "html", "slack"):
        text = render(part, data, channel_template="{{ actual_value }} {{ context.note }}")
        assert "{{ 7*7 }}" in text
        assert "49" not in text
        assert "{% for x in range(3) %}x{% endfor %}" in text


def test_html_part_escapes_values_and_description() -> None:
    data = payload(context={"note": "<script>alert(1)</script>"})
    data["alert"]["description"] = "Revenue <b>low</b> & falling"
    html = render("html", data)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "Revenue &lt;b&gt;low&lt;/b&gt; &amp; falling" in html


def test_slack_part_escapes_control_characters_in_values() -> None:
    data = payload(actual_value="<!channel> & <http://evil|click>")
    text = render("slack", data, channel_template="value {{ actual_value }}")
    assert text == "value &lt;!channel&gt; &amp; &lt;http://evil|click&gt;"


def test_sandbox_blocks_unsafe_attribute_access_and_falls_back_to_default() -> None:
    evil = "{{ alert.__class__.__mro__[1].__subclasses__() }}"
    rendered = render_part("subject", message_context(payload()), channel_template=evil)
    assert rendered.origin == "default"
    assert rendered.text == "[CRITICAL] FIRING: daily_revenue"
    assert rendered.problem is not None
    assert "SecurityError" in rendered.problem or "UndefinedError" in rendered.problem
    with pytest.raises(DeliveryError, match=r"the channel's subject template for 'firing' failed"):
        render_part("subject", message_context(payload()), channel_template=evil, strict=True)


def test_standalone_format_subject_still_works() -> None:
    subject = "Alert: {alert_name} is {status} ({actual_value:.1f} vs {threshold})"
    assert is_legacy_format(subject)
    assert render("subject", payload(), channel_template=subject) == (
        "Alert: daily_revenue is ALERT (9120.5 vs 10000)"
    )
    resolved = render(
        "subject", payload(kind="resolved"), channel_template="{alert_name}: {status}"
    )
    assert resolved == "daily_revenue: OK"


def test_standalone_format_allows_plain_names_only() -> None:
    subject = "{alert_name.__class__} {actual_value[0]} {unknown} {alert_name}"
    assert render("subject", payload(), channel_template=subject) == (
        "{alert_name.__class__} {actual_value[0]} {unknown} daily_revenue"
    )
    assert not is_legacy_format("{{ alert.name }} {alert_name}")


def test_override_precedence_channel_then_alert_templates_then_default() -> None:
    templates = MessageTemplates(subject={"firing": "alert-level {{ alert.name }}"}, text="t")
    ctx = message_context(payload())
    chosen = render_part("subject", ctx, channel_template="channel-level", templates=templates)
    assert (chosen.text, chosen.origin) == ("channel-level", "channel")
    alert_level = render_part("subject", ctx, templates=templates)
    assert (alert_level.text, alert_level.origin) == ("alert-level daily_revenue", "templates")
    # a per-kind mapping without this kind falls through to the default
    resolved = render_part(
        "subject", message_context(payload(kind="resolved")), templates=templates
    )
    assert (resolved.text, resolved.origin) == ("[RESOLVED] daily_revenue", "default")


def test_context_table_is_truncated_sensibly() -> None:
    context = {f"col{i:02d}": "x" * 500 for i in range(MAX_CONTEXT_ROWS + 5)}
    ctx = message_context(payload(context=context))
    assert len(ctx["context_rows"]) == MAX_CONTEXT_ROWS
    assert ctx["context_hidden"] == 5
    assert all(len(value) <= 200 for _, value in ctx["context_rows"])
    assert "... and 5 more" in render("text", payload(context=context))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "n/a"),
        (True, "true"),
        (10000.0, "10000"),
        (0.25, "0.25"),
        ({"a": [1, 2]}, '{"a": [1, 2]}'),
        ("two\nlines", "two lines"),
        ("y" * 300, "y" * 199 + "…"),
    ],
)
def test_display_shows_values_on_one_short_line(value: Any, shown: str) -> None:
    assert display(value) == shown


def test_subject_is_one_line_and_bounded() -> None:
    data = payload()
    data["alert"]["name"] = "n" * 400
    subject = render("subject", data, channel_template="{{ alert.name }}\nsecond line")
    assert "\n" not in subject
    assert len(subject) == 250
