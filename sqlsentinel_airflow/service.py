"""Running alerts: open the state DB, skip-or-evaluate, deliver, and say how it went.

The one run sequence both edges use: the Airflow operator (one alert per task try) and
``sqlsentinel run`` (many alerts in one process, one store, one hook per connection). Each
edge only maps the :class:`Verdict` to its own terms: the operator to Airflow exceptions
(``operators/alert.py``), the CLI to exit codes (``cli/exit_codes.py``).

The sequence (docs/adr/0002-evaluation-semantics.md, docs/adr/0004-delivery-guarantees.md):

1. open the state database through ``store.locator``: for reading only in a dry run (which
   creates nothing; no database yet means no state), for writing otherwise;
2. per alert, parents before the alerts that depend on them (``depends_on``), unless this
   Airflow try's run is already evaluated (``already_evaluated``,
   ADR 0004 item 5: a retry after a lost commit answer or a failed delivery only delivers),
   evaluate it (``evaluation.evaluate_alert``);
3. unless it is a dry run or a backfill, deliver every pending notification of the alerts
   (``notify.delivery``; one outbox read for all of them);
4. emit the metrics (``metrics.py``: per evaluation, per delivery, and the state DB's gauges);
5. return one :class:`AlertRun` per alert with its verdict.

A state DB failure raises ``StateStoreError`` (nothing is half-done: the retry redoes it).
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlsentinel_airflow import metrics
from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence, StateDbConfig
from sqlsentinel_airflow.core.dependencies import evaluation_order
from sqlsentinel_airflow.core.model import Outcome, RunType
from sqlsentinel_airflow.evaluation import EvaluationReport, QueryResultLike, evaluate_alert
from sqlsentinel_airflow.notify.delivery import (
    DeliveryReport,
    deliver_after_group_wait,
    deliver_pending,
)
from sqlsentinel_airflow.store import StateDbLocator, StateStore

if TYPE_CHECKING:
    from sqlsentinel_airflow.core.freshness import AssetEventTime
    from sqlsentinel_airflow.execution import QueryRunner
    from sqlsentinel_airflow.execution.query import QueryRows

__all__ = [
    "AlertRun",
    "QueryFetcher",
    "RunRequest",
    "Verdict",
    "already_evaluated",
    "log_decision",
    "run_alert",
    "run_alerts",
]

log = logging.getLogger(__name__)

Fetch = Callable[[], QueryResultLike]


class Verdict(str, enum.Enum):
    """How running one alert went, most serious first (an alert gets the first that holds)."""

    QUERY_FAILED = "query_failed"  # recorded as ERROR (state not advanced)
    UNDELIVERED_RETRY_MAY_HELP = "undelivered_retry_may_help"  # a failure may pass by itself
    UNDELIVERED_NEEDS_FIX = "undelivered_needs_fix"  # only a config or channel fix can help
    FIRING = "firing"  # a result, not a failure; everything owed went out
    OK = "ok"  # not firing (or this try only delivered), everything owed went out


@dataclass(frozen=True)
class RunRequest:
    """What kind of run this is, for every alert in it.

    A ``run_id`` marks an Airflow task try: Airflow may retry it, so its evaluation is
    confirmed after the commit and a retry of an evaluated run only delivers (ADR 0004,
    item 5). ``task_log_url``: the evaluating task's page, put into the event payloads;
    ``ui_base_url``: Airflow's ``[api] base_url`` (None: not set), for the payloads' links to
    the alert's tab and to a silence.
    """

    run_type: RunType
    run_id: str | None = None
    dry_run: bool = False
    task_log_url: str | None = None
    ui_base_url: str | None = None

    @property
    def delivers(self) -> bool:
        """Dry runs and backfills never notify (ADR 0002 items 5 and 6)."""
        return not self.dry_run and self.run_type is not RunType.BACKFILL


@dataclass(frozen=True)
class AlertRun:
    """One alert's run: its verdict, what the evaluation found, and what was delivered.

    ``evaluation`` is None when this try only delivered (``delivery_only_because`` says
    why); ``delivery`` is None when nothing was delivered (dry run, backfill).
    """

    alert_name: str
    dag_id: str
    run_id: str | None
    dry_run: bool
    verdict: Verdict
    evaluation: EvaluationReport | None
    delivery: DeliveryReport | None
    delivery_only_because: str | None = None

    @property
    def delivery_only(self) -> bool:
        return self.evaluation is None

    def to_dict(self) -> dict[str, Any]:
        """The operator's XCom: the evaluation (or a delivery-only marker) and the delivery."""
        if self.evaluation is not None:
            data = self.evaluation.to_dict()
        else:
            data = {"alert_name": self.alert_name, "dag_id": self.dag_id, "run_id": self.run_id}
            data["delivery_only"] = True
        data["verdict"] = self.verdict.value
        if self.delivery is not None:
            data["delivery"] = self.delivery.to_dict()
        return data


