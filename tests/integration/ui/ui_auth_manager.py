"""A per-DAG auth manager for the UI tests: Airflow's SimpleAuthManager, plus one rule.

SimpleAuthManager decides by role only; real deployments (FAB, Keycloak) grant access per
DAG. This subclass, configured as ``[core] auth_manager`` in the UI tests, keeps every DAG
whose id contains ``payroll`` away from everyone but admins, so the tests can show that the
UI asks the auth manager about each alert's own DAG.
"""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

HIDDEN_MARK = "payroll"


class PerDagAuthManager(SimpleAuthManager):
    def is_authorized_dag(
        self, *, method: Any, user: Any, access_entity: Any = None, details: Any = None
    ) -> bool:
        dag_id = getattr(details, "id", None) or ""
        if HIDDEN_MARK in dag_id and str(user.role or "").upper() != "ADMIN":
            return False
        return bool(
            super().is_authorized_dag(
                method=method, user=user, access_entity=access_entity, details=details
            )
        )
