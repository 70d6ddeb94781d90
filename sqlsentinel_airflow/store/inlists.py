"""Bounded ``IN`` lists: many keys sliced into statements every database accepts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["IN_LIST", "in_list_chunks"]

T = TypeVar("T")

IN_LIST = 500  # values per IN list: well below every database's limit on bound parameters


def in_list_chunks(values: Sequence[T], size: int = IN_LIST) -> Iterator[list[T]]:
    """``values`` without repeats, in slices of at most ``size``; nothing for no values."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]
