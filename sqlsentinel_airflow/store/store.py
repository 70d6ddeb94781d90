"""The state store: alert state, history, outbox and silences in one SQL database (docs/operations.md).

:class:`StateStore` is the adapter every edge uses (operator, CLI, UI plugin). It is built
from a SQLAlchemy URL (``StateStore.connect``), which also migrates the schema. Writes of an
evaluation go through :meth:`StateStore.alert_transaction` (one locked transaction per
alert, see ``transaction.py``); everything else here is the read side, the delivery
bookkeeping of the outbox, silences, and retention.

Failure semantics: every database problem leaves as a :class:`StateStoreError` naming the
database (password redacted) and what to do. Deadlocks and serialisation failures are
retried: when taking the alert lock always, and for the whole unit of work when it is given
as a function (:meth:`StateStore.run_in_alert_transaction`).
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Engine,
    Text,
    bindparam,
    column,
    delete,
    func,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.types import NullType

from sqlsentinel_airflow.core.clock import rfc3339, utcnow
from sqlsentinel_airflow.core.incidents import Incident
from sqlsentinel_airflow.core.model import (
    InstanceState,
    Outcome,
    Silence,
)
from sqlsentinel_airflow.core.redact import redact_db_url
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import rows
from sqlsentinel_airflow.store.compaction import (
    DEFAULT_BATCH_ROWS,
    MAX_SAMPLES,
    compact_alert,
    decode_samples,
)
from sqlsentinel_airflow.store.engine import (
    SQLITE_BEGIN_OPTION,
    create_state_engine,
    is_retryable,
    store_error,
    translating_errors,
)
from sqlsentinel_airflow.store.hygiene import HygieneFacts, read_hygiene_facts
from sqlsentinel_airflow.store.inlists import in_list_chunks
from sqlsentinel_airflow.store.migrations import ensure_schema, read_schema_version
from sqlsentinel_airflow.store.records import (
    GroupClaim,
    HistoryEntry,
    IncidentAction,
    OutboxEntry,
    OutboxStatus,
    RecentValue,
)
from sqlsentinel_airflow.store.tables import (
    NAME_LENGTH,
    LongText,
    action_tokens,
    alert_lock,
    history,
    incident_actions,
    incidents,
    inserted_id,
    json_from_text,
    outbox,
    silences,
    state,
    utc_datetime,
)
from sqlsentinel_airflow.store.transaction import (
    AlertTransaction,
    Locked,
    ensure_lock_row,
    lock_alert,
)

__all__ = ["MAX_TRANSACTION_ATTEMPTS", "StateStore"]

T = TypeVar("T")

MAX_TRANSACTION_ATTEMPTS = 5
_MAX_ERROR_TEXT = 4000


class StateStore:
    """Alert state, history, outbox and silences in the state database."""

    def __init__(self, engine: Engine, *, display_url: str | None = None) -> None:
        """Wrap an engine made by ``create_state_engine``; prefer :meth:`connect`."""
        self._engine = engine
        self.display_url = display_url or redact_db_url(engine.url)

    @classmethod
    def connect(cls, url: str | URL, *, migrate: bool = True) -> StateStore:
        """Open the state database at ``url`` and bring its schema up to date."""
        engine = create_state_engine(url)
        store = cls(engine, display_url=redact_db_url(engine.url))
        if migrate:
            try:
                ensure_schema(engine, display_url=store.display_url)
            except BaseException:
                engine.dispose()
                raise
        return store

    @classmethod
    def open_for_reading(cls, url: str | URL) -> StateStore | None:
        """The store for a dry run: None when the database or its schema does not exist yet.

        Never creates a file, a table or a migration: a dry run must leave no trace.
        """
        parsed = url if isinstance(url, URL) else make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database or ""
            if not path or path == ":memory:" or not Path(path).exists():
                return None
        store = cls.connect(parsed, migrate=False)
        try:
            if store.schema_version() == 0:
                store.dispose()
                return None
        except StateStoreError:
            store.dispose()
            raise
        return store

    @property
    def engine(self) -> Engine:
        return self._engine

    def dispose(self) -> None:
        """Close pooled connections (the store may be used again: they reopen on demand)."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()

    def __repr__(self) -> str:
        return f"StateStore({self.display_url!r})"

    def schema_version(self) -> int:
        with self._reading("reading the schema version") as conn:
            return read_schema_version(conn)

    # --- the evaluation transaction ---------------------------------------------------------

    @contextmanager
    def alert_transaction(self, alert_name: str) -> Iterator[AlertTransaction]:
        """ONE transaction holding the exclusive lock of ``alert_name`` (see transaction.py).

        Taking the lock is retried on deadlocks; a failure inside the block rolls back and is
        raised as is (wrap the work in :meth:`run_in_alert_transaction` to retry it whole).
        """
        conn, locked = self._begin_locked(alert_name)
        try:
            yield AlertTransaction(conn, alert_name, self.display_url, locked.state_rows)
            with translating_errors(self.display_url, f"committing {alert_name!r}"):
                conn.commit()
        except BaseException:
            with suppress(SQLAlchemyError):  # a broken connection: the original error says more
                conn.rollback()
            raise
        finally:
            conn.close()

    def run_in_alert_transaction(self, alert_name: str, work: Callable[[AlertTransaction], T]) -> T:
        """Run ``work`` in :meth:`alert_transaction`, retrying it whole on deadlocks.

        ``work`` must have no effect outside the transaction, as it may run several times.
        """
        for attempt in range(1, MAX_TRANSACTION_ATTEMPTS + 1):
            try:
                with self.alert_transaction(alert_name) as tx:
                    return work(tx)
            except StateStoreError as exc:
                if attempt == MAX_TRANSACTION_ATTEMPTS or not _caused_by_retryable(exc):
                    raise
                _backoff(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _begin_locked(self, alert_name: str) -> tuple[Connection, Locked]:
        for attempt in range(1, MAX_TRANSACTION_ATTEMPTS + 1):
            conn: Connection | None = None
            try:
                conn = self._engine.connect()
                locked = lock_alert(conn, alert_name)
                if not locked.held:
                    # The alert's first evaluation ever (MySQL/MariaDB): create its lock row
                    # outside this transaction (see transaction.py), then lock it.
                    conn.rollback()
                    ensure_lock_row(self._engine, alert_name)
                    locked = lock_alert(conn, alert_name)
                    if not locked.held:  # pragma: no cover - just inserted
                        conn.close()
                        raise StateStoreError(
                            f"{self.display_url}: the lock row of alert {alert_name!r} "
                            "vanished right after it was created"
                        )
                return conn, locked
            except SQLAlchemyError as exc:
                if conn is not None:
                    conn.close()
                if attempt < MAX_TRANSACTION_ATTEMPTS and _lost_before_locking(exc):
                    # The pooled connection died (the pool does not ping it before every
                    # use, see engine.py). Nothing was done in this transaction yet, and the
                    # pool has dropped every connection as old as this one: go again at once.
                    continue
                if attempt < MAX_TRANSACTION_ATTEMPTS and is_retryable(exc):
                    _backoff(attempt)
                    continue
                if is_retryable(exc):
                    doing = f"locking alert {alert_name!r} ({attempt} attempts)"
                    raise _LockRetriesExhausted(
                        str(store_error(exc, self.display_url, doing))
                    ) from exc
                raise store_error(exc, self.display_url, f"locking alert {alert_name!r}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # --- read side ---------------------------------------------------------------------------

    def list_states(
        self, alert_name: str | None = None, *, alert_names: Sequence[str] | None = None
    ) -> list[InstanceState]:
        """Stored instance states, by alert name then instance key (of ``alert_names`` only,
        when given: filtered in SQL)."""
        query = select(state).order_by(state.c.alert_name, state.c.instance_key)
        if alert_name is not None:
            query = query.where(state.c.alert_name == alert_name)
        if alert_names is None:
            with self._reading("reading alert states") as conn:
                # .all(): one fetchall; iterating a result fetches row by row (10x the CPU)
                return [rows.state_from_row(r) for r in conn.execute(query).mappings().all()]
        found: list[InstanceState] = []
        with self._reading("reading alert states") as conn:
            for names in in_list_chunks(alert_names):
                chunk = query.where(state.c.alert_name.in_(names))
                found.extend(rows.state_from_row(r) for r in conn.execute(chunk).mappings().all())
        return sorted(found, key=lambda s: (s.alert_name, s.instance_key))

    def history(
        self,
        alert_name: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
        instance_key: str | None = None,
    ) -> list[HistoryEntry]:
        """Evaluations, newest first; page with ``before_id`` (the last id of the previous page)."""
        query = select(history).order_by(history.c.id.desc()).limit(limit)
        if alert_name is not None:
            query = query.where(history.c.alert_name == alert_name)
        if before_id is not None:
            query = query.where(history.c.id < before_id)
        if instance_key is not None:
            query = query.where(history.c.instance_key == instance_key)
        with self._reading("reading history") as conn:
            return [rows.history_from_row(r) for r in conn.execute(query).mappings()]

    def incidents(
        self,
        alert_name: str,
        *,
        limit: int = 50,
        before: int | None = None,
        instance_key: str | None = None,
        since: datetime | None = None,
    ) -> tuple[list[Incident], bool]:
        """The alert's incidents that began before the evaluation ``before`` (an incident's
        ``start_id``), newest first, at most ``limit``, and whether there are more; with
        ``since``, only those still going on at that time or later. A page of the
        ``incidents`` table, read through its primary key (the evaluations keep it up to
        date: docs/ui.md, "Incidents")."""
        i = incidents.c
        where: list[ColumnElement[bool]] = [i.alert_name == alert_name]
        if before is not None:
            where.append(i.start_id < before)
        if instance_key is not None:
            where.append(i.key_hash == rows.key_hash(instance_key))
        if since is not None:
            where.append(or_(i.end_id.is_(None), i.ended_at >= since))
        query = (
            select(incidents)
            .where(*where)
            .order_by(i.alert_name.desc(), i.start_id.desc())
            .limit(limit + 1)
        )
        with self._reading("reading incidents") as conn:
            found = [rows.incident_from_row(r) for r in conn.execute(query).mappings()]
        return found[:limit], len(found) > limit

    def recent_values(
        self, instances: Sequence[tuple[str, str]], limit: int
    ) -> dict[tuple[str, str], list[RecentValue]]:
        """The last ``limit`` values of each ``(alert_name, instance_key)``, newest first (the
        UI's sparklines: only the columns a sparkline draws). Every pair is a key of the result.

        On PostgreSQL one query for all of them: a ``LATERAL`` join of the pairs (two arrays,
        ``unnest``) to each one's newest rows, read from the ``(alert_name, id)`` index as
        :meth:`history` reads them, and aggregated into one row of arrays per pair (the
        overview's 30,000 rows were more Python, per row, than their values); one round trip
        and one plan instead of one per instance. Elsewhere (SQLite in-process, MariaDB
        without LATERAL) one query per instance, on one connection.
        """
        found: dict[tuple[str, str], list[RecentValue]] = {pair: [] for pair in instances}
        if not found:
            return found
        shown = (
            history.c.id,
            history.c.alert_name,
            history.c.instance_key,
            history.c.evaluated_at,
            history.c.outcome,
            # the stored JSON text: rows.recent_value reads plain numbers faster
            type_coerce(history.c.actual_value, LongText).label("actual_value"),
            type_coerce(history.c.threshold, LongText).label("threshold"),
            # a compacted row's samples (kilobytes) are read apart, only where they are drawn
            history.c.repeats,
        )
        rows_of: dict[tuple[str, str], list[Any]] = {}
        with self._reading("reading recent values") as conn:
            if conn.dialect.name != "postgresql":
                for name, key in found:
                    query = (
                        select(*shown)
                        .where(history.c.alert_name == name, history.c.instance_key == key)
                        .order_by(history.c.id.desc())
                        .limit(limit)
                    )
                    rows_of[(name, key)] = list(conn.execute(query).all())
                return _newest_values(conn, found, rows_of, limit)
            if (conn.dialect.server_version_info or (0,)) >= (11,):
                # The planner's estimate (every instance's whole history) would have JIT
                # compile this short read: ~0.6 s of compiling for ~0.3 s of reading.
                conn.exec_driver_sql("SET LOCAL jit = off")
            wanted = (
                func.unnest(
                    bindparam("names", [n for n, _ in found], type_=ARRAY(Text)),
                    bindparam("keys", [k for _, k in found], type_=ARRAY(Text)),
                )
                .table_valued(column("alert_name", Text), column("instance_key", Text))
                .render_derived(name="wanted")
            )
            recent = (
                select(*shown[:1], *shown[3:])
                .where(
                    history.c.alert_name == wanted.c.alert_name,
                    history.c.instance_key == wanted.c.instance_key,
                )
                .order_by(history.c.id.desc())
                .limit(limit)
                .correlate(wanted)
                .subquery("recent")
            )
            # Each pair's rows as one row of arrays, aggregated where they are read (no sort or
            # grouping of all 30,000 rows). One pass feeds every aggregate row by row: the
            # arrays are aligned, in no promised order (sorted here, by id).
            newest = (
                select(
                    *(
                        type_coerce(func.array_agg(c), NullType()).label(c.name)
                        for c in recent.c  # the driver's arrays, without SQLAlchemy's processing
                    )
                )
                .select_from(recent)
                .lateral("newest")
            )
            query = select(wanted.c.alert_name, wanted.c.instance_key, newest).select_from(
                wanted.join(newest, true())
            )
            utc = timezone.utc
            for name, key, ids, times, outcomes, values, thresholds, repeats in conn.execute(
                query
            ).all():
                if ids is None:  # no history
                    continue
                times = [t if t.tzinfo is utc else utc_datetime(t) for t in times]
                rows_of[(name, key)] = sorted(  # newest first: by id (unique), descending
                    zip(
                        ids,
                        [name] * len(ids),
                        [key] * len(ids),
                        times,
                        outcomes,
                        values,
                        thresholds,
                        repeats,
                        strict=True,
                    ),
                    reverse=True,
                )
            return _newest_values(conn, found, rows_of, limit)

    def hygiene_facts(
        self, alert_names: Sequence[str], since: datetime, *, samples: int
    ) -> HygieneFacts:
        """The monthly report's facts since ``since`` (``store/hygiene.py``): firing
        incidents that ended, notifications delivered, each alert's newest ``samples``
        query durations; each read from an index range."""
        with self._reading("reading the report's facts") as conn:
            return read_hygiene_facts(conn, alert_names, since, samples)

    def confirm_commit(self, history_ids: Sequence[int]) -> int:
        """Mark history rows an evaluation wrote unconfirmed as seen committed.

        The evaluating task calls this once its transaction's commit has answered; a row
        still unconfirmed at the next try means that commit happened unseen (its answer was
        lost), so that try only delivers (ADR 0004, item 5). Returns the rows marked.
        """
        if not history_ids:
            return 0
        query = (
            update(history)
            .where(history.c.id.in_(list(history_ids)), history.c.commit_confirmed.is_(False))
            .values(commit_confirmed=True)
        )
        with self._writing("confirming an evaluation's commit") as conn:
            return int(conn.execute(query).rowcount)

    def outbox(
        self,
        status: OutboxStatus | str | Collection[OutboxStatus | str] | None = None,
        alert_name: str | None = None,
        limit: int = 200,
        before_id: int | None = None,
    ) -> list[OutboxEntry]:
        """Outbox rows, newest first; ``status`` as OutboxStatus or its text (``"dead"``), or
        several of them (``(PENDING, DEAD)``: what is still owed or given up on); with
        ``before_id`` only the rows older than that one (the next page)."""
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(outbox.c.id < before_id)
        if status is not None:
            query = query.where(outbox.c.status.in_(_status_values(status)))
        if alert_name is not None:
            query = query.where(outbox.c.alert_name == alert_name)
        with self._reading("reading the outbox") as conn:
            return [rows.outbox_from_row(r) for r in conn.execute(query).mappings()]

    def outbox_counts(
        self,
        alert_names: Sequence[str],
        status: OutboxStatus | str | Collection[OutboxStatus | str] | None = None,
    ) -> dict[str, dict[OutboxStatus, int]]:
        """How many outbox rows each alert has per status, counted in SQL (one GROUP BY).

        Every name is a key of the result and every status (or each of ``status``, when
        given) a key of its counts, zero when it has none.
        """
        wanted = [OutboxStatus(v) for v in _status_values(status)] if status else list(OutboxStatus)
        counts = {name: dict.fromkeys(wanted, 0) for name in alert_names}
        query = select(outbox.c.alert_name, outbox.c.status, func.count()).group_by(
            outbox.c.alert_name, outbox.c.status
        )
        if status is not None:
            query = query.where(outbox.c.status.in_([s.value for s in wanted]))
        with self._reading("counting outbox rows") as conn:
            for names in in_list_chunks(list(counts)):
                for name, found, n in conn.execute(query.where(outbox.c.alert_name.in_(names))):
                    counts[name][OutboxStatus(found)] = int(n)
        return counts

    def state_counts(self) -> dict[str, int]:
        """How many instances of all alerts hold each stored state (``OK``, ``FIRING``...),
        counted in SQL (one GROUP BY); the metrics' gauges (``metrics.py``)."""
        query = select(state.c.state, func.count()).group_by(state.c.state)
        with self._reading("counting alert states") as conn:
            return {str(found): int(n) for found, n in conn.execute(query)}

    def pending_outbox_summary(self) -> tuple[int, datetime | None]:
        """How many outbox rows of all alerts are pending, and when the oldest was created
        (None: none is); the backlog gauges of ``metrics.py``."""
        query = select(func.count(), func.min(outbox.c.created_at)).where(
            outbox.c.status == OutboxStatus.PENDING.value
        )
        with self._reading("summing up the outbox") as conn:
            n, oldest = conn.execute(query).one()
        return int(n), oldest

    def delivered_alerts(self, alert_names: Sequence[str]) -> set[str]:
        """The alerts among ``alert_names`` with at least one delivered notification.

        One index probe per alert (``(status, alert_name, id)``), where counting them would
        read every delivered row: about a million in a year of 1,000 alerts. On PostgreSQL
        one statement (``unnest`` and ``EXISTS``); elsewhere one per alert, on one connection.
        """
        found: set[str] = set()
        if not alert_names:
            return found
        delivered = outbox.c.status == OutboxStatus.DELIVERED.value
        with self._reading("reading the outbox") as conn:
            if conn.dialect.name == "postgresql":
                wanted = (
                    func.unnest(bindparam("names", list(alert_names), type_=ARRAY(Text)))
                    .table_valued(column("name", Text))
                    .render_derived(name="wanted")
                )
                probe = (
                    select(outbox.c.id)
                    .where(delivered, outbox.c.alert_name == wanted.c.name)
                    .exists()
                )
                return set(conn.scalars(select(wanted.c.name).where(probe)))
            query = (
                select(outbox.c.id)
                .where(delivered, outbox.c.alert_name == bindparam("name"))
                .limit(1)
            )
            for name in dict.fromkeys(alert_names):
                if conn.execute(query, {"name": name}).first() is not None:
                    found.add(name)
        return found

    def outbox_by_alert(
        self,
        alert_names: Sequence[str],
        status: OutboxStatus | str | Collection[OutboxStatus | str],
        limit_each: int,
    ) -> dict[str, list[OutboxEntry]]:
        """The newest ``limit_each`` outbox rows of each alert with one of ``status``, newest
        first, in one statement per 500 alerts (a window numbers each alert's rows), instead of
        one listing per alert. Every name is a key of the result."""
        found: dict[str, list[OutboxEntry]] = {name: [] for name in alert_names}
        values = _status_values(status)
        numbered = (
            select(
                outbox,
                func.row_number()
                .over(partition_by=outbox.c.alert_name, order_by=outbox.c.id.desc())
                .label("nth"),
            )
            .where(
                outbox.c.status.in_(values),
                outbox.c.alert_name.in_(bindparam("names", expanding=True)),
            )
            .subquery("numbered")
        )
        query = (
            select(*(numbered.c[c.name] for c in outbox.columns))
            .where(numbered.c.nth <= limit_each)
            .order_by(numbered.c.alert_name, numbered.c.id.desc())
        )
        with self._reading("reading the outbox") as conn:
            for names in in_list_chunks(list(found)):
                for r in conn.execute(query, {"names": names}).mappings():
                    entry = rows.outbox_from_row(r)
                    found[entry.alert_name].append(entry)
        return found

    def pending_outbox(self, alert_name: str) -> list[OutboxEntry]:
        """The alert's undelivered events, oldest first (delivery order)."""
        query = (
            select(outbox)
            .where(
                outbox.c.status == OutboxStatus.PENDING.value,
                outbox.c.alert_name == alert_name,
            )
            .order_by(outbox.c.id)
        )
        with self._reading("reading the outbox") as conn:
            return [rows.outbox_from_row(r) for r in conn.execute(query).mappings()]

    def pending_outbox_by_alert(self, alert_names: Sequence[str]) -> dict[str, list[OutboxEntry]]:
        """The undelivered events of several alerts in one query, oldest first per alert.

        Every name is a key of the result (an empty list when it has nothing pending).
        """
        found: dict[str, list[OutboxEntry]] = {name: [] for name in alert_names}
        with self._reading("reading the outbox") as conn:
            for names in in_list_chunks(list(found)):
                query = (
                    select(outbox)
                    .where(
                        outbox.c.status == OutboxStatus.PENDING.value,
                        outbox.c.alert_name.in_(names),
                    )
                    .order_by(outbox.c.id)
                )
                for r in conn.execute(query).mappings():
                    entry = rows.outbox_from_row(r)
                    found[entry.alert_name].append(entry)
        return found

    # --- delivery bookkeeping ---------------------------------------------------------------

    def claim_outbox_row(self, outbox_id: int, token: str, now: datetime, lease: timedelta) -> bool:
        """Claim a pending row for sending; False if it is not pending or claimed by another.

        One conditional UPDATE, atomic on every database: of two deliverers racing for a row
        exactly one gets it. The claim lapses at ``now + lease`` so a deliverer that died
        mid-send does not hold the row forever (the next attempt after that resends it, with
        the same idempotency key). Marking the row delivered or failed releases the claim.
        """
        with self._writing("claiming an outbox row") as conn:
            result = conn.execute(
                update(outbox)
                .where(
                    outbox.c.id == outbox_id,
                    outbox.c.status == OutboxStatus.PENDING.value,
                    or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
                )
                .values(claimed_until=now + lease, claim_token=token)
            )
            return bool(result.rowcount == 1)

    def claim_group(
        self, group_key: str, token: str, now: datetime, lease: timedelta, wait: timedelta
    ) -> GroupClaim:
        """Claim the pending rows of a group across alerts to send them as one message
        (docs/adr/0016-groups-across-alerts.md); one transaction, whichever alerts wrote them.

        A batch already written (its rows carry a ``batch_id``: a send that failed, or whose
        deliverer died) is claimed again as exactly that set once no live claim holds it, so
        a resend repeats the same message. Otherwise, once ``wait`` has passed since the
        group's oldest pending row was created, every pending row of the group becomes a new
        batch. Of two deliverers racing, the second finds the batch claimed (``in_flight``).
        """
        with self._writing("claiming a group of outbox rows") as conn:
            found = [
                rows.outbox_from_row(r)
                for r in conn.execute(
                    select(outbox)
                    .where(
                        outbox.c.group_key == group_key,
                        outbox.c.status == OutboxStatus.PENDING.value,
                    )
                    .order_by(outbox.c.id)
                    .with_for_update()
                ).mappings()
            ]
            if not found:
                return GroupClaim("none")
            open_batch = next((e.batch_id for e in found if e.batch_id is not None), None)
            if open_batch is not None:
                batch = [e for e in found if e.batch_id == open_batch]
                claims = conn.execute(
                    select(outbox.c.claimed_until).where(
                        outbox.c.batch_id == open_batch,
                        outbox.c.status == OutboxStatus.PENDING.value,
                        outbox.c.claimed_until > now,
                    )
                ).first()
                if claims is not None:
                    return GroupClaim("in_flight", tuple(batch), open_batch)
                batch_id = open_batch
            else:
                due = found[0].created_at + wait
                if due > now:
                    return GroupClaim("waiting", tuple(found), None, due)
                batch, batch_id = found, str(uuid.uuid4())
            ids = [int(e.id or 0) for e in batch]
            for chunk in in_list_chunks(ids):
                conn.execute(
                    update(outbox)
                    .where(outbox.c.id.in_(chunk))
                    .values(batch_id=batch_id, claimed_until=now + lease, claim_token=token)
                )
            return GroupClaim(
                "claimed",
                tuple(replace(e, batch_id=batch_id) for e in batch),
                batch_id,
            )

    def mark_batch_delivered(self, batch_id: str, now: datetime) -> None:
        """Record that the message carrying the batch's rows was sent: all of them at once."""
        with self._writing("marking a group of outbox rows delivered") as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.batch_id == batch_id, outbox.c.status == OutboxStatus.PENDING.value)
                .values(**_delivered_values(now))
            )

    def mark_batch_failed(
        self, batch_id: str, error: str, now: datetime, max_attempts: int
    ) -> OutboxStatus:
        """Record a failed send of a batch's message on each of its rows; they keep their
        ``batch_id`` (the retry resends the same set) and die together after ``max_attempts``
        failures. Returns the batch's status afterwards (delivered when another deliverer
        already marked it)."""
        pending = OutboxStatus.PENDING.value
        with self._writing("recording a failed delivery of a group") as conn:
            attempts = conn.execute(
                select(func.max(outbox.c.attempts)).where(
                    outbox.c.batch_id == batch_id, outbox.c.status == pending
                )
            ).scalar()
            if attempts is None:
                return OutboxStatus.DELIVERED
            status = OutboxStatus.DEAD if attempts + 1 >= max_attempts else OutboxStatus.PENDING
            conn.execute(
                update(outbox)
                .where(outbox.c.batch_id == batch_id, outbox.c.status == pending)
                .values(
                    status=status.value,
                    attempts=attempts + 1,
                    last_error=error[:_MAX_ERROR_TEXT],
                    last_attempt_at=now,
                    claimed_until=None,
                    claim_token=None,
                )
            )
        return status

    def mark_delivered(self, outbox_id: int, now: datetime) -> None:
        """Record a successful delivery (a delivered row stays delivered)."""
        with self._writing("marking an outbox row delivered") as conn:
            found = conn.execute(
                select(outbox.c.status).where(outbox.c.id == outbox_id).with_for_update()
            ).first()
            if found is None:
                raise self._missing("outbox row", outbox_id)
            if found.status == OutboxStatus.DELIVERED.value:
                return
            conn.execute(
                update(outbox).where(outbox.c.id == outbox_id).values(**_delivered_values(now))
            )

    def mark_attempt_failed(
        self, outbox_id: int, error: str, now: datetime, max_attempts: int
    ) -> OutboxStatus:
        """Record a failed delivery; the row turns ``dead`` once it has failed ``max_attempts`` times.

        Returns the row's status afterwards. A row that is no longer pending (delivered by a
        concurrent run, or dead) is left as it is.
        """
        with self._writing("recording a failed delivery") as conn:
            found = conn.execute(
                select(outbox.c.status, outbox.c.attempts)
                .where(outbox.c.id == outbox_id)
                .with_for_update()
            ).first()
            if found is None:
                raise self._missing("outbox row", outbox_id)
            if found.status != OutboxStatus.PENDING.value:
                return OutboxStatus(found.status)
            attempts = found.attempts + 1
            status = OutboxStatus.DEAD if attempts >= max_attempts else OutboxStatus.PENDING
            conn.execute(
                update(outbox)
                .where(outbox.c.id == outbox_id)
                .values(
                    status=status.value,
                    attempts=attempts,
                    last_error=error[:_MAX_ERROR_TEXT],
                    last_attempt_at=now,
                    claimed_until=None,
                    claim_token=None,
                )
            )
        return status

    # --- silences ---------------------------------------------------------------------------

    def add_silence(self, silence: Silence) -> Silence:
        """Store a silence; returns it with ``id`` and ``created_at`` set."""
        if silence.ends_at <= silence.starts_at:
            raise StateStoreError(
                f"silence of {silence.match!r} ends ({rfc3339(silence.ends_at)}) before it "
                f"starts ({rfc3339(silence.starts_at)}); give a positive duration"
            )
        stored = replace(silence, id=None, created_at=silence.created_at or utcnow())
        with self._writing("adding a silence") as conn:
            result = conn.execute(silences.insert().values(rows.silence_to_row(stored)))
            return replace(stored, id=inserted_id(result))

    def end_silence(self, silence_id: int, now: datetime) -> Silence:
        """End a silence early; returns it. An already expired silence is returned unchanged."""
        with self._writing("ending a silence") as conn:
            row = (
                conn.execute(select(silences).where(silences.c.id == silence_id).with_for_update())
                .mappings()
                .first()
            )
            if row is None:
                raise self._missing("silence", silence_id, "list them with `sqlsentinel silences`")
            found = rows.silence_from_row(row)
            if not _unexpired(found, now):
                return found
            conn.execute(update(silences).where(silences.c.id == silence_id).values(ended_at=now))
            return replace(found, ended_at=now)

    def end_silences_matching(self, match: str, now: datetime) -> list[Silence]:
        """End every active or upcoming silence whose glob is exactly ``match``."""
        with self._writing("ending silences") as conn:
            result = conn.execute(
                select(silences)
                .where(silences.c.match == match, *_unexpired_clause(now))
                .order_by(silences.c.id)
                .with_for_update()
            )
            ended = [replace(rows.silence_from_row(r), ended_at=now) for r in result.mappings()]
            if ended:
                conn.execute(
                    update(silences)
                    .where(silences.c.id.in_([s.id for s in ended]))
                    .values(ended_at=now)
                )
        return ended

    def list_silences(self, now: datetime, include_inactive: bool = False) -> list[Silence]:
        """Active and upcoming silences (plus expired and ended ones with ``include_inactive``)."""
        query = select(silences).order_by(silences.c.starts_at, silences.c.id)
        if not include_inactive:
            query = query.where(*_unexpired_clause(now))
        with self._reading("reading silences") as conn:
            return [rows.silence_from_row(r) for r in conn.execute(query).mappings()]

    # --- incident actions and action links ------------------------------------------------

    def incident_actions(
        self,
        alert_name: str,
        *,
        instance_key: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[IncidentAction]:
        """What people and the escalation ladder did to the alert's incidents (optionally one
        instance's, from ``since`` on), newest first, at most ``limit``."""
        query = select(incident_actions).where(incident_actions.c.alert_name == alert_name)
        if since is not None:
            query = query.where(incident_actions.c.at >= since)
        query = query.order_by(incident_actions.c.at.desc(), incident_actions.c.id.desc())
        found: list[IncidentAction] = []
        with self._reading("reading incident actions") as conn:
            # instance keys are TEXT (not indexable everywhere): filtered here, not in SQL
            for row in conn.execute(query).mappings():
                if instance_key is not None and row["instance_key"] != instance_key:
                    continue
                found.append(rows.incident_action_from_row(row))
                if len(found) >= limit:
                    break
        return found

    def action_token_use(self, token_id: str) -> tuple[datetime, str] | None:
        """When and by whom the action link ``token_id`` was used (None: not yet)."""
        query = select(action_tokens.c.used_at, action_tokens.c.used_by).where(
            action_tokens.c.token_id == token_id
        )
        with self._reading("reading a used action link") as conn:
            row = conn.execute(query).first()
        return None if row is None else (row[0], str(row[1]))

    def use_action_token(
        self,
        token_id: str,
        *,
        action: str,
        alert_name: str,
        instance_key: str,
        used_by: str,
        now: datetime,
    ) -> bool:
        """Record that the action link ``token_id`` was used: True the first time, False
        when it was used before. The table's primary key decides, so two clicks at once
        cannot both be first."""
        values = {
            "token_id": token_id,
            "action": action,
            "alert_name": alert_name,
            "instance_key": instance_key,
            "used_at": now,
            "used_by": used_by[:NAME_LENGTH],
        }
        try:
            with self._writing("recording a used action link") as conn:
                conn.execute(action_tokens.insert().values(values))
        except StateStoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                return False
            raise
        return True

    # --- retention ---------------------------------------------------------------------------

    def purge(
        self,
        older_than: datetime,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        on_batch: Callable[[str, int, float], None] | None = None,
    ) -> dict[str, int]:
        """Delete history, incidents that ended, delivered or dead outbox rows and incident
        actions (acknowledgements, escalations), from
        before ``older_than``, at most ``batch_rows`` rows per transaction, so evaluations
        running meanwhile never wait long for a lock (``on_batch(table, rows, seconds)`` is
        told of each committed batch).

        Pending outbox rows are never purged: they are notifications still owed. An incident
        still going on is kept with its figures, although the rows it began with are gone. A
        quiet run (``store/compaction.py``) goes with its first evaluation.
        """
        o = outbox.c
        finished = [OutboxStatus.DELIVERED.value, OutboxStatus.DEAD.value]
        plans = (
            (
                "history",
                history,
                history.c.id,
                history.c.evaluated_at,
                [history.c.evaluated_at < older_than],
            ),
            (
                "incidents",
                incidents,
                None,
                incidents.c.ended_at,
                [incidents.c.ended_at < older_than],
            ),
            (
                "outbox",
                outbox,
                o.id,
                o.created_at,
                [o.status.in_(finished), o.created_at < older_than],
            ),
            (
                "incident_actions",
                incident_actions,
                incident_actions.c.id,
                incident_actions.c.at,
                [incident_actions.c.at < older_than],
            ),
        )
        counts: dict[str, int] = {}
        for name, table, id_column, order, where in plans:
            counts[name] = 0
            while True:
                started = time.monotonic()
                with self._writing(f"purging old {name} rows") as conn:
                    if id_column is None:  # incidents: (alert_name, start_id)
                        keys = conn.execute(
                            select(incidents.c.alert_name, incidents.c.start_id)
                            .where(*where)
                            .order_by(order)
                            .limit(batch_rows)
                        ).all()
                        for chunk in in_list_chunks(keys):
                            conn.execute(
                                delete(incidents).where(
                                    tuple_(incidents.c.alert_name, incidents.c.start_id).in_(
                                        [tuple(k) for k in chunk]
                                    )
                                )
                            )
                        deleted = len(keys)
                    else:
                        ids = list(
                            conn.scalars(
                                select(id_column).where(*where).order_by(order).limit(batch_rows)
                            )
                        )
                        for chunk in in_list_chunks(ids):
                            conn.execute(delete(table).where(id_column.in_(chunk)))
                        deleted = len(ids)
                counts[name] += deleted
                if on_batch is not None and deleted:
                    on_batch(name, deleted, time.monotonic() - started)
                if deleted < batch_rows:
                    break
        return counts

    def compact_history(
        self,
        before: datetime,
        *,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        max_samples: int = MAX_SAMPLES,
        on_batch: Callable[[str, int, float], None] | None = None,
    ) -> dict[str, int]:
        """Fold the quiet runs of every alert's history evaluated before ``before`` into one
        row each (``store/compaction.py``), each alert from where the last pass stopped, at
        most ``batch_rows`` rows per transaction. Returns the rows read, folded away, and the
        runs they were folded into."""
        with self._reading("listing alerts with history") as conn:
            names = sorted(
                set(conn.scalars(select(alert_lock.c.alert_name)))
                | set(conn.scalars(select(state.c.alert_name).distinct()))
            )
        total = {"read": 0, "folded": 0, "runs": 0}
        for name in names:
            done = compact_alert(
                lambda: self._writing("compacting history"),
                name,
                before,
                batch_rows=batch_rows,
                max_samples=max_samples,
                on_batch=on_batch,
            )
            total["read"] += done.rows_read
            total["folded"] += done.rows_folded
            total["runs"] += done.runs
        return total

    # --- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _reading(self, doing: str) -> Iterator[Connection]:
        with translating_errors(self.display_url, doing), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _writing(self, doing: str) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock up front (BEGIN IMMEDIATE),
        since upgrading a read transaction under WAL fails at once instead of waiting."""
        with translating_errors(self.display_url, doing), self._engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn

    def _missing(self, what: str, ident: int, hint: str = "") -> StateStoreError:
        text = f"state database {self.display_url}: no {what} with id {ident}"
        return StateStoreError(f"{text} ({hint})" if hint else text)


def _newest_values(
    conn: Connection,
    found: dict[tuple[str, str], list[RecentValue]],
    rows_of: dict[tuple[str, str], list[Any]],
    limit: int,
) -> dict[tuple[str, str], list[RecentValue]]:
    """Each pair's newest ``limit`` values from its rows read newest first (``id,
    alert_name, instance_key, evaluated_at, outcome, actual_value, threshold, repeats``), a
    quiet run's folded evaluations included (they are newer than its row). The samples of
    the compacted rows among the newest ``limit`` values are read in one more statement."""
    # rows of compacted runs among the newest `limit`: few (the overview's 2 days: none)
    folded = [p for p, newest_first in rows_of.items() if any(r[7] for r in newest_first[:limit])]
    wanted: list[int] = []
    for pair in folded:
        count = 0
        for row in rows_of[pair]:
            if count >= limit:
                break
            if row[7]:
                wanted.append(int(row[0]))
            count += 1 + (row[7] or 0)
    samples: dict[int, str] = {}
    for ids in in_list_chunks(wanted):
        samples.update(
            conn.execute(select(history.c.id, history.c.samples).where(history.c.id.in_(ids))).all()
        )
    # 30,000 values on the overview: the row-to-value step is inlined, and a threshold's text
    # (the same along an instance's rows, mostly) is decoded once (docs/benchmarks.md, 5)
    thresholds: dict[str | None, Any] = {}
    outcomes = rows.OUTCOMES
    json_value = json_from_text

    def threshold_of(text: str | None) -> Any:
        try:
            return thresholds[text]
        except KeyError:
            shared = json_value(text)
            if shared is None or type(shared) in (int, float):  # immutable: shareable
                thresholds[text] = shared
            return shared

    unfolded = set(rows_of).difference(folded)
    for pair, newest_first in rows_of.items():
        if pair in unfolded:  # one value per row
            found[pair] = [
                RecentValue(at, outcomes.get(outcome) or Outcome(outcome), json_value(value), t)
                for at, outcome, value, t in (
                    (r[3], r[4], r[5], threshold_of(r[6])) for r in newest_first[:limit]
                )
            ]
            continue
        values = found[pair]
        for row_id, _name, _key, at, outcome, value, threshold, repeats in newest_first:
            if len(values) >= limit:
                break
            shared = threshold_of(threshold)
            if repeats:
                for sample in reversed(decode_samples(at, samples.get(row_id))):
                    values.append(
                        RecentValue(sample.evaluated_at, Outcome.OK, sample.actual_value, shared)
                    )
                    if len(values) >= limit:
                        break
                if len(values) >= limit:
                    break
            values.append(
                RecentValue(
                    at, outcomes.get(outcome) or Outcome(outcome), json_value(value), shared
                )
            )
    return found


def _delivered_values(now: datetime) -> dict[str, Any]:
    """What marking outbox rows delivered writes (one row, or every row of a batch)."""
    return {
        "status": OutboxStatus.DELIVERED.value,
        "attempts": outbox.c.attempts + 1,
        "last_attempt_at": now,
        "delivered_at": now,
        "claimed_until": None,
        "claim_token": None,
    }


def _status_values(status: OutboxStatus | str | Collection[OutboxStatus | str]) -> list[str]:
    """The stored texts of one status or several (ValueError for an unknown one)."""
    several = [status] if isinstance(status, str) else list(status)
    return [OutboxStatus(s).value for s in several]


def _unexpired_clause(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        silences.c.ends_at > now,
        or_(silences.c.ended_at.is_(None), silences.c.ended_at > now),
    )


def _unexpired(silence: Silence, now: datetime) -> bool:
    return silence.ends_at > now and (silence.ended_at is None or silence.ended_at > now)


class _LockRetriesExhausted(StateStoreError):
    """Taking an alert lock failed on every attempt: retrying the whole unit would repeat it."""


def _caused_by_retryable(exc: StateStoreError) -> bool:
    if isinstance(exc, _LockRetriesExhausted):
        return False
    cause = exc.__cause__
    return isinstance(cause, SQLAlchemyError) and is_retryable(cause)


def _lost_before_locking(exc: SQLAlchemyError) -> bool:
    """A connection lost while taking an alert lock: retrying cannot do anything twice.

    Only a connection that was working (SQLAlchemy invalidated it on a disconnect error) counts;
    failing to connect at all is not retried here: that is the database being down.
    """
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _backoff(attempt: int) -> None:
    time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