def verdict_of(evaluation: EvaluationReport | None, delivery: DeliveryReport | None) -> Verdict:
    """The verdict: a failed query first, then what is still owed, then the alert's state."""
    if evaluation is not None and evaluation.error is not None:
        return Verdict.QUERY_FAILED
    if delivery is not None and not delivery.complete:
        if delivery.retry_may_help:
            return Verdict.UNDELIVERED_RETRY_MAY_HELP
        return Verdict.UNDELIVERED_NEEDS_FIX
    if evaluation is not None and evaluation.firing:
        return Verdict.FIRING
    return Verdict.OK


class QueryFetcher:
    """Runs alert queries read-only through their Airflow connections.

    Keeps each connection's hook once resolved, so a run of many alerts on one connection
    looks it up once; :meth:`cancel` stops the query running now (the operator's
    ``on_kill``, called from another thread).
    """

    def __init__(self, asset_event_time: AssetEventTime | None = None) -> None:
        self._hooks: dict[tuple[str | None, str | None], Any] = {}  # DbApiHook-like
        self._lock = threading.Lock()
        self._running: QueryRunner | None = None
        # the time of an asset's last event: given by the operator (Airflow's inlet events);
        # None outside Airflow, where there are none (docs/freshness.md)
        self.asset_event_time = asset_event_time

    def fetch_for(self, alert: AlertConfig, sql: str | None = None) -> Fetch:
        """The engine's ``fetch`` for ``alert``: resolve its hook, run its query (or ``sql``:
        the query with its clock frozen, for an as-of backtest, which checks that text in
        the alert's dialect before it runs it: ``backtest/asof.py``). A freshness check's
        fetch reads the asset's last event or runs its MAX query (``core/freshness.py``)."""
        if alert.freshness is not None and sql is None:
            return lambda: self._check_freshness(alert)

        def fetch() -> QueryResultLike:
            hook = self._hook(alert)
            return self._run(alert, hook, alert.query if sql is None else sql)

        return fetch

    def _hook(self, alert: AlertConfig) -> Any:
        from sqlsentinel_airflow.execution import resolve_db_hook

        where = (alert.conn_id, alert.query_database_url())
        hook = self._hooks.get(where)
        if hook is None:
            hook = self._hooks[where] = resolve_db_hook(*where)
        return hook

    def _run(self, alert: AlertConfig, hook: Any, sql: str) -> QueryRows:
        from sqlsentinel_airflow.execution import QueryRunner

        runner = QueryRunner(
            hook, timeout=alert.timeout, max_rows=alert.max_rows, checked_dialect=alert.dialect
        )
        with self._lock:
            self._running = runner
        try:
            return runner.run(sql)
        finally:
            with self._lock:
                self._running = None

    def _check_freshness(self, alert: AlertConfig) -> QueryResultLike:
        from sqlsentinel_airflow.core.config.sqlcheck import dialect_for_conn_type
        from sqlsentinel_airflow.core.freshness import check_freshness, max_query

        check = alert.freshness
        assert check is not None

        def run_max_query() -> tuple[Any, bool]:
            assert check.table is not None and check.column is not None
            hook = self._hook(alert)
            # the names are quoted for the database reached (the config may not have known it)
            runs_in = dialect_for_conn_type(getattr(hook, "conn_type", None)) or alert.dialect
            sql = max_query(check.table, check.column, written_in=alert.dialect, runs_in=runs_in)
            result = self._run(alert, hook, sql)
            value = result.rows[0][0] if result.rows else None
            return value, result.backend == "sqlite"  # SQLite keeps times as ISO 8601 text

        return check_freshness(
            check,
            now=utcnow(),
            asset_event_time=self.asset_event_time,
            run_max_query=run_max_query,
        )

    def cancel(self) -> bool:
        """Cancel the query running now; False when none is."""
        with self._lock:
            runner = self._running
        if runner is None:
            return False
        runner.cancel()
        return True


