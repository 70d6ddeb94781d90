"""Pause Python's cyclic garbage collector while an alerts file is loaded.

Loading a file allocates a dozen long-lived objects per alert (YAML nodes and marks,
pydantic models, the manifest's JSON), and importing the validation stack (sqlglot) creates
tens of thousands more. Each full collection those allocations trigger scans the whole heap,
which in a DAG-parsing process is Airflow's ~200,000 objects, again and again: measured, two
thirds of the YAML stage and half of importing sqlglot in a cold parse. Nothing a load
creates needs the collector: its objects form no reference cycles, and parsed SQL trees are
unlinked after their check (``sqltree._unlink``), so reference counting frees all of it as
before. Only the collector's *runs* are deferred, to the first allocation after the load.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["cyclic_gc_paused"]


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; re-enabled after it only if it was enabled."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
