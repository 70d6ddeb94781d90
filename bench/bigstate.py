"""A big PostgreSQL state database: N alerts and D days of history, written with COPY.

The workload of a team that has run SQL Sentinel for a while (docs/benchmarks.md, "The UI
on a big state database"): of every 10 alerts 1 runs every minute, 4 every 5 minutes and 5
hourly; every 10th alert is keyed with 20 instances (one history row per instance and
evaluation, as the engine writes them). Each instance has an incident every 2-6 days (its
first evaluation notifies ``firing``, a reminder every hour while it lasts, ``resolved`` at its
end), some alerts fail now and then, every notification is an outbox row (delivered; 1 in
50 dead-lettered; the last 10 minutes' still pending), and there are silences: expired ones
over the whole period, a few active now, some of them covering one instance.

The rows are written in time order (every alert's evaluation of one minute, then the next
minute's), as a running deployment writes them: an alert's rows are spread over the whole
table, not stored together. Each instance's last evaluation becomes its state row.

The schema is created by ``StateStore.connect`` (every migration applied); the history
table's secondary indexes are dropped during the load and rebuilt from ``tables.py``
afterwards (a bulk load is faster that way; the result is the same table).

    .venv/bin/python -m bench.bigstate --alerts 1000 --days 7 --db ss_bigstate --keep
    .venv/bin/python -m bench.bigstate --drop ss_bigstate

Rows per day at 1,000 alerts: about 790,000 history rows (a year: about 287 million).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "PG_ADMIN_URL",
    "BigAlert",
    "Compaction",
    "alerts_yaml",
    "big_alerts",
    "busiest_alert",
    "create_database",
    "drop_database",
    "generate",
]

PG_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
DAG_ID_PREFIX = "big_"
INSTANCES = 20  # instances of a keyed alert
THRESHOLD = 100
CHANNEL_ID = "0:email:5f1c2a9e40"
DESTINATION = "oncall@example.com"


@dataclass(frozen=True)
class BigAlert:
    index: int
    name: str
    every_minutes: int  # 1, 5 or 60
    keyed: bool

    @property
    def dag_id(self) -> str:
        return f"{DAG_ID_PREFIX}{self.name}"

    @property
    def schedule(self) -> str:
        return {1: "* * * * *", 5: "*/5 * * * *", 60: f"{self.index % 60} * * * *"}[
            self.every_minutes
        ]

    @property
    def fails_sometimes(self) -> bool:
        return self.index % 25 == 3

    def instance_keys(self) -> list[str]:
        if not self.keyed:
            return [""]
        return [_key(j) for j in range(INSTANCES)]


def _key(j: int) -> str:
    return json.dumps({"table_name": f"table_{j:02d}"}, separators=(",", ":"), sort_keys=True)


def big_alerts(count: int) -> list[BigAlert]:
    """``count`` alerts; of each 10: 1 every minute, 4 every 5 minutes, 5 hourly; the first 10
    of each 100 keyed (10% of each schedule; alert 0 runs every minute and is keyed)."""
    found = []
    for i in range(count):
        slot = i % 10
        every = 1 if slot == 0 else 5 if slot < 5 else 60
        found.append(BigAlert(i, f"alert_{i:05d}", every, keyed=i % 100 < 10))
    return found


def busiest_alert(alerts: list[BigAlert]) -> BigAlert:
    """The alert with the most history: every minute, keyed."""
    return next(a for a in alerts if a.every_minutes == 1 and a.keyed)


def alerts_yaml(alerts: list[BigAlert]) -> str:
    """An alerts.yaml defining exactly these alerts (names, schedules, keys)."""
    lines = [
        f"dag_id_prefix: {DAG_ID_PREFIX}",
        "defaults:",
        "  conn_id: warehouse",
        "  owner: data-team",
        "  timezone: UTC",
        "  notify:",
        "    - channel: email",
        f"      to: [{DESTINATION}]",
        "alerts:",
    ]
    for a in alerts:
        lines += [
            f"  - name: {a.name}",
            f"    description: generated alert {a.index}, every {a.every_minutes} min",
            f'    schedule: "{a.schedule}"',
            f"    severity: {('critical', 'warning', 'info')[a.index % 3]}",
            f"    tags: [team{a.index % 7}]",
        ]
        if a.keyed:
            lines += [
                "    key_columns: [table_name]",
                "    query: SELECT table_name, 'OK' AS status, n AS actual_value,"
                f" {THRESHOLD} AS threshold FROM t{a.index}",
            ]
        else:
            lines.append(
                f"    query: SELECT 'OK' AS status, n AS actual_value, {THRESHOLD} AS threshold"
                f" FROM t{a.index}"
            )
    return "\n".join(lines) + "\n"


# --- the instances' lives ------------------------------------------------------------------


@dataclass
class _Instance:
    alert: BigAlert
    key: str
    cycle: int  # minutes between incident starts
    length: int  # minutes an incident lasts
    offset: int
    prefix: str  # "alert_name\tinstance_key\t"
    suffix_kv: str  # key_values JSON
    n: int = 0  # its position among all instances


# the OK values an instance reports, as the history stores them (by pos * 7919 % 300)
_OK_VALUES = [f"{THRESHOLD * 0.5 + k / 10:g}" for k in range(300)]


def _instances(alerts: list[BigAlert]) -> list[_Instance]:
    found = []
    for a in alerts:
        for key in a.instance_keys():
            h = int(hashlib.sha1(f"{a.name}|{key}".encode()).hexdigest()[:8], 16)
            cycle = 1440 * (2 + h % 5)
            length = max(2 * a.every_minutes, 30 + h % 120)
            found.append(
                _Instance(
                    a,
                    key,
                    cycle,
                    length,
                    h % cycle,
                    f"{a.name}\t{key}\t",
                    key if key else "{}",
                    len(found),
                )
            )
    return found


def _phase(inst: _Instance, t: int) -> str:
    """``firing``, ``error`` or ``ok`` at minute ``t``."""
    pos = (t + inst.offset) % inst.cycle
    if pos < inst.length:
        return "firing"
    half = inst.cycle // 2
    if inst.alert.fails_sometimes and half <= pos < half + 2 * inst.alert.every_minutes:
        return "error"
    return "ok"


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _payload(inst: _Instance, kind: str, at: str, value: float) -> str:
    a = inst.alert
    return json.dumps(
        {
            "version": 1,
            "kind": kind,
            "state": "OK" if kind == "resolved" else "FIRING",
            "alert": {
                "name": a.name,
                "description": f"generated alert {a.index}, every {a.every_minutes} min",
                "severity": ("critical", "warning", "info")[a.index % 3],
                "dag_id": a.dag_id,
                "owner": "data-team",
                "tags": [f"team{a.index % 7}"],
            },
            "instance": {"key": inst.key, "key_values": json.loads(inst.suffix_kv)},
            "actual_value": value,
            "threshold": THRESHOLD,
            "occurred_at": at,
        },
        separators=(",", ":"),
    ).replace("\\", "\\\\")  # COPY's text format reads a backslash as an escape


class _Rows(io.TextIOBase):
    """A readable text stream over generated COPY lines (psycopg2's copy_expert reads it)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        want = 1 << 20 if size is None or size < 0 else size
        parts = [self._buffer]
        have = len(self._buffer)
        for line in self._lines:
            parts.append(line)
            have += len(line)
            if have >= want:
                break
        text = "".join(parts)
        self._buffer = text[want:]
        return text[:want]

    def readline(self, size: int | None = -1) -> str:  # pragma: no cover - copy uses read
        return self.read(size)


@dataclass
class _Collected:
    outbox: list[str]
    states: list[str]
    history_rows: int = 0  # evaluations
    rows_written: int = 0  # history rows (fewer when compacted)
    last_id: int = 0
    watermarks: dict[str, int] | None = None  # alert -> through_id, when compacted


@dataclass(frozen=True)
class Compaction:
    """Write the history as ``sqlsentinel purge`` leaves it: every evaluation before
    ``before_minute`` (minutes from the start) compacted in one pass from an empty watermark,
    ``batch_rows`` rows of an alert per transaction, at most ``max_samples`` per run
    (``store/compaction.py``; a CI test checks that the two write the same rows)."""

    before_minute: int
    batch_rows: int
    max_samples: int


class _Run:
    __slots__ = ("head", "head_t", "samples")

    def __init__(self, head: tuple[int, str, str], head_t: int) -> None:
        self.head = head  # (id, the row's line without id and the v8 columns, its ts)
        self.head_t = head_t
        self.samples: list[tuple[int, str, int]] = []  # (minute, value text, duration_ms)


_NO_RUN = "\\N\t\\N\t\\N"


def _head_line(run: _Run, start: datetime) -> str:
    row_id, body, _ts_text = run.head
    if not run.samples:
        return f"{row_id}\t{body}\t{_NO_RUN}\n"
    # store.compaction.encode_samples' text, from whole minutes (a CI test compares the two)
    parts = []
    previous = run.head_t
    for m, v, d in run.samples:
        parts.append(f"[{(m - previous) * 60_000_000},{v},{d}]")
        previous = m
    samples = "[" + ",".join(parts) + "]"
    last = _ts(start + timedelta(minutes=run.samples[-1][0]))
    return f"{row_id}\t{body}\t{len(run.samples)}\t{last}\t{samples}\n"


def _history_lines(
    instances: list[_Instance],
    start: datetime,
    minutes: int,
    collected: _Collected,
    compaction: Compaction | None = None,
) -> Iterator[str]:
    by_period: dict[int, list[_Instance]] = {}
    for inst in instances:
        by_period.setdefault(inst.alert.every_minutes, []).append(inst)
    hourly_slots: dict[int, list[_Instance]] = {}
    for inst in by_period.get(60, []):
        hourly_slots.setdefault(inst.alert.index % 60, []).append(inst)
    last: dict[int, tuple[int, str, float]] = {}
    pending_from = minutes - 10
    event_n = 0
    row_id = collected.last_id
    runs: dict[int, _Run] = {}  # open quiet runs, by instance
    by_alert: dict[int, list[_Instance]] = {}
    for inst in instances:
        by_alert.setdefault(inst.alert.index, []).append(inst)
    alert_count = max(by_alert, default=-1) + 1
    position = [0] * alert_count  # rows of each alert so far (batch boundaries)
    watermarks = [0] * alert_count
    compacting = compaction is not None
    batch = compaction.batch_rows if compaction is not None else 0
    most = compaction.max_samples if compaction is not None else 0
    for t in range(minutes):
        moment = start + timedelta(minutes=t)
        ts = _ts(moment)
        run_id = f"scheduled__{moment.isoformat()}"
        due = by_period.get(1, [])
        if t % 5 == 0:
            due = due + by_period.get(5, [])
        due = due + hourly_slots.get(t % 60, [])
        if compacting and compaction is not None and t == compaction.before_minute:
            for run in runs.values():  # the pass stops at the first row at the cut-off
                yield _head_line(run, start)
            runs.clear()
            compacting = False
        for inst in due:
            if compacting:
                # the common case, fast: a quiet evaluation (OK, and OK before) folded into its
                # instance's open run within the same transaction; no row is written for it
                a = inst.alert
                seen = position[a.index]
                open_run = runs.get(inst.n)
                pos = (t + inst.offset) % inst.cycle
                if open_run is not None and seen % batch and pos >= inst.length:
                    p = a.every_minutes
                    half = inst.cycle // 2
                    earlier = (pos - p) % inst.cycle
                    fails = a.fails_sometimes
                    if (
                        earlier >= inst.length
                        and not (fails and half <= pos < half + 2 * p)
                        and not (fails and half <= earlier < half + 2 * p)
                    ):
                        row_id += 1
                        collected.history_rows += 1
                        position[a.index] = seen + 1
                        watermarks[a.index] = row_id
                        open_run.samples.append((t, _OK_VALUES[pos * 7919 % 300], 20 + pos % 180))
                        if len(open_run.samples) >= most:
                            yield _head_line(runs.pop(inst.n), start)
                        continue
            p = inst.alert.every_minutes
            now_phase = _phase(inst, t)
            before = _phase(inst, t - p)
            pos = (t + inst.offset) % inst.cycle
            events = "[]"
            error = "\\N"
            if now_phase == "firing":
                value = THRESHOLD * 1.2 + (pos % 37)
                outcome, state = "ALERT", "FIRING"
                if before != "firing":
                    reason, events = "first_firing", '["firing"]'
                elif pos >= 60 and pos // 60 != (pos - p) // 60:
                    reason, events = "reminder_due", '["reminder"]'
                else:
                    reason = "still_firing"
            elif now_phase == "error":
                value = None
                outcome, state, reason = "ERROR", "ERROR", "error_below_threshold"
                error = 'relation "orders" does not exist (SQLSTATE 42P01)'
            else:
                value = THRESHOLD * 0.5 + (pos * 7919 % 300) / 10
                outcome, state = "OK", "OK"
                if before == "firing":
                    reason, events = "resolved", '["resolved"]'
                elif before == "error":
                    reason = "recovered_from_error"
                else:
                    reason = "ok"
            shown = (
                "\\N"
                if value is None
                else _OK_VALUES[pos * 7919 % 300]
                if state == "OK"
                else f"{value:g}"
            )
            duration = 20 + pos % 180
            body = (
                f"{inst.prefix}{ts}\tscheduled\t{run_id}\t{outcome}\t{state}\t{reason}\t"
                f"{shown}\t{THRESHOLD}\t{{}}\t{inst.suffix_kv}\t{error}\t{duration}\t"
                f"{events}\t{inst.alert.dag_id}\tt"
            )
            row_id += 1
            collected.history_rows += 1
            if not compacting or compaction is None:
                yield f"{row_id}\t{body}\t{_NO_RUN}\n"
            else:
                index = inst.alert.index
                seen = position[index]
                position[index] = seen + 1
                watermarks[index] = row_id
                if seen and seen % batch == 0:  # a new transaction: runs end
                    for other in by_alert[index]:
                        ended = runs.pop(other.n, None)
                        if ended is not None:
                            yield _head_line(ended, start)
                run = runs.get(inst.n)
                if reason != "ok":  # not quiet (the rest of the rule holds for every row here)
                    if run is not None:
                        yield _head_line(runs.pop(inst.n), start)
                    yield f"{row_id}\t{body}\t{_NO_RUN}\n"
                elif run is None:
                    runs[inst.n] = _Run((row_id, body, ts), t)
                else:
                    run.samples.append((t, shown, duration))
                    if len(run.samples) >= most:
                        yield _head_line(runs.pop(inst.n), start)
            last[id(inst)] = (t, state, value if value is not None else 0.0)
            if events != "[]":
                event_n += 1
                kind = events[2:-2]
                event_id = f"{event_n:08x}-0000-4000-8000-{t:012x}"
                if t >= pending_from:
                    status, attempts, error_text, delivered = "pending", "0", "\\N", "\\N"
                elif event_n % 50 == 0:
                    status, attempts = "dead", "5"
                    error_text, delivered = "SMTP 451 4.3.0 mailbox temporarily unavailable", "\\N"
                else:
                    status, attempts, error_text, delivered = "delivered", "1", "\\N", ts
                payload = _payload(inst, kind, moment.isoformat(), value or 0.0)
                collected.outbox.append(
                    f"{event_id}\t{inst.prefix}{kind}\t{CHANNEL_ID}\temail\t{payload}\t"
                    f"{event_id}:{CHANNEL_ID}\t{status}\t{attempts}\t{error_text}\t{ts}\t"
                    f"{ts if attempts != '0' else chr(92) + 'N'}\t{delivered}\t{run_id}\t"
                    f"{DESTINATION}\n"
                )
    for run in runs.values():
        yield _head_line(run, start)
    collected.last_id = row_id
    if compaction is not None:
        names = {inst.alert.index: inst.alert.name for inst in instances}
        collected.watermarks = {names[i]: w for i, w in enumerate(watermarks) if w}
    for inst in instances:
        t, state, value = last[id(inst)]
        pos = (t + inst.offset) % inst.cycle
        p = inst.alert.every_minutes
        if state == "FIRING":
            since = start + timedelta(minutes=t - pos)
            firing_since, notified, streak = _ts(since), "t", pos // p + 1
        else:
            since = start + timedelta(minutes=t - max(0, pos - inst.length))
            firing_since, notified, streak = "\\N", "f", 0
        evaluated = _ts(start + timedelta(minutes=t))
        key_hash = hashlib.sha1(inst.key.encode()).hexdigest()
        outcome = {"FIRING": "ALERT", "OK": "OK", "ERROR": "ERROR"}[state]
        collected.states.append(
            f"{inst.alert.name}\t{key_hash}\t{inst.key}\t{state}\t"
            f"{'FIRING' if state == 'FIRING' else 'OK'}\t{streak}\t{0 if streak else 1}\t"
            f"{1 if state == 'ERROR' else 0}\t{_ts(since)}\t{firing_since}\t{notified}\t"
            f"{firing_since}\tf\t{evaluated}\t{outcome}\t{value:g}\t{THRESHOLD}\t{{}}\t"
            f"{chr(92) + 'N'}\t{inst.suffix_kv}\n"
        )


def _silence_lines(alerts: list[BigAlert], start: datetime, end: datetime) -> list[str]:
    lines = []
    span = (end - start).total_seconds()
    for n, a in enumerate(alerts[::20]):  # expired ones over the whole period
        at = start + timedelta(seconds=span * (n * 0.6180339887 % 1))
        lines.append(
            f"{a.name}\t{_ts(at)}\t{_ts(at + timedelta(hours=2))}\tmaintenance window\t"
            f"ops\t{_ts(at)}\t\\N\tui\t\\N\n"
        )
    for a in alerts[1::100]:  # active now: the whole alert
        lines.append(
            f"{a.name}\t{_ts(end - timedelta(hours=1))}\t{_ts(end + timedelta(hours=2))}\t"
            f"warehouse upgrade\tops\t{_ts(end - timedelta(hours=1))}\t\\N\tui\t\\N\n"
        )
    for a in [a for a in alerts if a.keyed][:5]:  # active now: one instance
        lines.append(
            f"{a.name}\t{_ts(end - timedelta(minutes=30))}\t{_ts(end + timedelta(hours=4))}\t"
            f"table being rebuilt\tops\t{_ts(end - timedelta(minutes=30))}\t\\N\tui\t"
            f"{_key(3)}\n"
        )
    return lines


# --- databases -----------------------------------------------------------------------------


def _admin_engine() -> Any:
    import sqlalchemy as sa

    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def database_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def create_database(name: str) -> str:
    """A new empty database ``name`` (an existing one is dropped first); its URL."""
    import sqlalchemy as sa

    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return database_url(name)


def drop_database(name: str) -> None:
    import sqlalchemy as sa

    engine = _admin_engine()
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


_HISTORY_COLUMNS = (
    "id, alert_name, instance_key, evaluated_at, run_type, run_id, outcome, state, reason, "
    "actual_value, threshold, context, key_values, error, duration_ms, events, dag_id, "
    "commit_confirmed, repeats, last_evaluated_at, samples"
)
_OUTBOX_COLUMNS = (
    "event_id, alert_name, instance_key, kind, channel_id, channel_kind, payload, "
    "idempotency_key, status, attempts, last_error, created_at, last_attempt_at, "
    "delivered_at, run_id, destination"
)
_STATE_COLUMNS = (
    "alert_name, key_hash, instance_key, state, last_good_state, consecutive_alerts, "
    "consecutive_oks, consecutive_errors, state_since, firing_since, firing_notified, "
    "last_notified_at, error_notified, last_evaluated_at, last_outcome, last_value, "
    "last_threshold, last_context, last_error, key_values"
)
_SILENCE_COLUMNS = (
    "match, starts_at, ends_at, reason, author, created_at, ended_at, source, instance_key"
)


def generate(
    url: str,
    alert_count: int,
    days: float,
    *,
    now: datetime | None = None,
    compaction: Compaction | None = None,
) -> dict[str, Any]:
    """Fill the (empty) state database at ``url``; returns row counts and timings. With
    ``compaction``, the history is written as ``purge`` would leave it compacted."""
    import sqlalchemy as sa

    from sqlsentinel_airflow.store import StateStore, migrations, tables

    began = time.perf_counter()
    StateStore.connect(url).dispose()  # the schema, every migration applied
    alerts = big_alerts(alert_count)
    instances = _instances(alerts)
    end = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
    minutes = max(1, round(days * 1440))
    start = end - timedelta(minutes=minutes)
    collected = _Collected(outbox=[], states=[])
    engine = sa.create_engine(url)
    timings: dict[str, float] = {}
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        history_indexes = [i for i in tables.history.indexes]
        for index in history_indexes:
            cur.execute(f"DROP INDEX IF EXISTS {index.name}")
        raw.commit()
        t0 = time.perf_counter()
        cur.execute("SET synchronous_commit = off")
        cur.copy_expert(
            f"COPY {tables.history.name} ({_HISTORY_COLUMNS}) FROM STDIN",
            _Rows(_history_lines(instances, start, minutes, collected, compaction)),
        )
        collected.rows_written = cur.rowcount
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{tables.history.name}', 'id'), %s)",
            (max(collected.last_id, 1),),
        )
        for name, through in sorted((collected.watermarks or {}).items()):
            cur.execute(
                f"INSERT INTO {tables.history_compaction.name} (alert_name, through_id)"
                " VALUES (%s, %s)",
                (name, through),
            )
        raw.commit()
        timings["history_copy_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cur.copy_expert(
            f"COPY {tables.outbox.name} ({_OUTBOX_COLUMNS}) FROM STDIN",
            _Rows(iter(collected.outbox)),
        )
        cur.copy_expert(
            f"COPY {tables.state.name} ({_STATE_COLUMNS}) FROM STDIN",
            _Rows(iter(collected.states)),
        )
        silence_lines = _silence_lines(alerts, start, end)
        cur.copy_expert(
            f"COPY {tables.silences.name} ({_SILENCE_COLUMNS}) FROM STDIN",
            _Rows(iter(silence_lines)),
        )
        raw.commit()
        timings["other_copy_s"] = time.perf_counter() - t0
    finally:
        raw.close()
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for index in history_indexes:
            index.create(conn, checkfirst=True)
    timings["history_indexes_s"] = time.perf_counter() - t0
    # the incidents, found in the history as the upgrade to schema 7 finds them (what an
    # evaluation keeps up to date from then on): its time is that upgrade's on this data
    t0 = time.perf_counter()
    with engine.begin() as conn:
        incident_rows = migrations.fill_incidents(conn, tables.incidents)
    timings["incidents_fill_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        tables_ = (tables.history, tables.incidents, tables.outbox, tables.state, tables.silences)
        for table in tables_:
            conn.execute(sa.text(f"VACUUM ANALYZE {table.name}"))
        size = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
    timings["vacuum_analyze_s"] = time.perf_counter() - t0
    engine.dispose()
    return {
        "alerts": alert_count,
        "days": days,
        "instances": len(instances),
        "evaluations": collected.history_rows,
        "history_rows": collected.rows_written,
        "compacted_before": (
            (start + timedelta(minutes=compaction.before_minute)).isoformat()
            if compaction is not None
            else None
        ),
        "incident_rows": incident_rows,
        "outbox_rows": len(collected.outbox),
        "state_rows": len(collected.states),
        "silence_rows": len(silence_lines),
        "database_mb": round(size / 2**20, 1),
        "generate_s": round(time.perf_counter() - began, 2),
        **{k: round(v, 2) for k, v in timings.items()},
        "end": end.isoformat(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--db", default="ss_bigstate", help="database name (created anew)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--drop", metavar="DB", help="only drop database DB")
    parser.add_argument(
        "--compact",
        action="store_true",
        help="write the history as a daily `sqlsentinel purge` leaves it: all but the last "
        "day's quiet evaluations compacted (docs/operations.md, 'Retention and compaction')",
    )
    args = parser.parse_args(argv)
    if args.drop:
        drop_database(args.drop)
        return 0
    compaction = None
    if args.compact:
        from sqlsentinel_airflow.store.compaction import DEFAULT_BATCH_ROWS, MAX_SAMPLES

        minutes = max(1, round(args.days * 1440))
        compaction = Compaction(max(0, minutes - 1440), DEFAULT_BATCH_ROWS, MAX_SAMPLES)
    url = create_database(args.db)
    try:
        print(json.dumps(generate(url, args.alerts, args.days, compaction=compaction), indent=2))
    finally:
        if not args.keep:
            drop_database(args.db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
