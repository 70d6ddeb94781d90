"""Airflow names that moved between the supported releases, imported from where they live.

Supported: Airflow 3.1, 3.2 and 3.3 (docs/compatibility.md). The task SDK (``airflow.sdk``)
gained names over these releases that 3.1 has only in ``airflow.*``; each name here is taken
from the task SDK first (newer releases warn on the old location), then from its 3.1 home.
On 3.1 the task SDK itself raises and catches those ``airflow.*`` classes, so catching the
name imported here catches what the running Airflow raises.

This module imports Airflow: import it only where Airflow is needed (a task, a hook call).
``tests/compat/import_audit.py`` checks every ``airflow.*`` import of the package against
each release of the compatibility matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlsentinel_airflow.core.redact import is_maskable

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowFailException  # type: ignore[no-redef,assignment]

try:
    from airflow.sdk.exceptions import AirflowNotFoundException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import (  # type: ignore[no-redef,assignment,attr-defined]
        AirflowNotFoundException,
    )

try:
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowSkipException  # type: ignore[no-redef,assignment]

try:  # Airflow 3.2+: the task SDK's timetables
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable
except ImportError:  # Airflow 3.1: the timetables live in airflow-core
    from airflow.timetables.assets import (  # type: ignore[no-redef,assignment]
        AssetOrTimeSchedule,
    )
    from airflow.timetables.trigger import (  # type: ignore[no-redef,assignment]
        CronTriggerTimetable,
    )

T = TypeVar("T")

__all__ = [
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "AssetOrTimeSchedule",
    "CronTriggerTimetable",
    "airflow_conf",
    "api_base_url",
    "configured_api_base_url",
    "evaluate_xcoms_of_run",
    "listener_hookimpl",
    "mask_in_task_logs",
    "run_in_own_session",
    "set_run_note",
]


def airflow_conf() -> Any:
    """Airflow's configuration parser (``conf.get(section, key, fallback=...)``)."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.1: no task-SDK configuration module yet
        from airflow.configuration import conf
    return conf


def api_base_url() -> str:
    """Where people reach this Airflow's UI: ``[api] base_url``, read when a message is built."""
    return str(airflow_conf().get("api", "base_url", fallback="http://localhost:8080/"))


def configured_api_base_url() -> str | None:
    """``[api] base_url`` as set, or None when it is not: Airflow cannot guess the address
    people reach it at, so messages leave out the links that need it rather than show a
    wrong one."""
    value = airflow_conf().get("api", "base_url", fallback=None)
    text = str(value).strip() if value else ""
    return text or None


def mask_in_task_logs(*secrets: str | None) -> None:
    """Register secrets with Airflow's task-log masker, so task logs hide them wherever they
    appear. The one wrapper: values too short to mask (``core.redact.MIN_SECRET_LENGTH``)
    are skipped here, for every caller alike."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older task SDKs
        return
    for secret in secrets:
        if secret is not None and is_maskable(secret):
            mask_secret(secret)


# --- scheduler side: the run-note listener (docs/adr/0010-run-notes.md) ---------------------
# These run inside Airflow's scheduler (and the api-server, dag.test()), where the metadata
# database is Airflow's own to use; never from task code (Airflow 3 refuses the ORM there).


def listener_hookimpl() -> Any:
    """The marker of an Airflow listener implementation (pluggy's, project "airflow")."""
    try:
        from airflow.listeners import hookimpl
    except ImportError:  # pragma: no cover - the marker is pluggy's, whatever Airflow exports
        import pluggy

        return pluggy.HookimplMarker("airflow")
    return hookimpl


def evaluate_xcoms_of_run(
    dag_run: Any, session: Any, task_id: str, keys: tuple[str, ...]
) -> dict[str, Any]:
    """``{key: deserialized value}`` of ``task_id``'s XComs in ``dag_run`` (unmapped), read
    in the scheduler's own session."""
    from airflow.models.xcom import XComModel
    from sqlalchemy import select

    rows = session.execute(
        select(XComModel.key, XComModel.value).where(
            XComModel.dag_run_id == dag_run.id,
            XComModel.task_id == task_id,
            XComModel.map_index == -1,
            XComModel.key.in_(keys),
        )
    ).all()
    return {row.key: XComModel.deserialize_value(row) for row in rows}


def run_in_own_session(dag_run: Any, work: Callable[[Any, Any], T]) -> T | None:
    """``work(run, session)`` on ``dag_run`` loaded in a session of its own, committed after.

    For a run the caller holds detached (``dag.test()`` finishes its run outside any
    session); the scheduler's runs are attached and written in the scheduler's session."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = session.get(DagRun, dag_run.id)
        return None if run is None else work(run, session)


def set_run_note(dag_run: Any, text: str, *, ours: Callable[[str], bool]) -> bool:
    """Set ``dag_run``'s note to ``text`` unless a person wrote one (a note with a user, or
    text ``ours`` does not recognise); True when set. Flushed with the caller's session."""
    current = getattr(dag_run, "dag_run_note", None)
    content = getattr(current, "content", None)
    if content and (getattr(current, "user_id", None) is not None or not ours(content)):
        return False
    dag_run.note = text
    return True
