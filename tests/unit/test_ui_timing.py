"""ui/timing.py: the collector is held off for the length of a read, and comes back."""

from __future__ import annotations

import gc
import threading

from sqlsentinel_airflow.ui.timing import Timings, collector_held


def test_the_collector_is_off_inside_and_back_on_after_the_last_of_nested_holds() -> None:
    assert gc.isenabled()
    with collector_held():
        assert not gc.isenabled()
        with collector_held():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer read still holds it
    assert gc.isenabled()


def test_a_read_that_fails_gives_the_collector_back() -> None:
    try:
        with collector_held():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_concurrent_reads_share_one_hold() -> None:
    inside, release = threading.Event(), threading.Event()

    def slow_read() -> None:
        with collector_held():
            inside.set()
            release.wait(5)

    other = threading.Thread(target=slow_read)
    other.start()
    inside.wait(5)
    with collector_held():
        pass
    assert not gc.isenabled()  # the other read has not finished
    release.set()
    other.join(5)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_process_stays_off() -> None:
    gc.disable()
    try:
        with collector_held():
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
