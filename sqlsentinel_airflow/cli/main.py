"""``sqlsentinel``: validate, run, inspect, silence and acknowledge alerts from a shell or CI.

Exit codes: ``cli/exit_codes.py``. User errors print one line, never a traceback
(``--debug`` shows it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.cli.exit_codes import EXIT_ALERT, EXIT_FAILED, EXIT_INVALID, EXIT_OK
from sqlsentinel_airflow.errors import ConfigError, ConfigErrors, SentinelError

__all__ = ["EXIT_ALERT", "EXIT_FAILED", "EXIT_INVALID", "EXIT_OK", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"sqlsentinel: error: {message}\n")
        raise SystemExit(EXIT_INVALID)


def _deliveries_shown(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if not 0 <= n <= 200:  # readmodel.DELIVERIES_SHOWN, not imported to build the parser
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number from 0 to 200")
    return n


def _add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format")


def _add_state_db(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--state-db",
        metavar="URL",
        help=(
            "SQLAlchemy URL of the state database (default: state_db in FILE, then "
            "[sqlsentinel] state_db_conn_id, then SQLSENTINEL_STATE_DB_URL, then SQLite in "
            "$AIRFLOW_HOME/sqlsentinel; see docs/operations.md)"
        ),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sqlsentinel",
        description="SQL-first alerting for Apache Airflow: validate, run and inspect alerts.",
    )
    parser.add_argument("--version", action="version", version=f"sqlsentinel {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="show Airflow's and our log lines (on stderr)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="validate alerts files (exit 0 valid, 2 invalid)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--check-connections",
        action="store_true",
        help="also resolve every conn_id and check each query's columns without reading data",
    )
    _add_format(p)

    p = sub.add_parser("run", help="evaluate alerts now")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--alert",
        action="append",
        metavar="NAME",
        help="only this alert (repeatable; globs allowed)",
    )
    p.add_argument("--dry-run", action="store_true", help="run the queries, decide, change nothing")
    p.add_argument("--fail-on-alert", action="store_true", help="exit 3 when any alert is firing")
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser("status", help="current state of every alert in FILE")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--deliveries",
        type=_deliveries_shown,
        metavar="N",
        help="list the newest N undelivered notifications (pending or dead) of each alert, "
        "0 to 200 (default: what is owed now, its pending ones, at most 5); the pending/dead "
        "counts are always whole, and `sqlsentinel outbox --alert NAME` lists them all",
    )
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser("history", help="recent evaluations, newest first")
    p.add_argument("--alert", metavar="NAME")
    p.add_argument("--limit", type=int, default=20)
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser(
        "incidents", help="an alert's incidents (stretches of firing or query errors), newest first"
    )
    p.add_argument("--alert", required=True, metavar="NAME")
    p.add_argument(
        "--instance", metavar="KEY", help='one instance: its key ("orders" or its JSON key)'
    )
    p.add_argument(
        "--since",
        metavar="DURATION",
        help="only incidents going on in the last DURATION (e.g. 30d)",
    )
    p.add_argument("--limit", type=int, default=50)
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser("silence", help="suppress notifications for alerts matching a name or glob")
    p.add_argument("match", metavar="NAME_OR_GLOB")
    window = p.add_mutually_exclusive_group(required=True)
    window.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 2h, 30m, 1d")
    window.add_argument(
        "--until", metavar="TIME", help="ISO 8601 end time (UTC unless an offset is given)"
    )
    p.add_argument("--reason", required=True)
    p.add_argument("--author", help="who silences (default: $USER)")
    p.add_argument(
        "--instance",
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="only this instance of a keyed alert, e.g. table_name=customers (or its JSON key)",
    )
    p.add_argument(
        "--file",
        metavar="FILE",
        help="the alerts file, to check --instance against the alert's key_columns",
    )
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser(
        "unsilence", help="end a silence by id, or every active silence for a name/glob"
    )
    p.add_argument("target", metavar="ID_OR_NAME")
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser("silences", help="list silences")
    p.add_argument("--all", action="store_true", help="include ended and expired silences")
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser("outbox", help="notification deliveries (pending, delivered, dead)")
    p.add_argument("--status", choices=["pending", "delivered", "dead"])
    p.add_argument("--alert", metavar="NAME")
    p.add_argument("--limit", type=int, default=50)
    _add_state_db(p)
    _add_format(p)

    p = sub.add_parser("notify-test", help="send a sample message through each channel of an alert")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--alert", required=True, metavar="NAME")
    p.add_argument(
        "--kind",
        choices=["firing", "reminder", "resolved", "error", "flapping", "group"],
        default="firing",
        help="the event to send a sample of; group: a grouped message (several instances)",
    )
    _add_format(p)

    p = sub.add_parser("routes", help="which receivers an alert reaches through routes:, and why")
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--alert", action="append", metavar="NAME", help="only this alert (repeatable; globs)"
    )
    _add_format(p)

    p = sub.add_parser(
        "mute-windows", help="the mute_windows: of FILE, whether active, next start and end"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--at", metavar="TIME", help="as at this ISO 8601 time (default: now; no offset: UTC)"
    )
    _add_format(p)

    p = sub.add_parser("schema", help="print the JSON Schema of alerts.yaml")
    p.add_argument(
        "--rule-tests",
        action="store_true",
        help="the JSON Schema of rule-test files instead (sqlsentinel test)",
    )

    from sqlsentinel_airflow.cli import ruletest

    ruletest.add_parser(sub)

    from sqlsentinel_airflow.cli import backtest

    backtest.add_parser(sub, _add_state_db, _add_format)

    from sqlsentinel_airflow.cli import acks

    acks.add_parsers(sub, _add_state_db, _add_format)

    from sqlsentinel_airflow.cli import report

    report.add_parser(sub, _add_state_db, _add_format)

    p = sub.add_parser(
        "purge", help="delete old history and finished deliveries, compact quiet history"
    )
    p.add_argument(
        "--older-than",
        metavar="DURATION",
        help="e.g. 90d; default: [sqlsentinel] history_retention in Airflow's config (90d)",
    )
    p.add_argument(
        "--compact-after",
        metavar="DURATION",
        default="1d",
        help="fold each run of evaluations that changed nothing, once older than this, into "
        "one history row that keeps their times and values (docs/operations.md, 'Retention "
        "and compaction'); 'off' keeps a row per evaluation (default: 1d)",
    )
    _add_state_db(p)
    _add_format(p)
    return parser


def _command_modules() -> dict[str, object]:
    """Commands that live in a module of their own (the rest are in ``commands``)."""
    from sqlsentinel_airflow.cli import acks, backtest, report, ruletest

    return {
        "test": ruletest,
        "backtest": backtest,
        "ack": acks,
        "unack": acks,
        "report": report,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_INVALID
    if not args.verbose:
        # Before Airflow is imported (lazily, by commands that need it): logs stay quiet.
        os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    # A shell with access to Airflow's metadata DB, like `airflow connections get`: without
    # this the task SDK looks connections up in env vars and secrets backends only, so one
    # made with `airflow connections add` or in the UI would be "not defined".
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")
    from sqlsentinel_airflow.cli import commands, output

    module = _command_modules().get(args.command, commands)
    handler = getattr(module, f"cmd_{args.command.replace('-', '_')}")
    output.use_stdout(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return int(handler(args))
    except (ConfigError, ConfigErrors) as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_INVALID
    except SentinelError as exc:
        if args.debug:
            raise
        sys.stderr.write(f"sqlsentinel: error: {exc}\n")
        return EXIT_FAILED
    except commands.UsageError as exc:
        sys.stderr.write(f"sqlsentinel: error: {exc}\n")
        return EXIT_INVALID
    except KeyboardInterrupt:
        sys.stderr.write("sqlsentinel: interrupted\n")
        return 130
    except Exception as exc:  # a bug, or an environment we do not support: still one line
        if args.debug:
            raise
        sys.stderr.write(f"sqlsentinel: error: {_unexpected(exc)}\n")
        return EXIT_FAILED


def _unexpected(exc: Exception) -> str:
    """One redacted line for an unexpected failure, naming the Airflow release it ran on."""
    from importlib.metadata import PackageNotFoundError, version

    from sqlsentinel_airflow.core.redact import one_line, redact_text

    try:
        airflow = f"Airflow {version('apache-airflow-core')}"
    except PackageNotFoundError:
        airflow = "Airflow not installed"
    return (
        f"unexpected {type(exc).__name__}: {redact_text(one_line(str(exc)))} "
        f"({airflow}; sqlsentinel-airflow {__version__} supports Airflow 3.1 to 3.3, "
        "see docs/compatibility.md; --debug shows the traceback)"
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
