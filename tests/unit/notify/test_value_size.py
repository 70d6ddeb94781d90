"""``sandbox.value_size``: what it counts, and that sharing cannot make counting slow.

The size is what printing the value would cost (MAX_VALUE_SIZE): 1 per item, plus its
characters, digits or range, each shared item counted wherever it appears. A shared
container is measured once, so a value built by doubling costs as many steps as it has
distinct containers; a container holding itself is endless.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from jinja2.utils import Namespace

from sqlsentinel_airflow.notify.sandbox import MAX_VALUE_SIZE, value_size


def _printed(value: Any) -> int:
    """The definition, recursively and without any shortcut."""
    if isinstance(value, str):
        return 1 + len(value)
    if isinstance(value, int):
        return 1 + value.bit_length() // 3
    if isinstance(value, range):
        return 1 + len(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return 1 + sum(_printed(v) for v in value)
    if isinstance(value, dict):
        return 1 + sum(_printed(k) + _printed(v) for k, v in value.items())
    if isinstance(value, Namespace):
        items = object.__getattribute__(value, "_Namespace__attrs")
        return 1 + sum(_printed(k) + _printed(v) for k, v in items.items())
    return 1


def _value(rng: random.Random, depth: int = 0) -> Any:
    if depth > 4 or rng.random() < 0.3:
        return rng.choice([7, 2**200, "x" * rng.randint(0, 30), True, None, 1.5, range(9)])
    kind = rng.choice(["list", "tuple", "dict", "set", "namespace", "shared"])
    if kind == "list":
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    if kind == "tuple":
        return tuple(_value(rng, depth + 1) for _ in range(rng.randint(0, 5)))
    if kind == "set":
        return frozenset(rng.sample(range(100), rng.randint(0, 5)))
    if kind == "dict":
        return {str(i): _value(rng, depth + 1) for i in range(rng.randint(0, 4))}
    if kind == "namespace":
        return Namespace(**{f"a{i}": _value(rng, depth + 1) for i in range(rng.randint(0, 3))})
    shared = _value(rng, depth + 1)
    return [shared, shared, (shared, shared)]


def test_the_size_is_the_printed_size_shared_items_counted_wherever_they_appear() -> None:
    rng = random.Random(20261206)
    for _ in range(2000):
        value = _value(rng)
        whole = _printed(value) - (1 if isinstance(value, str) else 0)
        assert value_size(value) == whole
        for limit in (0, 5, 50):
            found = value_size(value, limit=limit)
            assert found == whole if whole <= limit else found > limit


def test_a_doubled_value_is_measured_in_as_many_steps_as_it_has_containers() -> None:
    doubled: Any = [1]
    for _ in range(200):  # 2**200 items when printed
        doubled = [doubled, doubled]
    started = time.thread_time()
    assert value_size(doubled) == MAX_VALUE_SIZE + 1
    assert value_size({"k": Namespace(x=doubled)}) == MAX_VALUE_SIZE + 1
    assert time.thread_time() - started < 0.1


@pytest.mark.parametrize("kind", ["list", "dict", "namespace"])
def test_a_container_that_holds_itself_is_endless(kind: str) -> None:
    if kind == "list":
        loop: Any = [1]
        loop.append([loop])
    elif kind == "dict":
        loop = {}
        loop["me"] = (loop,)
    else:
        loop = Namespace()
        loop["me"] = [loop]
    assert value_size(loop) == MAX_VALUE_SIZE + 1
    assert value_size(loop, limit=10) == 11
