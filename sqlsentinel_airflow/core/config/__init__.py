"""alerts.yaml: loading, validation, the resolved config models and the JSON Schema.

Use :func:`load_config` (never raises for a bad file; returns the valid alerts and every
error) or :func:`validate_config` (raises :class:`~sqlsentinel_airflow.errors.ConfigErrors`).
"""

from __future__ import annotations

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
    Severity,
    SlackChannel,
    StateDbConfig,
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
from sqlsentinel_airflow.core.redact import redact_url

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
    "Severity",
    "SlackChannel",
    "StateDbConfig",
    "UnsafeQuery",
    "WebhookChannel",
    "check_query",
    "dialect_for_conn_type",
    "dialect_for_url",
    "json_schema",
    "load_config",
    "load_config_text",
    "redact_url",
    "slugify",
    "validate_config",
]
