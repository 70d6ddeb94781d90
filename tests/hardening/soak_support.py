"""The concurrency soak (docs/reliability.md): worker processes, and the replay that checks them.

``run_soak`` starts N real OS processes (multiprocessing, forkserver), each with its own
``StateStore.connect(pg_url)``. For the soak duration every worker picks one of
``soak_alerts()`` at random, makes a random outcome (OK / ALERT / query error; random instance
sets for the keyed alerts) and runs the real engine, ``evaluation.evaluate_alert``, whose
result is handed in (no warehouse: the property under test is the state DB's locking, not
the query). Some workers also deliver the alert's outbox (``deliver_pending``, the real
claim path and ``WebhookSender``) to a loopback HTTP receiver, so claims race too. Each
worker writes one JSON line per evaluation (alert, input, times, the report) to its own log.

``verify`` then rebuilds everything from the logs and the database and returns violations:
- every logged evaluation is in the history exactly once (joined by its unique run_id), and
  nothing else is;
- per alert, evaluations do not interleave (the alert lock serialises them), and replaying
  the logged inputs in history order through ``core.state_machine.decide`` (with an
  independent re-statement of the engine's observation rules: MISSING instances, the
  alert-level error instance, deletion of resolved-and-gone instances) gives exactly the
  stored history rows, outbox rows and final state rows;
- per instance, the stored events pass ``check_event_sequence`` (alerts with recovery
  notifications) and ``check_events`` (all); a reminder is never sooner than
  ``renotify_after`` after the previous notification; an incident is open at the end iff
  the instance is still FIRING;
- every outbox row is delivered, none dead; the receiver accepted each idempotency key
  exactly once, in outbox order per instance and channel; every row's ``attempts`` equals
  the requests the receiver saw for it (no send that the outbox does not know of).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from sqlsentinel_airflow.core.config import AlertConfig, load_config_text
from sqlsentinel_airflow.core.model import (
    Event,
    EventKind,
    InstanceState,
    Observation,
    Outcome,
    Reason,
    RunType,
    Silence,
    State,
)
from sqlsentinel_airflow.core.result import instance_key
from sqlsentinel_airflow.core.state_machine import (
    check_event_sequence,
    check_events,
    decide,
    initial_state,
)
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.records import HistoryEntry, OutboxEntry, OutboxStatus

SOAK_SECONDS_ENV = "SQLSENTINEL_SOAK_SECONDS"
DEFAULT_SOAK_SECONDS = 60.0  # ~75 s for the whole test on the 2-CPU machine (CI)
PROCESSES = 16
DELIVERERS = 4  # workers 0, 4, 8, 12 also deliver after each evaluation
REGIME_SECONDS = 6.0  # the "weather" of an instance changes this often (shared by workers)
QUERY_ERROR = "soak: the warehouse refused the query"
FAILED_SEND_RATE = 0.03  # share of webhook requests the receiver answers 503

# Workers are forked from a forkserver that imported the engine (and Airflow's HttpHook)
# once: sixteen spawned interpreters importing it all cost ~20 s of CPU on a 2-CPU machine.
_FORKSERVER = multiprocessing.get_context("forkserver")
_PRELOAD = ["soak_support", "airflow.providers.http.hooks.http"]

# Six alerts with different shapes and policies. Keyed ones list their instance universe.
_ALERTS_YAML = """\
database: {{url: "sqlite:////tmp/soak-unused-warehouse.db"}}
alerts:
  - name: soak_single_fast
    query: SELECT 'OK' AS status
    schedule: "* * * * *"
    renotify_after: 3s
    notify_on_error: 1
    delivery_attempts: 1000
    notify: [{{channel: webhook, url: "{url}/single_fast"}}]
  - name: soak_single_slow
    query: SELECT 'OK' AS status
    schedule: "* * * * *"
    fire_after: 2
    resolve_after: 2
    notify_on_error: 2
    delivery_attempts: 1000
    notify: [{{channel: webhook, url: "{url}/single_slow"}}]
  - name: soak_single_quiet
    query: SELECT 'OK' AS status
    schedule: "* * * * *"
    renotify_after: 2s
    notify_on_recovery: false
    notify_on_error: 2
    delivery_attempts: 1000
    notify: [{{channel: webhook, url: "{url}/single_quiet"}}]
  - name: soak_tables
    query: SELECT table_name, 'OK' AS status FROM t
    key_columns: [table_name]
    schedule: "* * * * *"
    renotify_after: 5s
    notify_on_error: 3
    delivery_attempts: 1000
    notify: [{{channel: webhook, url: "{url}/tables"}}]
  - name: soak_regions
    query: SELECT region, table_name, 'OK' AS status FROM t
    key_columns: [region, table_name]
    schedule: "* * * * *"
    fire_after: 2
    renotify_after: 4s
    notify_on_error: null
    delivery_attempts: 1000
    notify: [{{channel: webhook, url: "{url}/regions"}}]
  - name: soak_two_channels
    query: SELECT shard, 'OK' AS status FROM t
    key_columns: [shard]
    schedule: "* * * * *"
    fire_after: 3
    resolve_after: 2
    renotify_after: 2s
    notify_on_error: 1
    delivery_attempts: 1000
    notify:
      - {{channel: webhook, url: "{url}/two_a"}}
      - {{channel: webhook, url: "{url}/two_b"}}
