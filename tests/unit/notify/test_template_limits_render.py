"""Rendering within limits: attacks fail fast and small, the default is used, good text is kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment
from template_attacks import ATTACKS, assert_cheap, bounded_cost

from sqlsentinel_airflow.core.config.models import MessageTemplates
from sqlsentinel_airflow.core.model import EventKind
from sqlsentinel_airflow.errors import DeliveryError
from sqlsentinel_airflow.notify.sample import SAMPLE_ALERT, sample_group, sample_payload
from sqlsentinel_airflow.notify.sandbox import (
    MAX_OUTPUT_CHARS,
    MAX_RANGE,
    BoundedEnvironment,
    TemplateLimitError,
    render_bounded,
    value_size,
)
from sqlsentinel_airflow.notify.templates import (
    DEFAULT_TEMPLATES,
    EVENT_KINDS,
    message_context,
    render_part,
    render_template,
)

REPO = Path(__file__).resolve().parents[3]
IDS = [a[0] for a in ATTACKS]


def context(kind: str = "firing") -> dict[str, Any]:
    return message_context(sample_payload(SAMPLE_ALERT, EventKind(kind)))


@pytest.mark.parametrize(("name", "source", "limit"), ATTACKS, ids=IDS)
def test_an_attack_fails_fast_and_small_when_rendered(name: str, source: str, limit: str) -> None:
    with bounded_cost() as cost, pytest.raises(TemplateLimitError, match=limit):
        render_template("text", source, context())
    assert_cheap(cost)


@pytest.mark.parametrize(("name", "source", "limit"), ATTACKS, ids=IDS)
def test_an_over_limit_template_is_replaced_by_the_default(
    name: str, source: str, limit: str
) -> None:
    ctx = context()
    with bounded_cost() as cost:
        rendered = render_part("subject", ctx, templates=MessageTemplates(subject=source))
    assert_cheap(cost)
    assert rendered.origin == "default"
    assert rendered.text == render_part("subject", ctx).text
    assert rendered.problem is not None
    assert rendered.problem.startswith(
        "the alert's `templates` subject template for 'firing' exceeds a limit: "
    )
    assert rendered.problem.endswith("; the default was used")


@pytest.mark.parametrize(
    ("source", "limit"),
    [(ATTACKS[3][1], ATTACKS[3][2]), (ATTACKS[0][1], ATTACKS[0][2])],
    ids=["value", "range"],
)
def test_notify_test_renders_strictly_and_names_the_limit(source: str, limit: str) -> None:
    with pytest.raises(
        DeliveryError, match="the channel's text template for 'resolved' exceeds a limit: " + limit
    ):
        render_part("text", context("resolved"), channel_template=source, strict=True)


def test_a_standalone_format_field_cannot_ask_for_a_huge_width() -> None:
    with bounded_cost() as cost, pytest.raises(TemplateLimitError, match=r"the format of `\{"):
        render_template("subject", "Alert: {alert_name:>999999999}", context())
    assert_cheap(cost)
    assert render_template("subject", "Alert: {alert_name:>15}", context()) == (
        "Alert:   Example alert"
    )


# --- legitimate templates render exactly as before -------------------------------------------


def _rich_payload(kind: str) -> dict[str, Any]:
    if kind == "group":  # a grouped message: its members carry the values
        return sample_group(SAMPLE_ALERT).to_json()
    payload = sample_payload(SAMPLE_ALERT, EventKind(kind))
    payload["context"] = {f"column_{i}": "v" * 300 for i in range(25)}
    payload["error"] = "E" * 5000 if kind == "error" else None
    payload["links"] = {"task_log": "https://airflow.example.com/log?x=<1>&y=2"}
    return payload


_PLAIN = {
    "plain": SandboxedEnvironment(autoescape=False),
    "html": SandboxedEnvironment(autoescape=True),
}


@pytest.mark.parametrize("kind", EVENT_KINDS)
@pytest.mark.parametrize("part", ["subject", "text", "html"])
def test_the_defaults_render_as_jinjas_own_sandbox_renders_them(part: str, kind: str) -> None:
    ctx = message_context(_rich_payload(kind))
    source = DEFAULT_TEMPLATES[part][kind]  # type: ignore[index]
    expected = _PLAIN["html" if part == "html" else "plain"].from_string(source).render(ctx)
    assert render_template(part, source, ctx) == expected  # type: ignore[arg-type]


def _example_templates() -> list[str]:
    """Every template written in dags/alerts.yaml and in the docs' YAML blocks."""
    found: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k) if k not in EVENT_KINDS else key)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif (
            isinstance(value, str)
            and key in ("subject", "text", "html", "slack")
            and ("{{" in value or "{%" in value)
        ):
            found.append(value)

    sources = [(REPO / "dags" / "alerts.yaml").read_text()]
    for page in sorted((REPO / "docs").rglob("*.md")):
        sources += page.read_text().split("```yaml")[1:]
    for text in sources:
        try:
            walk(yaml.safe_load(text.split("```")[0]))
        except yaml.YAMLError:
            continue
    return found


