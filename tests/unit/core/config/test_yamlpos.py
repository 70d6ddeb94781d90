"""The position-keeping YAML layer: values, positions, and what it refuses."""

from __future__ import annotations

from datetime import date

import pytest

from sqlsentinel_airflow.core.config.yamlpos import (
    MAX_DEPTH,
    Problem,
    YamlDocument,
    format_path,
    parse_yaml,
)


def parse_ok(text: str) -> YamlDocument:
    doc, problems = parse_yaml(text)
    assert problems == []
    assert doc is not None
    return doc


def only_problem(text: str) -> Problem:
    _doc, problems = parse_yaml(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_values_and_one_based_positions_of_values_and_keys() -> None:
    doc = parse_ok(
        "alerts:\n"
        "  - name: a\n"
        "    retries: 3\n"
        "    enabled: yes\n"
        "    until: 2030-01-02\n"
        "    tags: [x, 'y']\n"
    )
    assert doc.value == {
        "alerts": [
            {
                "name": "a",
                "retries": 3,
                "enabled": True,
                "until": date(2030, 1, 2),
                "tags": ["x", "y"],
            }
        ]
    }
    assert doc.positions[("alerts", 0)] == (2, 5)
    assert doc.positions[("alerts", 0, "retries")] == (3, 14)
    assert doc.key_positions[("alerts", 0, "retries")] == (3, 5)
    assert doc.positions[("alerts", 0, "tags", 1)] == (6, 15)


def test_position_of_an_absent_path_is_its_nearest_ancestor() -> None:
    doc = parse_ok("alerts:\n  - name: a\n")
    assert doc.position(("alerts", 0, "schedule")) == (2, 5)
    assert doc.key_position(("alerts", 0, "schedule")) == (2, 5)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("alerts", 2, "notify", 0, "to"), "alerts[2].notify[0].to"),
        (("defaults", "timeout"), "defaults.timeout"),
        (("headers", "X-Team"), "headers.X-Team"),
        (("headers", "has space"), 'headers["has space"]'),
        ((), ""),
    ],
)
def test_format_path(path: tuple[str | int, ...], text: str) -> None:
    assert format_path(path) == text


def test_duplicate_key_is_located_at_the_second_key() -> None:
    problem = only_problem("a: 1\nb: 2\na: 3\n")
    assert problem == Problem(
        ("a",),
        "duplicate key `a` (first written at line 1)",
        hint="keep only one of them",
        on_key=True,
        position=(3, 1),
    )


def test_duplicate_keys_keep_the_first_value() -> None:
    doc, _ = parse_yaml("a: 1\na: 2\n")
    assert doc is not None and doc.value == {"a": 1}


@pytest.mark.parametrize(
    "item",
    [
        "{channel: slack, channel: '#alerts', webhook_url: u}",
        "{channel: '#alerts', channel: slack, webhook_url: u}",
    ],
)
def test_second_channel_key_of_a_slack_item_is_the_slack_channel(item: str) -> None:
    doc = parse_ok(f"alerts:\n  - notify:\n      - {item}\n")
    assert doc.value["alerts"][0]["notify"][0] == {
        "channel": "slack",
        "slack_channel": "#alerts",
        "webhook_url": "u",
    }
    assert ("alerts", 0, "notify", 0, "slack_channel") in doc.positions


@pytest.mark.parametrize(
    "text",
    [
        "notify:\n  - {channel: email, channel: slack}\n",  # both are channel kinds
        "notify:\n  - {channel: '#a', channel: '#b'}\n",  # neither is slack
        "other:\n  - {channel: slack, channel: '#a'}\n",  # not a notify item
    ],
)
def test_other_duplicate_channel_keys_stay_errors(text: str) -> None:
    problem = only_problem(text)
    assert problem.message == "duplicate key `channel` (first written at line 2)"


def test_merge_keys_explicit_keys_win_and_keep_their_positions() -> None:
    doc = parse_ok("base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n")
    assert doc.value["item"] == {"x": 1, "y": 3}
    assert doc.positions[("item", "y")] == (4, 6)
    assert doc.positions[("item", "x")] == (1, 14)  # where the merged value was written


def test_merge_of_a_scalar_is_refused() -> None:
    problem = only_problem("base: &b 1\nitem:\n  <<: *b\n")
    assert problem.message == "`<<` merges only mappings"


def test_aliases_build_independent_values() -> None:
    doc = parse_ok("a: &a {k: [1]}\nb: *a\n")
    doc.value["b"]["k"].append(2)
    assert doc.value["a"] == {"k": [1]}


def test_billion_laughs_is_refused_before_expansion() -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghij":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    doc, [problem] = parse_yaml("\n".join(lines) + "\n")
    assert doc is None
    assert problem.message.startswith("anchors and aliases expand to 4,412,961,516 YAML nodes")
    assert problem.position == (9, 4)  # the largest anchor that is reused: i


def test_moderate_alias_reuse_is_fine() -> None:
    text = "x-base: &base {conn_id: c, schedule: '@daily'}\nalerts:\n" + "".join(
        f"  - {{<<: *base, name: a{i}}}\n" for i in range(3000)
    )
    doc = parse_ok(text)
    assert len(doc.value["alerts"]) == 3000


def test_recursive_alias_is_refused() -> None:
    doc, [problem] = parse_yaml("a: &a\n  - *a\n")
    assert doc is None
    assert problem.message == "recursive alias: an anchor refers to itself"


@pytest.mark.parametrize("anchored", [False, True])
def test_deep_nesting_is_refused(anchored: bool) -> None:
    depth = MAX_DEPTH + 5
    text = ("x: &x " if anchored else "x: ") + "[" * depth + "]" * depth + "\n"
    doc, [problem] = parse_yaml(text)
    assert doc is None
    assert problem.message == f"nested deeper than {MAX_DEPTH} levels"


def test_unsupported_tags_are_refused_not_constructed() -> None:
    problem = only_problem("a: !!python/object/apply:os.system ['echo pwned']\n")
    assert problem.message == "unsupported YAML tag `python/object/apply:os.system`"
    assert problem.path == ("a",)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "the file is empty", (1, 1)),
        ("# only a comment\n", "the file is empty", (1, 1)),
        ("a: [1, 2\nb: 3\n", "YAML syntax error: did not find expected ',' or ']'", (2, 2)),
        ("a: 1\n---\nb: 2\n", "YAML syntax error: but found another document", (2, 1)),
        (
            "a: \x07\n",
            "YAML error: unacceptable character #x0007: control characters are not allowed",
            (1, 4),
        ),
    ],
)
def test_unusable_documents(text: str, message: str, position: tuple[int, int]) -> None:
    doc, [problem] = parse_yaml(text)
    assert doc is None
    assert problem.message == message
    assert problem.position == position


def test_non_string_keys_are_kept_as_written() -> None:
    doc = parse_ok("headers: {1: one, true: yes, null: x}\n")
    assert doc.value == {"headers": {"1": "one", "true": True, "null": "x"}}


def test_complex_keys_are_refused() -> None:
    problem = only_problem("? [a, b]\n: 1\n")
    assert problem.message == "mapping keys must be plain strings"
