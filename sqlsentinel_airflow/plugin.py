"""The Airflow plugin (``airflow.plugins`` entry point): loaded by every Airflow component.

It carries the UI (docs/adr/0005-ui-plugin.md): a FastAPI app mounted by the api-server under
``/sqlsentinel`` and two ``external_views`` shown in Airflow's UI, a top-level "SQL Sentinel"
page ("Sentinel" in Airflow's navigation) and a tab on every DAG's page. Importing it stays
cheap for the scheduler, the workers and the dag-processor, which never serve HTTP: the app
(FastAPI, Airflow's auth and ORM modules, ~1 s) is built only when the api-server reads
``fastapi_apps``.

It also carries a listener (``airflow_listener.py``): where a DAG run of an alert finishes,
the run's note says what the evaluation found (``FIRING 17.99 (threshold 5)``), so Airflow's
own views show firing while the run stays green (docs/adr/0010-run-notes.md).
"""

from __future__ import annotations

import logging
from typing import Any

try:  # the task SDK's class (what providers inherit from); core accepts it by name
    from airflow.sdk.plugins_manager import AirflowPlugin
except ImportError:  # pragma: no cover - older Airflow 3.x
    from airflow.plugins_manager import AirflowPlugin  # type: ignore[no-redef,assignment]

from sqlsentinel_airflow import airflow_listener
from sqlsentinel_airflow.airflow_contract import ALERT_TAB_ROUTE, DASHBOARD_ROUTE, PLUGIN_NAME

__all__ = ["SqlSentinelPlugin"]

log = logging.getLogger(__name__)

# Relative to Airflow's <base href>, so a deployment under a path prefix works too.
_DASHBOARD = "sqlsentinel/ui/dashboard"
_ALERT_TAB = "sqlsentinel/ui/alert?dag_id={DAG_ID}"
_ICON = "sqlsentinel/static/icon.svg"
_ICON_DARK = "sqlsentinel/static/icon-dark.svg"
NAV_LABEL = "Sentinel"


class _LazyFastApiApps:
    """``fastapi_apps``, built on first access. A failure is logged, never raised: a broken
    plugin page must not keep Airflow's api-server from starting."""

    def __init__(self) -> None:
        self._apps: list[dict[str, Any]] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> list[dict[str, Any]]:
        if self._apps is None:
            try:
                from sqlsentinel_airflow.ui.app import plugin_app_spec

                self._apps = [plugin_app_spec()]
            except Exception:
                log.exception("sqlsentinel: the UI plugin's FastAPI app could not be built")
                self._apps = []
        return self._apps


class SqlSentinelPlugin(AirflowPlugin):
    name = PLUGIN_NAME
    fastapi_apps = _LazyFastApiApps()  # type: ignore[assignment]
    listeners = [airflow_listener]
    external_views = [
        {
            # Airflow's nav rail fits about nine characters under an icon ("SQL Senti…");
            # the page itself is titled "SQL Sentinel"
            "name": NAV_LABEL,
            "href": _DASHBOARD,
            "destination": "nav",
            "url_route": DASHBOARD_ROUTE,
            "nav_top_level": True,
            "icon": _ICON,
            "icon_dark_mode": _ICON_DARK,
        },
        {
            "name": "SQL Sentinel",
            "href": _ALERT_TAB,
            "destination": "dag",
            "url_route": ALERT_TAB_ROUTE,
            "icon": _ICON,
            "icon_dark_mode": _ICON_DARK,
        },
    ]
