"""The cyclic collector is paused while a file loads, and the load leaves no garbage cycles.

Pausing is only sound if what a load allocates is freed by reference counting alone; parsed
SQL trees are the one cyclic structure (each node points at its parent), so they must be
unlinked after their check. Queries here are all different in their tables, so every one
goes through a full sqlglot parse rather than the literal-shape cache.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused


@pytest.fixture
def collector_enabled() -> Iterator[None]:
    """The collector on for the test, and left as it was found (a test that switched it off
    once left it off for every later test of its worker)."""
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def alerts_file(count: int) -> str:
    lines = ["defaults:\n  conn_id: warehouse\n  schedule: '*/5 * * * *'\nalerts:\n"]
    for i in range(count):
        lines.append(
            f"  - name: alert_{i}\n"
            f"    query: \"SELECT CASE WHEN COUNT(*) > {i} THEN 'ALERT' ELSE 'OK' END AS status "
            f"FROM orders_{i} o JOIN regions_{i} r ON r.id = o.region_id WHERE r.name = 'r{i}'\"\n"
            f"    notify:\n      - {{channel: email, to: [team{i}@example.com]}}\n"
        )
    # one refused and one unparseable query: the error paths must not leave cycles either
    lines.append("  - name: bad_write\n    query: DELETE FROM orders\n")
    lines.append("  - name: bad_syntax\n    query: SELECT (1 FROM orders\n")
    return "".join(lines)


def test_the_collector_is_paused_inside_and_restored(collector_enabled: None) -> None:
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_by_the_caller_stays_disabled(collector_enabled: None) -> None:
    gc.disable()
    with cyclic_gc_paused():
        pass
    assert not gc.isenabled()


def test_loading_leaves_no_reference_cycles_behind(collector_enabled: None) -> None:
    text = alerts_file(300)
    load_config_text(text)  # imports and first-use caches are not garbage of a load
    gc.collect()
    gc.disable()  # so that nothing is collected behind our back during the load
    result = load_config_text(text)
    assert len(result.config.alerts if result.config else ()) == 300
    assert [e.alert for e in result.errors] == ["bad_write", "bad_syntax"]
    del result
    # ~100,000 objects became cyclic garbage per 2,000 queries before trees were unlinked
    assert gc.collect() < 200
