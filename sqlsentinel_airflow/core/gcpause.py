"""Pause Python's cyclic garbage collector while a burst of acyclic objects is made.

Two places make tens of thousands of objects in one go, none of them in a reference cycle:

- loading an alerts file: a dozen long-lived objects per alert (YAML nodes and marks,
  pydantic models, the manifest's JSON), and importing the validation stack (sqlglot) makes
  tens of thousands more. Measured: two thirds of the YAML stage and half of importing
  sqlglot in a cold parse were full collections rescanning a DAG-parsing process's ~200,000
  objects. Parsed SQL trees are unlinked after their check (``sqltree._unlink``);
- the SQL Sentinel page's list call in the api-server: 30,000 sparkline points, 1,000
  summaries and their JSON; full collections over the api-server's objects, Airflow's
  included, were most of its CPU at 1,000 alerts (docs/benchmarks.md, section 5).

Reference counting frees all of it as before; only the collector's *runs* are deferred, to
the first allocation after the block. Nested and concurrent blocks (the api-server answers
requests on several threads) share one pause: the collector comes back with the last of
them, and only if it was on when the first began.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ["cyclic_gc_paused"]

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block; re-enabled after the last open block only if
    it was enabled before the first."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
