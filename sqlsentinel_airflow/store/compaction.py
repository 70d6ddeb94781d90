"""Quiet runs of history folded into one row each: how a long history stays small.

Most evaluations change nothing: an alert that is OK stays OK, minute after minute, and each
of those evaluations used to keep a whole history row (~260 bytes with its indexes on
PostgreSQL: 75 GB for a year of 1,000 alerts, docs/benchmarks.md). Once such evaluations are
old enough (a day, by default), ``sqlsentinel purge`` folds each run of them into the row of
its first one, which keeps what differs from one to the next (the time, the value, the
query's duration) as ``samples``; the UI still draws every value and the CLI and the UI list
the run as one row ("OK x240, until ..."). docs/operations.md, "Retention and compaction",
and ADR 12 say why and what it costs.

What is folded (:func:`is_quiet`, :class:`QuietRuns`), per instance, in id order:
- a *quiet* row: a scheduled evaluation that found OK, stayed OK, gave no reason but ``ok``,
  enqueued nothing, failed nothing, whose commit is not in doubt (``commit_confirmed`` False
  is what a retry looks for: ADR 4, item 5), and is not already a run;
- a run is a quiet row (its *head*, which is kept) and the quiet rows of the same instance
  right after it with the same threshold, context, key values, DAG and inhibiting parents
  (what a row shows apart from its time, value and duration), at most :data:`MAX_SAMPLES`
  of them.
The row after any other row is always a head, so every row something points at stays: an
incident's first, peak and last rows are not quiet, and the row that ended it comes right
after one (``core/incidents.py``); the row a retried task reads (its alert's newest) is
minutes old, far newer than the cut-off. Rows are never changed otherwise: what a folded row said is its head's
columns plus its sample.

Each alert is compacted from where the last pass stopped (``history_compaction.through_id``)
in transactions of at most ``batch_rows`` rows: one read through the ``(alert_name, id)``
index, one UPDATE per head, one DELETE per chunk of folded ids, the watermark moved, so no
transaction holds locks long while evaluations run (they insert newer rows and never wait
for these). A run never spans two transactions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, type_coerce, update
from sqlalchemy.exc import IntegrityError

from sqlsentinel_airflow.core.model import Outcome, Reason, RunType, State
from sqlsentinel_airflow.store.inlists import in_list_chunks
from sqlsentinel_airflow.store.records import Sample
from sqlsentinel_airflow.store.tables import LongText, history, history_compaction

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "MAX_SAMPLES",
    "QuietRuns",
    "Run",
    "compact_alert",
    "decode_samples",
    "encode_samples",
    "is_quiet",
]

MAX_SAMPLES = 240
"""Evaluations folded into one head at most: 4 hours of a minute schedule, a row of a few KB."""

DEFAULT_BATCH_ROWS = 5_000
"""History rows one compaction or purge transaction reads or deletes at most."""

_MICROSECOND = timedelta(microseconds=1)


def encode_samples(
    head_at: datetime, samples: Sequence[tuple[datetime, str | None, int | None]]
) -> str:
    """``[[microseconds after the previous one, value, duration_ms], ...]`` as JSON text; each
    value is given as the JSON text the history stored (``None``: NULL)."""
    parts: list[str] = []
    previous = head_at
    for at, value_text, duration in samples:
        step = (at - previous) // _MICROSECOND
        previous = at
        value = "null" if value_text is None else value_text
        parts.append(f"[{step},{value},{'null' if duration is None else duration}]")
    return "[" + ",".join(parts) + "]"


def decode_samples(head_at: datetime, text: str | None) -> tuple[Sample, ...]:
    """The samples :func:`encode_samples` wrote after the head evaluated at ``head_at``."""
    if not text:
        return ()
    found: list[Sample] = []
    at = head_at
    for step, value, duration in json.loads(text):
        at = at + timedelta(microseconds=step)
        found.append(Sample(at, value, duration))
    return tuple(found)


_QUIET_REASONS = (Reason.OK.code, Reason.OK.value)  # v5 stores codes; a v4 row kept its text


def is_quiet(row: Mapping[str, Any]) -> bool:
    """Whether a history row is an evaluation that changed nothing (see the module doc);
    ``row`` has the columns by name, the JSON ones as their stored text."""
    return (
        row["run_type"] == RunType.SCHEDULED.value
        and row["outcome"] == Outcome.OK.value
        and row["state"] == State.OK.value
        and row["reason"] in _QUIET_REASONS
        and row["error"] is None
        and row["events"] in (None, "[]")
        and row["commit_confirmed"] is not False
        and row["repeats"] is None
    )


def _shape(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a run's rows share: every column a row shows but its time, value and duration."""
    return (
        row["threshold"],
        row["context"],
        row["key_values"],
        row["dag_id"],
        row.get("inhibited_by"),
    )


