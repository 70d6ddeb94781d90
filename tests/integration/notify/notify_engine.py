"""Driving the real engine in-process: alert configs, scripted query results, one evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlsentinel_airflow.core.config.models import AlertConfig, slugify
from sqlsentinel_airflow.core.model import RunType, Silence
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.evaluation import EvaluationReport, evaluate_alert
from sqlsentinel_airflow.store import StateStore

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=timezone.utc)

# The query of the ``warehouse`` fixture's table (conftest.py): ALERT above 10.
METRIC_QUERY = (
    "SELECT CASE WHEN v > 10 THEN 'ALERT' ELSE 'OK' END AS status, v AS actual_value, "
    "10 AS threshold FROM metric"
)


def make_alert(name: str, notify: Sequence[dict[str, Any]], **settings: Any) -> AlertConfig:
    slug = slugify(name)
    return AlertConfig.model_validate(
        {
            "name": name,
            "slug": slug,
            "dag_id": f"sqlsentinel_{slug}",
            "description": f"{name} test alert",
            "query": "SELECT 'OK' AS status",
            "schedule": "*/5 * * * *",
            "notify": list(notify),
            **settings,
        }
    )


@dataclass(frozen=True)
class Rows:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]] = field(default_factory=list)


def result(status: str, value: Any = None, threshold: Any = 10, **context: Any) -> Rows:
    columns = ["status", "actual_value", "threshold", *context]
    return Rows(columns, [[status, value, threshold, *context.values()]])


def keyed(*rows: tuple[str, str, Any]) -> Rows:
    """Rows of a keyed alert: (table_name, status, actual_value)."""
    return Rows(["table_name", "status", "actual_value"], [list(r) for r in rows])


def evaluate(
    alert: AlertConfig,
    store: StateStore,
    outcome: Rows | str,
    *,
    minute: int,
    run_id: str | None = None,
    file_silences: Sequence[Silence] = (),
    ui_base_url: str | None = None,
) -> EvaluationReport:
    """One scheduled evaluation at T0 + ``minute``; a str outcome is a query error.
    ``ui_base_url``: Airflow's ``[api] base_url`` (the links to the alert's tab)."""

    def fetch() -> Rows:
        if isinstance(outcome, str):
            raise QueryError(outcome)
        return outcome

    return evaluate_alert(
        alert,
        fetch=fetch,
        store=store,
        run_type=RunType.SCHEDULED,
        run_id=run_id or f"scheduled__{minute}",
        file_silences=file_silences,
        clock=lambda: T0 + timedelta(minutes=minute),
        task_log_url=f"http://localhost:8080/dags/{alert.dag_id}/runs/m{minute}/tasks/evaluate",
        ui_base_url=ui_base_url,
    )
