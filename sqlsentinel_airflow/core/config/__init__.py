"""alerts.yaml: loading, validation, the resolved config models and the JSON Schema.

Use :func:`load_config` (never raises for a bad file; returns the valid alerts and every
error) or :func:`validate_config` (raises :class:`~sqlsentinel_airflow.errors.ConfigErrors`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlsentinel_airflow.core.config.loader import (
        ConnTypeOf,
        LoadResult,
        load_config,
        load_config_text,
        validate_config,
    )
    from sqlsentinel_airflow.core.config.models import (
        DEFAULT_DAG_ID_PREFIX,
        AlertConfig,
        AlertsConfig,
        ChannelConfig,
        DatabaseConfig,
        EmailChannel,
        FileSilence,
        PagerDutyChannel,
        Severity,
        SlackChannel,
        StateDbConfig,
        TeamsChannel,
        WebhookChannel,
        slugify,
    )
    from sqlsentinel_airflow.core.config.schema import json_schema
    from sqlsentinel_airflow.core.config.sqlcheck import (
        UnsafeQuery,
        check_query,
        dialect_for_conn_type,
        dialect_for_url,
    )

# Imported on first use (PEP 562): a task start imports ``core.config.models`` through this
# package, and must not pay for the loader and sqlglot, which only validation needs.
_LAZY = {
    "ConnTypeOf": "loader",
    "LoadResult": "loader",
    "load_config": "loader",
    "load_config_text": "loader",
    "validate_config": "loader",
    "DEFAULT_DAG_ID_PREFIX": "models",
    "AlertConfig": "models",
    "AlertsConfig": "models",
    "ChannelConfig": "models",
    "DatabaseConfig": "models",
    "EmailChannel": "models",
    "FileSilence": "models",
    "PagerDutyChannel": "models",
    "Severity": "models",
    "SlackChannel": "models",
    "StateDbConfig": "models",
    "TeamsChannel": "models",
    "WebhookChannel": "models",
    "slugify": "models",
    "json_schema": "schema",
    "UnsafeQuery": "sqlcheck",
    "check_query": "sqlcheck",
    "dialect_for_conn_type": "sqlcheck",
    "dialect_for_url": "sqlcheck",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_DAG_ID_PREFIX",
    "AlertConfig",
    "AlertsConfig",
    "ChannelConfig",
    "ConnTypeOf",
    "DatabaseConfig",
    "EmailChannel",
    "FileSilence",
    "LoadResult",
    "PagerDutyChannel",
    "Severity",
    "SlackChannel",
    "StateDbConfig",
    "TeamsChannel",
    "UnsafeQuery",
    "WebhookChannel",
    "check_query",
    "dialect_for_conn_type",
    "dialect_for_url",
    "json_schema",
    "load_config",
    "load_config_text",
    "slugify",
    "validate_config",
]
