"""The state database's tables as the code reads and writes them (the current schema version).

SQLAlchemy Core, every table prefixed ``sqlsentinel_`` so the store can share a database
(even Airflow's own) without clashing. The tables are *created* by ``migrations.py``, never
from this module: a test checks that migrating an empty database yields exactly these tables,
columns and indexes, so the two cannot drift apart.

Portability decisions (SQLite, PostgreSQL, MariaDB/MySQL):
- Datetimes are timezone-aware UTC in Python. PostgreSQL stores ``timestamptz``; the others
  store naive UTC with microseconds (MySQL needs ``DATETIME(6)`` for that), see
  :class:`UtcDateTime`.
- JSON values are text written with ``json.dumps`` (:class:`JsonText`); no JSON column types,
  whose behaviour differs per database.
- The state primary key is ``(alert_name, key_hash)``: the instance key of a keyed alert can
  be long, and MariaDB limits index length, so the key is hashed (sha1) and the full key kept
  in a TEXT column.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = [
    "NAME_LENGTH",
    "TABLE_PREFIX",
    "Id",
    "JsonText",
    "LongText",
    "UtcDateTime",
    "action_tokens",
    "alert_lock",
    "history",
    "history_compaction",
    "incident_actions",
    "incidents",
    "inserted_id",
    "metadata",
    "outbox",
    "schema_version",
    "silences",
    "state",
    "table_kwargs",
]

TABLE_PREFIX = "sqlsentinel_"
NAME_LENGTH = 250  # alert names, conn ids, run ids: fits a MariaDB index in utf8mb4

_MYSQL = ("mysql", "mariadb")


def table_kwargs() -> dict[str, Any]:
    """Options every table gets on MySQL/MariaDB (ignored elsewhere).

    A binary collation makes names compare case-sensitively, as on PostgreSQL and SQLite:
    MySQL's default collation would let ``Revenue`` and ``revenue`` share one state row.
    """
    return {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in Python, on every database.

    Naive datetimes are refused rather than guessed: a naive value reaching the store is a bug
    that would silently shift times by the machine's UTC offset.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} given to the state store: "
                "pass a timezone-aware datetime (e.g. datetime.now(timezone.utc))"
            )
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return utc_datetime(value) if value is not None else None


def utc_datetime(value: datetime) -> datetime:
    """A stored time as :class:`UTCDateTime` reads it: in UTC, naive taken as UTC (for a read
    that bypasses the column's processing: the recent values' arrays)."""
    if value.tzinfo is timezone.utc:  # psycopg2 in a UTC session: nothing to convert
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class LongText(TypeDecorator[str]):
    """Unbounded text: TEXT, except MEDIUMTEXT on MySQL whose TEXT stops at 64 KB."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.MEDIUMTEXT())
        return dialect.type_descriptor(Text())


