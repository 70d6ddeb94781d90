"""``core.dependencies.evaluation_order``: parents first, the given order otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from sqlsentinel_airflow.core.dependencies import evaluation_order


@dataclass(frozen=True)
class Alert:
    name: str
    depends_on: tuple[str, ...] = ()


def names(alerts: list[Alert]) -> list[str]:
    return [a.name for a in evaluation_order(alerts)]


def test_without_dependencies_the_order_is_kept() -> None:
    assert names([Alert("c"), Alert("a"), Alert("b")]) == ["c", "a", "b"]


def test_parents_come_first_and_independent_alerts_keep_their_place() -> None:
    alerts = [
        Alert("margin", ("revenue", "orders")),
        Alert("solo"),
        Alert("revenue", ("orders",)),
        Alert("orders"),
        Alert("late"),
    ]
    assert names(alerts) == ["solo", "orders", "revenue", "margin", "late"]


def test_a_parent_that_is_not_run_does_not_hold_its_child_back() -> None:
    assert names([Alert("revenue", ("orders",)), Alert("x")]) == ["revenue", "x"]


def test_a_cycle_the_loader_did_not_check_keeps_every_alert() -> None:
    alerts = [Alert("a", ("b",)), Alert("b", ("a",)), Alert("c", ("a",))]
    assert names(alerts) == ["a", "b", "c"]
