"""One alert's evaluation transaction: the write side of an evaluation (ADR 2).

An :class:`AlertTransaction` is the only way to change an alert's state. It runs inside ONE
database transaction that holds an exclusive per-alert lock, taken by :func:`lock_alert`:
- PostgreSQL / MySQL / MariaDB: ``SELECT ... FROM sqlsentinel_alert_lock WHERE alert_name=...
  FOR UPDATE``. When the lock row does not exist yet (the alert's first evaluation ever):
  PostgreSQL inserts it in the same transaction (``ON CONFLICT DO NOTHING``: the row it
  inserted is its lock until it commits; a concurrent first evaluation's insert waits for that
  commit, finds the row and locks it as usual; a ``SELECT ... FOR UPDATE`` that found nothing
  holds nothing, so nothing can deadlock). MySQL/MariaDB roll back, create it with
  :func:`ensure_lock_row` in its own short autocommit insert that ignores duplicates, and
  lock again: their ``FOR UPDATE`` of a missing row takes a gap lock, so two first
  evaluations inserting inside their locking transactions would deadlock. Later evaluations
  lock straight away.
- SQLite: the transaction starts with ``BEGIN IMMEDIATE`` (the database-wide write lock).

Waiting for the lock is bounded by ``LOCK_WAIT_SECONDS``: PostgreSQL's ``lock_timeout`` is set
with ``SET LOCAL``, for this transaction only, so it never reaches other work on the pooled
connection (a schema migration waits for another one's advisory lock as long as it takes) and
stays right behind a transaction-pooling proxy (PgBouncer); with psycopg2 it travels in the
same message as the lock ``SELECT`` and the read of the alert's states (one round trip: the
states statement starts after the lock is granted and, under READ COMMITTED, takes its own
snapshot then, so it reads what the previous holder committed). MySQL/MariaDB's
``innodb_lock_wait_timeout`` is set once per connection (``engine.py``).

So two evaluations of the same alert (a manual run next to a scheduled one, a second
scheduler) are serialised: the second reads the state the first committed and cannot emit a
second ``firing``. Evaluations of different alerts do not wait for each other (except on
SQLite, which has one writer at a time).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import suppress
from datetime import datetime

from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    RowMapping,
    String,
    and_,
    bindparam,
    column,
    delete,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.exc import IntegrityError

from sqlsentinel_airflow.core.incidents import Incident, IncidentFold
from sqlsentinel_airflow.core.model import InstanceState, RunType, Silence, State
from sqlsentinel_airflow.core.silences import active_for
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import rows
from sqlsentinel_airflow.store.engine import (
    LOCK_WAIT_SECONDS,
    SQLITE_BEGIN_OPTION,
    translating_errors,
)
from sqlsentinel_airflow.store.records import HistoryEntry, IncidentAction, OutboxEntry
from sqlsentinel_airflow.store.tables import (
    alert_lock,
    history,
    incident_actions,
    incidents,
    inserted_id,
    outbox,
    silences,
    state,
)

__all__ = [
    "LOCK_WAIT_SECONDS",
    "AlertTransaction",
    "Locked",
    "ensure_lock_row",
    "lock_alert",
]

# Statements built once and executed with parameter dicts: SQLAlchemy then reuses their
# compiled form from its cache instead of building (and cache-keying) a statement per call,
# which was most of the engine's own cost per evaluation (docs/benchmarks.md, section 2).
_SELECT_LOCK = (
    select(alert_lock.c.alert_name)
    .where(alert_lock.c.alert_name == bindparam("lock_name"))
    .with_for_update()
)
_SELECT_STATES = select(state).where(state.c.alert_name == bindparam("of_alert"))
_UPDATE_STATE = update(state).where(
    and_(state.c.alert_name == bindparam("pk_alert"), state.c.key_hash == bindparam("pk_hash"))
)
_INSERT_STATE = state.insert()
# PostgreSQL: insert-or-replace in one statement (one round trip where update-else-insert
# takes two for a new instance)
_PG_UPSERT_STATE_BASE = postgresql.insert(state)
_PG_UPSERT_STATE = _PG_UPSERT_STATE_BASE.on_conflict_do_update(
    index_elements=[state.c.alert_name, state.c.key_hash],
    set_={c.name: _PG_UPSERT_STATE_BASE.excluded[c.name] for c in state.c if not c.primary_key},
)
_DELETE_STATE = delete(state).where(
    state.c.alert_name == bindparam("pk_alert"), state.c.key_hash == bindparam("pk_hash")
)
_INSERT_HISTORY = history.insert()
_INSERT_OUTBOX = outbox.insert()
_SELECT_OPEN_INCIDENTS = select(incidents).where(
    incidents.c.alert_name == bindparam("of_alert"), incidents.c.end_id.is_(None)
)
_INSERT_INCIDENT = incidents.insert()
_UPDATE_INCIDENT = update(incidents).where(
    incidents.c.alert_name == bindparam("pk_alert"),
    incidents.c.start_id == bindparam("pk_start"),
)
_CALM = frozenset({State.OK, State.PENDING})  # states outside every incident
_SELECT_SILENCES = (
    select(silences)
    .where(
        silences.c.starts_at <= bindparam("now_a"),
        silences.c.ends_at > bindparam("now_b"),
        or_(silences.c.ended_at.is_(None), silences.c.ended_at > bindparam("now_c")),
    )
    .order_by(silences.c.id)
)


def ensure_lock_row(engine: Engine, alert_name: str) -> None:
    """Create the alert's lock row if missing, in its own autocommit statement."""
    dialect = engine.dialect.name
    if dialect == "sqlite":
        return  # BEGIN IMMEDIATE locks the whole database; no row needed
    values = {"alert_name": alert_name}
    stmt: Executable
    if dialect == "postgresql":
        stmt = postgresql.insert(alert_lock).values(values).on_conflict_do_nothing()
    elif dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(alert_lock).values(values).prefix_with("IGNORE")
    else:
        stmt = alert_lock.insert().values(values)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        with suppress(IntegrityError):  # generic dialects: the row exists, all we need
            conn.execute(stmt)


