"""Schema migrations of the state database: an ordered list of steps, applied on connect.

Schema upgrades are never manual steps (docs/operations.md): :func:`ensure_schema` runs whenever a
``StateStore`` connects. It
- creates everything on an empty database (step 1) and applies later steps in order;
- records each applied step in ``sqlsentinel_schema_version`` (one row per version);
- refuses a database whose version is newer than this code knows: an older worker must not
  write into a schema it does not understand;
- is safe when several processes start at once (scheduler, workers, CLI): the check and the
  steps run under a database-wide lock: ``pg_advisory_xact_lock`` on PostgreSQL (and
  transactional DDL), ``GET_LOCK`` on MySQL/MariaDB, ``BEGIN IMMEDIATE`` on SQLite.

MySQL commits DDL implicitly, so a crash can leave a step half-applied; every step is
therefore written to be re-runnable (``checkfirst``), and its version row is written last.

Adding a step: append a :class:`Migration` with the next version, describe the change
explicitly (never by creating from ``tables.py``), and update ``tables.py`` to match; the
integration tests compare the migrated schema with ``tables.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.types import TypeEngine

from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.incidents import IncidentFold
from sqlsentinel_airflow.core.model import RunType, State
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import rows
from sqlsentinel_airflow.store.engine import SQLITE_BEGIN_OPTION, translating_errors
from sqlsentinel_airflow.store.schema_v1 import v1_metadata
from sqlsentinel_airflow.store.tables import (
    NAME_LENGTH,
    TABLE_PREFIX,
    Id,
    JsonText,
    LongText,
    UtcDateTime,
    schema_version,
    table_kwargs,
)

__all__ = [
    "LATEST_VERSION",
    "MIGRATIONS",
    "V5_REASON_CODES",
    "Migration",
    "ensure_schema",
    "fill_incidents",
    "read_schema_version",
]

# Fixed key of the PostgreSQL advisory lock guarding migrations ("SQLSENT" in ASCII).
_PG_LOCK_KEY = 0x53514C53454E54
_MYSQL_LOCK_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Migration:
    """One schema step: ``apply`` takes the database from ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _v1_create_everything(conn: Connection) -> None:
    metadata = v1_metadata()
    _refuse_foreign_tables(conn, metadata)
    metadata.create_all(conn, checkfirst=True)


def _refuse_foreign_tables(conn: Connection, metadata: MetaData) -> None:
    """Refuse a table of ours by name that is not ours by shape (before creating anything).

    ``checkfirst`` skips existing tables, which is what makes step 1 re-runnable after a
    crash on MySQL; but a same-named table of another tool (the standalone SQL Sentinel also
    has ``sqlsentinel_state``) would then be taken for ours, the version recorded, and the
    first evaluation fail on a missing column. Say so now instead.
    """
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing = sorted(c.name for c in table.columns if c.name not in present)
        if missing:
            url = conn.engine.url.render_as_string(hide_password=True)
            raise StateStoreError(
                f"state database {url} already has a table {table.name!r} that is not "
                f"sqlsentinel-airflow's (no column {', '.join(missing)}); it may be the "
                "standalone SQL Sentinel's state database, which is not migrated: give "
                "sqlsentinel-airflow a database (or schema) of its own (docs/migrating.md)"
            )


def _v2_purge_indexes(conn: Connection) -> None:
    # Retention purge deletes by time across all alerts; without these it scans the tables.
    m = MetaData()
    hist = Table(f"{TABLE_PREFIX}history", m, Column("evaluated_at", UtcDateTime))
    box = Table(
        f"{TABLE_PREFIX}outbox", m, Column("status", String(16)), Column("created_at", UtcDateTime)
    )
    Index(f"ix_{TABLE_PREFIX}history_evaluated_at", hist.c.evaluated_at).create(
        conn, checkfirst=True
    )
    Index(f"ix_{TABLE_PREFIX}outbox_status_created_at", box.c.status, box.c.created_at).create(
        conn, checkfirst=True
    )


def _v3_outbox_claims(conn: Connection) -> None:
    # A delivery claims its row first, so two deliverers (a task and `sqlsentinel run`, say)
    # never send the same row at once; the claim lapses by itself if its holder dies.
    columns = (("claimed_until", UtcDateTime()), ("claim_token", String(36)))
    _add_missing_columns(conn, f"{TABLE_PREFIX}outbox", columns)


