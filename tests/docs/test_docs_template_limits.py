"""docs/notifications.md, "Template limits": the numbers and messages are the code's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sqlsentinel_airflow.core.config.loader import load_config_text
from sqlsentinel_airflow.notify import sandbox
from sqlsentinel_airflow.notify.templates import (
    TemplateLimitError,
    message_context,
    render_template,
)

REPO = Path(__file__).resolve().parents[2]


def _section() -> str:
    text = (REPO / "docs" / "notifications.md").read_text(encoding="utf-8")
    return re.split(r"\n#{2,3} ", text.split("### Template limits", 1)[1], maxsplit=1)[0]


def _table() -> dict[str, str]:
    rows = re.findall(r"^\| ([a-z ]+) \| ([^|]+) \|", _section(), re.MULTILINE)
    return {name: bound for name, bound in rows if name != "limit"}


def test_the_table_states_every_limit_with_its_number() -> None:
    table = _table()
    assert set(table) == {
        "output",
        "value size",
        "range",
        "work",
        "call depth",
        "integer size",
        "time",
    }
    assert table["output"].startswith(f"{sandbox.MAX_OUTPUT_CHARS:,} characters per rendered")
    assert table["value size"].startswith(f"{sandbox.MAX_VALUE_SIZE:,} characters or items")
    assert table["range"].startswith(f"{sandbox.MAX_RANGE:,} numbers")
    assert table["work"].startswith(f"{sandbox.MAX_STEPS:,} loop iterations and calls")
    assert table["call depth"].startswith(f"{sandbox.MAX_CALL_DEPTH} nested calls")
    assert table["integer size"].startswith(f"{sandbox.MAX_INTEGER_BITS:,} bits")
    assert table["time"].startswith(f"{sandbox.MAX_RENDER_SECONDS:g} s of CPU time")


def test_the_quoted_error_is_what_a_render_raises() -> None:
    quoted = re.search(r'such as "([^"]+)"', _section().replace("\n", " "))
    assert quoted is not None
    context = message_context({"kind": "firing"})
    with pytest.raises(TemplateLimitError) as raised:
        render_template("text", "{{ 'a' * 10**9 }}", context)
    assert str(raised.value).startswith(quoted.group(1))


def test_the_quoted_validate_error_is_what_the_loader_reports() -> None:
    quoted = re.search(r"``(alerts\.yaml:.+?)\.\.\.``", _section().replace("\n  ", " "))
    assert quoted is not None
    text = "defaults: {conn_id: c, schedule: '@daily'}\nalerts:\n" + "".join(
        f"  - name: a{i}\n    query: SELECT 1\n"
        "    notify: [{channel: email, to: a@example.com, subject: ok}]\n"
        for i in range(2)
    )
    text += (
        "  - name: a2\n    query: SELECT 1\n"
        "    notify:\n      - {channel: email, to: a@example.com, subject: \"{{ 'a' * 10**9 }}\"}\n"
    )
    [error] = load_config_text(text, "alerts.yaml", env={}).errors
    assert error.format().startswith(quoted.group(1))
