"""Airflow operators (edge layer): every task the package's DAGs run.

- ``alert``: ``SentinelAlertOperator``, the one task of an alert DAG;
- ``config_watch``: ``ValidateAlertsConfigOperator`` and ``RequestReparseOperator``, tasks of
  the config-watch DAG (``dags/watch.py``);
- ``config_errors``: ``ConfigErrorOperator``, the failing task of placeholder DAGs and of the
  config-errors DAG (``dags/placeholder.py``).

Names are resolved lazily: importing one operator module does not import the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlsentinel_airflow.operators.alert import SentinelAlertOperator
    from sqlsentinel_airflow.operators.config_errors import ConfigErrorOperator
    from sqlsentinel_airflow.operators.config_watch import (
        RequestReparseOperator,
        ValidateAlertsConfigOperator,
    )

__all__ = [
    "ConfigErrorOperator",
    "RequestReparseOperator",
    "SentinelAlertOperator",
    "ValidateAlertsConfigOperator",
]

_MODULES = {
    "ConfigErrorOperator": "config_errors",
    "RequestReparseOperator": "config_watch",
    "SentinelAlertOperator": "alert",
    "ValidateAlertsConfigOperator": "config_watch",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
