"""The CLI's commands. Each ``cmd_<name>(args) -> exit code``; heavy imports stay inside."""

from __future__ import annotations

import argparse
import fnmatch
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlsentinel_airflow.cli.context import conn_type_from_env, open_store
from sqlsentinel_airflow.cli.exit_codes import EXIT_FAILED, EXIT_INVALID, EXIT_OK
from sqlsentinel_airflow.cli.output import (
    Progress,
    emit_json,
    format_table,
    human_duration,
    human_time,
    out,
    short,
)
from sqlsentinel_airflow.core import mutewindows
from sqlsentinel_airflow.core.clock import rfc3339, utcnow
from sqlsentinel_airflow.core.config import LoadResult, json_schema, load_config
from sqlsentinel_airflow.core.config.models import AlertConfig, AlertsConfig
from sqlsentinel_airflow.core.durations import parse_duration
from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused
from sqlsentinel_airflow.core.inhibition import inhibited_by_text
from sqlsentinel_airflow.core.model import InstanceState, Reason
from sqlsentinel_airflow.errors import ConfigError

if TYPE_CHECKING:
    from sqlsentinel_airflow.readmodel import AlertSummary, EvaluationView


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def _print_errors(errors: Sequence[ConfigError]) -> None:
    for err in errors:
        sys.stderr.write(f"{err.format()}\n")


def _print_warnings(warnings: Sequence[ConfigError]) -> None:
    for warning in warnings:
        sys.stderr.write(f"warning: {warning.format()}\n")


def _load(
    path: str,
    conn_type_of: Callable[[str], str | None] | None = None,
    *,
    keep_verdicts: bool = True,
) -> LoadResult:
    """Load and validate ``path``. SQL verdicts are kept in the cache directory between runs
    (a cron'd ``run`` parses only edited queries); ``validate`` checks everything afresh."""
    if not Path(path).exists():
        raise UsageError(f"{path}: no such file")
    from sqlsentinel_airflow.core.config.sqlcheck import verdicts_file, verdicts_kept_in

    directory = cache_dir() if keep_verdicts else None
    with verdicts_kept_in(verdicts_file(directory, Path(path)) if directory else None):
        return load_config(path, conn_type_of=conn_type_of or conn_type_from_env)


def cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """``$SQLSENTINEL_CACHE_DIR``, else ``$XDG_CACHE_HOME/sqlsentinel`` (``~/.cache/...``);
    None (no cache) when there is no home directory to put it in."""
    env = os.environ if env is None else env
    explicit = env.get("SQLSENTINEL_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = env.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "sqlsentinel"
    try:
        return Path.home() / ".cache" / "sqlsentinel"
    except RuntimeError:  # no $HOME and no passwd entry (an arbitrary container UID)
        return None


# --- validate -----------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    results = []
    all_ok = True
    for path in args.files:
        conn_type_of: Callable[[str], str | None] | None = None
        if args.check_connections:
            from sqlsentinel_airflow.execution import conn_type_of as airflow_conn_type_of

            def conn_type_of(conn_id: str) -> str | None:
                try:
                    return airflow_conn_type_of(conn_id)
                except Exception:  # reported by the connection check below
                    return None

        result = _load(path, conn_type_of, keep_verdicts=False)
        errors = list(result.errors)
        checks: list[dict[str, Any]] = []
        if args.check_connections and result.config is not None:
            from sqlsentinel_airflow.cli.connections import check_alert_connection

            for alert in result.config.alerts:
                check = check_alert_connection(alert)
                checks.append(check)
                if not check["ok"]:
                    index = "" if alert.source_index is None else f"[{alert.source_index}]"
                    errors.append(
                        ConfigError(
                            check["message"],
                            file=path,
                            line=alert.source_line,
                            path=f"alerts{index}.query",
                            alert=alert.name,
                        )
                    )
        ok = not errors
        all_ok = all_ok and ok
        n_alerts = len(result.config.alerts) if result.config is not None else 0
        dependencies = {
            a.name: list(a.depends_on)
            for a in (result.config.alerts if result.config is not None else ())
            if a.depends_on
        }
        results.append(
            {
                "file": path,
                "valid": ok,
                "alerts": n_alerts,
                "errors": [e.to_dict() for e in errors],
                "warnings": [w.to_dict() for w in result.warnings],
                "connection_checks": checks,
                "dependencies": dependencies,
            }
        )
        if args.format == "text":
            _print_warnings(result.warnings)
            if ok:
                extra = " (connections checked)" if args.check_connections else ""
                out(f"{path}: OK, {n_alerts} alert{'s' if n_alerts != 1 else ''}{extra}")
            else:
                _print_errors(errors)
                out(f"{path}: {len(errors)} error{'s' if len(errors) != 1 else ''}")
            for name, parents in dependencies.items():
                out(f"  {name} depends on {', '.join(parents)}")
    if args.format == "json":
        emit_json({"valid": all_ok, "files": results})
    return EXIT_OK if all_ok else EXIT_INVALID


# --- run ----------------------------------------------------------------------------------


def _select(alerts: Sequence[AlertConfig], patterns: Sequence[str] | None) -> list[AlertConfig]:
    """The alerts to run: every enabled one, or those ``--alert`` names (disabled ones too,
    as a manual trigger of a disabled alert's DAG runs it)."""
    if not patterns:
        return [a for a in alerts if a.enabled]
    chosen = [a for a in alerts if any(fnmatch.fnmatchcase(a.name, p) for p in patterns)]
    if not chosen:
        names = ", ".join(a.name for a in alerts) or "none"
        raise UsageError(f"no alert matches {', '.join(patterns)} (alerts: {names})")
    return chosen


def cmd_run(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow.cli.context import locator
    from sqlsentinel_airflow.cli.exit_codes import exit_code_for_run
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.service import RunRequest, run_alerts

    result = _load(args.file)
    if result.file_errors and result.config is None:
        _print_errors(result.errors)
        return EXIT_INVALID
    assert result.config is not None
    config = result.config
    alerts = _select(config.alerts, args.alert)
    progress = Progress(len(alerts))
    try:
        runs = run_alerts(
            alerts,
            RunRequest(run_type=RunType.CLI, dry_run=args.dry_run),
            locator=locator(),
            state_db=config.state_db,
            explicit_url=args.state_db,
            file_silences=config.silences,
            reuse_connections=True,
            on_evaluated=progress.advance,
        )
    finally:
        progress.close()
    reports = [run.evaluation for run in runs if run.evaluation is not None]
    deliveries = [run.delivery for run in runs if run.delivery is not None]
    if args.format == "json":
        emit_json(
            {
                "dry_run": args.dry_run,
                "config_errors": [e.to_dict() for e in result.errors],
                "evaluations": [
                    {**run.evaluation.to_dict(), "verdict": run.verdict.value}
                    for run in runs
                    if run.evaluation is not None
                ],
                "deliveries": [d.to_dict() for d in deliveries],
            }
        )
    else:
        _print_errors(result.errors)
        rows = []
        for r in reports:
            detail = r.error or ""
            if not detail and r.actual_value is not None:
                detail = f"{short(r.actual_value, 20)} vs {short(r.threshold, 20)}"
            if not detail and len(r.instances) > 1:
                detail = f"{len(r.instances)} instances"
            events = ", ".join(
                f"{e['kind']}{'' if not e['instance_key'] else ' ' + _label(e['instance_key'])}"
                for e in r.events
            )
            if r.dry_run and events:
                events = f"would send: {events}"
            if any(i.held for i in r.instances):
                held = f"held, {inhibited_by_text(r.inhibited_by)}"
                events = f"{events}; {held}" if events else held
            rows.append([r.alert_name, r.outcome.value, r.state.value, detail, events or "-"])
        out(format_table(["alert", "outcome", "state", "value / error", "events"], rows))
        for r in reports:
            if r.error:
                out(f"{r.alert_name}: {r.error}")
        for d in deliveries:
            if d.rows:
                out(f"{d.alert_name}: notifications: {d.summary()}")
        if args.dry_run:
            out("dry run: no state, history or notification was written")
    return exit_code_for_run(
        (run.verdict for run in runs),
        config_errors=bool(result.errors),
        fail_on_alert=args.fail_on_alert,
    )


def _ui_base_url() -> str | None:
    """Airflow's ``[api] base_url`` where Airflow is installed and it is set, else None."""
    try:
        from sqlsentinel_airflow.airflow_compat import configured_api_base_url

        return configured_api_base_url()
    except ImportError:
        return None


def cmd_notify_test(args: argparse.Namespace) -> int:
    """Send a sample message through each channel of one alert (exit 1 if one failed)."""
    from sqlsentinel_airflow.core.model import EventKind
    from sqlsentinel_airflow.notify.sample import send_samples

    result = _load(args.file)
    if result.config is None:
        _print_errors(result.errors)
        return EXIT_INVALID
    try:
        alert = result.config.alert(args.alert)
    except KeyError:
        names = ", ".join(a.name for a in result.config.alerts) or "none"
        raise UsageError(f"no valid alert named {args.alert!r} (alerts: {names})") from None
    if not alert.channel_slots():
        raise UsageError(
            f"alert {alert.name!r} has no channels to test (add `notify:`, or a route to a "
            "receiver)"
        )
    kind: EventKind | Literal["group"] = "group" if args.kind == "group" else EventKind(args.kind)
    samples = send_samples(alert, kind, ui_base_url=_ui_base_url())
    if args.format == "json":
        emit_json(
            {"alert": alert.name, "kind": args.kind, "results": [s.to_dict() for s in samples]}
        )
    else:
        rows = [
            [
                s.index,
                s.channel,
                s.destination,
                "sent" if s.result.delivered else f"FAILED: {s.result.error}",
            ]
            for s in samples
        ]
        out(format_table(["#", "channel", "destination", "result"], rows))
    return EXIT_OK if all(s.result.delivered for s in samples) else EXIT_FAILED


# --- status / history / outbox -------------------------------------------------------------


def cmd_routes(args: argparse.Namespace) -> int:
    """Which receivers each alert reaches, through which routes (docs/notifications.md)."""
    from sqlsentinel_airflow.core.config.routes import explain_routing

    result = _load(args.file)
    if result.config is None:
        _print_errors(result.errors)
        return EXIT_INVALID
    _print_errors(result.errors)  # invalid alerts are left out; `validate` says more
    alerts = _select(result.config.alerts, args.alert) if args.alert else result.config.alerts
    explained = [explain_routing(alert) for alert in alerts]
    now = utcnow()
    muting = [[w for w in alert.mute_windows if mutewindows.active(w, now)] for alert in alerts]
    if args.format == "json":
        emit_json(
            {
                "file": args.file,
                "routes": [
                    {
                        **e.model_dump(mode="json"),
                        "reaches_nobody": e.reaches_nobody,
                        "muted_by": [w.name for w in windows],
                    }
                    for e, windows in zip(explained, muting, strict=True)
                ],
                "warnings": [w.to_dict() for w in result.warnings],
            }
        )
    else:
        _print_warnings(result.warnings)
        lines = []
        for e, windows in zip(explained, muting, strict=True):
            lines += e.lines()
            for w in windows:
                end = mutewindows.next_change(w, now)
                until = f"until {human_time(end)}" if end else "no end within two years"
                lines.append(f"  muted now by mute window {w.name} ({until})")
        out("\n".join(lines))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Every alert of FILE as ``readmodel.AlertSummary``: the same object the UI's API shows,
    less what only Airflow knows (paused, stale, recent values, docs)."""
    result = _load(args.file)
    if result.config is None:
        _print_errors(result.errors)
        return EXIT_INVALID
    # Thousands of states, views and table cells, none in a reference cycle: full collections
    # rescanning the process's objects were a third of reading the states (core/gcpause).
    with cyclic_gc_paused():
        summaries = _status_summaries(result.config, args.state_db, args.deliveries)
        if args.format == "json":
            emit_json(
                {
                    "alerts": [s.to_json() for s in summaries],
                    "config_errors": [e.to_dict() for e in result.errors],
                }
            )
            return EXIT_INVALID if result.errors else EXIT_OK
        _print_errors(result.errors)
        out(_status_table(summaries))
        undelivered = [d for s in summaries for d in s.deliveries or ()]
    if undelivered:
        out()
        out(
            format_table(
                ["outbox id", "alert", "event", "channel", "status", "attempts", "last error"],
                [
                    [
                        d.id,
                        d.alert,
                        d.kind.value,
                        d.channel,
                        d.status.value,
                        d.attempts,
                        d.last_error,
                    ]
                    for d in undelivered
                ],
            )
        )
    unlisted = {
        summary.name: more
        for summary in summaries
        if (
            more := summary.pending_deliveries
            + summary.dead_deliveries
            - len(summary.deliveries or ())
        )
        > 0
    }
    if unlisted:
        out()
        out(
            f"{sum(unlisted.values())} more undelivered notification(s) of "
            f"{len(unlisted)} alert(s) not listed here: sqlsentinel outbox --alert NAME "
            f"[--status dead] lists them (status --deliveries N: the newest N of each)"
        )
    return EXIT_INVALID if result.errors else EXIT_OK


def _status_summaries(
    config: AlertsConfig, state_db: str | None, deliveries_shown: int | None = None
) -> list[AlertSummary]:
    """The summaries of every alert of ``config``, from the state DB at ``state_db`` (None:
    the file's or the environment's), each listing its newest ``deliveries_shown``
    undelivered notifications, pending or dead (None: what is owed now, its pending ones, at
    most ``readmodel.DELIVERIES_IN_STATUS``; dead letters are counted, and listed by
    ``sqlsentinel outbox --status dead``: a year of them was most of this command's time)."""
    from sqlsentinel_airflow import readmodel
    from sqlsentinel_airflow.store import OutboxStatus

    names = [a.name for a in config.alerts]
    now = utcnow()
    store = open_store(config, state_db)
    try:
        # Filtered and counted in SQL: thousands of delivered rows, or another file's
        # alerts, can neither slow this down nor push an owed row out of the listing.
        states = store.list_states(alert_names=names)
        stored_silences = store.list_silences(now)
        counts = store.outbox_counts(names, readmodel.UNDELIVERED)
        delivered = store.delivered_alerts(names)
        if deliveries_shown is None:
            owed = store.outbox_by_alert(
                names, OutboxStatus.PENDING, readmodel.DELIVERIES_IN_STATUS
            )
        elif deliveries_shown:
            owed = store.outbox_by_alert(names, readmodel.UNDELIVERED, deliveries_shown)
        else:
            owed = {}
    finally:
        store.dispose()
    by_alert: dict[str, list[InstanceState]] = {}
    for s in states:
        by_alert.setdefault(s.alert_name, []).append(s)
    return [
        readmodel.alert_summary(
            readmodel.AlertFacts.of_config(alert),
            states=by_alert.get(alert.name, []),
            silences=readmodel.silences_for(
                alert.name, alert.dag_id, stored_silences, config.silences, now
            ),
            outbox_counts=counts[alert.name],
            delivered=alert.name in delivered,
            deliveries=owed.get(alert.name, []),
            now=now,
            all_instances=True,
        )
        for alert in config.alerts
    ]


def _acked_by(incident: Any) -> str:
    """Who acknowledged an incident last (``-``: nobody, or it was taken back)."""
    by = "-"
    for action in incident.actions:  # oldest first
        if action.action == "acknowledged":
            by = action.actor
        elif action.action in ("unacknowledged", "rearmed"):
            by = "-"
    return by


def _status_table(summaries: Sequence[AlertSummary]) -> str:
    rows: list[list[object]] = []
    for s in summaries:
        owed = f"{s.pending_deliveries}/{s.dead_deliveries}"
        windows = [w.name for w in s.mute_windows if w.active]
        by_window = f" (muted by {', '.join(windows)})" if windows else ""
        muted = by_window or (" (silenced)" if s.silenced else "")
        if not s.instances:
            rows.append([s.name, "-", f"never run{muted}", "-", None, None, "-", owed])
        for i in s.instances:
            rows.append(
                [
                    s.name,
                    i.label or "-",
                    i.state.value
                    + (" (silenced)" if i.silenced else by_window)
                    + (f" (acked by {i.ack.by})" if i.ack is not None else "")
                    + (f" ({inhibited_by_text(i.inhibited_by)})" if i.inhibited_by else ""),
                    human_time(i.flapping_since or i.since),
                    i.last_value,
                    i.last_threshold,
                    human_time(i.last_evaluated_at),
                    owed,
                ]
            )
    headers = ["alert", "instance", "state", "since", "value", "threshold", "last run"]
    return format_table([*headers, "pending/dead"], rows)


def _history_reason(v: EvaluationView) -> str | None:
    """The reason of a history row, with the parents that held it (``held, inhibited by
    orders_loaded``) or were down when it was evaluated."""
    if v.reason_code == Reason.INHIBITED.code:
        return f"held, {inhibited_by_text(v.inhibited_by)}"
    reason = v.reason
    if v.repeats and v.last_evaluated_at is not None:
        reason = f"{reason}; {v.repeats} more until {human_time(v.last_evaluated_at)}"
    if v.inhibited_by:
        reason = f"{reason} ({inhibited_by_text(v.inhibited_by)})"
    return reason


def cmd_history(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow.readmodel import evaluation_view

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    store = open_store(None, args.state_db)
    try:
        views = [evaluation_view(h) for h in store.history(alert_name=args.alert, limit=args.limit)]
    finally:
        store.dispose()
    if args.format == "json":
        emit_json({"history": [v.to_json() for v in views]})
        return EXIT_OK
    rows = [
        [
            human_time(v.evaluated_at),
            v.alert,
            _label(v.instance_key) or "-",
            v.outcome.value if not v.repeats else f"{v.outcome.value} x{v.repeats + 1}",
            v.state.value,
            v.actual_value,
            v.threshold,
            ", ".join(e.value for e in v.events) or "-",
            v.error or _history_reason(v),
        ]
        for v in views
    ]
    headers = ["time", "alert", "instance", "outcome", "state", "value", "threshold", "events"]
    out(format_table([*headers, "reason / error"], rows))
    return EXIT_OK


def _instance_arg(text: str) -> str:
    """``--instance``: an instance key as stored (``{"table_name":"orders"}``), or its key
    columns as ``name=value[,name=value]`` (the UI's label), in the order of ``key_columns``."""
    if text.startswith("{") or "=" not in text:
        return text
    from sqlsentinel_airflow.core.result import instance_key

    values: dict[str, Any] = {}
    for part in text.split(","):
        name, sep, raw = part.partition("=")
        if not sep or not name.strip():
            raise UsageError(
                f"--instance {text!r}: write name=value pairs separated by commas "
                '(table_name=orders) or the instance key as stored ({"table_name":"orders"})'
            )
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        values[name.strip()] = value if isinstance(value, int | float) else raw
    return instance_key(list(values), values)


def cmd_incidents(args: argparse.Namespace) -> int:
    """An alert's incidents as ``readmodel.IncidentView``: the objects the UI's API returns."""
    from sqlsentinel_airflow.readmodel import incident_views

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    since = None
    if args.since is not None:
        try:
            age = parse_duration(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}") from exc
        if age.total_seconds() <= 0:
            raise UsageError("--since must be longer than 0s (e.g. 30d)")
        since = utcnow() - age
    instance = _instance_arg(args.instance) if args.instance is not None else None
    store = open_store(None, args.state_db)
    try:
        views, _next = incident_views(
            store, args.alert, limit=args.limit, instance_key=instance, since=since
        )
    finally:
        store.dispose()
    if args.format == "json":
        emit_json({"incidents": [v.to_json() for v in views]})
        return EXIT_OK
    rows = [
        [
            v.kind.value,
            _label(v.instance_key) or "-",
            human_time(v.started_at),
            human_time(v.ended_at) if v.ended_at is not None else "ongoing",
            human_duration(v.duration_seconds) if v.duration_seconds is not None else "-",
            v.evaluations,
            f"{short(v.peak_value, 20)} vs {short(v.peak_threshold, 20)}"
            if v.peak_at is not None
            else "-",
            ", ".join(f"{n} {kind}" for kind, n in v.notifications.items()) or "-",
            "yes" if v.silenced else "-",
            _acked_by(v),
            v.error,
        ]
        for v in views
    ]
    headers = ["kind", "instance", "started", "ended", "duration", "evaluations", "peak"]
    out(format_table([*headers, "notifications", "silenced", "acked by", "error"], rows))
    return EXIT_OK


def cmd_outbox(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow.readmodel import delivery_view

    store = open_store(None, args.state_db)
    try:
        entries = store.outbox(status=args.status, alert_name=args.alert, limit=args.limit)
    finally:
        store.dispose()
    views = [delivery_view(e) for e in entries]
    if args.format == "json":
        emit_json({"outbox": [v.to_json() for v in views]})
        return EXIT_OK
    rows = [
        [
            v.id,
            human_time(v.created_at),
            v.alert,
            v.kind.value + (f" (group of {len(v.members)})" if v.members else ""),
            v.channel,
            v.destination,
            v.status.value,
            v.attempts,
            v.last_error,
        ]
        for v in views
    ]
    headers = ["id", "created", "alert", "event", "channel", "destination", "status", "attempts"]
    out(format_table([*headers, "last error"], rows))
    return EXIT_OK


# --- silences --------------------------------------------------------------------------------


def _label(key: str) -> str:
    """An instance key as people read it (``table_name=customers``)."""
    from sqlsentinel_airflow.core.instances import key_label

    return key_label(key) or ""


def _silence_config(
    args: argparse.Namespace,
) -> tuple[AlertsConfig | None, AlertConfig | None]:
    """The file ``--file`` and its alert named ``args.match`` (None, None without it)."""
    if not args.file:
        return None, None
    result = _load(args.file)
    if result.config is None:
        _print_errors(result.errors)
        raise UsageError(f"{args.file} is not valid (see above); fix it or leave --file out")
    alert = next((a for a in result.config.alerts if args.match in (a.name, a.dag_id)), None)
    if alert is None:
        names = ", ".join(a.name for a in result.config.alerts) or "none"
        raise UsageError(f"{args.file}: no alert named {args.match!r} (its alerts: {names})")
    return result.config, alert


def _instance_key(args: argparse.Namespace, alert: AlertConfig | None, store: Any) -> str:
    """The stored key of ``--instance`` for the alert ``args.match`` names (UsageError if the
    alert is not keyed or the text names other columns). The key columns come from ``--file``
    when given, else from the instances the state database knows of the alert."""
    from sqlsentinel_airflow.core.instances import key_values_of, resolve_instance_key

    name = alert.name if alert is not None else args.match
    if any(c in args.match for c in "*?["):
        raise UsageError(
            "--instance silences one instance of one alert: give the alert's name, not the "
            f"glob {args.match!r}"
        )
    states = [s for s in store.list_states(name) if s.instance_key]
    if alert is not None:
        key_columns = tuple(alert.key_columns)
        if not key_columns:
            raise UsageError(
                f"--instance: alert {name!r} has no key_columns, so it has a single instance; "
                "leave --instance out to silence it"
            )
    elif states:
        key_columns = tuple(key_values_of(states[0].instance_key))
    else:
        raise UsageError(
            f"--instance: the state database knows no instances of {name!r}; give its alerts "
            "file with --file FILE so the instance can be checked against its key_columns"
        )
    try:
        return resolve_instance_key(args.instance, key_columns, [s.key_values for s in states])
    except ValueError as exc:
        raise UsageError(f"--instance {args.instance!r}: {exc}") from None


def _parse_until(text: str) -> datetime:
    return _parse_time("--until", text)


def _parse_time(option: str, text: str) -> datetime:
    """An ISO 8601 time given to ``option``; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(
            f"{option} {text!r} is not an ISO 8601 time (e.g. 2026-12-01T08:00)"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def cmd_silence(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow.core import silences as silence_rules
    from sqlsentinel_airflow.core.model import Silence
    from sqlsentinel_airflow.readmodel import silence_view

    if not args.match.strip():
        raise UsageError("NAME_OR_GLOB must not be empty")
    if not args.reason.strip():
        raise UsageError("--reason must not be empty: say why, for the people who see it later")
    now = utcnow()
    try:
        duration = parse_duration(args.duration) if args.duration else None
        until = _parse_until(args.until) if args.until else None
        start, end = silence_rules.silence_window(now=now, duration=duration, until=until)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    author = args.author or os.environ.get("USER") or getpass.getuser()
    if args.file and args.instance is None:
        raise UsageError("--file checks --instance: give --instance too, or leave --file out")
    config, alert = _silence_config(args)
    store = open_store(config, args.state_db)
    try:
        key = _instance_key(args, alert, store) if args.instance is not None else None
        saved = store.add_silence(
            Silence(
                match=args.match,
                starts_at=start,
                ends_at=end,
                reason=args.reason,
                author=author,
                created_at=now,
                source="cli",
                instance_key=key,
            )
        )
    finally:
        store.dispose()
    if args.format == "json":
        emit_json({"silence": silence_view(saved, now).to_json()})
    else:
        what = repr(saved.match)
        if saved.instance_key is not None:
            what += f" instance {_label(saved.instance_key)}"
        out(f"silence #{saved.id} for {what} until {human_time(saved.ends_at)} ({saved.reason})")
    return EXIT_OK


def cmd_unsilence(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow.readmodel import silence_view

    now = utcnow()
    store = open_store(None, args.state_db)
    try:
        if args.target.isdigit():
            ended = [store.end_silence(int(args.target), now)]
        else:
            ended = store.end_silences_matching(args.target, now)
    finally:
        store.dispose()
    if not ended:
        raise UsageError(f"no active silence matches {args.target!r} (see `sqlsentinel silences`)")
    if args.format == "json":
        emit_json({"ended": [silence_view(s, now).to_json() for s in ended]})
    else:
        for s in ended:
            instance = f" instance {_label(s.instance_key)}" if s.instance_key is not None else ""
            out(f"ended silence #{s.id} for {s.match!r}{instance}")
    return EXIT_OK


def cmd_silences(args: argparse.Namespace) -> int:
    """The stored silences (``silences:`` of a file show in ``sqlsentinel status FILE``)."""
    from sqlsentinel_airflow.core.silences import SilenceStatus
    from sqlsentinel_airflow.readmodel import silence_view

    now = utcnow()
    store = open_store(None, args.state_db)
    try:
        views = [silence_view(s, now) for s in store.list_silences(now, include_inactive=args.all)]
    finally:
        store.dispose()
    if args.format == "json":
        emit_json({"silences": [v.to_json() for v in views]})
        return EXIT_OK
    rows = [
        [
            v.id,
            v.match,
            v.instance_label or "(all)",
            human_time(v.starts_at),
            human_time(v.ended_at or v.ends_at),
            "yes" if v.status is SilenceStatus.ACTIVE else "no",
            v.author,
            v.reason,
        ]
        for v in views
    ]
    headers = ["id", "match", "instance", "starts", "ends", "active", "author", "reason"]
    out(format_table(headers, rows))
    return EXIT_OK


def cmd_mute_windows(args: argparse.Namespace) -> int:
    """The ``mute_windows:`` of FILE: when each is active, whether it is now (or at
    ``--at``), its next start and end, and the alerts it mutes (docs/notifications.md)."""
    from sqlsentinel_airflow.readmodel import mute_window_view

    result = _load(args.file)
    if result.config is None:
        _print_errors(result.errors)
        return EXIT_INVALID
    _print_errors(result.errors)  # invalid alerts are left out; `validate` says more
    config = result.config
    at = _parse_time("--at", args.at) if args.at else utcnow()
    listed = [
        (
            mute_window_view(window, at),
            [a.name for a in config.alerts if any(w.name == window.name for w in a.mute_windows)],
        )
        for window in config.mute_windows
    ]
    if args.format == "json":
        emit_json(
            {
                "file": args.file,
                "at": rfc3339(at),
                "mute_windows": [{**view.to_json(), "alerts": alerts} for view, alerts in listed],
                "warnings": [w.to_dict() for w in result.warnings],
            }
        )
        return EXIT_OK
    _print_warnings(result.warnings)
    rows = [
        [
            view.name,
            "yes" if view.active else "no",
            human_time(view.starts_at) if view.starts_at else "-",
            human_time(view.ends_at) if view.ends_at else "-",
            view.when,
            ", ".join(alerts) or "(none)",
        ]
        for view, alerts in listed
    ]
    headers = ["window", "active", "next start", "ends", "when", "alerts"]
    out(format_table(headers, rows) if rows else "no mute_windows in this file")
    return EXIT_OK


# --- schema / purge ----------------------------------------------------------------------------


def cmd_schema(args: argparse.Namespace) -> int:
    if getattr(args, "rule_tests", False):
        from sqlsentinel_airflow.ruletest.model import json_schema as rule_test_schema

        out(json.dumps(rule_test_schema(), indent=2, ensure_ascii=False))
        return EXIT_OK
    out(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    if args.older_than is not None:
        where, text = "--older-than", args.older_than
    else:
        from sqlsentinel_airflow.store.airflow_url import history_retention_from_airflow_config

        where = "[sqlsentinel] history_retention (AIRFLOW__SQLSENTINEL__HISTORY_RETENTION)"
        text = history_retention_from_airflow_config()
    try:
        age = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from exc
    if age.total_seconds() <= 0:
        raise UsageError(f"{where} must be longer than 0s")
    compact_after = None
    if args.compact_after.strip().lower() != "off":
        try:
            compact_after = parse_duration(args.compact_after)
        except ValueError as exc:
            raise UsageError(f"--compact-after: {exc} (or 'off')") from exc
    store = open_store(None, args.state_db)
    try:
        now = utcnow()
        counts = store.purge(now - age)
        compacted = store.compact_history(now - compact_after) if compact_after else None
    finally:
        store.dispose()
    if args.format == "json":
        emit_json({"purged": counts, "compacted": compacted})
    else:
        what = {
            "history": "history rows",
            "incidents": "ended incidents",
            "outbox": "outbox rows",
            "incident_actions": "incident actions",
        }
        line = (
            ", ".join(f"{n} {what.get(table, table)}" for table, n in counts.items()) + " deleted"
        )
        if compacted is not None:
            line += (
                f"; {compacted['folded']} quiet evaluations folded into"
                f" {compacted['runs']} history rows"
            )
        out(line)
    return EXIT_OK
