"""Backtests: an alert's evaluations over a past time range, decided again by the real state
machine under its current and a proposed policy (docs/backtests.md).

Two sources: ``replay`` (the values recorded in the state DB's history) and ``as_of`` (the
alert's query run as of every schedule tick, its clock functions frozen to the tick).
Nothing is written to the live state and nothing is sent.
"""

from __future__ import annotations

from sqlsentinel_airflow.backtest.result import (
    CURRENT,
    PROPOSED,
    BacktestIncident,
    BacktestResult,
    ChannelInfo,
    Counts,
    PolicyRun,
    PolicySettings,
    Source,
    ValueSeries,
)

__all__ = [
    "CURRENT",
    "PROPOSED",
    "BacktestIncident",
    "BacktestResult",
    "ChannelInfo",
    "Counts",
    "PolicyRun",
    "PolicySettings",
    "Source",
    "ValueSeries",
]
