"""The monthly report: the alerts a team should look at again (docs/operations.md, "The
monthly report"). ``sqlsentinel report`` prints it and the UI's Report page shows it.

One function, :func:`hygiene_report`, from the state DB (``StateStore.hygiene_facts`` and
the instances' states, all read from indexes) and the alerts' definitions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence
from sqlsentinel_airflow.core.hygiene import (
    ALWAYS_FIRING_SHARE,
    DEFAULT_DAYS,
    DEFAULT_LONG_AFTER_DAYS,
    DURATION_SAMPLES,
    FLAPPING_PER_WEEK,
    SLOW_QUERY_MS,
    TOP,
)
from sqlsentinel_airflow.core.instances import instance_label, key_label
from sqlsentinel_airflow.core.model import InstanceState, Silence
from sqlsentinel_airflow.readmodel.build import AlertFacts, silences_for
from sqlsentinel_airflow.readmodel.views import ReportItem, ReportSection, ReportView
from sqlsentinel_airflow.store.store import StateStore

__all__ = [
    "ALWAYS_FIRING_SHARE",
    "DEFAULT_DAYS",
    "DEFAULT_LONG_AFTER_DAYS",
    "DURATION_SAMPLES",
    "FLAPPING_PER_WEEK",
    "SLOW_QUERY_MS",
    "TOP",
    "ReportAlert",
    "hygiene_report",
]

DEFAULT_OWNER: str = AlertConfig.model_fields["owner"].default  # the file says nothing


@dataclass(frozen=True)
class ReportAlert:
    """An alert as the report needs it: its facts and the silences its file declares."""

    facts: AlertFacts
    file_silences: Sequence[FileSilence] = ()


def hygiene_report(
    sources: Sequence[tuple[StateStore | None, Sequence[ReportAlert]]],
    *,
    now: datetime,
    days: int = DEFAULT_DAYS,
    long_after: timedelta = timedelta(days=DEFAULT_LONG_AFTER_DAYS),
) -> ReportView:
    """The report over the ``days`` before ``now`` of the alerts of each state DB (``None``:
    none yet, so its alerts never fired)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    since = now - timedelta(days=days)
    alerts = [a for _store, group in sources for a in group]
    states: list[InstanceState] = []
    stored_silences: dict[str, list[Silence]] = {}
    ended: dict[str, list[tuple[str, datetime, datetime]]] = {}
    delivered: dict[str, int] = {}
    durations: dict[str, list[int]] = {}
    for store, group in sources:
        names = [a.facts.name for a in group]
        if store is None or not names:
            continue
        states.extend(store.list_states(alert_names=names))
        found = store.list_silences(now)
        stored_silences.update((name, found) for name in names)
        facts = store.hygiene_facts(names, since, samples=DURATION_SAMPLES)
        for e in facts.ended_firing:
            ended.setdefault(e.alert_name, []).append((e.instance_key, e.started_at, e.ended_at))
        delivered.update(facts.delivered)
        durations.update(facts.durations)
    by_alert: dict[str, list[InstanceState]] = {}
    for s in states:
        by_alert.setdefault(s.alert_name, []).append(s)

    window = (now - since).total_seconds()
    last = "the last day" if days == 1 else f"the last {days} days"
    always: list[ReportItem] = []
    never: list[ReportItem] = []
    flapping: list[ReportItem] = []
    silenced: list[ReportItem] = []
    acked: list[ReportItem] = []
    no_owner: list[ReportItem] = []
    no_runbook: list[ReportItem] = []
    slowest: list[ReportItem] = []
    noisiest: list[ReportItem] = []
    often = max(3, math.ceil(FLAPPING_PER_WEEK * days / 7))
    for alert in alerts:
        f = alert.facts
        mine = by_alert.get(f.name, [])

        def item(value: float | None, why: str, todo: str, label: str = "") -> ReportItem:
            return ReportItem(f.name, f.dag_id, f.owner, label, value, why, todo)  # noqa: B023

        # firing: each instance's incidents in the window, ended or going on
        firing: dict[str, list[tuple[datetime, datetime]]] = {}
        for key, started, ended_at in ended.get(f.name, []):
            firing.setdefault(key, []).append((max(started, since), ended_at))
        for s in mine:
            if s.firing_since is not None:
                firing.setdefault(s.instance_key, []).append((max(s.firing_since, since), now))
        if firing:
            key, seconds = max(
                (
                    (k, sum((e - b).total_seconds() for b, e in spans))
                    for k, spans in firing.items()
                ),
                key=lambda pair: (pair[1], pair[0]),
            )
            share = seconds / window
            if share >= ALWAYS_FIRING_SHARE:
                always.append(
                    item(
                        round(100 * share, 1),
                        f"firing {100 * share:.0f}% of {last}",
                        "it no longer tells anyone something new: fix the cause, raise the "
                        "threshold, or delete it",
                        key_label(key) or "",
                    )
                )
        elif not mine:
            never.append(
                item(
                    None,
                    "never evaluated",
                    "check that its DAG is unpaused and runs; delete it if it is not wanted",
                )
            )
        else:
            never.append(
                item(
                    None,
                    f"no firing in {last}",
                    "check that it would still fire on a real problem (sqlsentinel backtest); "
                    "delete it if nobody needs it",
                )
            )

        started_in_window = sum(len(spans) for spans in firing.values())
        now_flapping = [s for s in mine if s.flapping_since is not None]
        if now_flapping or started_in_window >= often:
            worst = now_flapping[0] if now_flapping else None
            why = f"{_count(started_in_window, 'firing incident')} in {last}"
            if worst is not None:
                why = f"flapping since {worst.flapping_since:%Y-%m-%d %H:%M} UTC; {why}"
            flapping.append(
                item(
                    started_in_window,
                    why,
                    "add hysteresis (resolve_after, fire_after) or flap_detection, or a "
                    "threshold further from normal values",
                    instance_label(worst.key_values) if worst else "",
                )
            )

        for silence in silences_for(
            f.name, f.dag_id, stored_silences.get(f.name, []), alert.file_silences, now
        ):
            length = silence.ends_at - silence.starts_at
            if silence_rules.is_active(silence, now) and length >= long_after:
                silenced.append(
                    item(
                        round(length / timedelta(days=1), 1),
                        f"silenced for {_count(length.days, 'day')} until {silence.ends_at:%Y-%m-%d} "
                        f"({silence.source}, by {silence.author}: {silence.reason})",
                        "fix what it fires about or change the alert; a silence is for "
                        "maintenance, not for good",
                        key_label(silence.instance_key) or "",
                    )
                )
        for s in mine:
            if s.acked_at is not None and s.firing_since is not None:
                held = now - s.acked_at
                if held >= long_after:
                    acked.append(
                        item(
                            round(held / timedelta(days=1), 1),
                            f"acknowledged by {s.acked_by or 'someone'} {_count(held.days, 'day')} ago and still firing",
                            "resolve the incident, or silence the alert with a reason and an end",
                            instance_label(s.key_values),
                        )
                    )

        if f.owner in ("", DEFAULT_OWNER):
            no_owner.append(
                item(None, f"owner is {f.owner or 'empty'!s}", "set owner: to the team it pages")
            )
        if not f.runbook_url:
            no_runbook.append(
                item(None, "no runbook_url", "add runbook_url: what to do when it fires")
            )
        measured = durations.get(f.name, [])
        p95 = _p95(measured) if measured else 0.0
        if p95 >= SLOW_QUERY_MS:
            slowest.append(
                item(
                    p95,
                    f"p95 query time {p95:.0f} ms over its last {_count(len(measured), 'evaluation')}",
                    "index the tables it reads, narrow its time range, or run it less often",
                )
            )
        sent = delivered.get(f.name, 0)
        if sent:
            noisiest.append(
                item(
                    sent,
                    f"{_count(sent, 'notification')} delivered in {last}",
                    "group them (group_by), lengthen renotify_after, or route them to fewer "
                    "channels",
                )
            )

    def worst_first(items: Iterable[ReportItem]) -> tuple[ReportItem, ...]:
        return tuple(sorted(items, key=lambda i: (-(i.value or 0), i.alert, i.label)))

    def by_name(items: Iterable[ReportItem]) -> tuple[ReportItem, ...]:
        return tuple(sorted(items, key=lambda i: (i.alert, i.label)))

    long_days = round(long_after / timedelta(days=1))
    return ReportView(
        generated_at=now,
        since=since,
        days=days,
        long_after_days=long_days,
        alerts=len(alerts),
        sections=(
            ReportSection(
                "always_firing",
                "Always firing",
                f"an instance fired {ALWAYS_FIRING_SHARE:.0%} of the window or more",
                worst_first(always),
            ),
            ReportSection(
                "never_fired",
                f"Never fired in {_count(days, 'day')}",
                "no instance fired in the window",
                by_name(never),
            ),
            ReportSection(
                "flapping",
                "Flapping",
                f"flapping now (flap_detection), or {often} firing incidents or more in the "
                f"window ({FLAPPING_PER_WEEK} a week)",
                worst_first(flapping),
            ),
            ReportSection(
                "silenced_long",
                f"Silenced for {_count(long_days, 'day')} or more",
                f"an active silence that lasts {long_days} days or more",
                worst_first(silenced),
            ),
            ReportSection(
                "acknowledged_long",
                f"Acknowledged for {_count(long_days, 'day')} or more",
                f"a firing incident acknowledged {long_days} days ago or more",
                worst_first(acked),
            ),
            ReportSection(
                "no_owner",
                "No owner",
                f"owner is the default `{DEFAULT_OWNER}`",
                by_name(no_owner),
            ),
            ReportSection("no_runbook", "No runbook", "no runbook_url", by_name(no_runbook)),
            ReportSection(
                "slowest_queries",
                "Slowest queries",
                f"the {TOP} highest p95 query times of {SLOW_QUERY_MS} ms or more (an "
                f"alert's newest {DURATION_SAMPLES} evaluations in the window)",
                worst_first(slowest)[:TOP],
            ),
            ReportSection(
                "most_notifications",
                "Most notifications",
                f"the {TOP} alerts with the most notifications delivered in the window",
                worst_first(noisiest)[:TOP],
            ),
        ),
    )


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" if n == 1 else f"{n} {thing}s"


def _p95(values: Sequence[int]) -> float:
    """The 95th percentile, interpolated between the closest ranks."""
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (rank - low), 1)
