"""The Airflow plugin (``airflow.plugins`` entry point): loaded by every Airflow component.

It carries nothing heavy at import: later versions add the UI (FastAPI app, views).
"""

from __future__ import annotations

try:  # the task SDK's class (what providers inherit from); core accepts it by name
    from airflow.sdk.plugins_manager import AirflowPlugin
except ImportError:  # pragma: no cover - older Airflow 3.x
    from airflow.plugins_manager import AirflowPlugin  # type: ignore[no-redef]

__all__ = ["SqlSentinelPlugin"]


class SqlSentinelPlugin(AirflowPlugin):
    name = "sqlsentinel"
