"""The monthly report's rules (docs/operations.md, "The monthly report"): its window and the
thresholds that put an alert in a section. Pure constants, so the CLI's parser shows the
defaults without loading the read model that builds the report (``readmodel/report.py``)."""

from __future__ import annotations

__all__ = [
    "ALWAYS_FIRING_SHARE",
    "DEFAULT_DAYS",
    "DEFAULT_LONG_AFTER_DAYS",
    "DURATION_SAMPLES",
    "FLAPPING_PER_WEEK",
    "SLOW_QUERY_MS",
    "TOP",
]

DEFAULT_DAYS = 90
DEFAULT_LONG_AFTER_DAYS = 7
ALWAYS_FIRING_SHARE = 0.8  # firing this share of the window (or more) is "always firing"
FLAPPING_PER_WEEK = 2  # more firing incidents than this a week on average is "often"
DURATION_SAMPLES = 200  # an alert's newest evaluations in the window its p95 is taken over
TOP = 10  # alerts listed in the ranked sections (slowest, most notifications)
SLOW_QUERY_MS = 100  # a p95 below this is not worth a look
