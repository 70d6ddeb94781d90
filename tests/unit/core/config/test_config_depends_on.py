"""``depends_on:`` in alerts.yaml: resolved names and dag_ids, and each located error."""

from __future__ import annotations

import textwrap

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.loader import LoadResult

HEAD = """\
database: {url: "sqlite://"}
defaults: {schedule: "@hourly"}
alerts:
"""


def load(alerts: str, head: str = HEAD) -> LoadResult:
    return load_config_text(head + textwrap.indent(textwrap.dedent(alerts), "  "))


def messages(result: LoadResult) -> list[str]:
    return [e.format() for e in result.errors]


def valid_names(result: LoadResult) -> list[str]:
    assert result.config is not None, messages(result)
    return [a.name for a in result.config.alerts]


def test_one_name_or_a_list_resolves_to_names_and_dag_ids_in_order() -> None:
    result = load(
        """\
        - {name: Orders Loaded, query: "SELECT 1"}
        - {name: revenue, query: "SELECT 1", depends_on: Orders Loaded}
        - name: margin
          query: SELECT 1
          depends_on: [revenue, Orders Loaded]
        - {name: solo, query: "SELECT 1"}
        """,
        head=HEAD.replace("alerts:", "dag_id_prefix: team_\nalerts:"),
    )
    assert result.ok, messages(result)
    assert result.config is not None
    revenue, margin, solo = (result.config.alert(n) for n in ("revenue", "margin", "solo"))
    assert revenue.depends_on == ("Orders Loaded",)
    assert revenue.depends_on_dag_ids == ("team_orders_loaded",)
    assert margin.depends_on == ("revenue", "Orders Loaded")
    assert margin.depends_on_dag_ids == ("team_revenue", "team_orders_loaded")
    assert solo.depends_on == () and solo.depends_on_dag_ids == ()


def test_an_unknown_name_is_located_at_its_entry_with_the_closest_names() -> None:
    result = load(
        """\
        - {name: orders_loaded, query: "SELECT 1"}
        - {name: orders_late, query: "SELECT 1"}
        - name: revenue
          query: SELECT 1
          depends_on:
            - orders_late
            - orders_load
        """
    )
    assert messages(result) == [
        "alerts.yaml:10:9 alerts[2].depends_on[1]: unknown alert `orders_load` in `depends_on` "
        "(did you mean `orders_loaded` or `orders_late`?)"
    ]
    assert result.errors[0].alert == "revenue"
    assert valid_names(result) == ["orders_loaded", "orders_late"]


def test_an_unknown_name_with_nothing_close_lists_the_file_s_alerts() -> None:
    result = load(
        """\
        - {name: orders_loaded, query: "SELECT 1"}
        - {name: revenue, query: "SELECT 1", depends_on: zzz}
        """
    )
    assert messages(result) == [
        "alerts.yaml:5:52 alerts[1].depends_on: unknown alert `zzz` in `depends_on` "
        "(name an alert of this file: `orders_loaded`)"
    ]


def test_an_alert_cannot_depend_on_itself() -> None:
    result = load(
        """\
        - {name: orders, query: "SELECT 1"}
        - name: revenue
          query: SELECT 1
          depends_on: [orders, revenue]
        """
    )
    assert messages(result) == [
        "alerts.yaml:7:26 alerts[1].depends_on[1]: alert `revenue` depends on itself "
        "(`depends_on` names other alerts of this file, evaluated before this one)"
    ]
    assert valid_names(result) == ["orders"]


def test_a_name_listed_twice_is_located_at_the_second_entry() -> None:
    result = load(
        """\
        - {name: orders, query: "SELECT 1"}
        - name: revenue
          query: SELECT 1
          depends_on:
            - orders
            - orders
        """
    )
    assert messages(result) == [
        "alerts.yaml:9:9 alerts[1].depends_on[1]: `orders` is listed twice in `depends_on` "
        "(also alerts[1].depends_on[0]) (name each alert once)"
    ]


def test_a_cycle_is_one_error_at_the_entry_that_closes_it_naming_the_path() -> None:
    result = load(
        """\
        - {name: a, query: "SELECT 1", depends_on: [b]}
        - {name: b, query: "SELECT 1", depends_on: [c]}
        - name: c
          query: SELECT 1
          depends_on:
            - a
        - {name: d, query: "SELECT 1", depends_on: [a]}
        """
    )
    assert messages(result) == [
        "alerts.yaml:9:9 alerts[2].depends_on[0]: dependency cycle: c -> a -> b -> c "
        "(remove one of these `depends_on` entries: alerts that wait for each other "
        "never run first)"
    ]
    # without the entry that closes it the rest is acyclic: only `c` is invalid
    assert valid_names(result) == ["a", "b", "d"]


def test_two_cycles_are_two_errors() -> None:
    result = load(
        """\
        - {name: a, query: "SELECT 1", depends_on: [b]}
        - {name: b, query: "SELECT 1", depends_on: [a]}
        - {name: c, query: "SELECT 1", depends_on: d}
        - {name: d, query: "SELECT 1", depends_on: c}
        """
    )
    assert [(e.path, e.message) for e in result.errors] == [
        ("alerts[1].depends_on[0]", "dependency cycle: b -> a -> b"),
        ("alerts[3].depends_on", "dependency cycle: d -> c -> d"),
    ]
    assert valid_names(result) == ["a", "c"]


def test_a_parent_that_is_invalid_is_still_a_parent() -> None:
    result = load(
        """\
        - {name: orders, query: "DELETE FROM orders"}
        - {name: revenue, query: "SELECT 1", depends_on: orders}
        """
    )
    assert [e.path for e in result.errors] == ["alerts[0].query"]
    assert result.config is not None
    assert result.config.alert("revenue").depends_on_dag_ids == ("sqlsentinel_orders",)


def test_a_renamed_parent_invalidates_only_its_children() -> None:
    result = load(
        """\
        - {name: orders_loaded_v2, query: "SELECT 1"}
        - {name: revenue, query: "SELECT 1", depends_on: orders_loaded}
        - {name: margin, query: "SELECT 1"}
        """
    )
    assert [(e.path, e.alert, e.hint) for e in result.errors] == [
        ("alerts[1].depends_on", "revenue", "did you mean `orders_loaded_v2`?")
    ]
    assert result.file_errors == []
    assert valid_names(result) == ["orders_loaded_v2", "margin"]


def test_defaults_refuse_depends_on() -> None:
    result = load(
        '- {name: orders, query: "SELECT 1"}\n',
        head=HEAD.replace(
            'defaults: {schedule: "@hourly"}',
            'defaults:\n  schedule: "@hourly"\n  depends_on: [orders]',
        ),
    )
    assert messages(result) == [
        "alerts.yaml:4:3 defaults.depends_on: unknown key `depends_on` "
        "(`depends_on` belongs to each alert, not to `defaults`)"
    ]
    assert result.config is None


def test_depends_on_must_be_names() -> None:
    result = load(
        """\
        - {name: orders, query: "SELECT 1"}
        - {name: revenue, query: "SELECT 1", depends_on: [orders, 3]}
        """
    )
    assert [(e.path, e.message) for e in result.errors] == [
        ("alerts[1].depends_on[1]", "expected a string, got 3")
    ]