def _v4_history_commit_confirmed(conn: Connection) -> None:
    # A task writes its history rows unconfirmed and confirms them once it has seen the
    # commit: a retry that finds them unconfirmed knows the previous try's evaluation counted
    # and only delivers (ADR 0004, item 5). Nullable and not backfilled, so the step is
    # instant on a large history: NULL (old rows, `sqlsentinel run`) means nobody waits.
    _add_missing_columns(conn, f"{TABLE_PREFIX}history", (("commit_confirmed", Boolean()),))


# The English texts history rows held up to schema v4, and the code each stands for. Written
# out, not derived from ``Reason``: a later rewording of a text must not change what this step
# rewrites (rows.reason_from_column still reads a text it does not rewrite).
V5_REASON_CODES: dict[str, str] = {
    "first firing": "first_firing",
    "silence ended while firing": "firing_after_silence",
    "reminder due (renotify_after elapsed)": "reminder_due",
    "still firing, reminder not due": "still_firing",
    "still firing, reminders off": "still_firing_no_reminders",
    "resolved": "resolved",
    "resolved (notify_on_recovery is off)": "resolved_quietly",
    "resolved (firing was never notified)": "resolved_unnotified",
    "suppressed by fire_after": "pending_fire_after",
    "suppressed by resolve_after": "pending_resolve_after",
    "silenced": "silenced",
    "ok": "ok",
    "query failed notify_on_error times in a row": "error_notified",
    "query failed, below notify_on_error": "error_below_threshold",
    "query still failing, already notified": "error_already_notified",
    "query failed, notify_on_error is off": "error_not_notified",
    "query succeeded again": "recovered_from_error",
    "backfill runs never notify": "backfill",
}


def _v5_history_reason_codes(conn: Connection) -> None:
    # History keeps why by name (first_firing), not by the English text a person reads, so a
    # reworded text never orphans old rows. One UPDATE, one pass over the table; re-runnable
    # (a code is never one of the texts it replaces, except where the two are equal).
    hist = Table(f"{TABLE_PREFIX}history", MetaData(), Column("reason", String(NAME_LENGTH)))
    changed = {text_: code for text_, code in V5_REASON_CODES.items() if text_ != code}
    conn.execute(
        hist.update()
        .where(hist.c.reason.in_(list(changed)))
        .values(reason=case(changed, value=hist.c.reason))
    )


def _v6_instance_silences_and_destinations(conn: Connection) -> None:
    # A silence may cover one instance of a keyed alert (NULL: all of them), and a delivery
    # row names where it goes (without secrets) so the UI and `sqlsentinel outbox` can say it.
    # Both nullable, not backfilled: instant on a large outbox.
    _add_missing_columns(conn, f"{TABLE_PREFIX}silences", (("instance_key", LongText()),))
    _add_missing_columns(conn, f"{TABLE_PREFIX}outbox", (("destination", String(NAME_LENGTH)),))


def _v7_incidents(conn: Connection) -> None:
    # Incidents kept as the evaluations write history (core/incidents.py), so the UI and
    # `sqlsentinel incidents` read a page of them instead of scanning the history. The
    # table is filled from the history there is (one pass, only the rows in and right after
    # an incident reach Python); re-runnable: a crash before the version row re-fills it.
    m = MetaData()
    table = Table(
        f"{TABLE_PREFIX}incidents",
        m,
        Column("alert_name", String(NAME_LENGTH), primary_key=True),
        Column("start_id", BigInteger, primary_key=True, autoincrement=False),
        Column("key_hash", String(40), nullable=False),
        Column("instance_key", LongText, nullable=False),
        Column("kind", String(16), nullable=False),
        Column("started_at", UtcDateTime, nullable=False),
        Column("start_run_id", String(NAME_LENGTH)),
        Column("dag_id", String(NAME_LENGTH)),
        Column("key_values", JsonText),
        Column("end_id", BigInteger),
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
        Index(f"ix_{TABLE_PREFIX}incidents_alert_end", "alert_name", "end_id"),
        Index(f"ix_{TABLE_PREFIX}incidents_ended_at", "ended_at"),
        **table_kwargs(),
    )
    m.create_all(conn, checkfirst=True)
    conn.execute(table.delete())
    fill_incidents(conn, table)


