"""``sqlsentinel run``: evaluate alerts now through Airflow connections, outside a DAG run.

Connections resolve the normal Airflow way (``AIRFLOW_CONN_*`` env vars, secrets backends,
the metadata DB when configured). Each alert is evaluated with the same engine the operator
uses (``sqlsentinel_airflow.evaluation``); run type ``cli`` is recorded in history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.config.models import AlertConfig, AlertsConfig
from sqlsentinel_airflow.core.model import RunType
from sqlsentinel_airflow.evaluation import EvaluationReport, evaluate_alert

if TYPE_CHECKING:
    from sqlsentinel_airflow.notify.delivery import DeliveryReport

__all__ = ["deliver_notifications", "make_fetch", "run_alerts"]


def make_fetch(
    alert: AlertConfig, hooks: dict[tuple[str | None, str | None], Any] | None = None
) -> Callable[[], Any]:
    """A fetch callable for the engine: resolve the hook and run the query read-only.

    ``hooks`` (shared by the alerts of one run) keeps the hook of each connection once it
    resolved, so a run of many alerts on one connection looks the connection up once.
    """

    def fetch() -> Any:
        from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

        where = (alert.conn_id, alert.query_database_url())
        hook = hooks.get(where) if hooks is not None else None
        if hook is None:
            hook = resolve_db_hook(*where)
            if hooks is not None:
                hooks[where] = hook
        runner = QueryRunner(
            hook, timeout=alert.timeout, max_rows=alert.max_rows, checked_dialect=alert.dialect
        )
        return runner.run(alert.query)

    return fetch


def run_alerts(
    config: AlertsConfig,
    alerts: Sequence[AlertConfig],
    *,
    store: Any,
    dry_run: bool,
    on_done: Callable[[str], None] | None = None,
) -> list[EvaluationReport]:
    now = datetime.now(timezone.utc)
    file_silences = [silence_rules.from_file(s, now) for s in config.silences]
    reports = []
    hooks: dict[tuple[str | None, str | None], Any] = {}
    for alert in alerts:
        reports.append(
            evaluate_alert(
                alert,
                fetch=make_fetch(alert, hooks),
                store=store,
                run_type=RunType.CLI,
                run_id=None,
                dry_run=dry_run,
                file_silences=file_silences,
            )
        )
        if on_done is not None:
            on_done(alert.name)
    return reports


def deliver_notifications(alerts: Sequence[AlertConfig], *, store: Any) -> list[DeliveryReport]:
    """Deliver every pending notification of ``alerts`` (this run's and earlier ones)."""
    from sqlsentinel_airflow.notify.delivery import deliver_pending

    pending = store.pending_outbox_by_alert([a.name for a in alerts])
    return [deliver_pending(alert, store, pending=pending[alert.name]) for alert in alerts]
