"""``SentinelAlertOperator``: one evaluation of one alert inside an Airflow task.

Thin edge over the run-an-alert service (``sqlsentinel_airflow.service``): it hands the
service this task's run (type, id, dry run, its log page), and maps the service's verdict to
the task's outcome in one table (:func:`task_failure`). The XCom is the run's JSON.

Failure semantics (docs/adr/0002-evaluation-semantics.md, docs/adr/0004-delivery-guarantees.md):

=============================  =========================================================
verdict                        the task
=============================  =========================================================
ok                             succeeds
firing                         succeeds; ``AirflowFailException`` with
                               ``fail_task_on_alert`` (retrying would not change the data)
query_failed                   ``AirflowException``: red, and Airflow retries; each try
                               is one evaluation (recorded as ERROR, state not advanced)
undelivered_retry_may_help     ``AirflowException``: the retry only delivers what is owed
undelivered_needs_fix          ``AirflowFailException``: only a config fix can help; the
                               next run tries the pending notifications again
=============================  =========================================================

A dry run never fails the task (it shows what would happen). A state DB failure fails the
task before anything is committed (``StateStoreError``), so the retry redoes it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sqlsentinel_airflow.airflow_contract import DRY_RUN_PARAM, EVALUATION_XCOM_KEY
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence, StateDbConfig
from sqlsentinel_airflow.core.model import RunType

if TYPE_CHECKING:
    from sqlsentinel_airflow.service import AlertRun, QueryFetcher

__all__ = ["SentinelAlertOperator", "run_type_of", "task_failure"]

log = logging.getLogger(__name__)

_RUN_TYPES = {
    "scheduled": RunType.SCHEDULED,
    "manual": RunType.MANUAL,
    "backfill": RunType.BACKFILL,
    "asset_triggered": RunType.ASSET_TRIGGERED,
}


def run_type_of(context: Any) -> RunType:
    """The RunType of the task's DAG run (scheduled / manual / backfill / asset_triggered /
    other)."""
    dag_run = context.get("dag_run") if hasattr(context, "get") else None
    raw = getattr(dag_run, "run_type", None)
    value = getattr(raw, "value", raw)
    return _RUN_TYPES.get(str(value), RunType.OTHER) if value else RunType.OTHER


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


class SentinelAlertOperator(BaseOperator):
    """Evaluate one SQL Sentinel alert: query, decide, record, deliver, return the run."""

    ui_color = "#fde2e4"
    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        alert: AlertConfig,
        state_db: StateDbConfig | None = None,
        file_silences: Sequence[FileSilence] = (),
        dry_run_param: str = DRY_RUN_PARAM,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.alert = alert
        self.state_db = state_db
        self.file_silences = tuple(file_silences)
        self.dry_run_param = dry_run_param
        self._queries: QueryFetcher | None = None  # set while execute runs (on_kill)

    # -- Airflow hooks ---------------------------------------------------------------------

    def execute(self, context: Any) -> dict[str, Any]:
        from sqlsentinel_airflow.airflow_compat import configured_api_base_url
        from sqlsentinel_airflow.service import QueryFetcher, RunRequest, run_alert
        from sqlsentinel_airflow.store import StateDbLocator

        params = context.get("params") or {}
        run_id = getattr(context.get("dag_run"), "run_id", None) or context.get("run_id")
        request = RunRequest(
            run_type=run_type_of(context),
            run_id=run_id,
            dry_run=_truthy(params.get(self.dry_run_param, False)),
            task_log_url=self._task_log_url(run_id),
            ui_base_url=configured_api_base_url(),
        )
        self._queries = QueryFetcher()
        try:
            run = run_alert(
                self.alert,
                request,
                locator=StateDbLocator(),
                state_db=self.state_db,
                file_silences=self.file_silences,
                queries=self._queries,
            )
        finally:
            self._queries = None
        result = run.to_dict()
        failure = task_failure(run, self.alert)
        if failure is not None:
            self.xcom_push_safely(context, result)
            raise failure
        return result

    def on_kill(self) -> None:
        queries = self._queries
        if queries is not None and queries.cancel():
            log.info("Cancelled the running query of alert %s", self.alert.name)

    # -- pieces ------------------------------------------------------------------------------

    def _task_log_url(self, run_id: str | None) -> str | None:
        """This task's page in the Airflow UI, from ``[api] base_url`` (read at run time)."""
        if not run_id:
            return None
        from sqlsentinel_airflow.airflow_compat import api_base_url
        from sqlsentinel_airflow.core.events import task_log_url

        return task_log_url(api_base_url(), self.alert.dag_id, str(run_id), self.task_id)

    @staticmethod
    def xcom_push_safely(context: Any, value: dict[str, Any]) -> None:
        """Push the evaluation even when the task is about to fail, so the UI shows it."""
        ti = context.get("ti")
        if ti is None:
            return
        try:
            ti.xcom_push(key=EVALUATION_XCOM_KEY, value=value)
        except Exception:  # XCom is a convenience here; the failure matters more
            log.warning("could not push the evaluation to XCom", exc_info=True)


def task_failure(run: AlertRun, alert: AlertConfig) -> Exception | None:
    """The exception that ends the task for ``run``'s verdict (module doc), or None."""
    from airflow.sdk.exceptions import AirflowException

    from sqlsentinel_airflow.airflow_compat import AirflowFailException
    from sqlsentinel_airflow.service import Verdict

    if run.dry_run:
        return None
    name = alert.name
    owed = run.delivery.summary() if run.delivery is not None else ""
    undelivered = f"alert {name!r}: notifications undelivered after trying every channel: {owed}"
    match run.verdict:
        case Verdict.OK:
            return None
        case Verdict.FIRING:
            if not alert.fail_task_on_alert:
                return None
            return AirflowFailException(f"alert {name!r} is firing (fail_task_on_alert is set)")
        case Verdict.QUERY_FAILED:
            error = run.evaluation.error if run.evaluation is not None else None
            incomplete = run.delivery is not None and not run.delivery.complete
            extra = f"; notifications: {owed}" if incomplete else ""
            return AirflowException(f"alert {name!r}: query failed: {error}{extra}")
        case Verdict.UNDELIVERED_RETRY_MAY_HELP:
            return AirflowException(f"{undelivered}; a retry delivers only what is still pending")
        case Verdict.UNDELIVERED_NEEDS_FIX:
            return AirflowFailException(
                f"{undelivered}; retrying now would not help: fix the channel or its connection "
                "(pending notifications are retried by the next run; see `sqlsentinel outbox`)"
            )