_PG_SET_LOCK_TIMEOUT = f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'"
_PG_LOCK_TIMEOUT = text(_PG_SET_LOCK_TIMEOUT)
# psycopg2 interpolates parameters client-side and sends the text as one simple query, so
# several statements cost one round trip (the result is the last one's). Drivers that bind
# server-side (psycopg 3, pg8000, asyncpg) refuse several statements: they get one each.
# With psycopg2: the lock, then the alert's states in the same message. The lock row LEFT JOINed to
# the states: no row at all means no lock row (nothing is locked); one row of NULL state
# columns means the lock is held and the alert has no state yet.
_PG_LOCK_THEN_STATES = text(
    f"{_PG_SET_LOCK_TIMEOUT}; SELECT alert_name FROM {alert_lock.name} "
    "WHERE alert_name = :lock_name FOR UPDATE; "
    f"SELECT l.alert_name AS lock_held, {', '.join(f's.{c.name}' for c in state.c)} "
    f"FROM {alert_lock.name} l LEFT JOIN {state.name} s ON s.alert_name = l.alert_name "
    "WHERE l.alert_name = :lock_name"
).columns(column("lock_held", String), *state.c)
_PG_INSERT_LOCK_ROW = text(
    f"INSERT INTO {alert_lock.name} (alert_name) VALUES (:lock_name) "
    "ON CONFLICT (alert_name) DO NOTHING RETURNING alert_name"
)


class Locked:
    """What :func:`lock_alert` found: whether the lock is held, and the alert's state rows
    when they were read with it (psycopg2), else None."""

    __slots__ = ("held", "state_rows")

    def __init__(self, held: bool, state_rows: list[RowMapping] | None = None) -> None:
        self.held = held
        self.state_rows = state_rows


