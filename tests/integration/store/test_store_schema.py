"""Migrations: from an empty database, from version 1, refusing a newer schema; errors."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.core.model import EventKind, Outcome, Reason, RunType, Silence, State
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import (
    LATEST_VERSION,
    MIGRATIONS,
    HistoryEntry,
    OutboxEntry,
    OutboxMember,
    StateStore,
    create_state_engine,
    ensure_schema,
    rows,
)
from sqlsentinel_airflow.store.migrations import V5_REASON_CODES
from sqlsentinel_airflow.store.schema_v1 import v1_metadata
from sqlsentinel_airflow.store.tables import metadata, schema_version


def _reflected_schema(engine: sa.Engine) -> dict[str, dict[str, object]]:
    inspector = sa.inspect(engine)
    schema: dict[str, dict[str, object]] = {}
    for name in sorted(n for n in inspector.get_table_names() if n.startswith("sqlsentinel_")):
        schema[name] = {
            "columns": {c["name"]: c["nullable"] for c in inspector.get_columns(name)},
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": {
                i["name"]: list(i["column_names"])
                for i in inspector.get_indexes(name)
                if not i.get("unique")  # MySQL also lists unique constraints as indexes
            },
            "unique": {
                u["name"]: u["column_names"] for u in inspector.get_unique_constraints(name)
            },
        }
    return schema


def _declared_schema() -> dict[str, dict[str, object]]:
    declared: dict[str, dict[str, object]] = {}
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        declared[table.name] = {
            "columns": {c.name: c.nullable for c in table.columns},
            "primary_key": [c.name for c in table.primary_key.columns],
            "indexes": {str(i.name): [c.name for c in i.columns] for i in table.indexes},
            "unique": {
                str(u.name): [c.name for c in u.columns]
                for u in table.constraints
                if isinstance(u, sa.UniqueConstraint)
            },
        }
    return declared


V11_OUTBOX_COLUMNS = ("group_key", "batch_id")


def _versions(engine: sa.Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.select(schema_version.c.version).order_by("version")))


def test_migrating_an_empty_database_yields_exactly_the_declared_schema(any_db_url: str) -> None:
    store = StateStore.connect(any_db_url)
    try:
        assert store.schema_version() == LATEST_VERSION == 13
        assert _reflected_schema(store.engine) == _declared_schema()
        assert _versions(store.engine) == [m.version for m in MIGRATIONS]
        # connecting again is a no-op: no step re-applied, no version row added
        StateStore.connect(any_db_url).dispose()
        assert _versions(store.engine) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    finally:
        store.dispose()


def test_upgrade_from_version_1_keeps_data_and_adds_the_v2_indexes(any_db_url: str) -> None:
    engine = create_state_engine(any_db_url)
    try:
        assert ensure_schema(engine, display_url="test", target_version=1) == 1
        indexes = {i["name"] for i in sa.inspect(engine).get_indexes("sqlsentinel_history")}
        assert "ix_sqlsentinel_history_evaluated_at" not in indexes
        at = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
        old_id = _insert_v1_history_row(engine, "a", at)
    finally:
        engine.dispose()

    store = StateStore.connect(any_db_url)
    try:
        assert store.schema_version() == 13
        assert _versions(store.engine) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
        assert _reflected_schema(store.engine) == _declared_schema()
        assert [(e.id, e.evaluated_at) for e in store.history()] == [(old_id, at)]
    finally:
        store.dispose()


def _insert_v1_history_row(engine: sa.Engine, alert: str, at: datetime) -> int:
    """A history row as version 1 code wrote it (only the v1 columns)."""
    v1_history = v1_metadata().tables["sqlsentinel_history"]
    row = rows.history_to_row(HistoryEntry(alert, at, Outcome.OK, State.OK))
    with engine.begin() as conn:
        result = conn.execute(
            v1_history.insert().values({k: v for k, v in row.items() if k in v1_history.c})
        )
        return int(result.inserted_primary_key[0])


def test_upgrade_from_version_3_leaves_old_history_rows_unmarked(any_db_url: str) -> None:
    """v4 adds commit_confirmed without rewriting history: old rows read as None (nobody
    waits for them), so a retry of a run evaluated before the upgrade evaluates as before."""
    engine = create_state_engine(any_db_url)
    try:
        assert ensure_schema(engine, display_url="test", target_version=3) == 3
        columns = {c["name"] for c in sa.inspect(engine).get_columns("sqlsentinel_history")}
        assert "commit_confirmed" not in columns
        at = datetime(2025, 6, 1, tzinfo=timezone.utc)
        old_id = _insert_v1_history_row(engine, "a", at)
    finally:
        engine.dispose()

    with StateStore.connect(any_db_url) as store:
        assert _versions(store.engine) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
        assert _reflected_schema(store.engine) == _declared_schema()
        (old,) = store.history("a")
        assert (old.id, old.commit_confirmed) == (old_id, None)
        with store.alert_transaction("a") as tx:
            tx.add_history(HistoryEntry("a", at, Outcome.OK, State.OK, commit_confirmed=False))
        assert [e.commit_confirmed for e in store.history("a")] == [False, None]


def _raw_reasons(engine: sa.Engine) -> dict[int, str | None]:
    history = metadata.tables["sqlsentinel_history"]
    with engine.connect() as conn:
        return {
            row.id: row.reason for row in conn.execute(sa.select(history.c.id, history.c.reason))
        }


def test_upgrade_to_version_5_rewrites_history_reasons_to_their_codes(any_db_url: str) -> None:
    """v5 stores a reason by its code: rows written in the English of v4 are rewritten, NULL
    and text that names no reason stay as they are, and everything reads back as before."""
    engine = create_state_engine(any_db_url)
    at = datetime(2025, 7, 1, tzinfo=timezone.utc)
    try:
        assert ensure_schema(engine, display_url="test", target_version=4) == 4
        history = metadata.tables["sqlsentinel_history"]  # v5 changes no column
        old_texts: list[str | None] = [*V5_REASON_CODES, None, "a reason from 2030"]
        with engine.begin() as conn:
            for text in old_texts:
                row = rows.history_to_row(HistoryEntry("a", at, Outcome.OK, State.OK))
                conn.execute(history.insert().values({**row, "reason": text}))
        before = _raw_reasons(engine)
        assert sorted(before.values(), key=str) == sorted(old_texts, key=str)  # as v4 wrote them
    finally:
        engine.dispose()

    with StateStore.connect(any_db_url) as store:
        assert _versions(store.engine) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
        assert _reflected_schema(store.engine) == _declared_schema()
        codes = list(V5_REASON_CODES.values())
        assert sorted(_raw_reasons(store.engine).values(), key=str) == sorted(
            [*codes, None, "a reason from 2030"], key=str
        )
        read = [e.reason for e in reversed(store.history("a", limit=100))]
        assert read == [Reason.from_code(c) for c in codes] + [None, "a reason from 2030"]
        assert all(type(r) is Reason for r in read[: len(codes)])  # members, not look-alikes

        # re-running the step (MySQL may crash between it and its version row) changes nothing
        after = _raw_reasons(store.engine)
        with store.engine.begin() as conn:
            MIGRATIONS[4].apply(conn)
        assert _raw_reasons(store.engine) == after


def test_upgrade_to_version_6_reads_old_silences_as_whole_alert_and_old_deliveries_unnamed(
    any_db_url: str,
) -> None:
    """v6 adds silences.instance_key and outbox.destination, nullable and not backfilled: a
    silence stored before covers every instance, a delivery row from before names no
    destination; rows written after keep both."""
    engine = create_state_engine(any_db_url)
    at = datetime(2025, 8, 1, tzinfo=timezone.utc)
    try:
        assert ensure_schema(engine, display_url="test", target_version=5) == 5
        for table, column in (
            ("sqlsentinel_silences", "instance_key"),
            ("sqlsentinel_outbox", "destination"),
        ):
            assert column not in {c["name"] for c in sa.inspect(engine).get_columns(table)}
        old_silence = {
            k: v
            for k, v in rows.silence_to_row(
                Silence("a", at, at.replace(year=2099), created_at=at)
            ).items()
            if k != "instance_key"
        }
        old_row = {
            k: v
            for k, v in rows.outbox_to_row(
                OutboxEntry("e1", "a", EventKind.FIRING, "0-email-x", "email", {}, "k1", at)
            ).items()
            if k not in ("destination", "members", *V11_OUTBOX_COLUMNS)
        }
        with engine.begin() as conn:
            conn.execute(metadata.tables["sqlsentinel_silences"].insert().values(old_silence))
            conn.execute(metadata.tables["sqlsentinel_outbox"].insert().values(old_row))
    finally:
        engine.dispose()

    with StateStore.connect(any_db_url) as store:
        assert _versions(store.engine) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
        assert _reflected_schema(store.engine) == _declared_schema()
        (silence,) = store.list_silences(at)
        assert (silence.match, silence.instance_key) == ("a", None)
        (entry,) = store.outbox()
        assert (entry.idempotency_key, entry.destination) == ("k1", None)

        key = '["orders"]'
        stored = store.add_silence(
            Silence("a", at, at.replace(year=2099), created_at=at, instance_key=key)
        )
        assert {s.id: s.instance_key for s in store.list_silences(at)}[stored.id] == key
        with store.alert_transaction("a") as tx:
            tx.enqueue(
                OutboxEntry(
                    "e2",
                    "a",
                    EventKind.FIRING,
                    "0-email-x",
                    "email",
                    {},
                    "k2",
                    at,
                    destination="oncall@example.com",
                )
            )
        assert {e.idempotency_key: e.destination for e in store.outbox()} == {
            "k1": None,
            "k2": "oncall@example.com",
        }


def test_upgrade_to_version_7_finds_the_incidents_in_the_history_written_before(
    any_db_url: str,
) -> None:
    """v7 keeps incidents in a table of their own, filled on upgrade from the history there
    is (backfill rows left out); evaluations keep it up to date from then on."""
    engine = create_state_engine(any_db_url)
    at = datetime(2025, 9, 1, tzinfo=timezone.utc)
    script = [  # instance "", then instance "x" in between
        ("", Outcome.OK, State.OK, None, ()),
        ("", Outcome.ALERT, State.FIRING, Reason.FIRST_FIRING, (EventKind.FIRING,)),
        ("x", Outcome.ALERT, State.FIRING, Reason.FIRST_FIRING, ()),
        ("", Outcome.ERROR, State.ERROR, Reason.ERROR_NOTIFIED, (EventKind.ERROR,)),
        ("", Outcome.OK, State.OK, Reason.RESOLVED, (EventKind.RESOLVED,)),
        ("x", Outcome.ALERT, State.OK, Reason.BACKFILL, ()),  # a backfill moves nothing
    ]
    try:
        assert ensure_schema(engine, display_url="test", target_version=6) == 6
        assert not sa.inspect(engine).has_table("sqlsentinel_incidents")
        history = metadata.tables["sqlsentinel_history"]
        with engine.begin() as conn:
            for n, (key, outcome, state, reason, events) in enumerate(script):
                run_type = RunType.BACKFILL if reason is Reason.BACKFILL else RunType.SCHEDULED
                entry = HistoryEntry(
                    "a",
                    at.replace(minute=n),
                    outcome,
                    state,
                    instance_key=key,
                    run_type=run_type,
                    run_id=f"r{n}",
                    reason=reason,
                    events=events,
                    actual_value=10 + n,
                    threshold=5,
                    error="boom" if outcome is Outcome.ERROR else None,
                )
                conn.execute(history.insert().values(rows.history_to_row(entry)))
    finally:
        engine.dispose()

    with StateStore.connect(any_db_url) as store:
        assert _versions(store.engine)[-1] == 13
        assert _reflected_schema(store.engine) == _declared_schema()
        found, more = store.incidents("a")
        assert not more
        assert [
            (i.instance_key, i.kind.value, i.start_run_id, i.end_run_id, i.evaluations)
            for i in found
        ] == [
            ("", "error", "r3", "r4", 1),
            ("x", "firing", "r2", None, 1),
            ("", "firing", "r1", "r4", 2),
        ]
        error, open_x, firing = found
        assert (firing.notifications, error.notifications) == (
            {"firing": 1, "resolved": 1},
            {"error": 1, "resolved": 1},
        )
        assert (error.error, firing.peak_value, open_x.ongoing) == ("boom", 11, True)


def test_history_reasons_are_written_by_code_and_read_back_as_reasons(any_db_url: str) -> None:
    at = datetime(2025, 7, 2, tzinfo=timezone.utc)
    written: list[Reason | str | None] = [
        Reason.FIRST_FIRING,
        Reason.ERROR_NOTIFIED.value,  # the English text, as an older caller passes it
        "recovered_from_error",  # a code, as a string
        "not a reason at all",
    ]
    with StateStore.connect(any_db_url) as store:
        with store.alert_transaction("a") as tx:
            for reason in written:
                tx.add_history(HistoryEntry("a", at, Outcome.OK, State.OK, reason=reason))
        # a worker still on the previous release writes English text until it restarts
        history = metadata.tables["sqlsentinel_history"]
        row = rows.history_to_row(HistoryEntry("a", at, Outcome.OK, State.OK))
        with store.engine.begin() as conn:
            conn.execute(history.insert().values({**row, "reason": Reason.REMINDER_DUE.value}))

        assert sorted(_raw_reasons(store.engine).values()) == sorted(
            [
                "first_firing",
                "error_notified",
                "recovered_from_error",
                "not a reason at all",
                Reason.REMINDER_DUE.value,
            ]
        )
        read = [e.reason for e in reversed(store.history("a"))]
        assert read == [
            Reason.FIRST_FIRING,
            Reason.ERROR_NOTIFIED,
            Reason.RECOVERED_FROM_ERROR,
            "not a reason at all",
            Reason.REMINDER_DUE,
        ]
        assert [type(r) for r in read] == [Reason, Reason, Reason, str, Reason]


def test_the_v5_mapping_names_real_codes_once_each() -> None:
    codes = list(V5_REASON_CODES.values())
    assert len(set(codes)) == len(codes)
    for text, code in V5_REASON_CODES.items():
        assert Reason.from_code(code).code == code, text
    for reason in Reason:  # a text v5 rewrites becomes the code of the reason it names
        if reason.value in V5_REASON_CODES:
            assert V5_REASON_CODES[reason.value] == reason.code, reason
    assert len(V5_REASON_CODES) == 18  # every reason version 4 could write


def test_a_newer_schema_is_refused_with_what_to_do(any_db_url: str) -> None:
    StateStore.connect(any_db_url).dispose()
    engine = create_state_engine(any_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                schema_version.insert().values(
                    version=LATEST_VERSION + 1,
                    description="from the future",
                    applied_at=datetime.now(timezone.utc),
                )
            )
    finally:
        engine.dispose()
    with pytest.raises(
        StateStoreError,
        match=rf"has schema version {LATEST_VERSION + 1}, but this sqlsentinel-airflow .* knows "
        rf"versions up to {LATEST_VERSION}: upgrade sqlsentinel-airflow",
    ):
        StateStore.connect(any_db_url)


def test_display_url_redacts_the_password() -> None:
    store = StateStore.connect(
        "postgresql+psycopg2://alice:s3cret@127.0.0.1:5432/postgres?sslpassword=x", migrate=False
    )
    try:
        assert "s3cret" not in store.display_url and "sslpassword=x" not in store.display_url
        assert store.display_url.startswith("postgresql+psycopg2://alice:***@127.0.0.1:5432/")
        assert "s3cret" not in repr(store)
    finally:
        store.dispose()


def test_unreachable_database_names_it_and_says_what_to_do() -> None:
    # A port nothing listens on: the error names the database, without the password.
    with pytest.raises(StateStoreError) as caught:
        StateStore.connect("postgresql+psycopg2://bob:hunter2@127.0.0.1:1/nowhere")
    message = str(caught.value)
    assert message.startswith("state database postgresql+psycopg2://bob:***@127.0.0.1:1/nowhere:")
    assert "check that the state database is running, reachable" in message
    assert "hunter2" not in message


def test_invalid_url_and_missing_driver_are_explained() -> None:
    with pytest.raises(StateStoreError, match=r"not a valid SQLAlchemy URL \(write e\.g\. "):
        StateStore.connect("not a url :: with password hunter2")
    with pytest.raises(StateStoreError, match=r"no driver for 'postgresql\+nosuchdriver'"):
        StateStore.connect("postgresql+nosuchdriver://u:p@localhost/db")


def test_missing_sqlite_folder_is_a_state_store_error(tmp_path: object) -> None:
    with pytest.raises(StateStoreError, match=r"unable to open database file .*check that"):
        StateStore.connect(f"sqlite:///{tmp_path}/no/such/folder/state.db")


def test_a_same_named_table_of_another_tool_is_refused_before_anything_is_written(
    any_db_url: str,
) -> None:
    engine = sa.create_engine(any_db_url)
    try:
        with engine.begin() as conn:  # the standalone SQL Sentinel 0.1.0's state table, abridged
            conn.execute(
                sa.text(
                    "CREATE TABLE sqlsentinel_state (alert_name VARCHAR(255) PRIMARY KEY, "
                    "current_status VARCHAR(50), consecutive_alerts INTEGER NOT NULL)"
                )
            )
        with pytest.raises(StateStoreError) as refused:
            StateStore.connect(any_db_url)
        message = str(refused.value)
        assert "already has a table 'sqlsentinel_state' that is not sqlsentinel-airflow's" in (
            message
        )
        assert "key_hash" in message and "database (or schema) of its own" in message
        assert sa.inspect(engine).get_table_names() == ["sqlsentinel_state"]  # nothing created
    finally:
        engine.dispose()


def test_our_own_half_created_tables_are_completed(any_db_url: str) -> None:
    """A step 1 that crashed after some tables (MySQL commits DDL) is simply re-run."""
    engine = sa.create_engine(any_db_url)
    try:
        state_table = metadata.tables["sqlsentinel_state"]
        with engine.begin() as conn:
            state_table.create(conn)
        with StateStore.connect(any_db_url) as store:
            assert store.schema_version() == LATEST_VERSION
        assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_driver_message_quoting_a_dsn_is_redacted_in_the_store_error() -> None:
    from sqlalchemy.exc import OperationalError

    from sqlsentinel_airflow.store.engine import store_error

    driver = Exception(
        'invalid dsn: "postgresql://alice:s3cret-Pw9@db/state" password=s3cret-Pw9\nDETAIL: x'
    )
    error = store_error(OperationalError("SELECT 1", {}, driver), "postgresql://db/state", "read")
    assert str(error) == (
        "state database postgresql://db/state: read failed: invalid dsn: "
        '"postgresql://alice:***@db/state" password=*** (check that the state database is '
        "running, reachable and writable by this user)"
    )


def test_upgrade_to_version_11_reads_old_rows_as_not_grouped_across_alerts(
    any_db_url: str,
) -> None:
    """v11 adds outbox.group_key and batch_id, nullable and not backfilled: a row from before
    belongs to no group across alerts and no batch, and is delivered as it always was."""
    engine = create_state_engine(any_db_url)
    at = datetime(2025, 11, 1, tzinfo=timezone.utc)
    try:
        assert ensure_schema(engine, display_url="test", target_version=10) == 10
        columns = {c["name"] for c in sa.inspect(engine).get_columns("sqlsentinel_outbox")}
        assert columns.isdisjoint(V11_OUTBOX_COLUMNS)
        single = OutboxEntry("e1", "a", EventKind.FIRING, "0:email:x", "email", {}, "k1", at)
        old_row = {
            k: v for k, v in rows.outbox_to_row(single).items() if k not in V11_OUTBOX_COLUMNS
        }
        with engine.begin() as conn:
            conn.execute(metadata.tables["sqlsentinel_outbox"].insert().values(old_row))
    finally:
        engine.dispose()

    with StateStore.connect(any_db_url) as store:
        assert _versions(store.engine)[-1] == 13
        assert _reflected_schema(store.engine) == _declared_schema()
        (entry,) = store.pending_outbox("a")
        assert (entry.group_key, entry.batch_id) == (None, None)


def test_upgrade_to_version_10_reads_old_deliveries_as_single_events(any_db_url: str) -> None:
    """v10 adds outbox.members (a grouped message's events), nullable and not backfilled: a
    row from before carries one event, as it always did; a grouped row keeps its members."""
    engine = create_state_engine(any_db_url)
    at = datetime(2025, 10, 1, tzinfo=timezone.utc)
    try:
        assert ensure_schema(engine, display_url="test", target_version=9) == 9
        columns = sa.inspect(engine).get_columns("sqlsentinel_outbox")
        assert "members" not in {c["name"] for c in columns}
        single = OutboxEntry("e1", "a", EventKind.FIRING, "0:email:x", "email", {}, "k1", at)
        old_row = {
            k: v
            for k, v in rows.outbox_to_row(single).items()
            if k not in ("members", *V11_OUTBOX_COLUMNS)
        }
        with engine.begin() as conn:
            conn.execute(metadata.tables["sqlsentinel_outbox"].insert().values(old_row))
    finally:
        engine.dispose()

    with StateStore.connect(any_db_url) as store:
        assert _versions(store.engine)[-1] == 13
        assert _reflected_schema(store.engine) == _declared_schema()
        (entry,) = store.pending_outbox("a")
        assert (entry.members, entry.instance_keys) == ((), ("",))
        members = (
            OutboxMember('{"region": "eu"}', EventKind.FIRING, "m1"),
            OutboxMember('{"region": "us"}', EventKind.RESOLVED, "m2"),
        )
        with store.alert_transaction("a") as tx:
            tx.enqueue(
                OutboxEntry(
                    "g1", "a", EventKind.FIRING, "0:email:x", "email", {}, "k2", at, members=members
                )
            )
        grouped = {e.idempotency_key: e for e in store.pending_outbox("a")}["k2"]
        assert grouped.members == members
        assert grouped.instance_keys == ('{"region": "eu"}', '{"region": "us"}')