def _v8_history_compaction(conn: Connection) -> None:
    # Quiet runs of history folded into one row each (store/compaction.py): three nullable
    # columns (instant on a large history: nothing is rewritten) and the per-alert watermark.
    _add_missing_columns(
        conn,
        f"{TABLE_PREFIX}history",
        (("repeats", Integer()), ("last_evaluated_at", UtcDateTime()), ("samples", LongText())),
    )
    Table(
        f"{TABLE_PREFIX}history_compaction",
        MetaData(),
        Column("alert_name", String(NAME_LENGTH), primary_key=True),
        Column("through_id", BigInteger, nullable=False),
        **table_kwargs(),
    ).create(conn, checkfirst=True)


def _v9_flap_detection(conn: Connection) -> None:
    # Flap detection remembers, per instance, when it began to flap, its recent changes and
    # whether that was announced: three nullable columns (NULL: not flapping, no change, not
    # announced), so existing rows need no rewrite.
    _add_missing_columns(
        conn,
        f"{TABLE_PREFIX}state",
        (
            ("flapping_since", UtcDateTime()),
            ("flap_changes", JsonText()),
            ("flap_notified", Boolean()),
        ),
    )


def _v10_grouped_messages(conn: Connection) -> None:
    # A grouped message is one outbox row carrying several events of one evaluation; it
    # records them (instance, kind, event id) so the outbox can say whom it covered. Nullable
    # and not backfilled (NULL: one event), so the step is instant on a large outbox.
    _add_missing_columns(conn, f"{TABLE_PREFIX}outbox", (("members", LongText()),))


def _v11_groups_across_alerts(conn: Connection) -> None:
    # A receiver's group_by (docs/adr/0016-groups-across-alerts.md): a row's group and the
    # message that carries it. Nullable (NULL: not grouped across alerts; not yet claimed),
    # so existing rows need no rewrite; one index finds a group's pending rows.
    _add_missing_columns(
        conn,
        f"{TABLE_PREFIX}outbox",
        (("group_key", String(NAME_LENGTH)), ("batch_id", String(36))),
    )
    box = Table(
        f"{TABLE_PREFIX}outbox",
        MetaData(),
        Column("group_key", String(NAME_LENGTH)),
        Column("status", String(16)),
    )
    Index(f"ix_{TABLE_PREFIX}outbox_group_status", box.c.group_key, box.c.status).create(
        conn, checkfirst=True
    )


def _v12_acknowledgements(conn: Connection) -> None:
    # Acknowledgements and escalation (docs/responding.md): six nullable state columns (NULL:
    # not acknowledged, no step sent), so existing rows need no rewrite; the incidents'
    # actions and the used email links in two new tables.
    _add_missing_columns(
        conn,
        f"{TABLE_PREFIX}state",
        (
            ("acked_at", UtcDateTime()),
            ("acked_by", String(NAME_LENGTH)),
            ("ack_comment", LongText()),
            ("ack_source", String(16)),
            ("ack_value", JsonText()),
            ("escalation_steps", Integer()),
        ),
    )
    m = MetaData()
    Table(
        f"{TABLE_PREFIX}incident_actions",
        m,
        Column("id", Id, primary_key=True, autoincrement=True),
        Column("alert_name", String(NAME_LENGTH), nullable=False),
        Column("instance_key", LongText, nullable=False),
        Column("firing_since", UtcDateTime),
        Column("action", String(32), nullable=False),
        Column("actor", String(NAME_LENGTH), nullable=False),
        Column("source", String(16), nullable=False),
        Column("comment", LongText),
        Column("detail", JsonText),
        Column("at", UtcDateTime, nullable=False),
        Index(f"ix_{TABLE_PREFIX}incident_actions_alert_at", "alert_name", "at"),
        **table_kwargs(),
    )
    Table(
        f"{TABLE_PREFIX}action_tokens",
        m,
        Column("token_id", String(64), primary_key=True),
        Column("action", String(32), nullable=False),
        Column("alert_name", String(NAME_LENGTH), nullable=False),
        Column("instance_key", LongText, nullable=False),
        Column("used_at", UtcDateTime, nullable=False),
        Column("used_by", String(NAME_LENGTH), nullable=False),
        Index(f"ix_{TABLE_PREFIX}action_tokens_used_at", "used_at"),
        **table_kwargs(),
    )
    m.create_all(conn, checkfirst=True)


