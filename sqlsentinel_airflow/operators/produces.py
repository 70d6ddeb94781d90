"""``ProducedAssetsOperator``: updates the assets an alert produces (``produces:``,
docs/assets.md) when its evaluation sent events of the chosen kinds.

It runs after the evaluate task whatever that task's outcome (a firing alert with
``fail_task_on_alert`` fails its task, yet its events went out), reads the evaluation from
the evaluate task's XCom, and either skips (no such event: no asset event) or succeeds, which
makes Airflow record one event per outlet, with ``extra`` saying what happened.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from sqlsentinel_airflow.airflow_contract import EVALUATE_TASK_ID, EVALUATION_XCOM_KEY

__all__ = ["ProducedAssetsOperator"]

log = logging.getLogger(__name__)


class ProducedAssetsOperator(BaseOperator):
    """Skip, or announce the alert's events on its outlets (the produced assets)."""

    ui_color = "#e2f0fd"
    template_fields: Sequence[str] = ()

    def __init__(self, *, alert_name: str, on: Sequence[str], **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.alert_name = alert_name
        self.on = tuple(on)

    def execute(self, context: Any) -> dict[str, Any]:
        from sqlsentinel_airflow.airflow_compat import AirflowSkipException
        from sqlsentinel_airflow.dags.assets import asset_event_extra

        ti = context["ti"]
        report = ti.xcom_pull(task_ids=EVALUATE_TASK_ID)
        if not report:  # a failed task pushed its evaluation under its own key
            report = ti.xcom_pull(task_ids=EVALUATE_TASK_ID, key=EVALUATION_XCOM_KEY)
        dag_run = context.get("dag_run")
        extra = asset_event_extra(
            report,
            self.on,
            alert=self.alert_name,
            dag_id=str(getattr(dag_run, "dag_id", "") or ti.dag_id),
            run_id=str(getattr(dag_run, "run_id", "") or context.get("run_id") or ""),
        )
        if extra is None:
            raise AirflowSkipException(
                f"the evaluation sent no {' / '.join(self.on)} event: no asset update"
            )
        outlet_events = context["outlet_events"]
        for outlet in self.outlets:
            outlet_events[outlet].extra = extra
        log.info(
            "alert %s: %d event(s) announced on %s",
            self.alert_name,
            len(extra["events"]),
            ", ".join(getattr(o, "uri", str(o)) for o in self.outlets),
        )
        return extra
