"""The order alerts that depend on each other (``depends_on:``) are evaluated in.

Parents first, so a child's evaluation reads its parents' committed state; otherwise the
order given (the file's). Pure: the loader has already refused unknown names and cycles,
so every parent named here is an alert of the same file, and only the parents among the
alerts being run count (``sqlsentinel run --alert child`` does not run the parents).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

__all__ = ["evaluation_order"]


class _Dependent(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def depends_on(self) -> tuple[str, ...]: ...


A = TypeVar("A", bound=_Dependent)


def evaluation_order(alerts: Sequence[A]) -> list[A]:
    """``alerts`` with every parent before its children, otherwise in the order given.

    Each step takes the first alert (in the given order) whose parents among ``alerts``
    are all placed; should a cycle remain (a config the loader did not check), its alerts
    follow in the given order rather than being dropped.
    """
    if not any(a.depends_on for a in alerts):
        return list(alerts)
    present = {a.name for a in alerts}
    waiting = list(range(len(alerts)))
    placed: set[str] = set()
    ordered: list[A] = []
    while waiting:
        at = next(
            (
                k
                for k, i in enumerate(waiting)
                if all(p in placed or p not in present for p in alerts[i].depends_on)
            ),
            0,  # only in a cycle
        )
        alert = alerts[waiting.pop(at)]
        placed.add(alert.name)
        ordered.append(alert)
    return ordered
