"""Config fuzzing (docs/reliability.md): hostile mutations of the valid alerts files.

Every case goes through the real loader (``load_config_text``) and must come back without an
exception, within :data:`MAX_SECONDS_PER_CASE`, with every error located (``file:line``);
alias bombs must also stay under a tracemalloc peak. A mutation confined to one alert must
leave the file's other alerts loading. Generation is derandomized so CI sees the same cases
every run; the case counts are in docs/reliability.md.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hardening_support import (
    FIXTURE_ENV,
    FIXTURE_FILES,
    MAX_BOMB_PEAK_BYTES,
    assert_well_behaved,
    fixture_text,
    timed_load,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def fuzz(examples: int) -> settings:
    """Derandomized (same cases on every CI run), no per-example deadline: we time ourselves."""
    return settings(
        derandomize=True,
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


NAMES = sorted(FIXTURE_FILES)
TREES = {name: yaml.safe_load(fixture_text(name)) for name in NAMES}
# PyYAML keeps only the last of standalone's two `channel:` keys; restore what the loader reads
TREES["standalone.yaml"]["alerts"][1]["notify"][0].update(
    channel="slack", slack_channel="#data-quality-alerts"
)

Node = tuple[Any, ...]

# --- value strategies --------------------------------------------------------------------

wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=3),
    st.sampled_from(["", " ", "never", "5 minutes", "-1", "0", "after 0", "*/0 * * * *"]),
)
unicode_text = st.text(max_size=60)
huge_strings = st.builds(
    lambda chunk, count: chunk * count,
    # braces and parentheses repeated are left out: the known sqlglot recursion crash (below)
    st.sampled_from(["a", "é", "💥", "x, ", "${HOME}", "\n", "'; DROP TABLE x; --"]),
    st.integers(min_value=5_000, max_value=100_000),
)


def nested(depth: int, as_map: bool) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value} if as_map else [value]
    return value


deep_nesting = st.builds(nested, st.integers(min_value=1, max_value=150), st.booleans())
any_value = st.one_of(wrong_types, unicode_text, huge_strings, deep_nesting)


# --- tree mutations ----------------------------------------------------------------------


def paths_of(tree: Any, prefix: Node = ()) -> list[Node]:
    """Every path to a value inside ``tree`` (the root excluded)."""
    found: list[Node] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(tree, dict):
        items = list(tree.items())
    elif isinstance(tree, list):
        items = list(enumerate(tree))
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths_of(value, (*prefix, key)))
    return found


def mutate(tree: Any, path: Node, operation: str, value: Any) -> Any:
    """A copy of ``tree`` with ``operation`` applied at ``path``.

    An operation that does not fit the node (``add_key`` on a scalar, ``rename`` in a list,
    ``duplicate`` in a mapping) replaces the node with ``value`` instead.
    """
    result = copy.deepcopy(tree)
    parent = result
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if operation == "delete":
        del parent[last]
    elif operation == "replace":
        parent[last] = value
    elif operation == "add_key" and isinstance(parent[last], dict):
        parent[last][str(value)[:40] or "x"] = value
    elif operation == "rename" and isinstance(parent, dict):
        parent[f"{last}_" if isinstance(last, str) else last] = parent.pop(last)
    elif operation == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    else:
        parent[last] = value
    return result


OPERATIONS = st.sampled_from(["delete", "replace", "replace", "add_key", "rename", "duplicate"])


def dump(tree: Any) -> str:
    return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True, width=1_000_000)


@fuzz(800)
@given(data=st.data(), name=st.sampled_from(NAMES), operation=OPERATIONS, value=any_value)
def test_any_tree_mutation_is_loaded_or_refused_with_located_errors(
    data: st.DataObject, name: str, operation: str, value: Any
) -> None:
    tree = TREES[name]
    path = data.draw(st.sampled_from(paths_of(tree)), label="path")
    text = dump(mutate(tree, path, operation, value))

    load = timed_load(text, name)

    assert_well_behaved(load, name)


def alert_paths(tree: Any, index: int) -> list[Node]:
    return [("alerts", index), *paths_of(tree["alerts"][index], ("alerts", index))]


confined_values = st.one_of(
    wrong_types, unicode_text, huge_strings, st.builds(nested, st.integers(1, 40), st.booleans())
)


@fuzz(600)
@given(data=st.data(), name=st.sampled_from(NAMES), operation=OPERATIONS, value=confined_values)
def test_a_mutation_confined_to_one_alert_leaves_the_others_loading(
    data: st.DataObject, name: str, operation: str, value: Any
) -> None:
    tree = TREES[name]
    names = [alert["name"] for alert in tree["alerts"]]
    baseline = timed_load(dump(tree), name).result.config
    assert baseline is not None
    index = data.draw(st.integers(0, len(names) - 1), label="alert")
    path = data.draw(st.sampled_from(alert_paths(tree, index)), label="path")
    if operation == "duplicate" and len(path) == 2:
        operation = "replace"  # a copied alert would change another alert's fate by design
    text = dump(mutate(tree, path, operation, value))

    load = timed_load(text, name)

    assert_well_behaved(load, name)
    config = load.result.config
    assert config is not None, [e.format() for e in load.result.errors]
    loaded = {alert.name for alert in config.alerts}
    others = {alert.name for alert in baseline.alerts} - {names[index]}
    assert others, "the baseline must have alerts to lose"
    assert others <= loaded, [e.format() for e in load.result.errors]
    assert not load.result.file_errors
    for error in load.result.errors:
        assert error.alert_index == index, error.format()


@pytest.mark.parametrize(
    "query",
    ["SELECT " + "(" * 50 + "1" + ")" * 50, "{{ 7*7 }}" * 1000],
    ids=["50-nested-parentheses", "repeated-template-braces"],
)
def test_a_deeply_nested_query_is_refused_not_raised(query: str) -> None:
    tree = copy.deepcopy(TREES["example.yaml"])
    tree["alerts"][0]["query"] = query

    load = timed_load(dump(tree), "example.yaml")

    assert_well_behaved(load, "example.yaml")
    assert [e.path for e in load.result.errors] == ["alerts[0].query"]


@pytest.mark.parametrize("duration", ["86400000000000", "99999999999999999999", "100000000000d"])
def test_a_huge_duration_is_refused_not_raised(duration: str) -> None:
    text = fixture_text("example.yaml").replace(
        "renotify_after: never", f"renotify_after: {duration}"
    )

    load = timed_load(text, "example.yaml")

    assert_well_behaved(load, "example.yaml")
    assert [e.path for e in load.result.errors] == ["alerts[1].renotify_after"]


# --- text and byte mutations -------------------------------------------------------------


def text_mutation(text: str, kind: str, position: int, payload: bytes) -> bytes:
    raw = text.encode("utf-8")
    at = position % (len(raw) + 1)
    lines = text.splitlines(keepends=True)
    line = position % len(lines)
    if kind == "insert_bytes":
        return raw[:at] + payload + raw[at:]
    if kind == "overwrite_bytes":
        return raw[:at] + payload + raw[at + len(payload) :]
    if kind == "truncate":
        return raw[:at]
    if kind == "duplicate_line":  # duplicate keys inside a mapping, or a repeated item
        return "".join([*lines[: line + 1], lines[line], *lines[line + 1 :]]).encode()
    if kind == "delete_line":
        return "".join(lines[:line] + lines[line + 1 :]).encode()
    if kind == "utf16":
        return text.encode("utf-16")
    if kind == "latin1":
        return (text + "# Grüße\n").encode("latin-1", errors="replace")
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    if kind == "tab_indent":
        return "".join([*lines[:line], "\t" + lines[line], *lines[line + 1 :]]).encode()
    if kind == "control_char":
        return raw[:at] + bytes([payload[0] % 32 if payload else 0]) + raw[at:]
    raise AssertionError(kind)


TEXT_KINDS = [
    "insert_bytes", "overwrite_bytes", "truncate", "duplicate_line", "delete_line", "utf16",
    "latin1", "bom", "tab_indent", "control_char",
]  # fmt: skip


@fuzz(500)
@given(
    name=st.sampled_from(NAMES),
    kind=st.sampled_from(TEXT_KINDS),
    position=st.integers(min_value=0, max_value=10**6),
    payload=st.binary(min_size=1, max_size=8),
)
def test_byte_and_line_mutations_are_loaded_or_refused_with_located_errors(
    name: str, kind: str, position: int, payload: bytes
) -> None:
    raw = text_mutation(fixture_text(name), kind, position, payload)

    load = timed_load(raw, name)

    assert_well_behaved(load, name)


# --- anchors, aliases, merge keys, bombs -------------------------------------------------


def laughs(levels: int, width: int, merge: bool) -> str:
    """A "billion laughs" document: ``width ** levels`` nodes once expanded."""
    lines = ["x-lol0: &l0 [lol]" if not merge else "x-lol0: &l0 {a: lol}"]
    for level in range(1, levels + 1):
        refs = ", ".join(f"*l{level - 1}" for _ in range(width))
        if merge:
            keys = ", ".join(f"k{i}: *l{level - 1}" for i in range(width))
            lines.append(f"x-lol{level}: &l{level} {{<<: *l{level - 1}, {keys}}}")
        else:
            lines.append(f"x-lol{level}: &l{level} [{refs}]")
    lines += [
        "alerts:",
        "  - name: bomb",
        "    conn_id: wh",
        "    query: SELECT 'OK' AS status",
        '    schedule: "0 * * * *"',
        f"    tags: *l{levels}",
    ]
    return "\n".join(lines) + "\n"


@fuzz(150)
@given(
    levels=st.integers(min_value=1, max_value=14),
    width=st.integers(min_value=2, max_value=12),
    merge=st.booleans(),
)
def test_alias_expansion_is_bounded_in_time_and_memory(
    levels: int, width: int, merge: bool
) -> None:
    text = laughs(levels, width, merge)

    load = timed_load(text, "example.yaml", measure_memory=True)

    assert_well_behaved(load, "example.yaml")
    assert load.peak_bytes < MAX_BOMB_PEAK_BYTES
    if width**levels > 10**6:
        messages = " ".join(e.message for e in load.result.errors)
        assert re.search(r"anchors and aliases expand to [\d,]+ YAML nodes", messages), messages
        assert load.result.config is None


def anchored(text: str, shape: str) -> str:
    """Anchor the first alert's values and alias them elsewhere in the file."""
    if shape == "recursive":
        return "x-loop: &loop [*loop]\n" + text
    if shape == "self_merge":
        return "x-m: &m {<<: *m}\n" + text
    if shape == "alias_undefined":
        return text.replace("alerts:\n", "alerts:\n  - *nowhere\n", 1)
    if shape == "alias_as_alert":
        return text.replace("alerts:\n  - ", "alerts:\n  - &first\n    ", 1) + "  - *first\n"
    if shape == "merge_into_alert":
        prefix = "x-shared: &shared {schedule: '0 * * * *', conn_id: wh, unknown_key: 1}\n"
        return prefix + text.replace("alerts:\n  - ", "alerts:\n  - <<: *shared\n    ", 1)
    if shape == "merge_non_mapping":
        prefix = "x-list: &lst [1, 2]\n"
        return prefix + text.replace("alerts:\n  - ", "alerts:\n  - <<: *lst\n    ", 1)
    if shape == "anchor_scalar_key":
        return "x-k: &k name\n" + text.replace(
            "alerts:\n  - ", "alerts:\n  - *k : aliased\n    ", 1
        )
    raise AssertionError(shape)


