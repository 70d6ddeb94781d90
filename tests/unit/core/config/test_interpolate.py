"""${VAR} interpolation on parsed values: never in queries, escapes, located errors."""

from __future__ import annotations

import pytest

from sqlsentinel_airflow.core.config.interpolate import (
    UnsetVariable,
    expand_string,
    interpolate_tree,
    is_query_path,
)
from sqlsentinel_airflow.core.config.yamlpos import Problem

ENV = {"HOST": "db.internal", "EMPTY": "", "PORT": "5432"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${HOST}", "db.internal"),
        ("postgresql://${HOST}:${PORT}/x", "postgresql://db.internal:5432/x"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${HOST:-fallback}", "db.internal"),
        ("${MISSING:-}", ""),
        ("$${HOST}", "${HOST}"),
        ("cost $5 and ${{ value }}", "cost $5 and ${{ value }}"),
        ("${not valid}", "${not valid}"),
        ("no variables", "no variables"),
        ("${EMPTY}", ""),
    ],
)
def test_expand_string(text: str, expected: str) -> None:
    assert expand_string(text, ENV) == expected


def test_unset_variable_without_default_raises_with_its_name() -> None:
    with pytest.raises(UnsetVariable, match="MISSING") as caught:
        expand_string("x ${MISSING} y", ENV)
    assert caught.value.name == "MISSING"


def test_tree_is_expanded_except_alert_queries() -> None:
    tree = {
        "database": {"url": "postgresql://${HOST}/db"},
        "alerts": [
            {
                "name": "a",
                "query": "SELECT '${HOST}'",
                "notify": [{"headers": {"X-Port": "${PORT}"}}],
                "retries": 3,
            }
        ],
    }
    result, problems = interpolate_tree(tree, ENV)
    assert problems == []
    assert result == {
        "database": {"url": "postgresql://db.internal/db"},
        "alerts": [
            {
                "name": "a",
                "query": "SELECT '${HOST}'",
                "notify": [{"headers": {"X-Port": "5432"}}],
                "retries": 3,
            }
        ],
    }


def test_unset_variables_are_located_problems_and_left_as_written() -> None:
    tree = {"alerts": [{"name": "${NOPE}", "description": "${ALSO_NOPE:-ok}"}]}
    result, problems = interpolate_tree(tree, ENV)
    assert result["alerts"][0] == {"name": "${NOPE}", "description": "ok"}
    assert problems == [
        Problem(
            ("alerts", 0, "name"),
            "environment variable `NOPE` is not set",
            hint="set it, write `${NOPE:-default}`, or `$${NOPE}` for a literal",
            supersedes=True,
        )
    ]


@pytest.mark.parametrize(
    ("path", "skipped"),
    [
        (("alerts", 0, "query"), True),
        (("alerts", 12, "query"), True),
        (("alerts", 0, "query_file"), False),
        (("defaults", "query"), False),
        (("alerts", 0, "notify", 0, "query"), False),
    ],
)
def test_is_query_path(path: tuple[str | int, ...], skipped: bool) -> None:
    assert is_query_path(path) is skipped