def fill_incidents(conn: Connection, table: Table, *, batch: int = 1_000) -> int:
    """Fold the history (backfills left out) into ``table``, one alert at a time; returns
    the incidents written. The database keeps only the rows whose state, or the state of
    the instance's row before, is FIRING or ERROR: the rows of incidents and the rows that
    ended them; the rest of the history never reaches Python."""
    hist = Table(
        f"{TABLE_PREFIX}history",
        MetaData(),
        Column("id", BigInteger),
        Column("alert_name", String(NAME_LENGTH)),
        Column("instance_key", LongText),
        Column("evaluated_at", UtcDateTime),
        Column("run_type", String(16)),
        Column("run_id", String(NAME_LENGTH)),
        Column("outcome", String(16)),
        Column("state", String(16)),
        Column("reason", String(NAME_LENGTH)),
        Column("actual_value", JsonText),
        Column("threshold", JsonText),
        Column("context", JsonText),
        Column("key_values", JsonText),
        Column("error", LongText),
        Column("duration_ms", Integer),
        Column("events", JsonText),
        Column("dag_id", String(NAME_LENGTH)),
        Column("commit_confirmed", Boolean),
    )
    h = hist.c
    inside = [State.FIRING.value, State.ERROR.value, State.FLAPPING.value]
    alert = bindparam("alert", type_=String(NAME_LENGTH))
    before = func.lag(h.state).over(partition_by=h.instance_key, order_by=h.id)
    lagged = (
        select(*(col for col in hist.columns if col.name != "context"), before.label("before"))
        .where(h.alert_name == alert, h.run_type != RunType.BACKFILL.value)
        .subquery("lagged")
    )
    c = lagged.c
    wanted = (
        select(*(c[col.name] for col in hist.columns if col.name != "context"))
        .where(or_(c.state.in_(inside), c.before.in_(inside)))
        .order_by(c.id)
    )
    names = [n for (n,) in conn.execute(select(h.alert_name).distinct())]
    # PostgreSQL reads the rows through a server-side cursor (batch rows a fetch) beside the
    # inserts; MySQL's driver cannot run an insert while a streamed result is open, so it
    # buffers one alert's rows
    if conn.dialect.name == "postgresql":
        wanted = wanted.execution_options(yield_per=batch)
    written = 0
    for name in sorted(names):
        folds: dict[str, IncidentFold] = {}
        ended: list[dict[str, Any]] = []
        for part in conn.execute(wanted, {"alert": name}).mappings().partitions(batch):
            for row in part:
                entry = rows.history_from_row(cast(RowMapping, {**row, "context": None}))
                fold = folds.setdefault(entry.instance_key, IncidentFold())
                for incident in fold.add(rows.evaluated(entry, int(row["id"]))):
                    if not incident.ongoing:
                        ended.append(rows.incident_to_row(name, incident))
            if len(ended) >= batch:
                conn.execute(table.insert(), ended)
                written += len(ended)
                ended = []
        ended.extend(rows.incident_to_row(name, i) for f in folds.values() for i in f.open())
        if ended:
            conn.execute(table.insert(), ended)
            written += len(ended)
    return written


