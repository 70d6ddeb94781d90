"""core/gcpause.py shared by concurrent blocks (the api-server's list call), and ui/timing.py."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused
from sqlsentinel_airflow.ui.timing import Timings


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_inside_and_back_on_after_the_last_of_nested_holds() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer read still holds it
    assert gc.isenabled()


def test_a_read_that_fails_gives_the_collector_back() -> None:
    try:
        with cyclic_gc_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_concurrent_reads_share_one_hold() -> None:
    inside, release = threading.Event(), threading.Event()

    def slow_read() -> None:
        with cyclic_gc_paused():
            inside.set()
            release.wait(5)

    other = threading.Thread(target=slow_read)
    other.start()
    inside.wait(5)
    with cyclic_gc_paused():
        pass
    assert not gc.isenabled()  # the other read has not finished
    release.set()
    other.join(5)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_process_stays_off() -> None:
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_timings_name_each_part_in_order() -> None:
    timings = Timings()
    timings.mark("catalog")
    timings.mark("state")
    names = [part.split(";dur=")[0] for part in timings.header().split(", ")]
    assert names == ["catalog", "state"]
