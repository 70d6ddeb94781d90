"""``sqlsentinel ack NAME`` and ``sqlsentinel unack NAME``: "I'm on it" from a shell.

The alert's definition (its channels: PagerDuty is told of an acknowledgement) comes from
``--file``, else from the manifests the DAG file wrote on this Airflow machine
(``$AIRFLOW_HOME/sqlsentinel/manifests``). Exit 0 when done (or already so), 1 when nothing
fires (or the state database fails), 2 for bad input.
"""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Callable
from typing import Any

from sqlsentinel_airflow.cli.exit_codes import EXIT_OK
from sqlsentinel_airflow.cli.output import emit_json, human_time, out
from sqlsentinel_airflow.core.config.models import AlertConfig, StateDbConfig

__all__ = ["add_parsers", "cmd_ack", "cmd_unack"]


def add_parsers(
    sub: Any,
    add_state_db: Callable[[argparse.ArgumentParser], None],
    add_format: Callable[[argparse.ArgumentParser], None],
) -> None:
    for command, doing in (("ack", "acknowledge"), ("unack", "take back the acknowledgement of")):
        p = sub.add_parser(
            command,
            help=f"{doing} an alert's firing incident: no reminders or escalation until it resolves"
            if command == "ack"
            else f"{doing} an alert's firing incident: reminders and escalation resume",
        )
        p.add_argument("name", metavar="NAME", help="the alert's name (or DAG id)")
        p.add_argument(
            "--instance",
            metavar="KEY=VALUE[,KEY=VALUE]",
            help="only this instance of a keyed alert, e.g. table_name=customers (default: "
            "every firing instance)",
        )
        if command == "ack":
            p.add_argument("--comment", default="", help="what you are doing about it")
        p.add_argument("--by", help="who (default: $USER)")
        p.add_argument(
            "--file",
            metavar="FILE",
            help="the alerts file that defines NAME (default: the manifests of this Airflow "
            "machine's DAG files, $AIRFLOW_HOME/sqlsentinel/manifests)",
        )
        add_state_db(p)
        add_format(p)


def cmd_ack(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow import acks

    return _act(args, acks.acknowledge, "acknowledged", "already acknowledged")


def cmd_unack(args: argparse.Namespace) -> int:
    from sqlsentinel_airflow import acks

    return _act(args, acks.unacknowledge, "acknowledgement taken back", "was not acknowledged")


def _act(args: argparse.Namespace, action: Any, done: str, unchanged: str) -> int:
    from sqlsentinel_airflow.cli.commands import UsageError, _instance_key, _label, _ui_base_url
    from sqlsentinel_airflow.cli.context import locator

    by = args.by or os.environ.get("USER") or getpass.getuser()
    alert, state_db = _alert(args.name, args.file)
    store = locator().open_for_writing(state_db, explicit_url=args.state_db)
    try:
        key = None
        if args.instance is not None:
            key = _instance_key(
                argparse.Namespace(match=alert.name, instance=args.instance), alert, store
            )
        extra: dict[str, Any] = {}
        if args.command == "ack":  # PagerDuty's acknowledge carries the alert's links
            extra = {"comment": args.comment, "ui_base_url": _ui_base_url()}
        try:
            results = action(store, alert, key, by=by, source="cli", **extra)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    finally:
        store.dispose()
    if args.format == "json":
        emit_json(
            {
                "alert": alert.name,
                "instances": [r.to_json() for r in results],
            }
        )
        return EXIT_OK
    for r in results:
        what = alert.name + (f" [{_label(r.instance_key)}]" if r.instance_key else "")
        since = f" (firing since {human_time(r.firing_since)})" if r.firing_since else ""
        out(f"{what}{since}: {done if r.changed else unchanged}")
    return EXIT_OK


def _alert(name: str, file: str | None) -> tuple[AlertConfig, StateDbConfig | None]:
    """The alert ``name`` (or DAG id) and its file's state database setting."""
    from sqlsentinel_airflow.cli.commands import UsageError, _load, _print_errors

    if file:
        result = _load(file)
        if result.config is None:
            _print_errors(result.errors)
            raise UsageError(f"{file} is not valid (see above)")
        found = next((a for a in result.config.alerts if name in (a.name, a.dag_id)), None)
        if found is None:
            names = ", ".join(a.name for a in result.config.alerts) or "none"
            raise UsageError(f"{file}: no alert named {name!r} (its alerts: {names})")
        return found, result.config.state_db
    from sqlsentinel_airflow.dags.manifest import default_manifest_dir
    from sqlsentinel_airflow.ui.definitions import ManifestIndex

    directory = default_manifest_dir()
    known = [
        m
        for m in ManifestIndex(directory).by_dag_id().values()
        if name in (m.name, m.dag_id) and m.config is not None
    ]
    if not known or known[0].config is None:
        raise UsageError(
            f"no alert named {name!r} in the manifests in {directory} (written when Airflow "
            "parses the DAG file): give its alerts file with --file FILE"
        )
    return known[0].config, known[0].state_db