def _add_missing_columns(
    conn: Connection, table: str, columns: tuple[tuple[str, TypeEngine[Any]], ...]
) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for each column the table lacks (re-runnable)."""
    present = {c["name"] for c in inspect(conn).get_columns(table)}
    for name, type_ in columns:
        if name not in present:
            type_sql = conn.dialect.type_compiler_instance.process(type_)
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {type_sql}"))


def _v13_inhibition(conn: Connection) -> None:
    # Dependencies between alerts (core/inhibition.py): the parents that inhibited an
    # instance's last evaluation, and those of each history row; nullable (NULL: none), so
    # existing rows need no rewrite.
    _add_missing_columns(conn, f"{TABLE_PREFIX}state", (("inhibited_by", JsonText()),))
    _add_missing_columns(conn, f"{TABLE_PREFIX}history", (("inhibited_by", JsonText()),))


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create state, silences, history, outbox, alert_lock", _v1_create_everything),
    Migration(2, "indexes for retention purge (history, outbox)", _v2_purge_indexes),
    Migration(3, "outbox delivery claims (claimed_until, claim_token)", _v3_outbox_claims),
    Migration(4, "history commit confirmation (commit_confirmed)", _v4_history_commit_confirmed),
    Migration(5, "history reasons stored by code (first_firing)", _v5_history_reason_codes),
    Migration(
        6,
        "instance silences, delivery destinations (silences.instance_key, outbox.destination)",
        _v6_instance_silences_and_destinations,
    ),
    Migration(7, "incidents kept as history is written (incidents)", _v7_incidents),
    Migration(
        8,
        "quiet runs of history compacted (history.repeats, history_compaction)",
        _v8_history_compaction,
    ),
    Migration(
        9,
        "flap detection (state.flapping_since, flap_changes, flap_notified)",
        _v9_flap_detection,
    ),
    Migration(10, "grouped messages (outbox.members)", _v10_grouped_messages),
    Migration(11, "groups across alerts (outbox.group_key, batch_id)", _v11_groups_across_alerts),
    Migration(
        12,
        "acknowledgements and escalation (state.acked_*, escalation_steps, incident_actions, "
        "action_tokens)",
        _v12_acknowledgements,
    ),
    Migration(
        13,
        "dependencies between alerts (state.inhibited_by, history.inhibited_by)",
        _v13_inhibition,
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version


def read_schema_version(conn: Connection) -> int:
    """The applied schema version; 0 for a database without our tables."""
    if not inspect(conn).has_table(schema_version.name):
        return 0
    return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)


def ensure_schema(engine: Engine, *, display_url: str, target_version: int = LATEST_VERSION) -> int:
    """Bring the schema to ``target_version`` (default: the latest); return the version found after.

    ``target_version`` below the latest exists for upgrade tests (build an old schema, then
    connect); production code always migrates to the latest.
    """
    if not 1 <= target_version <= LATEST_VERSION:
        raise ValueError(f"target_version must be within 1..{LATEST_VERSION}, got {target_version}")
    with translating_errors(display_url, "reading the schema version"), engine.connect() as conn:
        current = read_schema_version(conn)
    _refuse_newer(current, display_url)
    if current >= target_version:
        return current
    with (
        translating_errors(display_url, "migrating the schema"),
        _migration_lock(engine, display_url) as conn,
    ):
        current = read_schema_version(conn)  # another process may have migrated meanwhile
        _refuse_newer(current, display_url)
        for step in MIGRATIONS:
            if current < step.version <= target_version:
                step.apply(conn)
                conn.execute(
                    schema_version.insert().values(
                        version=step.version,
                        description=step.description,
                        applied_at=utcnow(),
                    )
                )
                if engine.dialect.name in ("mysql", "mariadb"):
                    conn.commit()  # DDL committed anyway; make the version row durable with it
                current = step.version
    return current


def _refuse_newer(found: int, display_url: str) -> None:
    if found > LATEST_VERSION:
        from sqlsentinel_airflow import __version__

        raise StateStoreError(
            f"state database {display_url} has schema version {found}, but this "
            f"sqlsentinel-airflow ({__version__}) knows versions up to {LATEST_VERSION}: "
            "upgrade sqlsentinel-airflow here (every scheduler, worker and CLI must run the "
            "same or a newer version than the one that migrated the database)"
        )


@contextmanager
def _migration_lock(engine: Engine, display_url: str) -> Iterator[Connection]:
    """A connection inside a transaction that holds the database-wide migration lock."""
    dialect = engine.dialect.name
    with engine.connect() as conn:
        if dialect == "postgresql":
            with conn.begin():
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
                yield conn
        elif dialect in ("mysql", "mariadb"):
            name = f"sqlsentinel_schema.{conn.exec_driver_sql('SELECT DATABASE()').scalar()}"[:64]
            got = conn.execute(
                text("SELECT GET_LOCK(:name, :timeout)"),
                {"name": name, "timeout": _MYSQL_LOCK_TIMEOUT_SECONDS},
            ).scalar()
            conn.commit()
            if got != 1:
                raise StateStoreError(
                    f"state database {display_url}: another process has been migrating the "
                    f"schema for over {_MYSQL_LOCK_TIMEOUT_SECONDS} s; check for a stuck "
                    "process and try again"
                )
            try:
                yield conn
                conn.commit()
            finally:
                conn.rollback()
                conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
                conn.commit()
        elif dialect == "sqlite":
            conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn
        else:  # an untested dialect: no cross-process guard, still one transaction
            with conn.begin():
                yield conn
