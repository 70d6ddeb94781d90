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

An alert with ``depends_on`` first waits while a DAG run of one of its parents is queued or
running (:func:`wait_for_parents`), so its evaluation reads the parents' new state; at most
``parents_wait`` (the DAG adds it to ``execution_timeout``), then it evaluates anyway. A dry
run does not wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sqlsentinel_airflow.airflow_contract import DRY_RUN_PARAM, EVALUATION_XCOM_KEY
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence, StateDbConfig
from sqlsentinel_airflow.core.durations import format_duration
from sqlsentinel_airflow.core.model import RunType

if TYPE_CHECKING:
    from sqlsentinel_airflow.service import AlertRun, QueryFetcher

__all__ = ["SentinelAlertOperator", "run_type_of", "task_failure", "wait_for_parents"]

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


PARENT_RUN_STATES = ("queued", "running")
"""A parent's DAG run in one of these states is waited for."""
PARENT_POLL = timedelta(seconds=2)
"""How often the parents' DAG runs are counted while waiting (one execution-API call each)."""


def wait_for_parents(
    alert_name: str,
    parent_dag_ids: Sequence[str],
    count_runs: Callable[..., int] | None,
    *,
    bound: timedelta,
    poll: timedelta = PARENT_POLL,
) -> float:
    """Wait while a DAG run of one of ``parent_dag_ids`` is queued or running, at most
    ``bound``; return the seconds waited. ``count_runs`` is the Task SDK's
    ``RuntimeTaskInstance.get_dr_count`` (None, or a failing call: a logged warning and no
    wait: a dependency orders evaluations, it never stops one)."""
    if not parent_dag_ids or bound <= timedelta(0):
        return 0.0
    if count_runs is None:
        log.warning(
            "alert %s: this Airflow cannot count DAG runs from a task (no get_dr_count): "
            "evaluating without waiting for %s",
            alert_name,
            ", ".join(parent_dag_ids),
        )
        return 0.0
    started = time.monotonic()
    deadline = started + bound.total_seconds()
    waited_for: list[str] = []
    while True:
        try:
            busy = [
                dag_id
                for dag_id in parent_dag_ids
                if count_runs(dag_id=dag_id, states=list(PARENT_RUN_STATES)) > 0
            ]
        except Exception as exc:  # the execution API: degrade, never fail the evaluation
            log.warning(
                "alert %s: could not count the DAG runs of %s (%s): evaluating without waiting",
                alert_name,
                ", ".join(parent_dag_ids),
                exc,
            )
            return time.monotonic() - started
        now = time.monotonic()
        if not busy:
            break
        if not waited_for:
            log.info(
                "alert %s: waiting for the queued or running DAG runs of %s (at most %s)",
                alert_name,
                ", ".join(busy),
                format_duration(bound),
            )
        waited_for.extend(d for d in busy if d not in waited_for)
        if now >= deadline:
            log.warning(
                "alert %s: %s still queued or running after %.1fs (the most it waits): "
                "evaluating now",
                alert_name,
                ", ".join(busy),
                now - started,
            )
            return now - started
        time.sleep(min(poll.total_seconds(), deadline - now))
    waited = time.monotonic() - started
    if waited_for:
        log.info("alert %s: waited %.1fs for %s", alert_name, waited, ", ".join(waited_for))
    return waited


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
        parent_dag_ids: Sequence[str] | None = None,
        parents_wait: timedelta = timedelta(0),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.alert = alert
        # the DAGs of its depends_on (None: as the loader resolved them) and how long it
        # waits for their runs at most (the DAG factory adds this to execution_timeout)
        self.parent_dag_ids = tuple(
            alert.depends_on_dag_ids if parent_dag_ids is None else parent_dag_ids
        )
        self.parents_wait = parents_wait
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
        if not request.dry_run:
            own = getattr(context.get("dag"), "dag_id", None) or self.alert.dag_id
            ti = context.get("ti")
            wait_for_parents(
                self.alert.name,
                [d for d in self.parent_dag_ids if d != own],
                getattr(ti, "get_dr_count", None),
                bound=self.parents_wait,
            )
        asset_events = None
        if self.alert.freshness is not None and self.alert.freshness.asset is not None:
            from sqlsentinel_airflow.dags.inlets import last_event_time

            asset_events = last_event_time(context)  # docs/freshness.md
        self._queries = QueryFetcher(asset_event_time=asset_events)
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
