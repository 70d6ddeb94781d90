"""The plugin's Airflow listener: writes what an alert run found into the DAG-run note.

Registered through the plugin (``SqlSentinelPlugin.listeners``). Airflow calls it where a
DAG run finishes: in the scheduler (and in the api-server when someone marks a run, and in
``dag.test()``), with the run still in the caller's session. That is the place Airflow 3
allows metadata-database writes: task code may not use the ORM, and the task SDK's
execution API has no call that sets a note. The decision is docs/adr/0010-run-notes.md.

It reads the evaluate task's XCom of the run (the run's JSON, ``AlertRun.to_dict()``) and
sets the note to :func:`sqlsentinel_airflow.run_note.note_text` of it; a note a person
wrote is kept. A run of another DAG, or without that XCom, costs one indexed query at most
and is left alone. Nothing here raises: a failure is logged, and the run's state is never
touched (a firing alert's run stays green).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlsentinel_airflow.airflow_compat import listener_hookimpl
from sqlsentinel_airflow.airflow_contract import (
    EVALUATE_TASK_ID,
    EVALUATION_XCOM_KEY,
    INVALID_TAG,
    SENTINEL_TAG,
)

__all__ = ["annotate_run", "on_dag_run_failed", "on_dag_run_success"]

log = logging.getLogger(__name__)

hookimpl = listener_hookimpl()
_RETURN_VALUE = "return_value"


def _is_alert_dag(dag_run: Any) -> bool | None:
    """True/False when the run's DAG tags tell; None when they are not at hand."""
    dag = getattr(dag_run, "dag", None)
    tags = getattr(dag, "tags", None)
    if tags is None:
        return None
    tags = set(tags)
    return SENTINEL_TAG in tags and INVALID_TAG not in tags


def annotate_run(dag_run: Any, *, failed: bool) -> str | None:
    """Set the note of an alert's finished ``dag_run``; the text set, or None."""
    from sqlalchemy.orm import object_session

    from sqlsentinel_airflow.airflow_compat import run_in_own_session

    alert_dag = _is_alert_dag(dag_run)
    if alert_dag is False:
        return None
    failed_alert = failed and alert_dag is True  # noted even without an evaluation
    session = object_session(dag_run)
    if session is None:  # dag.test(): the run is detached; write it in a session of our own
        return run_in_own_session(dag_run, lambda run, own: _annotate(run, own, failed_alert))
    return _annotate(dag_run, session, failed_alert)


def _annotate(dag_run: Any, session: Any, failed_alert: bool) -> str | None:
    from sqlsentinel_airflow.airflow_compat import evaluate_xcoms_of_run, set_run_note
    from sqlsentinel_airflow.run_note import NO_EVALUATION, is_run_note, note_text

    values = evaluate_xcoms_of_run(
        dag_run, session, EVALUATE_TASK_ID, (_RETURN_VALUE, EVALUATION_XCOM_KEY)
    )
    value = values.get(_RETURN_VALUE) or values.get(EVALUATION_XCOM_KEY)
    if isinstance(value, dict) and "verdict" in value:
        text = note_text(value)
    elif failed_alert:
        text = NO_EVALUATION
    else:
        return None
    return text if set_run_note(dag_run, text, ours=is_run_note) else None


@hookimpl  # type: ignore[untyped-decorator]
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    try:
        annotate_run(dag_run, failed=False)
    except Exception:  # a note is a convenience: never let it disturb the scheduler
        log.warning("sqlsentinel: could not set the note of %s", dag_run, exc_info=True)


@hookimpl  # type: ignore[untyped-decorator]
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    try:
        annotate_run(dag_run, failed=True)
    except Exception:
        log.warning("sqlsentinel: could not set the note of %s", dag_run, exc_info=True)