ANCHOR_SHAPES = [
    "recursive", "self_merge", "alias_undefined", "alias_as_alert", "merge_into_alert",
    "merge_non_mapping", "anchor_scalar_key",
]  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", ANCHOR_SHAPES)
def test_anchor_and_alias_shapes_are_loaded_or_refused_with_located_errors(
    name: str, shape: str
) -> None:
    text = anchored(fixture_text(name), shape)

    load = timed_load(text, name, measure_memory=True)

    assert_well_behaved(load, name)
    assert load.peak_bytes < MAX_BOMB_PEAK_BYTES


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("recursive", "recursive alias: an anchor refers to itself"),
        ("alias_undefined", "YAML syntax error: found undefined alias"),
    ],
)
def test_broken_aliases_are_named_in_the_message(shape: str, message: str) -> None:
    load = timed_load(anchored(fixture_text("example.yaml"), shape), "example.yaml")

    assert load.result.config is None
    assert [e.message for e in load.result.file_errors] == [message]


# --- the DAG file over a mutated file ----------------------------------------------------


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-dags")


@fuzz(30)
@given(data=st.data(), operation=OPERATIONS, value=st.one_of(wrong_types, unicode_text))
def test_load_alert_dags_never_raises_on_a_mutated_file(
    dag_folder: Path, data: st.DataObject, operation: str, value: Any
) -> None:
    from airflow.sdk import DAG

    from sqlsentinel_airflow.dags.factory import load_alert_dags

    name = "dags_alerts.yaml"
    tree = TREES[name]
    path = data.draw(st.sampled_from(paths_of(tree)), label="path")
    (dag_folder / "alerts.yaml").write_text(dump(mutate(tree, path, operation, value)))
    namespace: dict[str, Any] = {"__file__": str(dag_folder / "alert_dags.py")}

    dags = load_alert_dags(
        "alerts.yaml",
        namespace,
        manifest_dir=dag_folder / "manifests",
        env=FIXTURE_ENV,
        config_watch=False,
    )

    assert dags, "not even the config-errors DAG was defined"
    assert all(isinstance(dag, DAG) for dag in dags.values())
    registered = {v.dag_id for v in namespace.values() if isinstance(v, DAG)}
    assert registered == set(dags)
