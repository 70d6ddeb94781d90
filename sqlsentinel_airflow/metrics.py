"""Metrics through Airflow's own metrics system (StatsD or OpenTelemetry, as Airflow is set).

Every name starts with ``sqlsentinel.`` (after Airflow's ``[metrics] statsd_prefix`` /
``otel_prefix``, ``airflow`` by default); docs/operations.md#metrics has the table of names.
The dimensions are parts of the name (``sqlsentinel.notifications.sent.slack``), so the
series work on plain StatsD, which drops tags; the same values also go as tags (``alert``,
``channel``) for the backends that keep them (Datadog, InfluxDB, OpenTelemetry).

Where they come from (one place: ``service.run_alerts``, the run sequence both edges use):

- per evaluation: the counters of outcomes and of resulting state by severity, and the
  evaluation and query timers;
- per delivery pass: sent / failed / dead-lettered notifications by channel kind;
- after every run that writes: the gauges of instances by state and of the outbox backlog,
  read from the state database. Alerts run on their schedules, so these are refreshed as
  often as the most frequent alert runs; every process reads the same database, so the
  last writer's value is the truth. If nothing runs, they go stale: watch the evaluation
  counter as well (docs/operations.md#metrics, the example alert rules);
- the config-watch task counts configuration errors when it finds an invalid file.

A metric never fails an evaluation: any error while emitting is logged and dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlsentinel_airflow.core.clock import utcnow

if TYPE_CHECKING:
    from sqlsentinel_airflow.core.config.models import AlertConfig
    from sqlsentinel_airflow.evaluation import EvaluationReport
    from sqlsentinel_airflow.notify.delivery import DeliveryReport
    from sqlsentinel_airflow.store import StateStore

__all__ = [
    "GAUGE_STATES",
    "METRIC_NAMES",
    "PREFIX",
    "emit_config_errors",
    "emit_delivery",
    "emit_evaluation",
    "emit_gauges",
    "is_metric_name",
]

log = logging.getLogger(__name__)

PREFIX = "sqlsentinel"
# the stored states an instance holds (FLAPPING is shown, never stored: core/model.py)
GAUGE_STATES = ("ok", "pending", "firing", "error")

# Every name emitted, ``{…}`` for a part taken from a fixed set; the docs table, the Grafana
# dashboard and the example alert rules are tested against it (tests/docs).
METRIC_NAMES: Mapping[str, tuple[str, str]] = {
    "sqlsentinel.evaluations.{outcome}": ("counter", "outcome: ok, alert, error"),
    "sqlsentinel.alert_states.{state}.{severity}": (
        "counter",
        "state after the evaluation: ok, pending, firing, error, flapping; severity",
    ),
    "sqlsentinel.evaluation.duration": ("timer", "one evaluation, query included"),
    "sqlsentinel.query.duration": ("timer", "the alert's query"),
    "sqlsentinel.notifications.sent.{channel}": ("counter", "channel kind"),
    "sqlsentinel.notifications.failed.{channel}": ("counter", "channel kind"),
    "sqlsentinel.notifications.dead_lettered.{channel}": ("counter", "channel kind"),
    "sqlsentinel.config.errors": ("counter", "errors in an invalid alerts file"),
    "sqlsentinel.instances.{state}": ("gauge", "state: ok, pending, firing, error"),
    "sqlsentinel.outbox.pending": ("gauge", "notifications not yet delivered"),
    "sqlsentinel.outbox.oldest_pending_age_seconds": ("gauge", "0 when none is pending"),
}


def is_metric_name(name: str) -> bool:
    """``name`` (without Airflow's prefix) is one of ``METRIC_NAMES``, its ``{…}`` parts
    filled in (the docs' dashboard and alert rules are checked with it)."""
    return any(pattern.fullmatch(name) for pattern in _PATTERNS)


_PATTERNS = [
    re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[a-z0-9_-]+", re.escape(name))) for name in METRIC_NAMES
]


def _stats() -> Any:
    """Airflow's stats, set up from Airflow's ``[metrics]`` config when this process has not
    done so yet (a CLI run, an in-process ``dag.test()``; Airflow's task runner does it for
    a task): the ``airflow.sdk.observability.stats`` module on 3.3, its ``Stats`` class on
    3.2 (the same calls, an older set-up), ``airflow.stats.Stats`` on 3.1, which sets itself
    up. tests/compat/test_compat_metrics.py runs this on every release."""
    try:
        from airflow.sdk._shared.observability.metrics import stats as shared
        from airflow.sdk.configuration import conf
        from airflow.sdk.observability import stats
        from airflow.sdk.observability.metrics.stats_utils import get_stats_factory
    except ImportError:  # Airflow 3.1
        from airflow.stats import Stats

        return Stats
    if not hasattr(stats, "initialize"):  # Airflow 3.2: a class whose instance is made lazily
        if getattr(stats.Stats, "factory", None) is None:
            stats.Stats.initialize(factory=get_stats_factory(stats.Stats))  # type: ignore[call-arg]
        return stats.Stats
    if getattr(shared, "_factory", None) is None:  # Airflow's task runner sets it; we may not
        stats.initialize(
            factory=get_stats_factory(),
            export_legacy_names=conf.getboolean("metrics", "legacy_names_on", fallback=True),
        )
    return stats


def enabled() -> bool:
    """Airflow's ``[metrics]`` sends somewhere (StatsD, Datadog or OpenTelemetry). Read once
    per run: when nothing would be sent, a run skips building its metrics (~30 µs per
    evaluation through Airflow's stats; docs/benchmarks.md, section 2, run 13)."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf
    try:
        return any(
            conf.getboolean("metrics", option, fallback=False)
            for option in ("statsd_on", "statsd_datadog_enabled", "otel_on")
        )
    except Exception:  # a broken setting: Airflow's own client logs it; we skip the gauges
        log.warning("could not read Airflow's [metrics] settings (ignored)", exc_info=True)
        return False


def _safe(what: str, emit: Any, *args: Any) -> None:
    try:
        emit(_stats(), *args)
    except Exception:  # a metric never fails an evaluation
        log.warning("could not emit the %s metrics (ignored)", what, exc_info=True)


def emit_evaluation(alert: AlertConfig, report: EvaluationReport) -> None:
    """The counters and timers of one evaluation (not of a dry run: it changes nothing)."""
    if report.dry_run:
        return

    def emit(stats: Any) -> None:
        tags = {"alert": alert.name}
        stats.incr(f"{PREFIX}.evaluations.{report.outcome.value.lower()}", tags=tags)
        severity = _part(alert.severity)
        stats.incr(f"{PREFIX}.alert_states.{report.state.value.lower()}.{severity}", tags=tags)
        stats.timing(
            f"{PREFIX}.evaluation.duration", timedelta(milliseconds=report.duration_ms), tags=tags
        )
        if report.query_ms is not None:
            stats.timing(
                f"{PREFIX}.query.duration", timedelta(milliseconds=report.query_ms), tags=tags
            )

    _safe("evaluation", emit)


def emit_delivery(report: DeliveryReport) -> None:
    """Sent, failed and dead-lettered notifications of one delivery pass, by channel kind."""
    counted = (
        ("sent", report.delivered),
        ("failed", report.failed),
        ("dead_lettered", report.dead),
    )

    def emit(stats: Any) -> None:
        for what, rows in counted:
            for kind, n in _count(r.channel for r in rows).items():
                tags = {"alert": report.alert_name, "channel": kind}
                stats.incr(f"{PREFIX}.notifications.{what}.{kind}", n, tags=tags)

    if report.rows:
        _safe("delivery", emit)


def emit_gauges(store: StateStore, now: datetime | None = None) -> None:
    """The gauges of the whole state database: instances by state, the outbox backlog and
    the age of its oldest pending notification (0 when none is pending)."""

    if not enabled():
        return  # the gauges cost two queries: none when nothing would be sent

    def emit(stats: Any) -> None:
        counts = {state.lower(): n for state, n in store.state_counts().items()}
        pending, oldest = store.pending_outbox_summary()
        for state in GAUGE_STATES:
            stats.gauge(f"{PREFIX}.instances.{state}", counts.get(state, 0))
        stats.gauge(f"{PREFIX}.outbox.pending", pending)
        age = 0.0 if oldest is None else ((now or utcnow()) - oldest).total_seconds()
        stats.gauge(f"{PREFIX}.outbox.oldest_pending_age_seconds", max(0, int(age)))

    _safe("state", emit)


def emit_config_errors(count: int) -> None:
    """``count`` errors found in an invalid alerts file (the config-watch task)."""
    _safe("config", lambda stats: stats.incr(f"{PREFIX}.config.errors", count))


def _count(kinds: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind in kinds:
        part = _part(kind)
        counts[part] = counts.get(part, 0) + 1
    return counts


def _part(text: str) -> str:
    """A name part StatsD keeps as one segment: lower case, ``[a-z0-9_-]``."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "_-" else "_" for c in text.lower())
