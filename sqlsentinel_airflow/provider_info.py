"""Provider metadata for Airflow's ProvidersManager (``apache_airflow_provider`` entry point).

Declares the ``[sqlsentinel]`` config section so ``airflow config list`` shows our options
with their defaults and descriptions.
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    from sqlsentinel_airflow import __version__
    from sqlsentinel_airflow.airflow_contract import (
        ALLOW_PRIVILEGED_CONN_IDS_OPTION,
        CONFIG_SECTION,
        HISTORY_RETENTION_OPTION,
        STATE_DB_CONN_ID_OPTION,
    )

    return {
        "package-name": "sqlsentinel-airflow",
        "name": "SQL Sentinel",
        "description": "SQL-first alerting: one DAG per SQL alert, state, dedup, notifications.",
        "versions": [__version__],
        "config": {
            CONFIG_SECTION: {
                "description": "SQL Sentinel for Airflow.",
                "options": {
                    STATE_DB_CONN_ID_OPTION: {
                        "description": (
                            "Airflow connection of the SQL Sentinel state database (PostgreSQL, "
                            "MySQL or SQLite). Used when alerts.yaml has no `state_db`. When "
                            "unset: SQLSENTINEL_STATE_DB_URL, else SQLite at "
                            "$AIRFLOW_HOME/sqlsentinel/state.db."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "sqlsentinel_state",
                        "default": "",
                    },
                    ALLOW_PRIVILEGED_CONN_IDS_OPTION: {
                        "description": (
                            "Connections (conn_ids or globs, comma-separated) whose login may be "
                            "privileged (PostgreSQL superuser, file or signal roles, write "
                            "grants; MySQL SUPER, FILE, write grants). Alert queries refuse such "
                            "logins unless listed here; see docs/security.md."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "warehouse_admin",
                        "default": "",
                    },
                    HISTORY_RETENTION_OPTION: {
                        "description": (
                            "How long `sqlsentinel purge` keeps history by default (duration)."
                        ),
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "90d",
                        "default": "90d",
                    },
                },
            }
        },
    }