def test_the_examples_in_dags_and_docs_render_as_before() -> None:
    examples = _example_templates()
    assert len(examples) >= 4  # dags/alerts.yaml shows the default subject (a comment)
    for source in examples:
        for kind in EVENT_KINDS:
            ctx = message_context(_rich_payload(kind))
            expected = _PLAIN["plain"].from_string(source).render(ctx)
            assert render_template("text", source, ctx) == expected, source


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'ab' * 3 }}|{{ '%05d' % 42 }}|{{ '{:>6}'.format('x') }}", "ababab|00042|     x"),
        (
            "{{ 'x'|center(5) }}|{{ [1, 2]|join(', ') }}|{{ 2**64 }}",
            "  x  |1, 2|18446744073709551616",
        ),
        ("{{ 'a b'|replace(' ', '-') }}|{{ 'x'|indent(2, true) }}", "a-b|  x"),
        ("{{ [[1], [2]]|sum(start=[]) }}|{{ [1, 2]|tojson(indent=1) }}", "[1, 2]|[\n 1,\n 2\n]"),
        ("{% for i in range(3) %}{{ loop.index }}{% endfor %}", "123"),
        (
            "{% macro f(n) %}{% if n %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}",
            "54321",
        ),
        ("{% set ns = namespace(l=[]) %}{% set _ = ns.l.append(1) %}{{ ns.l }}", "[1]"),
        ("{% for a, b in [(1, 2)] %}{{ a + b }}{% endfor %}", "3"),
    ],
)
def test_ordinary_uses_of_each_bounded_operation_still_work(source: str, expected: str) -> None:
    assert render_template("text", source, context()) == expected


def test_work_up_to_the_limits_is_allowed() -> None:
    env = BoundedEnvironment()
    full_range = "{% for i in range(" + str(MAX_RANGE) + ") %}x{% endfor %}"
    assert render_bounded(env.from_string(full_range), {}) == "x" * MAX_RANGE
    full_output = "{{ 'x' * " + str(MAX_OUTPUT_CHARS) + " }}"
    assert len(render_bounded(env.from_string(full_output), {})) == MAX_OUTPUT_CHARS
    with pytest.raises(TemplateLimitError, match="output limit"):
        render_bounded(env.from_string(full_output + "y"), {})
    sums = "{{ ([range(100)|list] * 500)|sum(start=[])|length }}"  # linear, not quadratic
    with bounded_cost() as cost:
        assert render_bounded(env.from_string(sums), {}) == "50000"
    assert_cheap(cost)


def test_a_large_query_value_can_still_be_looked_at() -> None:
    # the limits are on what a template makes, not on the data it is given
    payload = sample_payload(SAMPLE_ALERT, EventKind.FIRING)
    payload["context"] = {"blob": "b" * 300_000, "small": "s"}
    source = (
        "{{ raw.context.get('small') }} {{ raw.context|length }} {{ raw.context.blob[:3] }} "
        "{{ raw.context.blob|truncate(6, true, '') }}"
        "{% for name, value in raw.context.items() %} {{ name }}{% endfor %}"
    )
    assert render_template("text", source, message_context(payload)) == (
        "s 2 bbb bbbbbb blob small"
    )


def test_value_size_counts_shared_items_each_time() -> None:
    row = list(range(1000))
    assert value_size("abc") == 3
    assert value_size([row] * 10) > 10 * 1000
    assert value_size({"k": "v" * 10}) == 1 + (1 + 1) + (1 + 10)
    assert value_size([[row] * 1000] * 1000) > 262_144  # stops counting past the limit