"""
_UNIVERSE: dict[str, list[dict[str, Any]]] = {
    "soak_tables": [{"table_name": t} for t in ("orders", "users", "events", "payments")],
    "soak_regions": [
        {"region": r, "table_name": t} for r in ("eu", "us", "ap") for t in ("orders", "users")
    ],
    "soak_two_channels": [{"shard": s} for s in (1, 2, 3)],
}


def soak_alerts(receiver_url: str) -> list[AlertConfig]:
    """The soak's alerts, through the real loader (every process builds the same ones)."""
    loaded = load_config_text(_ALERTS_YAML.format(url=receiver_url.rstrip("/")), "soak.yaml")
    assert not loaded.errors and loaded.config is not None, [e.format() for e in loaded.errors]
    return list(loaded.config.alerts)


# --- random outcomes ------------------------------------------------------------------------


def _regime(alert: str, key: str, seed: int, at: float) -> str:
    """The shared tendency of one instance in one time slot: all workers agree on it, so
    incidents last seconds (reminders fall due) while outcomes still disagree at random."""
    slot = int(at // REGIME_SECONDS)
    weights = [4, 4, 2, 1 if key == "" else 0]
    return random.Random(f"{seed}|{alert}|{key}|{slot}").choices(
        ["ok", "alert", "flap", "error"], weights=weights
    )[0]


def _status(regime: str, rng: random.Random) -> str:
    p_alert = {"ok": 0.05, "alert": 0.99, "flap": 0.5, "error": 0.5}[regime]
    return "ALERT" if rng.random() < p_alert else "OK"


def random_input(alert: AlertConfig, rng: random.Random, seed: int, worker: int) -> dict[str, Any]:
    """One evaluation's query outcome as JSON: ``{"error": ...}`` or columns and rows."""
    now = time.time()
    p_error = 0.6 if _regime(alert.name, "", seed, now) == "error" else 0.04
    if rng.random() < p_error:
        return {"error": QUERY_ERROR}
    columns = [*alert.key_columns, "status", "actual_value", "threshold", "worker"]
    if not alert.key_columns:
        status = _status(_regime(alert.name, "", seed, now), rng)
        return {"columns": columns, "rows": [[status, rng.randint(0, 20), 10, worker]]}
    rows = []
    for key_values in _UNIVERSE[alert.name]:
        key = instance_key(alert.key_columns, key_values)
        regime = _regime(alert.name, key, seed, now)
        if rng.random() < 0.8:  # keyed queries often return only the offending rows
            values = [key_values[c] for c in alert.key_columns]
            rows.append([*values, _status(regime, rng), rng.randint(0, 20), 10, worker])
    rng.shuffle(rows)
    return {"columns": columns, "rows": rows}


@dataclass(frozen=True)
class _Rows:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


def _fetch(given: dict[str, Any]) -> Callable[[], _Rows]:
    def fetch() -> _Rows:
        if "error" in given:
            raise QueryError(given["error"])
        return _Rows(given["columns"], given["rows"])

    return fetch


# --- the worker process ---------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerArgs:
    worker: int
    pg_url: str
    receiver_url: str
    seconds: float
    seed: int
    log_path: str
    deliver: bool


class _CountingStore:
    """The engine's store, counting how often a unit of work ran (deadlock retries rerun it)."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self.attempts = 0

    def run_in_alert_transaction(self, alert_name: str, work: Callable[[Any], Any]) -> Any:
        def counted(tx: Any) -> Any:
            self.attempts += 1
            return work(tx)

        return self._store.run_in_alert_transaction(alert_name, counted)

    def list_states(self, alert_name: str | None = None) -> list[InstanceState]:
        return self._store.list_states(alert_name)

    def list_silences(self, now: datetime, include_inactive: bool = False) -> list[Silence]:
        return self._store.list_silences(now, include_inactive)


def run_worker(args: WorkerArgs, barrier: Any) -> None:
    """A worker process: evaluate (and maybe deliver) random alerts until the soak ends."""
    logging.disable(logging.WARNING)  # 503s are expected; errors still show, the log says all
    rng = random.Random(args.seed * 1000 + args.worker)
    alerts = soak_alerts(args.receiver_url)
    store = StateStore.connect(args.pg_url, migrate=False)
    counting = _CountingStore(store)
    if args.deliver:  # import Airflow's HttpHook before the start, not during the soak
        from airflow.providers.http.hooks.http import HttpHook  # noqa: F401
    with open(args.log_path, "w", encoding="utf-8") as log:
        barrier.wait(180)
        deadline = time.monotonic() + args.seconds
        sequence = 0
        try:
            while time.monotonic() < deadline:
                sequence += 1
                alert = rng.choice(alerts)
                given = random_input(alert, rng, args.seed, args.worker)
                record: dict[str, Any] = {
                    "worker": args.worker,
                    "sequence": sequence,
                    "alert": alert.name,
                    "input": given,
                    "started": time.time(),
                }
                try:
                    before = counting.attempts
                    report = evaluate_alert(
                        alert,
                        fetch=_fetch(given),
                        store=counting,
                        run_type=RunType.SCHEDULED,
                        run_id=f"soak-w{args.worker}-{sequence}",
                    )
                    record["evaluated"] = time.time()
                    record["attempts"] = counting.attempts - before
                    record["report"] = report.to_dict()
                    if args.deliver:
                        delivery = deliver_pending(alert, store)
                        record["delivery"] = Counter(r.status for r in delivery.rows)
                except Exception:
                    record["failure"] = traceback.format_exc()
                record["finished"] = time.time()
                log.write(json.dumps(record, default=str) + "\n")
                log.flush()
                time.sleep(rng.uniform(0, 0.02))
        finally:
            store.dispose()


def run_soak(
    pg_url: str,
    receiver_url: str,
    workdir: Path,
    *,
    seconds: float,
    seed: int = 8,
    processes: int = PROCESSES,
    deliverers: int = DELIVERERS,
) -> list[Path]:
    """Run the workers to the end; returns their log files. Raises if any exits badly.

    Every child is joined; one still alive past the allowance is killed (SIGTERM, then
    SIGKILL) and the soak fails. The forkserver is stopped afterwards.
    """
    StateStore.connect(pg_url).dispose()  # migrated once, up front
    _FORKSERVER.set_forkserver_preload(_PRELOAD)
    barrier = _FORKSERVER.Barrier(processes)
    every = max(1, processes // max(1, deliverers))
    args = [
        WorkerArgs(
            worker=i,
            pg_url=pg_url,
            receiver_url=receiver_url,
            seconds=seconds,
            seed=seed,
            log_path=str(workdir / f"worker-{i:02d}.jsonl"),
            deliver=deliverers > 0 and i % every == 0 and i // every < deliverers,
        )
        for i in range(processes)
    ]
    procs = [_FORKSERVER.Process(target=run_worker, args=(a, barrier)) for a in args]
    allowance = time.monotonic() + seconds + 240
    try:
        for p in procs:
            p.start()
        for p in procs:
            p.join(max(0.0, allowance - time.monotonic()))
    finally:
        stuck = [p for p in procs if p.pid is not None and p.is_alive()]
        for p in stuck:
            p.terminate()
        for p in stuck:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join(10)
        _stop_forkserver()
    bad = {p.pid: p.exitcode for p in procs if p.exitcode != 0}
    assert not stuck, f"{len(stuck)} workers still ran after the allowance and were killed"
    assert not bad, f"workers exited badly (pid: exit code): {bad}"
    return [Path(a.log_path) for a in args]


def _stop_forkserver() -> None:
    """End the forkserver process too (it would otherwise live as long as pytest)."""
    from multiprocessing import forkserver

    stop = getattr(forkserver._forkserver, "_stop", None)  # CPython's own test hook
    if stop is not None:
        stop()


def drain_outbox(pg_url: str, alerts: Sequence[AlertConfig], passes: int = 30) -> int:
    """Deliver what the workers left pending (one deliverer now); returns the passes used."""
    store = StateStore.connect(pg_url, migrate=False)
    try:
        for attempt in range(1, passes + 1):
            left = 0
            for alert in alerts:
                deliver_pending(alert, store)
                left += len(store.pending_outbox(alert.name))
            if left == 0:
                return attempt
        return passes
    finally:
        store.dispose()


# --- replay and checks ----------------------------------------------------------------------


@dataclass
class SoakSummary:
    processes: int = 0
    alerts: int = 0
    evaluations: int = 0
    evaluations_by_outcome: Counter[str] = field(default_factory=Counter)
    history_rows: int = 0
    instances: int = 0
    events: Counter[str] = field(default_factory=Counter)
    outbox_rows: int = 0
    deliveries: int = 0  # requests the receiver accepted (2xx)
    failed_sends: int = 0  # requests answered 503 (then retried)
    worker_delivery: Counter[str] = field(default_factory=Counter)  # per-row pass outcomes
    transaction_retries: int = 0  # whole units of work run again (deadlock/serialisation)
    pg_deadlocks: int = 0
    clock_inversions: int = 0  # evaluations committed after a later-stamped one (same alert)
    overlapping: int = 0  # evaluations started while another of the same alert was running
    fewest_per_process: int = 0
    max_evaluation_ms: float = 0.0
    p99_evaluation_ms: float = 0.0
    failures: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def violate(self, text: str) -> None:
        self.violations.append(text)

    def table(self) -> str:
        rows = [
            ("processes (deliverers)", f"{self.processes}"),
            ("alerts (instances seen)", f"{self.alerts} ({self.instances})"),
            ("evaluations", f"{self.evaluations} {dict(self.evaluations_by_outcome)}"),
            ("  overlapping another of its alert", f"{self.overlapping}"),
            ("  fewest by one process", f"{self.fewest_per_process}"),
            ("history rows", f"{self.history_rows}"),
            ("events by kind", f"{dict(sorted(self.events.items()))}"),
            ("outbox rows / delivered", f"{self.outbox_rows} / {self.deliveries}"),
            ("503 answers retried", f"{self.failed_sends}"),
            ("worker delivery passes, per row", f"{dict(self.worker_delivery)}"),
            (
                "transaction retries / pg deadlocks",
                f"{self.transaction_retries} / {self.pg_deadlocks}",
            ),
            ("clock inversions", f"{self.clock_inversions}"),
            (
                "evaluation ms p99 / max",
                f"{self.p99_evaluation_ms:.0f} / {self.max_evaluation_ms:.0f}",
            ),
            ("worker failures", f"{len(self.failures)}"),
            ("violations", f"{len(self.violations)}"),
        ]
        return "\n".join(f"{name:36} {value}" for name, value in rows)


def read_logs(paths: Sequence[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines()]


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _observations(
    alert: AlertConfig, given: dict[str, Any], known: dict[str, InstanceState]
) -> dict[str, tuple[dict[str, Any], Observation]]:
    """What the engine must tell the state machine, restated from the product rules
    (docs/adr/0002): key -> (key_values, observation)."""
    if "error" in given:
        return {"": ({}, Observation(Outcome.ERROR, error=given["error"]))}
    out: dict[str, tuple[dict[str, Any], Observation]] = {}
    if alert.key_columns and "" in known:  # a success clears the alert-level error instance
        out[""] = ({}, Observation(Outcome.OK))
    special = {"status", "actual_value", "threshold", *alert.key_columns}
    for row in given["rows"]:
        named = dict(zip(given["columns"], row, strict=True))
        key_values = {c: named[c] for c in alert.key_columns}
        context = {c: v for c, v in named.items() if c not in special}
        obs = Observation(
            Outcome(named["status"]), named["actual_value"], named["threshold"], context
        )
        out[instance_key(alert.key_columns, key_values)] = (key_values, obs)
    for key, prev in known.items():
        if key not in out:
            out[key] = (dict(prev.key_values), Observation(Outcome.MISSING))
    return out


def _compare(summary: SoakSummary, where: str, got: Any, want: Any) -> None:
    if got != want:
        summary.violate(f"{where}: stored {got!r}, replay says {want!r}")


def verify(
    pg_url: str,
    alerts: Sequence[AlertConfig],
    records: Sequence[dict[str, Any]],
    received: Sequence[Any],
) -> SoakSummary:
    """Replay the soak from worker logs and the database; see the module docstring."""
    summary = SoakSummary(processes=len({r["worker"] for r in records}), alerts=len(alerts))
    store = StateStore.connect(pg_url, migrate=False)
    try:
        stored_history = list(reversed(store.history(limit=10**9)))
        stored_outbox = list(reversed(store.outbox(limit=10**9)))
        stored_states = store.list_states()
        with store.engine.connect() as conn:
            summary.pg_deadlocks = int(
                conn.scalar(
                    sa.text("SELECT deadlocks FROM pg_stat_database WHERE datname = :db"),
                    {"db": sa.engine.make_url(pg_url).database},
                )
                or 0
            )
    finally:
        store.dispose()

    summary.failures = [r["failure"] for r in records if "failure" in r]
    done = [r for r in records if "report" in r]
    summary.evaluations = len(done)
    summary.evaluations_by_outcome = Counter(r["report"]["outcome"] for r in done)
    summary.history_rows = len(stored_history)
    summary.outbox_rows = len(stored_outbox)
    summary.transaction_retries = sum(r["attempts"] - 1 for r in done)
    for r in done:
        summary.worker_delivery.update(r.get("delivery", {}))
    per_worker = Counter(r["worker"] for r in done)
    summary.fewest_per_process = min(per_worker.values(), default=0)
    for alert in alerts:
        busy_until = 0.0
        for r in sorted((r for r in done if r["alert"] == alert.name), key=lambda r: r["started"]):
            if r["started"] < busy_until:
                summary.overlapping += 1
            busy_until = max(busy_until, r["evaluated"])
    durations = sorted(r["report"]["duration_ms"] for r in done)
    if durations:
        summary.max_evaluation_ms = durations[-1]
        summary.p99_evaluation_ms = durations[int(0.99 * (len(durations) - 1))]

    # 1. nothing lost, nothing duplicated: logs <-> history <-> outbox
    by_run: dict[str, dict[str, Any]] = {}
    for r in done:
        run_id = r["report"]["run_id"]
        if run_id in by_run:
            summary.violate(f"run_id {run_id} logged twice")
        by_run[run_id] = r
    history_by_run: dict[str | None, list[HistoryEntry]] = defaultdict(list)
    for h in stored_history:
        history_by_run[h.run_id].append(h)
    for run_id in set(history_by_run) - set(by_run):
        summary.violate(f"history rows of run {run_id!r} that no worker logged")
    outbox_by_run: dict[str | None, list[OutboxEntry]] = defaultdict(list)
    for o in stored_outbox:
        outbox_by_run[o.run_id].append(o)
    logged_outbox_ids = {i for r in done for e in r["report"]["events"] for i in e["outbox_ids"]}
    stored_outbox_ids = {o.id for o in stored_outbox}
    if logged_outbox_ids != stored_outbox_ids:
        summary.violate(
            f"outbox ids: {len(stored_outbox_ids - logged_outbox_ids)} stored but not reported, "
            f"{len(logged_outbox_ids - stored_outbox_ids)} reported but not stored"
        )
    for run_id, r in by_run.items():
        rows = history_by_run.get(run_id, [])
        if len(rows) != len(r["report"]["instances"]):
            summary.violate(
                f"{run_id}: {len(r['report']['instances'])} instances reported, "
                f"{len(rows)} history rows"
            )

    # 2. per alert, in history order: serialised, and equal to an independent replay
    states_by_alert: dict[str, dict[str, InstanceState]] = defaultdict(dict)
    for s in stored_states:
        states_by_alert[s.alert_name][s.instance_key] = s
    for alert in alerts:
        runs = sorted(
            (run_id for run_id, r in by_run.items() if r["alert"] == alert.name),
            key=lambda run_id: min((h.id or 0) for h in history_by_run[run_id]),
        )
        known: dict[str, InstanceState] = {}
        kinds: dict[str, list[EventKind]] = defaultdict(list)
        events: dict[str, list[Event]] = defaultdict(list)
        last_notice: dict[str, datetime] = {}
        previous_max_id = 0
        previous_now: datetime | None = None
        seen_keys: set[str] = set()
        for run_id in runs:
            r = by_run[run_id]
            rows = history_by_run[run_id]
            ids = [h.id or 0 for h in rows]
            if min(ids) < previous_max_id:
                summary.violate(f"{run_id}: history rows interleave with another evaluation")
            previous_max_id = max(ids)
            now = _parse_time(r["report"]["evaluated_at"])
            assert now is not None
            if previous_now is not None and now < previous_now:
                summary.clock_inversions += 1
            previous_now = now
            stored = {h.instance_key: h for h in rows}
            if len(stored) != len(rows):
                summary.violate(f"{run_id}: two history rows for one instance")
            expected = _observations(alert, r["input"], known)
            if set(stored) != set(expected):
                summary.violate(
                    f"{run_id}: instances {sorted(stored)} stored, {sorted(expected)} expected"
                )
                continue
            run_outbox: dict[str, list[OutboxEntry]] = defaultdict(list)
            for o in outbox_by_run.get(run_id, []):
                run_outbox[o.instance_key].append(o)
            for key, (key_values, obs) in expected.items():
                where = f"{alert.name} [{key}] {run_id}"
                seen_keys.add(key)
                prev = known.get(key) or initial_state(alert.name, key, key_values)
                decision = decide(prev, obs, now=now, policy=alert.policy, silenced=False)
                h = stored[key]
                _compare(summary, f"{where} evaluated_at", h.evaluated_at, now)
                _compare(summary, f"{where} outcome", h.outcome, obs.outcome)
                _compare(summary, f"{where} state", h.state, decision.state.state)
                _compare(summary, f"{where} reason", h.reason, decision.reason.value)
                _compare(summary, f"{where} value", h.actual_value, obs.actual_value)
                _compare(summary, f"{where} error", h.error, obs.error)
                want_kinds = tuple(e.kind for e in decision.events)
                _compare(summary, f"{where} events", h.events, want_kinds)
                _check_outbox(summary, where, alert, run_outbox.get(key, []), decision.events)
                if obs.outcome is Outcome.MISSING and decision.state.state is State.OK:
                    known.pop(key, None)
                else:
                    known[key] = decision.state
                for event in decision.events:
                    summary.events[event.kind.value] += 1
                    kinds[key].append(event.kind)
                    _check_reminder_spacing(summary, where, alert, event, now, last_notice)
                for o in run_outbox.get(key, [])[:: max(1, len(alert.notify))]:
                    events[key].append(_stored_event(o))
        stored_final = states_by_alert.get(alert.name, {})
        for key in sorted(set(stored_final) | set(known)):
            _compare(
                summary, f"{alert.name} [{key}] final state", stored_final.get(key), known.get(key)
            )
        summary.instances += len(seen_keys)
        for key in seen_keys:
            _check_sequences(summary, alert, key, kinds[key], events[key], known.get(key))

    # 3. delivery: every row delivered once, nothing dead, attempts == requests seen
    _check_delivery(summary, stored_outbox, received)
    return summary


def _check_outbox(
    summary: SoakSummary,
    where: str,
    alert: AlertConfig,
    rows: Sequence[OutboxEntry],
    events: Sequence[Event],
) -> None:
    channels = len(alert.notify)
    if len(rows) != len(events) * channels:
        summary.violate(f"{where}: {len(rows)} outbox rows for {len(events)} events")
        return
    for index, event in enumerate(events):
        copies = rows[index * channels : (index + 1) * channels]
        if len({o.event_id for o in copies}) != 1:
            summary.violate(f"{where}: one event's channel rows have different event ids")
        for o in copies:
            _compare(summary, f"{where} outbox kind", o.kind, event.kind)
            _compare(summary, f"{where} outbox reason", o.payload["reason"], event.reason.value)
            since = _parse_time(o.payload["firing_since"])  # type: ignore[arg-type]
            _compare(summary, f"{where} outbox firing_since", since, event.firing_since)


def _stored_event(o: OutboxEntry) -> Event:
    payload: dict[str, Any] = dict(o.payload)  # type: ignore[arg-type]
    occurred = _parse_time(payload["occurred_at"])
    assert occurred is not None
    return Event(
        kind=EventKind(o.kind),
        alert_name=o.alert_name,
        instance_key=o.instance_key,
        reason=Reason(payload["reason"]),
        occurred_at=occurred,
        state=State(payload["state"]),
        firing_since=_parse_time(payload["firing_since"]),
    )


def _check_reminder_spacing(
    summary: SoakSummary,
    where: str,
    alert: AlertConfig,
    event: Event,
    now: datetime,
    last_notice: dict[str, datetime],
) -> None:
    key = event.instance_key
    if event.kind is EventKind.FIRING:
        last_notice[key] = now
    elif event.kind is EventKind.REMINDER:
        before = last_notice.get(key)
        due = alert.renotify_after
        if before is None or due is None or now - before < due:
            summary.violate(
                f"{where}: a reminder {now - before if before else None} after the last"
            )
        last_notice[key] = now
    elif event.kind is EventKind.RESOLVED and event.reason is Reason.RESOLVED:
        last_notice.pop(key, None)


def _check_sequences(
    summary: SoakSummary,
    alert: AlertConfig,
    key: str,
    kinds: Sequence[EventKind],
    events: Sequence[Event],
    final: InstanceState | None,
) -> None:
    where = f"{alert.name} [{key}]"
    if [e.kind for e in events] != list(kinds):
        summary.violate(f"{where}: outbox event kinds differ from the history's")
    try:
        check_events(events)
    except ValueError as exc:
        summary.violate(f"{where}: check_events: {exc}")
    if not alert.notify_on_recovery:
        return
    try:
        check_event_sequence(kinds)
    except ValueError as exc:
        summary.violate(f"{where}: check_event_sequence: {exc}")
        return
    # no missed resolve: an incident is still open iff the instance is still firing
    open_incident = error_open = False
    for kind in kinds:
        if kind is EventKind.FIRING:
            open_incident = True
        elif kind is EventKind.ERROR:
            error_open = True
        elif kind is EventKind.RESOLVED:
            if error_open:
                error_open = False
            else:
                open_incident = False
    firing = final is not None and final.effective_state is State.FIRING
    if open_incident != firing:
        summary.violate(f"{where}: incident open in events: {open_incident}, firing: {firing}")
    notified_error = final is not None and final.error_notified
    if error_open != notified_error:
        summary.violate(f"{where}: error open in events: {error_open}, stored: {notified_error}")


def _check_delivery(
    summary: SoakSummary, stored_outbox: Sequence[OutboxEntry], received: Sequence[Any]
) -> None:
    requests = Counter(r.headers.get("Idempotency-Key") for r in received)
    accepted = Counter(r.headers.get("Idempotency-Key") for r in received if r.ok)
    summary.deliveries = sum(accepted.values())
    summary.failed_sends = sum(1 for r in received if not r.ok)
    twice = [k for k, n in accepted.items() if n > 1]
    if twice:
        summary.violate(f"{len(twice)} idempotency keys accepted more than once, e.g. {twice[0]}")
    keys = {o.idempotency_key for o in stored_outbox}
    if set(accepted) != keys:
        summary.violate(
            f"accepted keys: {len(set(accepted) - keys)} unknown, {len(keys - set(accepted))} "
            "never accepted"
        )
    for o in stored_outbox:
        if o.status is not OutboxStatus.DELIVERED:
            summary.violate(f"outbox #{o.id} ({o.kind}) is {o.status.value}")
        elif o.attempts != requests[o.idempotency_key]:
            summary.violate(
                f"outbox #{o.id}: {o.attempts} attempts recorded, "
                f"{requests[o.idempotency_key]} requests received"
            )
    # order is kept per instance and channel: accepted in outbox order
    by_key = {o.idempotency_key: o for o in stored_outbox}
    last_accepted: dict[tuple[str, str, str], int] = {}
    for r in received:
        body = r.json()
        if body["kind"] != r.headers.get("X-SQLSentinel-Event"):
            summary.violate(f"a request's body kind {body['kind']} differs from its header")
        row = by_key.get(body["idempotency_key"])
        if row is None or row.id is None or not r.ok:
            continue
        group = (row.alert_name, row.instance_key, row.channel_id)
        if last_accepted.get(group, 0) > row.id:
            summary.violate(f"outbox #{row.id} accepted after #{last_accepted[group]} ({group})")
        last_accepted[group] = row.id


def soak_seconds() -> float:
    return float(os.environ.get(SOAK_SECONDS_ENV) or DEFAULT_SOAK_SECONDS)


def failure_script(count: int, seed: int) -> list[int]:
    """Receiver answers: mostly 200, ``FAILED_SEND_RATE`` of them 503 (a flaky receiver)."""
    rng = random.Random(seed)
    return [503 if rng.random() < FAILED_SEND_RATE else 200 for _ in range(count)]
