"""``SentinelAlertOperator``: one evaluation of one alert inside an Airflow task.

Thin edge over ``sqlsentinel_airflow.evaluation``: it resolves the Airflow connection to a
DbApiHook, runs the query read-only with the database-side statement timeout, lets the engine
decide and write state/history/outbox in one transaction, and returns the evaluation as XCom.

Failure semantics (docs/adr/0002-evaluation-semantics.md):
- a firing alert is a result, not a failure; ``fail_task_on_alert`` opts in to a red task
  (``AirflowFailException``: retrying would not change the data);
- a failed query is recorded as ERROR (state not advanced) and then fails the task with
  ``AirflowException`` so Airflow retries it and shows it red; each attempt is one evaluation;
- a state DB failure fails the task before anything is committed, so the retry redoes it;
- after the evaluation, every pending notification of the alert is delivered (this run's and
  any earlier run's); if one is still undelivered once every channel was tried, the task
  fails (``AirflowException``, or ``AirflowFailException`` when only a config fix can help);
- a retry of a run whose evaluation is already recorded only delivers, when notifications
  are still owed or when the previous try never saw its commit (the answer was lost):
  evaluating again would count the same scheduled run twice towards
  ``fire_after``/``resolve_after`` (docs/adr/0004-delivery-guarantees.md, item 5).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from sqlsentinel_airflow.airflow_contract import DRY_RUN_PARAM, EVALUATION_XCOM_KEY
from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence, StateDbConfig
from sqlsentinel_airflow.core.model import RunType

if TYPE_CHECKING:
    from sqlsentinel_airflow.evaluation import EvaluationReport
    from sqlsentinel_airflow.execution import QueryRunner
    from sqlsentinel_airflow.notify.delivery import DeliveryReport

__all__ = ["SentinelAlertOperator", "run_type_of", "state_db_url"]

log = logging.getLogger(__name__)

_RUN_TYPES = {
    "scheduled": RunType.SCHEDULED,
    "manual": RunType.MANUAL,
    "backfill": RunType.BACKFILL,
}


def run_type_of(context: Any) -> RunType:
    """The RunType of the task's DAG run (scheduled / manual / backfill / other)."""
    dag_run = context.get("dag_run") if hasattr(context, "get") else None
    raw = getattr(dag_run, "run_type", None)
    value = getattr(raw, "value", raw)
    return _RUN_TYPES.get(str(value), RunType.OTHER) if value else RunType.OTHER


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