def lock_alert(conn: Connection, alert_name: str) -> Locked:
    """Begin the transaction on ``conn`` and take the per-alert lock (blocking).

    On PostgreSQL a missing lock row is inserted in this transaction (see the module doc).
    Elsewhere, returns ``held=False``, with the transaction still open, when the alert has no
    lock row yet: the caller rolls back, runs :func:`ensure_lock_row` and tries again.
    """
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        conn.begin()
        return Locked(True)
    conn.begin()
    params = {"lock_name": alert_name}
    if dialect != "postgresql":
        return Locked(conn.execute(_SELECT_LOCK, params).first() is not None)
    for _ in range(2):
        if conn.dialect.driver == "psycopg2":
            found = conn.execute(_PG_LOCK_THEN_STATES, params).mappings().all()
            if found:
                return Locked(True, [r for r in found if r["alert_name"] is not None])
        else:  # drivers that bind server-side take one statement per message
            conn.execute(_PG_LOCK_TIMEOUT)
            if conn.execute(_SELECT_LOCK, params).first() is not None:
                return Locked(True)
        # The alert's first evaluation: the row this inserts is locked by this transaction.
        # None back: another transaction inserted it meanwhile (and has committed, since the
        # insert waits for it): lock that row as usual.
        if conn.execute(_PG_INSERT_LOCK_ROW, params).first() is not None:
            return Locked(True)
    raise StateStoreError(  # pragma: no cover - a row that exists cannot vanish between the two
        f"the lock row of alert {alert_name!r} vanished right after it was created"
    )