def already_evaluated(store: StateStore, alert_name: str, run_id: str | None) -> str | None:
    """Why this try must not evaluate again, or None when it evaluates (ADR 0004, item 5).

    The alert's latest evaluation belongs to this run and succeeded, and either
    - the try that wrote it never saw its commit answer (its rows are still unconfirmed): an
      Airflow retry after a lost answer; the run has been counted once already; or
    - notifications are still owed: a retry after a failed delivery.
    A failed query is evaluated again (ADR 0002), and so is a run whose evaluation was seen
    committed and fully delivered: that is a task cleared on purpose to evaluate again.
    """
    if not run_id:
        return None
    latest = store.history(alert_name=alert_name, limit=1)
    if not latest or latest[0].run_id != run_id:
        return None
    if latest[0].outcome == Outcome.ERROR:
        return None
    if latest[0].commit_confirmed is False:
        return "an earlier try committed it but never saw the commit succeed"
    if store.pending_outbox(alert_name):
        return "its notifications are still owed"
    return None


def run_alerts(
    alerts: Sequence[AlertConfig],
    request: RunRequest,
    *,
    locator: StateDbLocator,
    state_db: StateDbConfig | None = None,
    explicit_url: str | None = None,
    file_silences: Sequence[FileSilence] = (),
    queries: QueryFetcher | None = None,
    reuse_connections: bool = False,
    on_evaluated: Callable[[str], None] | None = None,
) -> list[AlertRun]:
    """Run ``alerts`` (one store, one :class:`QueryFetcher`), in the order of the module doc;
    each parent is evaluated and committed before the alerts that depend on it
    (``core.dependencies``), and the runs come back in that order.

    ``state_db``/``explicit_url``: where the state DB is (``StateDbLocator.resolve``).
    ``reuse_connections``: let the queries share SQLite warehouse connections (many alerts in
    one process: reopening one cost more than its query). ``on_evaluated(name)`` after each
    alert's evaluation (progress).
    """
    from sqlsentinel_airflow.execution import reusing_connections

    # parents before their children: a child's evaluation reads its parents' committed state
    alerts = evaluation_order(alerts)
    send_metrics = metrics.enabled()
    queries = queries or QueryFetcher()
    now = utcnow()
    silences = [silence_rules.from_file(s, now) for s in file_silences]
    if request.dry_run:  # creates nothing, not even the SQLite file
        store = locator.open_for_reading(state_db, explicit_url=explicit_url)
    else:
        store = locator.open_for_writing(state_db, explicit_url=explicit_url)
    try:
        evaluations: list[tuple[EvaluationReport | None, str | None]] = []
        with reusing_connections() if reuse_connections else nullcontext():
            for alert in alerts:
                skip = None
                if store is not None and not request.dry_run:
                    skip = already_evaluated(store, alert.name, request.run_id)
                report: EvaluationReport | None = None
                if skip is None:
                    evaluated = evaluate_alert(
                        alert,
                        fetch=queries.fetch_for(alert),
                        store=store,
                        run_type=request.run_type,
                        run_id=request.run_id,
                        dry_run=request.dry_run,
                        file_silences=silences,
                        task_log_url=request.task_log_url,
                        ui_base_url=request.ui_base_url,
                        confirm_commit=request.run_id is not None and not request.dry_run,
                    )
                    log_decision(alert, evaluated)
                    if send_metrics:
                        metrics.emit_evaluation(alert, evaluated)
                    report = evaluated
                else:
                    log.info(
                        "alert %s: run %s is already evaluated (%s): this try only delivers "
                        "what is still owed",
                        alert.name,
                        request.run_id,
                        skip,
                    )
                evaluations.append((report, skip))
                if on_evaluated is not None:
                    on_evaluated(alert.name)
        deliveries = (
            _deliver(alerts, store, send_metrics) if store is not None and request.delivers else {}
        )
        if store is not None and not request.dry_run:
            metrics.emit_gauges(store)
    finally:
        if store is not None:
            store.dispose()
    runs = []
    for alert, (report, skip) in zip(alerts, evaluations, strict=True):
        delivery = deliveries.get(alert.name)
        runs.append(
            AlertRun(
                alert_name=alert.name,
                dag_id=alert.dag_id,
                run_id=request.run_id,
                dry_run=request.dry_run,
                verdict=verdict_of(report, delivery),
                evaluation=report,
                delivery=delivery,
                delivery_only_because=skip,
            )
        )
    return runs