class SentinelAlertOperator(BaseOperator):
    """Evaluate one SQL Sentinel alert: query, decide, record, and return the evaluation."""

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
        self._runner: QueryRunner | None = None
        self._runner_lock = threading.Lock()

    # -- Airflow hooks ---------------------------------------------------------------------

    def execute(self, context: Any) -> dict[str, Any]:
        from sqlsentinel_airflow.evaluation import evaluate_alert
        from sqlsentinel_airflow.notify.delivery import deliver_pending

        params = context.get("params") or {}
        dry_run = _truthy(params.get(self.dry_run_param, False))
        run_type = run_type_of(context)
        run_id = getattr(context.get("dag_run"), "run_id", None) or context.get("run_id")
        now = datetime.now(timezone.utc)
        file_silences = [silence_rules.from_file(s, now) for s in self.file_silences]
        store = self._open_store(dry_run=dry_run)
        report: EvaluationReport | None = None
        delivery: DeliveryReport | None = None
        try:
            recorded = None if dry_run else _already_evaluated(store, self.alert.name, run_id)
            if recorded is None:
                report = evaluate_alert(
                    self.alert,
                    fetch=self._fetch,
                    store=store,
                    run_type=run_type,
                    run_id=run_id,
                    dry_run=dry_run,
                    file_silences=file_silences,
                    task_log_url=self._task_log_url(run_id),
                    confirm_commit=not dry_run,
                )
            else:
                log.info(
                    "alert %s: run %s is already evaluated (%s): this attempt only delivers "
                    "what is still owed",
                    self.alert.name,
                    run_id,
                    recorded,
                )
            if store is not None and not dry_run and run_type is not RunType.BACKFILL:
                delivery = deliver_pending(self.alert, store)
        finally:
            if store is not None:
                store.dispose()
        if report is not None:
            self._log_report(report)
            result = report.to_dict()
        else:
            result = {"alert_name": self.alert.name, "dag_id": self.alert.dag_id}
            result.update(run_id=run_id, delivery_only=True)
        if delivery is not None:
            result["delivery"] = delivery.to_dict()
        undelivered = delivery is not None and not delivery.complete
        if report is not None and report.error is not None and not dry_run:
            from airflow.sdk.exceptions import AirflowException

            self.xcom_push_safely(context, result)
            extra = f"; notifications: {delivery.summary()}" if undelivered and delivery else ""
            raise AirflowException(
                f"alert {self.alert.name!r}: query failed: {report.error}{extra}"
            )
        if delivery is not None and undelivered:
            self.xcom_push_safely(context, result)
            raise _undelivered_exception(self.alert.name, delivery)
        if report is not None and report.firing and self.alert.fail_task_on_alert and not dry_run:
            from sqlsentinel_airflow.airflow_compat import AirflowFailException

            self.xcom_push_safely(context, result)
            raise AirflowFailException(
                f"alert {self.alert.name!r} is firing (fail_task_on_alert is set)"
            )
        return result

    def on_kill(self) -> None:
        with self._runner_lock:
            runner = self._runner
        if runner is not None:
            log.info("Cancelling the running query of alert %s", self.alert.name)
            runner.cancel()

    # -- pieces ------------------------------------------------------------------------------

    def _fetch(self) -> Any:
        from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

        hook = resolve_db_hook(self.alert.conn_id, self.alert.query_database_url())
        runner = QueryRunner(
            hook,
            timeout=self.alert.timeout,
            max_rows=self.alert.max_rows,
            checked_dialect=self.alert.dialect,
        )
        with self._runner_lock:
            self._runner = runner
        try:
            return runner.run(self.alert.query)
        finally:
            with self._runner_lock:
                self._runner = None

    def _task_log_url(self, run_id: str | None) -> str | None:
        """This task's page in the Airflow UI, from ``[api] base_url`` (read at run time)."""
        if not run_id:
            return None
        from sqlsentinel_airflow.airflow_compat import airflow_conf
        from sqlsentinel_airflow.core.events import task_log_url

        base_url = airflow_conf().get("api", "base_url", fallback="http://localhost:8080/")
        return task_log_url(str(base_url), self.alert.dag_id, str(run_id), self.task_id)

    def _open_store(self, *, dry_run: bool) -> Any:
        from sqlsentinel_airflow.store import StateStore

        url = state_db_url(self.state_db)
        if dry_run:
            return StateStore.open_for_reading(url)  # creates nothing, not even the file
        return StateStore.connect(url)

    def _log_report(self, report: EvaluationReport) -> None:
        prefix = "DRY RUN: " if report.dry_run else ""
        log.info(
            "%salert %s: outcome %s, state %s%s",
            prefix,
            report.alert_name,
            report.outcome,
            report.state,
            " (silenced)" if report.silenced else "",
        )
        for inst in report.instances:
            log.info(
                "  instance %s: %s -> %s (%s) value=%r threshold=%r events=%s",
                inst.instance_key or "-",
                inst.previous_state,
                inst.state,
                inst.reason,
                inst.actual_value,
                inst.threshold,
                ",".join(inst.events) or "none",
            )
        if report.error:
            log.error("query failed: %s", report.error)

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


def _already_evaluated(store: Any, alert_name: str, run_id: str | None) -> str | None:
    """Why this try must not evaluate again, or None when it evaluates (ADR 0004, item 5).

    The alert's latest evaluation belongs to this run and succeeded, and either
    - the try that wrote it never saw its commit answer (its rows are still unconfirmed): an
      Airflow retry after a lost answer; the run has been counted once already; or
    - notifications are still owed: a retry after a failed delivery.
    A failed query is evaluated again (ADR 0002), and so is a run whose evaluation was seen
    committed and fully delivered: that is a task cleared on purpose to evaluate again.
    """
    if store is None or not run_id:
        return None
    latest = store.history(alert_name=alert_name, limit=1)
    if not latest or latest[0].run_id != run_id:
        return None
    if str(getattr(latest[0].outcome, "value", latest[0].outcome)) == "ERROR":
        return None
    if latest[0].commit_confirmed is False:
        return "an earlier try committed it but never saw the commit succeed"
    if store.pending_outbox(alert_name):
        return "its notifications are still owed"
    return None


def _undelivered_exception(alert_name: str, delivery: DeliveryReport) -> Exception:
    from airflow.sdk.exceptions import AirflowException

    from sqlsentinel_airflow.airflow_compat import AirflowFailException

    text = f"alert {alert_name!r}: notifications undelivered after trying every channel: "
    text += delivery.summary()
    if delivery.retry_may_help:
        return AirflowException(text + "; a retry delivers only what is still pending")
    return AirflowFailException(
        text + "; retrying now would not help: fix the channel or its connection "
        "(pending notifications are retried by the next run; see `sqlsentinel outbox`)"
    )


def state_db_url(state_db: StateDbConfig | None) -> str:
    """The state DB URL in the order of docs/operations.md, from inside a task."""
    from sqlsentinel_airflow.store.airflow_url import (
        sqlalchemy_url_for_conn,
        state_db_conn_id_from_airflow_config,
    )
    from sqlsentinel_airflow.store.url import resolve_state_db_url

    return resolve_state_db_url(
        state_db=state_db,
        conn_url_of=sqlalchemy_url_for_conn,
        airflow_state_db_conn_id=state_db_conn_id_from_airflow_config(),
        env=os.environ,
        airflow_home=os.environ.get("AIRFLOW_HOME"),
    ).url
