"""The DAG factory (edge layer): alerts files become Airflow DAGs.

- ``factory``: ``load_alert_dags``, one DAG per alert, built in isolation;
- ``manifest``: the last valid version of each alerts file (fallback and parse cache);
  it never imports Airflow;
- ``placeholder``: how invalid alerts and broken files show up in the UI.

Names are resolved lazily so that importing ``sqlsentinel_airflow.dags.manifest`` does not
pay for importing Airflow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlsentinel_airflow.dags.factory import build_alert_dag, load_alert_dags

__all__ = ["build_alert_dag", "load_alert_dags"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sqlsentinel_airflow.dags import factory

        return getattr(factory, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