class AlertTransaction:
    """Reads and writes of one alert inside its locked transaction (see the module doc).

    Obtained from ``StateStore.alert_transaction(alert_name)``; committed when the ``with``
    block ends normally, rolled back when it raises.
    """

    def __init__(
        self,
        conn: Connection,
        alert_name: str,
        display_url: str,
        state_rows: list[RowMapping] | None = None,
    ) -> None:
        self._conn = conn
        # the alert's state rows when they were read with the lock (see lock_alert)
        self._state_rows = state_rows
        self._alert_name = alert_name
        self._display_url = display_url
        # what the instances were before this evaluation (set by states()), and the
        # incidents of this alert still open, read when an evaluation first needs them
        self._before: dict[str, State] | None = None
        self._open_incidents: dict[str, list[Incident]] | None = None

    @property
    def alert_name(self) -> str:
        return self._alert_name

    def states(self) -> dict[str, InstanceState]:
        """Every stored instance of this alert, by instance key."""
        if self._state_rows is not None:  # read with the lock, nothing written since
            found = [rows.state_from_row(r) for r in self._state_rows]
            self._state_rows = None
        else:
            with translating_errors(
                self._display_url, f"reading the state of {self._alert_name!r}"
            ):
                result = self._conn.execute(_SELECT_STATES, {"of_alert": self._alert_name})
                found = [rows.state_from_row(r) for r in result.mappings()]
        self._before = {s.instance_key: s.shown_state for s in found}
        return {s.instance_key: s for s in found}

    def save_state(self, instance: InstanceState) -> None:
        """Insert or replace the state of one instance of this alert."""
        self._check_alert(instance.alert_name, "save_state")
        values = rows.state_to_row(instance)
        keyed = {**values, "pk_alert": values["alert_name"], "pk_hash": values["key_hash"]}
        self._state_rows = None  # what was read with the lock is no longer the state
        with translating_errors(self._display_url, f"saving the state of {self._alert_name!r}"):
            if self._conn.dialect.name == "postgresql":
                self._conn.execute(_PG_UPSERT_STATE, values)
                return
            # The alert lock is held, so nobody inserts this row between the two statements.
            # MySQL reports matched (not changed) rows: SQLAlchemy sets CLIENT_FOUND_ROWS.
            updated = self._conn.execute(_UPDATE_STATE, keyed).rowcount
            if updated == 0:
                self._conn.execute(_INSERT_STATE, values)

    def delete_state(self, instance_key: str) -> bool:
        """Forget one instance (e.g. a keyed instance resolved and gone); True if it existed."""
        self._state_rows = None
        with translating_errors(self._display_url, f"deleting state of {self._alert_name!r}"):
            result = self._conn.execute(
                _DELETE_STATE,
                {"pk_alert": self._alert_name, "pk_hash": rows.key_hash(instance_key)},
            )
        return bool(result.rowcount)

    def add_history(self, entry: HistoryEntry) -> int:
        """Record one evaluation of one instance; returns the new row's id."""
        self._check_alert(entry.alert_name, "add_history")
        with translating_errors(self._display_url, f"writing history of {self._alert_name!r}"):
            result = self._conn.execute(_INSERT_HISTORY, rows.history_to_row(entry))
        history_id = inserted_id(result)
        if entry.run_type is not RunType.BACKFILL:  # backfills move no state (ADR 2)
            self._fold_incidents(entry, history_id)
        return history_id

    def _fold_incidents(self, entry: HistoryEntry, history_id: int) -> None:
        """Keep the instance's incidents (the ``incidents`` table) up to date with the row
        just written: nothing to do while it is calm and was calm before (the common case:
        no statement); else its open incidents are read once per transaction and the ones
        this evaluation opened, continued or closed are written back."""
        key = entry.instance_key
        before = self._before.get(key) if self._before is not None else None
        if before in _CALM and State(entry.state) in _CALM:
            return
        if self._open_incidents is None:
            with translating_errors(
                self._display_url, f"reading incidents of {self._alert_name!r}"
            ):
                found = self._conn.execute(_SELECT_OPEN_INCIDENTS, {"of_alert": self._alert_name})
                self._open_incidents = {}
                for row in found.mappings():
                    incident = rows.incident_from_row(row)
                    self._open_incidents.setdefault(incident.instance_key, []).append(incident)
        fold = IncidentFold(tuple(self._open_incidents.get(key, ())))
        touched = fold.add(rows.evaluated(entry, history_id))
        self._open_incidents[key] = list(fold.open())
        with translating_errors(self._display_url, f"writing incidents of {self._alert_name!r}"):
            for incident in touched:
                values = rows.incident_to_row(self._alert_name, incident)
                if incident.start_id == history_id:
                    self._conn.execute(_INSERT_INCIDENT, values)
                else:
                    keyed = {**values, "pk_alert": self._alert_name, "pk_start": incident.start_id}
                    self._conn.execute(_UPDATE_INCIDENT, keyed)

    def enqueue(self, entry: OutboxEntry) -> int:
        """Put one event for one channel in the outbox; returns the new row's id.

        A second row with the same ``idempotency_key`` is refused (StateStoreError), and the
        whole transaction is then rolled back by the ``with`` block.
        """
        self._check_alert(entry.alert_name, "enqueue")
        with translating_errors(self._display_url, f"writing the outbox of {self._alert_name!r}"):
            try:
                result = self._conn.execute(_INSERT_OUTBOX, rows.outbox_to_row(entry))
            except IntegrityError as exc:
                raise StateStoreError(
                    f"state database {self._display_url}: the outbox already holds idempotency "
                    f"key {entry.idempotency_key!r} (alert {self._alert_name!r}); an event is "
                    "enqueued once per channel"
                ) from exc
        return inserted_id(result)

    def add_incident_action(self, action: IncidentAction) -> int:
        """Record what someone (or the escalation ladder) did to one of this alert's
        incidents; returns the new row's id."""
        self._check_alert(action.alert_name, "add_incident_action")
        with translating_errors(self._display_url, f"writing actions of {self._alert_name!r}"):
            result = self._conn.execute(
                incident_actions.insert(), rows.incident_action_to_row(action)
            )
        return inserted_id(result)

    def active_silences(self, now: datetime, dag_id: str | None = None) -> list[Silence]:
        """Stored silences muting this alert at ``now`` (``dag_id`` also tried by the glob)."""
        with translating_errors(self._display_url, "reading silences"):
            result = self._conn.execute(
                _SELECT_SILENCES, {"now_a": now, "now_b": now, "now_c": now}
            )
            candidates = [rows.silence_from_row(r) for r in result.mappings()]
        return active_for(self._alert_name, candidates, now, dag_id)

    def states_of(
        self, alert_names: Sequence[str], in_states: Collection[State]
    ) -> list[InstanceState]:
        """The state rows of other alerts (a child's parents, core/inhibition.py) that are in
        one of ``in_states``, as committed now; read without their locks (an evaluation of a
        parent that commits later is seen by the child's next evaluation)."""
        if not alert_names or not in_states:
            return []
        query = select(state).where(
            state.c.alert_name.in_(list(alert_names)),
            state.c.state.in_([s.value for s in in_states]),
        )
        with translating_errors(self._display_url, "reading the state of its parent alerts"):
            return [rows.state_from_row(r) for r in self._conn.execute(query).mappings().all()]

    def _check_alert(self, alert_name: str, operation: str) -> None:
        if alert_name != self._alert_name:
            raise ValueError(
                f"{operation}: alert {alert_name!r} inside the transaction of "
                f"{self._alert_name!r}; open alert_transaction({alert_name!r}) for it"
            )
