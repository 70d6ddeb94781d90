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


def make_fetch(alert: AlertConfig) -> Callable[[], Any]:
    """A fetch callable for the engine: resolve the hook and run the query read-only."""

    def fetch() -> Any:
        from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook

        hook = resolve_db_hook(alert.conn_id, alert.database_url)
        runner = QueryRunner(hook, timeout=alert.timeout, max_rows=alert.max_rows)
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
    for alert in alerts:
        reports.append(
            evaluate_alert(
                alert,
                fetch=make_fetch(alert),
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

    return [deliver_pending(alert, store) for alert in alerts]
