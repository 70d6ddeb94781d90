"""SQL Sentinel for Airflow: SQL-first alerting, one Airflow DAG per alert.

The DAG file entry point is :func:`load_alert_dags`; it imports Airflow lazily so the core
(config, state machine, CLI validation) stays importable without it.
"""

from __future__ import annotations

from typing import Any

from sqlsentinel_airflow.errors import (
    ConfigError,
    ConfigErrors,
    DeliveryError,
    QueryError,
    SentinelError,
    StateStoreError,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "DeliveryError",
    "QueryError",
    "SentinelError",
    "StateStoreError",
    "__version__",
    "load_alert_dags",
]


def load_alert_dags(
    path_or_glob: str, globals_: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """Register one Airflow DAG per alert of the alerts file(s); see ``sqlsentinel_airflow.dags``."""
    from sqlsentinel_airflow.dags.factory import load_alert_dags as _load

    return _load(path_or_glob, globals_, **kwargs)