@dataclass
class Run:
    """A head and the quiet rows folded into it so far."""

    head_id: int
    head_at: datetime
    shape: tuple[Any, ...]
    samples: list[tuple[datetime, str | None, int | None]] = field(default_factory=list)
    folded_ids: list[int] = field(default_factory=list)


class QuietRuns:
    """Folds one alert's rows, given in id order, into runs (the module doc says which)."""

    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self._max = max_samples
        self._open: dict[str, Run] = {}
        self.runs: list[Run] = []  # every run with at least one folded row, in head order

    def add(self, row: Mapping[str, Any]) -> None:
        key = row["instance_key"]
        if not is_quiet(row):
            self._open.pop(key, None)
            return
        run = self._open.get(key)
        shape = _shape(row)
        if run is None or run.shape != shape:
            self._open[key] = Run(int(row["id"]), row["evaluated_at"], shape)
            return
        if not run.samples:
            self.runs.append(run)
        run.samples.append((row["evaluated_at"], row["actual_value"], row["duration_ms"]))
        run.folded_ids.append(int(row["id"]))
        if len(run.samples) >= self._max:
            del self._open[key]

    @property
    def folded(self) -> int:
        return sum(len(r.folded_ids) for r in self.runs)


@dataclass
class AlertCompaction:
    rows_read: int = 0
    rows_folded: int = 0
    runs: int = 0


def compact_alert(
    begin: Callable[[], Any],
    alert_name: str,
    before: datetime,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    max_samples: int = MAX_SAMPLES,
    on_batch: Callable[[str, int, float], None] | None = None,
) -> AlertCompaction:
    """Compact one alert's rows evaluated before ``before``, from its watermark on.

    ``begin()`` gives a context manager yielding a connection inside a write transaction
    (``StateStore._writing``); one per batch. ``on_batch("history compaction", rows folded,
    seconds)`` is called after each committed batch.
    """
    h = history.c
    w = history_compaction.c
    done = AlertCompaction()
    with begin() as conn:
        _ensure_watermark(conn, alert_name)
    while True:
        started = time.monotonic()
        with begin() as conn:
            through = conn.execute(
                select(w.through_id).where(w.alert_name == alert_name).with_for_update()
            ).scalar_one()
            query = (
                select(
                    h.id,
                    h.instance_key,
                    h.evaluated_at,
                    h.run_type,
                    h.outcome,
                    h.state,
                    h.reason,
                    h.error,
                    type_coerce(h.events, LongText).label("events"),
                    h.commit_confirmed,
                    h.repeats,
                    type_coerce(h.threshold, LongText).label("threshold"),
                    type_coerce(h.context, LongText).label("context"),
                    type_coerce(h.key_values, LongText).label("key_values"),
                    h.dag_id,
                    type_coerce(h.inhibited_by, LongText).label("inhibited_by"),
                    type_coerce(h.actual_value, LongText).label("actual_value"),
                    h.duration_ms,
                )
                .where(h.alert_name == alert_name, h.id > through)
                .order_by(h.alert_name, h.id)
                .limit(batch_rows)
            )
            page = conn.execute(query).mappings().all()
            runs = QuietRuns(max_samples)
            last_id = through
            reached_cutoff = False
            for row in page:
                if row["evaluated_at"] >= before:
                    reached_cutoff = True
                    break
                runs.add(row)
                last_id = int(row["id"])
                done.rows_read += 1
            if runs.runs:
                conn.execute(
                    update(history)
                    .where(h.id == bindparam("head_id"))
                    .values(
                        repeats=bindparam("n"),
                        last_evaluated_at=bindparam("last_at"),
                        samples=bindparam("samples_text"),
                    ),
                    [
                        {
                            "head_id": r.head_id,
                            "n": len(r.samples),
                            "last_at": r.samples[-1][0],
                            "samples_text": encode_samples(r.head_at, r.samples),
                        }
                        for r in runs.runs
                    ],
                )
                folded = [i for r in runs.runs for i in r.folded_ids]
                for ids in in_list_chunks(folded):
                    conn.execute(delete(history).where(h.id.in_(list(ids))))
            if last_id != through:
                conn.execute(
                    update(history_compaction)
                    .where(w.alert_name == alert_name)
                    .values(through_id=last_id)
                )
        done.rows_folded += runs.folded
        done.runs += len(runs.runs)
        if on_batch is not None:
            on_batch("history compaction", runs.folded, time.monotonic() - started)
        if reached_cutoff or len(page) < batch_rows:
            return done


def _ensure_watermark(conn: Connection, alert_name: str) -> None:
    w = history_compaction.c
    if conn.execute(select(w.alert_name).where(w.alert_name == alert_name)).first():
        return
    try:
        with conn.begin_nested():
            conn.execute(history_compaction.insert().values(alert_name=alert_name, through_id=0))
    except IntegrityError:  # another purge inserted it first
        pass
