"""The ``sqlsentinel_config_watch`` DAG: notice edits of alerts.yaml, validate them, apply them.

Created by the same ``load_alert_dags`` call as the alert DAGs (ADR 6). Three tasks:

1. ``wait_for_change`` (``ConfigChangeSensor``, deferrable): waits in the triggerer until the
   content of the watched file(s) differs from the baseline the last run recorded (an edit,
   a new file, a deleted file);
2. ``validate_config``: validates the file(s) as the DAG factory does, records the new
   baseline, logs the diff of alerts (added / removed / changed) and returns it as XCom. If
   the file is invalid it logs every validation message, sends an ``error`` notification
   to ``defaults.notify``, asks for the re-parse (so the errors show in the UI at once) and
   fails without retry: a red run whose log holds the exact messages. The alert DAGs keep
   running their last valid version meanwhile (the factory's fallback);
3. ``request_reparse``: ``PUT /api/v2/parseDagFile`` through the ``sqlsentinel_airflow_api``
   http connection (``reparse.py``); without it the normal parse interval applies.

Schedule: ``@continuous`` with ``max_active_runs=1``. One run is always alive, mostly as a
deferred sensor costing no worker slot; when it ends the next one starts at once, so a
change is noticed within the trigger's poll interval (5 s) and every run in the UI is one
change. A cron schedule would either add up to a minute of latency or pile up runs behind
the waiting sensor. The baseline lives in an Airflow Variable (``sensors/config_change.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from sqlsentinel_airflow.airflow_contract import (
    DEFAULT_API_CONN_ID,
    REQUEST_REPARSE_TASK_ID,
    SENTINEL_OWNER,
    SENTINEL_TAG,
    VALIDATE_CONFIG_TASK_ID,
    WAIT_FOR_CHANGE_TASK_ID,
    WATCH_TAG,
    baseline_variable_name,
)
from sqlsentinel_airflow.core.config.models import ChannelConfig
from sqlsentinel_airflow.operators.config_watch import (
    RequestReparseOperator,
    ValidateAlertsConfigOperator,
)
from sqlsentinel_airflow.sensors.config_change import ConfigChangeSensor

__all__ = ["build_config_watch_dag"]

_START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")


def build_config_watch_dag(
    *,
    dag_id: str,
    path_or_glob: str,
    base_dir: str | None = None,
    default_notify: Sequence[ChannelConfig] = (),
    api_conn_id: str = DEFAULT_API_CONN_ID,
    poll_interval: float = 5.0,
) -> DAG:
    """The config-watch DAG for the alerts file(s) ``path_or_glob`` (absolute path or glob).

    ``base_dir`` is the DAG file's folder (messages name files relative to it, as the
    factory's do); ``default_notify`` is ``defaults.notify`` of the last valid version,
    used when the new file is too broken to say whom to notify.
    """
    doc = (
        "### SQL Sentinel: configuration watch\n\n"
        f"Watches `{path_or_glob}`. When its content changes, `{VALIDATE_CONFIG_TASK_ID}` "
        "validates "
        "it and returns the diff of alerts (added / removed / changed) as XCom; an invalid "
        "file fails that task with the validation messages and notifies `defaults.notify` "
        f"(the alerts keep running their last valid version). Then `{REQUEST_REPARSE_TASK_ID}` "
        "asks "
        f"Airflow to re-parse the alerts DAG file through the http connection `{api_conn_id}`"
        " (without it, the normal parse interval applies).\n\n"
        f"The last validated state is kept in the Variable `{baseline_variable_name(dag_id)}`."
    )
    dag = DAG(
        dag_id=dag_id,
        dag_display_name="SQL Sentinel: configuration watch",
        description=f"Validates and applies edits of {path_or_glob}",
        schedule="@continuous",
        start_date=_START_DATE,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=[SENTINEL_TAG, WATCH_TAG],
        doc_md=doc,
        default_args={"owner": SENTINEL_OWNER, "retries": 0},
    )
    variable = baseline_variable_name(dag_id)
    wait = ConfigChangeSensor(
        task_id=WAIT_FOR_CHANGE_TASK_ID,
        path_or_glob=path_or_glob,
        baseline_variable=variable,
        poll_interval=poll_interval,
        # It reads the baseline Variable through the API at start: a hiccup there must not
        # turn the watch red (it waits in the triggerer, so a retry costs nothing).
        retries=2,
        retry_delay=timedelta(seconds=15),
        dag=dag,
    )
    validate = ValidateAlertsConfigOperator(
        task_id=VALIDATE_CONFIG_TASK_ID,
        path_or_glob=path_or_glob,
        baseline_variable=variable,
        base_dir=base_dir,
        default_notify=default_notify,
        api_conn_id=api_conn_id,
        # A state write through the API can hiccup; an invalid file fails without retry.
        retries=2,
        retry_delay=timedelta(seconds=15),
        execution_timeout=timedelta(minutes=5),
        dag=dag,
    )
    reparse = RequestReparseOperator(
        task_id=REQUEST_REPARSE_TASK_ID,
        api_conn_id=api_conn_id,
        execution_timeout=timedelta(minutes=2),
        dag=dag,
    )
    wait >> validate >> reparse
    return dag
