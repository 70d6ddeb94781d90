"""Benchmarks (docs/benchmarks.md): parse cost and evaluation overhead.

Runnable as modules from the repository root (``python -m bench.parse``,
``python -m bench.evaluation``); ``bench/run_all`` runs them all. Results go to
``docs/benchmarks.md``. Nothing here is imported by the package.
"""
