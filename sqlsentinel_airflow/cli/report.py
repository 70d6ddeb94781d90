"""``sqlsentinel report FILE``: the monthly report of FILE's alerts (docs/operations.md, "The
monthly report"): always firing, never fired, flapping, silenced or acknowledged for long,
without owner or runbook, slowest queries, most notifications. ``--format json`` prints the
object the UI's ``GET /report`` answers (``readmodel.ReportView``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlsentinel_airflow.cli.exit_codes import EXIT_INVALID, EXIT_OK
from sqlsentinel_airflow.cli.output import emit_json, out

__all__ = ["add_parser", "cmd_report", "report_text"]


def add_parser(
    sub: Any,
    add_state_db: Callable[[argparse.ArgumentParser], None],
    add_format: Callable[[argparse.ArgumentParser], None],
) -> None:
    from sqlsentinel_airflow.core.hygiene import DEFAULT_DAYS, DEFAULT_LONG_AFTER_DAYS

    p = sub.add_parser(
        "report",
        help="the alerts to review: always firing, never fired, flapping, silenced or "
        "acknowledged for long, no owner or runbook, slowest, noisiest",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        help=f"the window, in days before now (default: {DEFAULT_DAYS})",
    )
    p.add_argument(
        "--long-after",
        type=int,
        default=DEFAULT_LONG_AFTER_DAYS,
        metavar="DAYS",
        help="a silence or an acknowledgement this many days long or more is listed "
        f"(default: {DEFAULT_LONG_AFTER_DAYS})",
    )
    add_state_db(p)
    add_format(p)


def cmd_report(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow import readmodel
    from sqlsentinel_airflow.cli.commands import UsageError, _load, _print_errors
    from sqlsentinel_airflow.cli.context import open_store
    from sqlsentinel_airflow.core.clock import utcnow

    if args.days < 1 or args.long_after < 1:
        raise UsageError("--days and --long-after must be at least 1 (days)")
    result = _load(args.file)
    if result.config is None:
        _print_errors(result.errors)
        return EXIT_INVALID
    config = result.config
    alerts = [
        readmodel.ReportAlert(readmodel.AlertFacts.of_config(a), config.silences)
        for a in config.alerts
    ]
    store = open_store(config, args.state_db)
    try:
        report = readmodel.hygiene_report(
            [(store, alerts)],
            now=utcnow(),
            days=args.days,
            long_after=timedelta(days=args.long_after),
        )
    finally:
        store.dispose()
    if args.format == "json":
        emit_json(
            {"report": report.to_json(), "config_errors": [e.to_dict() for e in result.errors]}
        )
    else:
        _print_errors(result.errors)
        out(report_text(report))
    return EXIT_INVALID if result.errors else EXIT_OK


def report_text(report: Any) -> str:
    """The report as the terminal shows it: a heading per section, a line per alert and
    what to do under it."""
    lines = [
        f"SQL Sentinel report: {report.alerts} alerts, "
        f"{'the last day' if report.days == 1 else f'the last {report.days} days'} "
        f"(since {report.since:%Y-%m-%d %H:%M} UTC)"
    ]
    for section in report.sections:
        lines += ["", f"{section.title} ({len(section.items)}): {section.rule}"]
        for i in section.items:
            where = f" [{i.label}]" if i.label else ""
            lines.append(f"  - {i.alert}{where} (owner {i.owner}): {i.why}")
            lines.append(f"      do: {i.todo}")
    return "\n".join(lines)
