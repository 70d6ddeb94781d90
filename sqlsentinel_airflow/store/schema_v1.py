"""The schema as it was at version 1: a frozen copy. Never edit it.

Migration steps describe how the schema *changed*, so the first step needs the tables as they
were when it was written, not as ``tables.py`` describes them today (a column added to
``tables.py`` later must be added by its own step, and creating it already in step 1 would
break that step on upgraded databases).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from sqlsentinel_airflow.store.tables import (
    NAME_LENGTH,
    TABLE_PREFIX,
    Id,
    JsonText,
    LongText,
    UtcDateTime,
)

__all__ = ["v1_metadata"]


def table_kwargs() -> dict[str, Any]:
    return {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def v1_metadata() -> MetaData:
    """A fresh MetaData holding the version-1 tables."""
    v1 = MetaData()
    Table(
        f"{TABLE_PREFIX}state",
        v1,
        Column("alert_name", String(NAME_LENGTH), primary_key=True),
        Column("key_hash", String(40), primary_key=True),  # sha1 hex of instance_key
        Column("instance_key", LongText, nullable=False),
        Column("state", String(16), nullable=False),
        Column("last_good_state", String(16), nullable=False),
        Column("consecutive_alerts", Integer, nullable=False),
        Column("consecutive_oks", Integer, nullable=False),
        Column("consecutive_errors", Integer, nullable=False),
        Column("state_since", UtcDateTime),
        Column("firing_since", UtcDateTime),
        Column("firing_notified", Boolean, nullable=False),
        Column("last_notified_at", UtcDateTime),
        Column("error_notified", Boolean, nullable=False),
        Column("last_evaluated_at", UtcDateTime),
        Column("last_outcome", String(16)),
        Column("last_value", JsonText),
        Column("last_threshold", JsonText),
        Column("last_context", JsonText),
        Column("last_error", LongText),
        Column("key_values", JsonText),
        **table_kwargs(),
    )

    Table(
        f"{TABLE_PREFIX}silences",
        v1,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("match", String(NAME_LENGTH), nullable=False),
        Column("starts_at", UtcDateTime, nullable=False),
        Column("ends_at", UtcDateTime, nullable=False),
        Column("reason", LongText, nullable=False),
        Column("author", String(NAME_LENGTH), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("ended_at", UtcDateTime),
        Column("source", String(16), nullable=False),
        Index(f"ix_{TABLE_PREFIX}silences_ends_at", "ends_at"),
        **table_kwargs(),
    )

    Table(
        f"{TABLE_PREFIX}history",
        v1,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("alert_name", String(NAME_LENGTH), nullable=False),
        Column("instance_key", LongText, nullable=False),
        Column("evaluated_at", UtcDateTime, nullable=False),
        Column("run_type", String(16), nullable=False),
        Column("run_id", String(NAME_LENGTH)),
        Column("outcome", String(16), nullable=False),
        Column("state", String(16), nullable=False),
        Column("reason", String(NAME_LENGTH)),
        Column("actual_value", JsonText),
        Column("threshold", JsonText),
        Column("context", JsonText),
        Column("key_values", JsonText),
        Column("error", LongText),
        Column("duration_ms", Integer),
        Column("events", JsonText),
        Column("dag_id", String(NAME_LENGTH)),
        # newest-first pages per alert (ids grow with time: evaluations of an alert are serialised)
        Index(f"ix_{TABLE_PREFIX}history_alert_id", "alert_name", "id"),
        **table_kwargs(),
    )

    Table(
        f"{TABLE_PREFIX}outbox",
        v1,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False),  # uuid of the event; one row per channel
        Column("alert_name", String(NAME_LENGTH), nullable=False),
        Column("instance_key", LongText, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("channel_id", String(NAME_LENGTH), nullable=False),
        Column("channel_kind", String(32), nullable=False),
        Column("payload", JsonText, nullable=False),
        Column("idempotency_key", String(NAME_LENGTH), nullable=False),
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("last_error", LongText),
        Column("created_at", UtcDateTime, nullable=False),
        Column("last_attempt_at", UtcDateTime),
        Column("delivered_at", UtcDateTime),
        Column("run_id", String(NAME_LENGTH)),
        UniqueConstraint("idempotency_key", name=f"uq_{TABLE_PREFIX}outbox_idempotency_key"),
        # pending_outbox(alert) oldest first; outbox(status=...) listings
        Index(f"ix_{TABLE_PREFIX}outbox_status_alert_id", "status", "alert_name", "id"),
        Index(f"ix_{TABLE_PREFIX}outbox_alert_id", "alert_name", "id"),
        **table_kwargs(),
    )

    Table(
        f"{TABLE_PREFIX}alert_lock",
        v1,
        Column("alert_name", String(NAME_LENGTH), primary_key=True),
        **table_kwargs(),
    )

    Table(
        f"{TABLE_PREFIX}schema_version",
        v1,
        Column("version", Integer, primary_key=True, autoincrement=False),
        Column("description", String(NAME_LENGTH), nullable=False),
        Column("applied_at", UtcDateTime, nullable=False),
        **table_kwargs(),
    )
    return v1
