"""Airflow operators (edge layer)."""

from __future__ import annotations

from sqlsentinel_airflow.operators.alert import SentinelAlertOperator

__all__ = ["SentinelAlertOperator"]
