"""Runbook, links, alert-tab and silence URLs in the rendered messages; the example file's
subject keeps severity and state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.config.models import SlackChannel
from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.notify.base import OutboundEvent
from sqlsentinel_airflow.notify.channels import build_channel
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT, sample_payload
from sqlsentinel_airflow.notify.slack import slack_message
from sqlsentinel_airflow.notify.templates import link_url, message_context, render_part

REPO = Path(__file__).resolve().parents[3]
BASE = "https://airflow.example.com"
TAB = f"{BASE}/dags/sqlsentinel_example_alert/plugin/sqlsentinel-alert"


def _payload(kind: EventKind = EventKind.FIRING, **alert: Any) -> dict[str, Any]:
    payload = sample_payload(SAMPLE_ALERT, kind, ui_base_url=BASE)
    payload["alert"] = {**payload["alert"], **alert}  # type: ignore[dict-item]
    return payload


def test_the_variables_templates_see() -> None:
    ctx = message_context(_payload())
    assert ctx["runbook_url"] == "https://wiki.example.com/runbooks/example"
    assert ctx["links"] == [{"title": "Dashboard", "url": "https://grafana.example.com/d/example"}]
    assert ctx["alert_url"] == TAB
    assert ctx["silence_url"].startswith(f"{TAB}?silence=open&instance_key=%7B%22region%22")
    resolved = message_context(_payload(EventKind.RESOLVED))
    assert (resolved["alert_url"], resolved["silence_url"]) == (TAB, "")
    bare = message_context(sample_payload(SAMPLE_ALERT))  # no base_url known
    assert (bare["alert_url"], bare["silence_url"]) == ("", "")


def test_a_custom_template_can_use_them() -> None:
    source = "{{ runbook_url }} {% for l in links %}[{{ l.title }}]({{ l.url }}){% endfor %} {{ silence_url }}"
    text = render_part("text", message_context(_payload()), channel_template=source).text
    assert text.startswith(
        "https://wiki.example.com/runbooks/example "
        "[Dashboard](https://grafana.example.com/d/example) "
        f"{TAB}?silence=open"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "//evil.example.com/x",
        "https://",
        "https://ok.example.com/a\nb",
        "",
        None,
        42,
    ],
)
def test_a_stored_payload_cannot_smuggle_another_scheme_into_a_link(url: Any) -> None:
    """The loader accepts http(s) only; a payload is data, so the renderer checks again."""
    payload = _payload(runbook_url=url, links=[{"title": "x", "url": url}, "not a link"])
    payload["links"] = {"task_log": None, "alert": url, "silence": url}
    ctx = message_context(payload)
    assert (ctx["runbook_url"], ctx["links"], ctx["alert_url"], ctx["silence_url"]) == (
        "",
        [],
        "",
        "",
    )
    for part in ("text", "html"):
        rendered = render_part(part, ctx).text  # type: ignore[arg-type]
        assert "Runbook" not in rendered and "runbook" not in rendered
        assert "javascript" not in rendered.lower() and "data:" not in rendered


def test_link_url_keeps_http_and_https_only() -> None:
    assert link_url(" https://a.example/x?y=1 ") == "https://a.example/x?y=1"
    assert link_url("HTTP://a.example") == "HTTP://a.example"
    assert link_url("mailto:a@example.com") == ""


def test_html_escapes_link_titles_and_urls() -> None:
    payload = _payload(
        runbook_url='https://wiki.example.com/r?a=1&b="2"',
        links=[{"title": "<b>Dash</b>", "url": "https://x.example/?q=<1>"}],
    )
    html = render_part("html", message_context(payload)).text
    assert '<a href="https://wiki.example.com/r?a=1&amp;b=&#34;2&#34;"' in html
    assert '<a href="https://x.example/?q=&lt;1&gt;">&lt;b&gt;Dash&lt;/b&gt;</a>' in html
    assert "<b>Dash</b>" not in html


def test_slack_buttons_are_clipped_to_slacks_limits() -> None:
    links = [{"title": f"{'L' * 90}{i}", "url": f"https://x.example/{i}"} for i in range(30)]
    payload = _payload(links=links)
    config = SlackChannel(channel="slack", conn_id="slack_alerts")
    sender = build_channel(config)
    body, problems = slack_message(config, OutboundEvent(payload, "k"), sender)
    assert problems == []
    (actions,) = [b for b in body["blocks"] if b["type"] == "actions"]
    assert len(actions["elements"]) == 25
    assert all(len(e["text"]["text"]) <= 75 for e in actions["elements"])
    assert actions["elements"][0]["text"]["text"] == "Runbook"


@pytest.mark.parametrize("kind", [EventKind.FIRING, EventKind.REMINDER, EventKind.RESOLVED])
def test_the_example_files_email_subject_keeps_severity_and_state(kind: EventKind) -> None:
    """People copy dags/alerts.yaml: its subjects must say how bad and what happened."""
    config = load_config(str(REPO / "dags" / "alerts.yaml"), env={}).config
    assert config is not None
    expected = {
        EventKind.FIRING: "[{sev}] FIRING: {name}",
        EventKind.REMINDER: "[{sev}] STILL FIRING: {name}",
        EventKind.RESOLVED: "[RESOLVED] {name}",
    }[kind]
    for alert in config.alerts:
        for channel in alert.notify:
            if channel.channel != "email":
                continue
            payload = sample_payload(alert, kind)
            payload["test"] = False
            subject = render_part(
                "subject",
                message_context(payload),
                channel_template=channel.subject,
                templates=alert.templates,
            )
            assert subject.problem is None
            wanted = expected.format(sev=alert.severity.upper(), name=alert.name)
            assert subject.text.startswith(wanted), (alert.name, subject.text)


def test_a_button_whose_url_slack_would_refuse_is_left_out() -> None:
    payload = _payload()
    payload["links"] = {
        **payload["links"],
        "silence": f"{TAB}?silence=open&instance_key={'x' * 3000}",
    }  # type: ignore[dict-item]
    config = SlackChannel(channel="slack", conn_id="slack_alerts")
    body, _ = slack_message(config, OutboundEvent(payload, "k"), build_channel(config))
    (actions,) = [b for b in body["blocks"] if b["type"] == "actions"]
    texts = [e["text"]["text"] for e in actions["elements"]]
    assert texts == ["Runbook", "Dashboard", "Open in SQL Sentinel"]  # the message still goes out
