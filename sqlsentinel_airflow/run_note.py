"""What an alert's run found, in one line for Airflow's own views: the DAG-run note.

Every alert run succeeds in Airflow whether the alert fired or not (firing is a result, not
a failure: docs/adr/0002-evaluation-semantics.md), so Airflow's grid and run pages would show
every run green. The run's note says what the evaluation found instead:

- ``FIRING 17.99 (threshold 5)``, ``PENDING ...``, ``OK 3.2 (threshold 5)``,
  ``RESOLVED 3.2 (threshold 5)``;
- keyed alerts: ``FIRING 2 of 3 instances: table_name=customers 17.99, table_name=orders
  9 (threshold 5)`` (at most :data:`MAX_NAMED` named, then "and N more");
- ``ERROR: <the query error, one line, URLs and tokens masked>``;
- ``SILENCED`` when a silence held the notifications back, ``DRY RUN:`` for a dry run, and
  what is still owed when a notification could not be delivered;
- `` · acked by ana`` when someone acknowledged a firing incident (docs/responding.md);
- `` · inhibited by orders_loaded`` when a parent alert (``depends_on``) firing or failing
  held its notifications (docs/assets.md, "Dependencies between alerts").

:func:`note_text` renders the evaluate task's XCom (``AlertRun.to_dict()``, the same JSON the
CLI prints); ``airflow_listener.py`` writes it where the scheduler finishes the run
(docs/adr/0010-run-notes.md). Pure Python: no Airflow import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlsentinel_airflow.core.inhibition import inhibited_by_text
from sqlsentinel_airflow.core.instances import instance_label
from sqlsentinel_airflow.core.redact import one_line, redact_text
from sqlsentinel_airflow.notify.templates import display

__all__ = ["MAX_NAMED", "NOTE_MAX_CHARS", "NO_EVALUATION", "is_run_note", "note_text"]

NOTE_MAX_CHARS = 1000  # Airflow's dag_run_note.content is VARCHAR(1000)
MAX_NAMED = 5  # keyed alerts: firing instances named in the note
_ERROR_CHARS = 300
_VALUE_CHARS = 40
NO_EVALUATION = "ERROR: the evaluate task failed before it recorded an evaluation (see its log)"
_OURS = re.compile(r"(DRY RUN: )?(SILENCED )?(FIRING|PENDING|OK|RESOLVED|ERROR:|DELIVERY ONLY:)")


def is_run_note(text: str) -> bool:
    """Whether ``text`` reads like a note :func:`note_text` wrote (and may be replaced)."""
    return _OURS.match(text) is not None


def _value(instance: Mapping[str, Any]) -> str:
    return display(instance.get("actual_value"), _VALUE_CHARS)


def _threshold(instances: Sequence[Mapping[str, Any]]) -> str:
    """`` (threshold 5)`` when the instances share one threshold, else ""."""
    thresholds = {display(i.get("threshold"), _VALUE_CHARS) for i in instances}
    if len(thresholds) != 1:
        return ""
    (only,) = thresholds
    return "" if only == "n/a" else f" (threshold {only})"


def _single(word: str, instance: Mapping[str, Any]) -> str:
    value = _value(instance)
    if value == "n/a":
        return word
    return f"{word} {value}{_threshold([instance])}"


def _keyed(word: str, named: Sequence[Mapping[str, Any]], total: int) -> str:
    parts = [
        f"{instance_label(i.get('key_values') or {}, 80)} {_value(i)}".rstrip()
        for i in named[:MAX_NAMED]
    ]
    more = f", and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
    return (
        f"{word} {len(named)} of {total} instance{'s' if total != 1 else ''}: "
        f"{', '.join(parts)}{more}{_threshold(named)}"
    )


def _decision(run: Mapping[str, Any]) -> str:
    """The evaluation's finding, without the prefixes and the delivery."""
    error = run.get("error")
    if error:
        text = one_line(redact_text(str(error)))
        if len(text) > _ERROR_CHARS:
            text = text[: _ERROR_CHARS - 1] + "…"
        return f"ERROR: {text}"
    instances = [i for i in run.get("instances") or [] if isinstance(i, Mapping)]
    keyed = [i for i in instances if i.get("key_values")]
    if not keyed:  # a single-instance alert (its one instance has the key "")
        only = instances[0] if instances else {}
        events = only.get("events") or []
        state = str(only.get("state") or run.get("state") or "ok").upper()
        word = "RESOLVED" if "resolved" in events else state
        return _single(word, only)
    for state in ("firing", "flapping", "pending"):
        matching = [i for i in keyed if i.get("state") == state]
        if matching:
            return _keyed(state.upper(), matching, len(keyed))
    resolved = [i for i in keyed if "resolved" in (i.get("events") or [])]
    if resolved:
        return _keyed("RESOLVED", resolved, len(keyed))
    return f"OK: {len(keyed)} instance{'s' if len(keyed) != 1 else ''}, none alerting"


def _inhibited(run: Mapping[str, Any]) -> str:
    """`` · inhibited by orders_loaded`` when a parent held a notification of this run."""
    parents = [one_line(str(p))[:60] for p in run.get("inhibited_by") or []]
    held = any(isinstance(i, Mapping) and i.get("held") for i in run.get("instances") or [])
    return f" · {inhibited_by_text(parents, most=MAX_NAMED)}" if parents and held else ""


def _acked(run: Mapping[str, Any]) -> str:
    """`` · acked by ana, bo`` for the firing instances someone acknowledged."""
    names = dict.fromkeys(
        str(i["acked_by"])
        for i in run.get("instances") or []
        if isinstance(i, Mapping) and i.get("acked_by") and i.get("state") == "firing"
    )
    if not names:
        return ""
    shown = [one_line(n)[:60] for n in list(names)[:MAX_NAMED]]
    more = f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else ""
    return f" · acked by {', '.join(shown)}{more}"


def _delivery(run: Mapping[str, Any]) -> str:
    delivery = run.get("delivery")
    if not isinstance(delivery, Mapping) or delivery.get("complete", True):
        return ""
    counts = [
        f"{delivery.get(key)} {label}"
        for key, label in (
            ("failed", "failed"),
            ("deferred", "deferred"),
            ("in_flight", "in flight elsewhere"),
            ("dead", "dead-lettered"),
        )
        if delivery.get(key)
    ]
    return " · notifications not delivered: " + (", ".join(counts) or "see the task log")


def note_text(run: Mapping[str, Any]) -> str:
    """The DAG-run note for the evaluate task's XCom ``run``; at most NOTE_MAX_CHARS long."""
    if run.get("delivery_only"):
        text = "DELIVERY ONLY: an earlier try of this run evaluated the alert"
    else:
        text = _decision(run)
        if run.get("silenced"):
            text = f"SILENCED {text}"
    if run.get("dry_run"):
        text = f"DRY RUN: {text}"
    text += _acked(run) + _inhibited(run) + _delivery(run)
    if len(text) > NOTE_MAX_CHARS:
        text = text[: NOTE_MAX_CHARS - 1] + "…"
    return text
