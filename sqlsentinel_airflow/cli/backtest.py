"""``sqlsentinel backtest``: what an alert would have done over a past range, under its current
policy and a proposed one (docs/backtests.md). Reads, never writes: no state, no history, no
notification."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlsentinel_airflow.cli.exit_codes import EXIT_INVALID, EXIT_OK
from sqlsentinel_airflow.cli.output import (
    Progress,
    emit_json,
    format_table,
    human_duration,
    human_time,
    out,
    short,
)
from sqlsentinel_airflow.core.clock import utcnow
from sqlsentinel_airflow.core.durations import format_duration, parse_duration

if TYPE_CHECKING:
    from sqlsentinel_airflow.backtest.result import BacktestResult, PolicyRun

__all__ = ["add_parser", "cmd_backtest"]

INCIDENTS_SHOWN = 50  # per policy in the text timeline; JSON has them all


def add_parser(sub: Any, add_state_db: Any, add_format: Any) -> None:
    """The ``backtest`` subcommand (wired from ``cli/main.py``)."""
    p = sub.add_parser(
        "backtest",
        help="what an alert would have done over a past range, current vs proposed policy",
        description=(
            "Decide an alert's evaluations over [--from, --to) again with the real state "
            "machine and a simulated clock, under its current policy and, with --set, a "
            "proposed one. Nothing is written and nothing is sent. Sources: replay (the "
            "values recorded in the state database) or as-of (the query run as of every "
            "schedule tick, its clock functions frozen to the tick). See docs/backtests.md."
        ),
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--alert", required=True, metavar="NAME")
    p.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="T1",
        help="start: ISO 8601 (UTC unless an offset is given), or a duration ago (30d)",
    )
    p.add_argument("--to", dest="end", metavar="T2", help="end, excluded (default: now)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="proposed policy: fire_after, resolve_after, renotify_after, notify_on_recovery, "
        "notify_on_error (repeatable; values as in alerts.yaml)",
    )
    p.add_argument(
        "--source",
        choices=["replay", "as-of"],
        default="replay",
        help="replay (default): the values the state database recorded; as-of: the query run "
        "as of every schedule tick, read-only",
    )
    p.add_argument(
        "--flap-window",
        default="1h",
        metavar="DURATION",
        help="a firing incident starting this soon after the previous one ended is a flap",
    )
    p.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="as-of: queries at once (4)"
    )
    p.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="as-of: where ticks already queried are kept, to resume (default: in the cache "
        "directory, $SQLSENTINEL_CACHE_DIR or ~/.cache/sqlsentinel/backtests)",
    )
    p.add_argument(
        "--restart", action="store_true", help="as-of: ignore the checkpoint, query every tick"
    )
    p.add_argument(
        "--points",
        type=int,
        default=2000,
        metavar="N",
        help="JSON: at most about N points per value series (0: all)",
    )
    p.add_argument("--plot", metavar="FILE", help="draw the values and incidents (.png or .html)")
    add_state_db(p)
    add_format(p)


def _when(text: str, option: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC unless it has an offset), or a duration before ``now``."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            return now - parse_duration(text)
        except ValueError:
            from sqlsentinel_airflow.cli.commands import UsageError

            raise UsageError(
                f"{option} {text!r} is neither an ISO 8601 time (2026-11-01 or "
                "2026-11-01T08:00+01:00) nor a duration ago (30d)"
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def cmd_backtest(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow.backtest.asof import AsOfStats, count_ticks
    from sqlsentinel_airflow.backtest.policy import parse_overrides
    from sqlsentinel_airflow.backtest.result import Source
    from sqlsentinel_airflow.backtest.run import BacktestRequest, backtest_silences, run_backtest
    from sqlsentinel_airflow.cli.commands import UsageError, _load, _print_errors, cache_dir
    from sqlsentinel_airflow.cli.context import locator

    now = utcnow()
    start = _when(args.start, "--from", now)
    end = _when(args.end, "--to", now) if args.end else now
    if end <= start:
        raise UsageError(f"--to ({human_time(end)}) must be after --from ({human_time(start)})")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.points < 0:
        raise UsageError("--points must be 0 (all) or more")
    try:
        flap_window = parse_duration(args.flap_window)
    except ValueError as exc:
        raise UsageError(f"--flap-window: {exc}") from None
    if args.plot:
        from sqlsentinel_airflow.backtest.plot import PlotError, check_target

        try:
            check_target(Path(args.plot))  # before the backtest runs, not after
        except PlotError as exc:
            raise UsageError(str(exc)) from None
    overrides = parse_overrides(args.overrides)  # ConfigErrors: exit 2, located
    result = _load(args.file)
    if result.config is None:
        _print_errors(result.errors)
        return EXIT_INVALID
    config = result.config
    try:
        alert = config.alert(args.alert)
    except KeyError:
        names = ", ".join(a.name for a in config.alerts) or "none"
        raise UsageError(f"no valid alert named {args.alert!r} (alerts: {names})") from None
    source = Source.REPLAY if args.source == "replay" else Source.AS_OF
    request = BacktestRequest(
        alert, start, end, source=source, overrides=overrides, flap_window=flap_window
    )
    try:
        request.policies()
    except ValueError as exc:
        raise UsageError(f"--set: {exc}") from None

    store = locator().open_for_reading(config.state_db, explicit_url=args.state_db)
    stats = AsOfStats()
    try:
        stored = store.list_silences(now, include_inactive=True) if store is not None else []
        silences = backtest_silences(stored, config.silences, now)
        if source is Source.REPLAY:
            if store is None:
                raise UsageError(
                    "no state database yet, so no recorded evaluation to replay; "
                    "run an as-of backtest instead: --source as-of"
                )
            backtest = run_backtest(request, store=store, silences=silences)
        else:
            from sqlsentinel_airflow.backtest.asof import AsOfMeaningless
            from sqlsentinel_airflow.service import QueryFetcher

            fetcher = QueryFetcher()

            def run_query(sql: str) -> Any:
                return fetcher.fetch_for(alert, sql)()

            checkpoint = _checkpoint(args, alert, start, cache_dir())
            if checkpoint is not None and args.restart and checkpoint.exists():
                checkpoint.unlink()
            # counting the ticks costs a pass over the schedule: only for a terminal's bar
            total = count_ticks(alert, start, end) if sys.stderr.isatty() else 0
            progress = Progress(total)
            try:
                backtest = run_backtest(
                    request,
                    run_query=run_query,
                    silences=silences,
                    concurrency=args.concurrency,
                    checkpoint=checkpoint,
                    on_tick=lambda at: progress.advance(human_time(at)),
                    stats=stats,
                )
            except AsOfMeaningless as exc:
                raise UsageError(str(exc)) from None
            finally:
                progress.close()
    finally:
        if store is not None:
            store.dispose()
    if args.plot:
        from sqlsentinel_airflow.backtest.plot import render

        render(backtest, Path(args.plot))
    if args.format == "json":
        data = backtest.to_dict(max_points=args.points or None)
        if source is Source.AS_OF:
            data["as_of"] = {
                "queried": stats.queried,
                "resumed": stats.resumed,
                "query_seconds": round(stats.query_seconds, 3),
                "wall_seconds": round(stats.wall_seconds, 3),
            }
        emit_json(data)
    else:
        _print_text(backtest)
        if args.plot:
            out(f"plot: {args.plot}")
    return EXIT_OK


def _checkpoint(
    args: argparse.Namespace, alert: Any, start: datetime, cache: Path | None
) -> Path | None:
    from sqlsentinel_airflow.backtest.asof import checkpoint_name

    if args.checkpoint:
        return Path(args.checkpoint)
    if cache is None:
        return None
    return cache / "backtests" / checkpoint_name(alert, start)


# --- text ------------------------------------------------------------------------------------


def _policy_value(value: object) -> str:
    if value is None:
        return "never"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _print_text(result: BacktestResult) -> None:
    what = "replay of recorded evaluations" if result.source.value == "replay" else "as-of queries"
    out(
        f"backtest of {result.alert_name} ({what}), {human_time(result.start)} to "
        f"{human_time(result.end)}: {result.evaluations:,} evaluations"
    )
    out()
    runs = result.runs
    labels = [r.label for r in runs]
    rows: list[list[object]] = []
    for key in (
        "fire_after",
        "resolve_after",
        "renotify_after",
        "notify_on_recovery",
        "notify_on_error",
    ):
        values = [_policy_value(getattr(r.policy, key)) for r in runs]
        changed = any(key in r.policy.changed for r in runs)
        rows.append([key + (" *" if changed else ""), *values])
    out(format_table(["policy", *labels], rows))
    out()
    out(format_table(["counts", *labels], _count_rows(result)))
    for run in runs:
        out()
        _print_incidents(run, result)
    for note in result.notes:
        out(f"note: {note}")


def _count_rows(result: BacktestResult) -> list[list[object]]:
    runs = result.runs
    rows: list[list[object]] = [
        ["incidents", *[r.counts.incidents for r in runs]],
        ["time firing", *[human_duration(r.counts.firing_seconds) for r in runs]],
        [
            f"flaps (within {format_duration(timedelta(seconds=runs[0].counts.flap_window_seconds))})",
            *[r.counts.flaps for r in runs],
        ],
        ["error incidents", *[r.counts.error_incidents for r in runs]],
    ]
    for kind in ("firing", "reminder", "resolved", "error", "flapping"):
        if kind == "flapping" and not any(r.counts.events.get(kind) for r in runs):
            continue  # only alerts with flap_detection send them
        rows.append([f"{kind} events", *[r.counts.events.get(kind, 0) for r in runs]])
    for channel in result.channels:
        rows.append(
            [
                f"messages to {channel.kind} {short(channel.destination, 30)}",
                *[sum(r.counts.notifications.get(channel.id, {}).values()) for r in runs],
            ]
        )
    if not result.channels:
        rows.append(["messages (no channels)", *[0 for _ in runs]])
    return rows


def _print_incidents(run: PolicyRun, result: BacktestResult) -> None:
    from sqlsentinel_airflow.core.instances import key_label

    incidents = run.incidents
    out(f"incidents ({run.label}): {len(incidents)}")
    if not incidents:
        return
    shown = incidents[-INCIDENTS_SHOWN:]
    rows = [
        [
            i.kind,
            key_label(i.instance_key) or "-",
            human_time(i.started_at),
            human_time(i.ended_at) if i.ended_at is not None else "ongoing",
            human_duration(i.duration_seconds),
            i.evaluations,
            f"{short(i.peak_value, 20)} vs {short(i.peak_threshold, 20)}"
            if i.peak_at is not None
            else "-",
            ", ".join(f"{n} {kind}" for kind, n in i.notifications.items()) or "-",
            i.silenced or "-",
        ]
        for i in shown
    ]
    headers = ["kind", "instance", "started", "ended", "duration", "evaluations", "peak"]
    out(format_table([*headers, "notifications", "silenced"], rows))
    if len(incidents) > len(shown):
        out(f"... and {len(incidents) - len(shown)} earlier (--format json lists every one)")