# What json.loads calls (C if built); typeshed does not declare the attribute.
_scan_json: Callable[[str | bytes, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class JsonText(TypeDecorator[Any]):
    """A JSON-safe Python value stored as ``json.dumps`` text; SQL NULL for None."""

    impl = LongText
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return json_from_text(value)


def json_from_text(text: str | bytes | None) -> Any:
    """``json.loads`` of what :class:`JsonText` stored (None for NULL), faster: the plain
    integers and the empty object most values are first, then json's C scanner alone (a state
    row holds four small JSON texts, and json.loads's checks around the scanner were three
    quarters of decoding one; the overview reads ~12,000). Anything the scanner does not take
    whole (whitespace around it, a bad text) goes to json.loads, which decodes it or raises as
    before; so do bytes, which a driver may return and the scanner does not take."""
    if text is None:
        return None
    if isinstance(text, str):
        if text.isascii() and (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())):
            if text.lstrip("-")[:1] != "0" or text.lstrip("-") == "0":  # JSON has no 007
                return int(text)
        elif text == "{}":
            return {}
    try:
        found, end = _scan_json(text, 0)
    except (StopIteration, TypeError):
        return json.loads(text)
    return found if end == len(text) else json.loads(text)


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row an ``INSERT`` just created."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - only for executemany, which the store never does
        raise RuntimeError("no primary key returned by the insert")
    return int(key[0])


# BIGINT ids, except on SQLite where only INTEGER PRIMARY KEY autoincrements (rowid alias).
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

state = Table(
    f"{TABLE_PREFIX}state",
    metadata,
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
    # v9: flap detection (core/state_machine.py): when the instance began to flap (NULL: it
    # does not), its recent OK<->FIRING changes (a JSON list of RFC 3339 times; NULL: none),
    # whether the flapping event went out (NULL: no)
    Column("flapping_since", UtcDateTime),
    Column("flap_changes", JsonText),
    Column("flap_notified", Boolean),
    # v12: the current incident's acknowledgement (NULL: none) and the escalation steps sent
    # in it (NULL: none), both cleared when it resolves (docs/responding.md)
    Column("acked_at", UtcDateTime),
    Column("acked_by", String(NAME_LENGTH)),
    Column("ack_comment", LongText),
    Column("ack_source", String(16)),
    Column("ack_value", JsonText),
    Column("escalation_steps", Integer),
    # v13: the parent alerts (depends_on) that inhibited its last evaluation, a JSON list of
    # names (NULL: none; core/inhibition.py)
    Column("inhibited_by", JsonText),
    **table_kwargs(),
)

silences = Table(
    f"{TABLE_PREFIX}silences",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("match", String(NAME_LENGTH), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("reason", LongText, nullable=False),
    Column("author", String(NAME_LENGTH), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("source", String(16), nullable=False),
    # v6: the one instance a silence covers (its instance_key); NULL: every instance
    Column("instance_key", LongText),
    Index(f"ix_{TABLE_PREFIX}silences_ends_at", "ends_at"),
    **table_kwargs(),
)

history = Table(
    f"{TABLE_PREFIX}history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_name", String(NAME_LENGTH), nullable=False),
    Column("instance_key", LongText, nullable=False),
    Column("evaluated_at", UtcDateTime, nullable=False),
    Column("run_type", String(16), nullable=False),
    Column("run_id", String(NAME_LENGTH)),
    Column("outcome", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    # v5: the reason's code (``first_firing``, ``Reason.code``), no longer its English text
    Column("reason", String(NAME_LENGTH)),
    Column("actual_value", JsonText),
    Column("threshold", JsonText),
    Column("context", JsonText),
    Column("key_values", JsonText),
    Column("error", LongText),
    Column("duration_ms", Integer),
    Column("events", JsonText),
    Column("dag_id", String(NAME_LENGTH)),
    # v4: False while the evaluating task has not yet seen its transaction commit; NULL when
    # no task waits for the answer (`sqlsentinel run`, backfills) or the row predates v4.
    # A retry that finds False only delivers (docs/adr/0004-delivery-guarantees.md, item 5).
    Column("commit_confirmed", Boolean),
    # v8: a quiet run (store/compaction.py): the evaluations after this one that changed
    # nothing, folded into it by `sqlsentinel purge` once they are old enough. NULL on a row
    # that stands for itself alone. ``samples``: JSON [[microseconds after the previous one,
    # actual_value, duration_ms], ...], one per folded evaluation, in order.
    Column("repeats", Integer),
    Column("last_evaluated_at", UtcDateTime),
    Column("samples", LongText),
    # v13: the parent alerts (depends_on) firing or failing at this evaluation, a JSON list
    # of names (NULL: none); reason `inhibited` says a notification was held for them
    Column("inhibited_by", JsonText),
    # newest-first pages per alert (ids grow with time: evaluations of an alert are serialised)
    Index(f"ix_{TABLE_PREFIX}history_alert_id", "alert_name", "id"),
    # v2: retention purge and time-range reads across alerts
    Index(f"ix_{TABLE_PREFIX}history_evaluated_at", "evaluated_at"),
    **table_kwargs(),
)

outbox = Table(
    f"{TABLE_PREFIX}outbox",
    metadata,
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
    # v3: a deliverer's claim on the row while it sends (see StateStore.claim_outbox_row)
    Column("claimed_until", UtcDateTime),
    Column("claim_token", String(36)),
    # v6: where the row goes, as far as that is not secret (email addresses, a Slack channel,
    # a webhook's host); NULL on rows written before v6
    Column("destination", String(NAME_LENGTH)),
    # v10: a grouped message (docs/adr/0013-grouped-messages.md): the events the row carries,
    # JSON [{instance_key, kind, event_id}, ...] in evaluation order; NULL for one event
    Column("members", JsonText),
    # v11: grouped across alerts (docs/adr/0016-groups-across-alerts.md): the row's group
    # (NULL: not grouped across alerts) and the message that carries it, written when a
    # deliverer claims the group (NULL: not claimed yet); a resend repeats that exact set
    Column("group_key", String(NAME_LENGTH)),
    Column("batch_id", String(36)),
    UniqueConstraint("idempotency_key", name=f"uq_{TABLE_PREFIX}outbox_idempotency_key"),
    # pending_outbox(alert) oldest first; outbox(status=...) listings
    Index(f"ix_{TABLE_PREFIX}outbox_status_alert_id", "status", "alert_name", "id"),
    Index(f"ix_{TABLE_PREFIX}outbox_alert_id", "alert_name", "id"),
    # v2: retention purge of delivered/dead rows
    Index(f"ix_{TABLE_PREFIX}outbox_status_created_at", "status", "created_at"),
    # v11: a group's pending rows, whichever alerts wrote them
    Index(f"ix_{TABLE_PREFIX}outbox_group_status", "group_key", "status"),
    **table_kwargs(),
)

# v7: each instance's incidents, kept up to date by the evaluation that writes their history
# rows (core/incidents.py), so listing them reads a page of this table, never the history.
incidents = Table(
    f"{TABLE_PREFIX}incidents",
    metadata,
    Column("alert_name", String(NAME_LENGTH), primary_key=True),
    Column("start_id", BigInteger, primary_key=True, autoincrement=False),  # a history id
    Column("key_hash", String(40), nullable=False),  # sha1 hex of instance_key
    Column("instance_key", LongText, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("start_run_id", String(NAME_LENGTH)),
    Column("dag_id", String(NAME_LENGTH)),
    Column("key_values", JsonText),
    Column("end_id", BigInteger),  # NULL while it goes on
    Column("ended_at", UtcDateTime),
    Column("end_run_id", String(NAME_LENGTH)),
    Column("evaluations", Integer, nullable=False),
    Column("silenced", Integer, nullable=False),
    Column("peak_id", BigInteger),
    Column("peak_at", UtcDateTime),
    Column("peak_value", JsonText),
    Column("peak_threshold", JsonText),
    Column("peak_direction", String(8)),
    Column("peak_ranked", Boolean, nullable=False),
    Column("notifications", JsonText),
    Column("error", LongText),
    # the incidents still open, read by an evaluation of an instance that is in one
    Index(f"ix_{TABLE_PREFIX}incidents_alert_end", "alert_name", "end_id"),
    # retention purge
    Index(f"ix_{TABLE_PREFIX}incidents_ended_at", "ended_at"),
    **table_kwargs(),
)

# v8: how far each alert's history has been compacted (store/compaction.py): every row up to
# ``through_id`` was looked at, so the next pass starts after it.
history_compaction = Table(
    f"{TABLE_PREFIX}history_compaction",
    metadata,
    Column("alert_name", String(NAME_LENGTH), primary_key=True),
    Column("through_id", BigInteger, nullable=False),
    **table_kwargs(),
)

# v12: what people and the escalation ladder did to incidents (acknowledged, unacknowledged,
# rearmed, escalated): an incident's timeline beside its evaluations (docs/responding.md)
incident_actions = Table(
    f"{TABLE_PREFIX}incident_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("alert_name", String(NAME_LENGTH), nullable=False),
    Column("instance_key", LongText, nullable=False),
    Column("firing_since", UtcDateTime),  # the incident
    Column("action", String(32), nullable=False),
    Column("actor", String(NAME_LENGTH), nullable=False),
    Column("source", String(16), nullable=False),
    Column("comment", LongText),
    Column("detail", JsonText),
    Column("at", UtcDateTime, nullable=False),
    Index(f"ix_{TABLE_PREFIX}incident_actions_alert_at", "alert_name", "at"),
    **table_kwargs(),
)

# v12: the email action links already used (docs/responding.md): a link works once; the
# primary key makes a second use fail in the database, not in a read-then-write
action_tokens = Table(
    f"{TABLE_PREFIX}action_tokens",
    metadata,
    Column("token_id", String(64), primary_key=True),
    Column("action", String(32), nullable=False),
    Column("alert_name", String(NAME_LENGTH), nullable=False),
    Column("instance_key", LongText, nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
    Column("used_by", String(NAME_LENGTH), nullable=False),
    Index(f"ix_{TABLE_PREFIX}action_tokens_used_at", "used_at"),
    **table_kwargs(),
)

alert_lock = Table(
    f"{TABLE_PREFIX}alert_lock",
    metadata,
    Column("alert_name", String(NAME_LENGTH), primary_key=True),
    **table_kwargs(),
)

schema_version = Table(
    f"{TABLE_PREFIX}schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(NAME_LENGTH), nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
    **table_kwargs(),
)