def log_decision(alert: AlertConfig, report: EvaluationReport) -> None:
    """Log what ``report`` decided, before anything is delivered (the task log reads in the
    order things happened): one headline (the DAG-run note's text), a line per instance of a
    keyed alert or per instance that changed, and for a dry run every message it would have
    sent (``notify.preview``: event, channel, destination and the first lines, no secrets).
    """
    from sqlsentinel_airflow.core.instances import instance_label
    from sqlsentinel_airflow.notify.templates import display
    from sqlsentinel_airflow.run_note import note_text

    level = logging.ERROR if report.error else logging.INFO  # an error's text is in it
    log.log(level, "alert %s: %s", alert.name, note_text(report.to_dict()))
    keyed = bool(alert.key_columns)
    for inst in report.instances:
        changed = inst.previous_state is not inst.state or inst.events
        if not keyed and not changed and not report.dry_run:
            continue  # the headline said it all
        who = f"{instance_label(inst.key_values, 80) or 'alert-level'}: " if keyed else ""
        log.info(
            "  %s%s -> %s (%s); outcome %s, value %s, threshold %s; events: %s",
            who,
            inst.previous_state.value,
            inst.state.value,
            inst.reason.value,
            inst.outcome.value,
            display(inst.actual_value),
            display(inst.threshold),
            ", ".join(inst.events) or "none",
        )
    if not report.dry_run:
        return
    if not report.would_send:
        reaches = alert.channel_slots() or alert.escalation_slots()
        why = "no channels" if not reaches else "no event"
        log.info("DRY RUN: alert %s: nothing would be sent (%s)", alert.name, why)
        return
    from sqlsentinel_airflow.notify.preview import previews

    for message in previews(alert, list(report.would_send)):
        if message.problem:
            log.warning(
                "DRY RUN: would send %s by %s, but the channel cannot work: %s",
                message.event,
                message.channel,
                message.problem,
            )
            continue
        log.info(
            "DRY RUN: would send %s to %s %s: %s",
            message.event,
            message.channel,
            message.destination,
            message.subject,
        )
        for line in message.lines:
            log.info("    | %s", line)
    log.info("DRY RUN: nothing was sent, nothing was written to the state database")


def run_alert(
    alert: AlertConfig,
    request: RunRequest,
    *,
    locator: StateDbLocator,
    state_db: StateDbConfig | None = None,
    file_silences: Sequence[FileSilence] = (),
    queries: QueryFetcher | None = None,
) -> AlertRun:
    """Run one alert (the operator's task try); see :func:`run_alerts`."""
    (run,) = run_alerts(
        [alert],
        request,
        locator=locator,
        state_db=state_db,
        file_silences=file_silences,
        queries=queries,
    )
    return run


def _deliver(
    alerts: Sequence[AlertConfig], store: StateStore, send_metrics: bool
) -> dict[str, DeliveryReport]:
    """Every pending notification of ``alerts`` (this run's and earlier ones), oldest first."""
    pending = store.pending_outbox_by_alert([a.name for a in alerts])
    reports = {a.name: deliver_pending(a, store, pending=pending[a.name]) for a in alerts}
    # a group across alerts still gathering is sent by the task after its group_wait (ADR 16)
    done = {a.name: deliver_after_group_wait(a, store, reports[a.name]) for a in alerts}
    if send_metrics:
        for report in done.values():
            metrics.emit_delivery(report)
    return done
