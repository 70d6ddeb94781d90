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

from typing import Any

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

__all__ = [
    "AirflowFailException",
    "AirflowNotFoundException",
    "airflow_conf",
    "api_base_url",
    "configured_api_base_url",
    "mask_in_task_logs",
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
