"""The ``sqlsentinel_config_watch`` DAG: notice edits of alerts.yaml, validate them, apply them.

Created by the same ``load_alert_dags`` call as the alert DAGs (ADR 6). Three tasks:

1. ``wait_for_change`` (``ConfigChangeSensor``, deferrable): waits in the triggerer until the
   content of the watched file(s) differs from the baseline the last run recorded (an edit,
   a new file, a deleted file);
2. ``validate_config``: validates the file(s) as the DAG factory does, records the new
   baseline, logs the diff of alerts (added / removed / changed) and returns it as XCom. If
   the file is invalid it logs every validation message, sends an ``error`` notification
   to ``defaults.notify``, asks for the re-parse (so the errors show in the UI at once) and
   fails without retry: a red run whose log holds the exact messages. The alert DAGs keep
   running their last valid version meanwhile (the factory's fallback);
3. ``request_reparse``: ``PUT /api/v2/parseDagFile`` through the ``sqlsentinel_airflow_api``
   http connection (``reparse.py``); without it the normal parse interval applies.

Schedule: ``@continuous`` with ``max_active_runs=1``. One run is always alive, mostly as a
deferred sensor costing no worker slot; when it ends the next one starts at once, so a
change is noticed within the trigger's poll interval (5 s) and every run in the UI is one
change. A cron schedule would either add up to a minute of latency or pile up runs behind
the waiting sensor. The baseline lives in an Airflow Variable (``sensors/config_change.py``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, BaseOperator

from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig, MessageTemplates
from sqlsentinel_airflow.dags.config_diff import diff_snapshots, snapshot_alerts
from sqlsentinel_airflow.dags.reparse import DEFAULT_API_CONN_ID, request_reparse
from sqlsentinel_airflow.errors import ConfigError
from sqlsentinel_airflow.sensors.config_change import (
    ConfigChangeSensor,
    WatchBaseline,
    read_baseline,
    write_baseline,
)
from sqlsentinel_airflow.triggers.fingerprint import content_hash, digest_of, watched_files

__all__ = [
    "CONFIG_WATCH_DAG_SUFFIX",
    "WATCH_TAG",
    "RequestReparseOperator",
    "ValidateAlertsConfigOperator",
    "baseline_variable_name",
    "build_config_watch_dag",
]

log = logging.getLogger(__name__)

CONFIG_WATCH_DAG_SUFFIX = "config_watch"
WATCH_TAG = "sqlsentinel-watch"
_START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")

# The texts of the notification sent when alerts.yaml is invalid (a channel's own subject or
# body template still wins over these).
CONFIG_ERROR_TEMPLATES = MessageTemplates(
    subject={"error": "[ERROR] SQL Sentinel: the alerts configuration is invalid"},
    text={
        "error": "The alerts configuration is invalid; the alerts keep running their last "
        "valid version until it is fixed.\n\n{{ error }}\n\nWatch DAG: {{ alert.dag_id }}\n"
    },
    slack={
        "error": ":x: *The SQL Sentinel alerts configuration is invalid* (alerts keep "
        "running their last valid version)\n```{{ error }}```"
    },
)


def baseline_variable_name(dag_id: str) -> str:
    """The Airflow Variable holding the watch's baseline."""
    return f"{dag_id}__baseline"


def _display_name(source: Path, base_dir: Path | None) -> str:
    """How messages name a file: relative to the DAG file's folder, as the factory does."""
    if base_dir is not None:
        try:
            return str(source.relative_to(base_dir))
        except ValueError:
            pass
    return str(source)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class ValidateAlertsConfigOperator(BaseOperator):
    """Validate the watched alerts file(s), record the baseline, return (or fail with) the result."""

    ui_color = "#fff3cd"
    template_fields: Sequence[str] = ()

    def __init__(
        self,
        *,
        path_or_glob: str,
        baseline_variable: str,
        base_dir: str | None = None,
        default_notify: Sequence[ChannelConfig] = (),
        api_conn_id: str = DEFAULT_API_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path_or_glob = path_or_glob
        self.baseline_variable = baseline_variable
        self.base_dir = base_dir
        self.default_notify = tuple(default_notify)
        self.api_conn_id = api_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        from sqlsentinel_airflow.core.config.loader import load_config_text
        from sqlsentinel_airflow.core.databases import conn_type_from_env

        base_dir = Path(self.base_dir) if self.base_dir else None
        hashes: dict[str, str | None] = {}
        errors: list[ConfigError] = []
        alerts: list[AlertConfig] = []
        channels: list[ChannelConfig] = []
        sources = watched_files(self.path_or_glob)
        if not sources:
            errors.append(ConfigError(f"no alerts file matches {self.path_or_glob}"))
        for name in sources:
            source = Path(name)
            display = _display_name(source, base_dir)
            try:
                content = source.read_bytes()
            except OSError as exc:
                hashes[name] = None
                reason = "not found" if isinstance(exc, FileNotFoundError) else exc.strerror
                errors.append(ConfigError(f"cannot read the alerts file: {reason}", file=display))
                continue
            # The bytes hashed are the bytes validated: an edit in between is the next change.
            hashes[name] = content_hash(content)
            result = load_config_text(
                content, display, base_dir=source.parent, conn_type_of=conn_type_from_env
            )
            errors.extend(result.errors)
            if result.config is not None:
                alerts.extend(result.config.alerts)
                channels.extend(result.config.default_notify)

        previous = read_baseline(self.baseline_variable)
        before = previous.alerts if previous is not None else {}
        valid = not errors
        after = snapshot_alerts(alerts) if valid else before
        digest = digest_of(hashes)
        # Recorded before anything can fail, so the next run waits for the next change
        # instead of re-validating (and re-notifying) this one in a loop.
        write_baseline(
            self.baseline_variable,
            WatchBaseline(
                digest=digest,
                files=hashes,
                alerts=after,
                valid=valid,
                updated_at=_utcnow().isoformat(),
            ),
        )
        if not valid:
            self._fail(errors, channels or list(self.default_notify), context, digest)
        diff = diff_snapshots(before, after)
        initial = previous is None
        log.info(
            "Alerts configuration %s is valid: %d alert(s)%s",
            self.path_or_glob,
            len(alerts),
            " (first validation: every alert counts as added)" if initial else "",
        )
        for line in diff.lines():
            log.info("  %s", line)
        return {
            "valid": True,
            "initial": initial,
            "digest": digest,
            "files": sorted(hashes),
            "alerts": len(alerts),
            **diff.to_dict(),
        }

    def _fail(
        self,
        errors: Sequence[ConfigError],
        channels: Sequence[ChannelConfig],
        context: Any,
        digest: str,
    ) -> None:
        from sqlsentinel_airflow.airflow_compat import AirflowFailException

        messages = [e.format() for e in errors]
        log.error("The alerts configuration is invalid (%d error(s)):", len(messages))
        for message in messages:
            log.error("  %s", message)
        self._notify(channels, messages, context, digest)
        request_reparse(self.dag_id, conn_id=self.api_conn_id)  # shows the errors in the UI now
        # No retry: only an edit of the file can fix it, and that starts a new run.
        raise AirflowFailException("the alerts configuration is invalid:\n" + "\n".join(messages))

    def _notify(
        self, channels: Sequence[ChannelConfig], messages: Sequence[str], context: Any, digest: str
    ) -> None:
        if not channels:
            log.warning("defaults.notify is empty: nobody is notified of the invalid file")
            return
        from sqlsentinel_airflow.airflow_compat import airflow_conf
        from sqlsentinel_airflow.core.clock import utcnow
        from sqlsentinel_airflow.core.events import task_log_url
        from sqlsentinel_airflow.core.payload import config_error_payload
        from sqlsentinel_airflow.notify.base import OutboundEvent
        from sqlsentinel_airflow.notify.channels import build_channel

        run_id = getattr(context.get("dag_run"), "run_id", None) or context.get("run_id")
        base_url = str(airflow_conf().get("api", "base_url", fallback="http://localhost:8080/"))
        log_url = task_log_url(base_url, self.dag_id, str(run_id), self.task_id) if run_id else None
        payload = config_error_payload(
            event_id=str(uuid.uuid4()),
            source=self.path_or_glob,
            messages=messages,
            dag_id=self.dag_id,
            owner=self.owner,
            run_id=run_id,
            occurred_at=utcnow(),
            task_log_url=log_url,
        ).to_json()
        event = OutboundEvent(payload, idempotency_key=f"{self.dag_id}:{digest}")
        for channel_config in channels:
            try:
                channel = build_channel(channel_config, templates=CONFIG_ERROR_TEMPLATES)
            except Exception as exc:  # a broken channel must not hide the validation errors
                log.error("cannot notify through a %s channel: %s", channel_config.channel, exc)
                continue
            result = channel.send(event)
            if result.delivered:
                log.info("notified %s of the invalid configuration", channel.describe())
            else:
                log.error("notifying %s failed: %s", channel.describe(), result.error)


class RequestReparseOperator(BaseOperator):
    """Ask Airflow to re-parse the DAG file now (``reparse.request_reparse``); never fails."""

    ui_color = "#e2f0d9"
    template_fields: Sequence[str] = ()

    def __init__(self, *, api_conn_id: str = DEFAULT_API_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_conn_id = api_conn_id

    def execute(self, context: Any) -> dict[str, Any]:
        # The watch DAG lives in the same DAG file as the alerts: its own file token is theirs.
        return request_reparse(self.dag_id, conn_id=self.api_conn_id).to_dict()


def build_config_watch_dag(
    *,
    dag_id: str,
    path_or_glob: str,
    base_dir: str | None = None,
    default_notify: Sequence[ChannelConfig] = (),
    api_conn_id: str = DEFAULT_API_CONN_ID,
    poll_interval: float = 5.0,
) -> DAG:
    """The config-watch DAG for the alerts file(s) ``path_or_glob`` (absolute path or glob).

    ``base_dir`` is the DAG file's folder (messages name files relative to it, as the
    factory's do); ``default_notify`` is ``defaults.notify`` of the last valid version,
    used when the new file is too broken to say whom to notify.
    """
    doc = (
        "### SQL Sentinel: configuration watch\n\n"
        f"Watches `{path_or_glob}`. When its content changes, `validate_config` validates "
        "it and returns the diff of alerts (added / removed / changed) as XCom; an invalid "
        "file fails that task with the validation messages and notifies `defaults.notify` "
        "(the alerts keep running their last valid version). Then `request_reparse` asks "
        f"Airflow to re-parse the alerts DAG file through the http connection `{api_conn_id}`"
        " (without it, the normal parse interval applies).\n\n"
        f"The last validated state is kept in the Variable `{baseline_variable_name(dag_id)}`."
    )
    dag = DAG(
        dag_id=dag_id,
        dag_display_name="SQL Sentinel: configuration watch",
        description=f"Validates and applies edits of {path_or_glob}",
        schedule="@continuous",
        start_date=_START_DATE,
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["sqlsentinel", WATCH_TAG],
        doc_md=doc,
        default_args={"owner": "sqlsentinel", "retries": 0},
    )
    variable = baseline_variable_name(dag_id)
    wait = ConfigChangeSensor(
        task_id="wait_for_change",
        path_or_glob=path_or_glob,
        baseline_variable=variable,
        poll_interval=poll_interval,
        # It reads the baseline Variable through the API at start: a hiccup there must not
        # turn the watch red (it waits in the triggerer, so a retry costs nothing).
        retries=2,
        retry_delay=timedelta(seconds=15),
        dag=dag,
    )
    validate = ValidateAlertsConfigOperator(
        task_id="validate_config",
        path_or_glob=path_or_glob,
        baseline_variable=variable,
        base_dir=base_dir,
        default_notify=default_notify,
        api_conn_id=api_conn_id,
        # A state write through the API can hiccup; an invalid file fails without retry.
        retries=2,
        retry_delay=timedelta(seconds=15),
        execution_timeout=timedelta(minutes=5),
        dag=dag,
    )
    reparse = RequestReparseOperator(
        task_id="request_reparse",
        api_conn_id=api_conn_id,
        execution_timeout=timedelta(minutes=2),
        dag=dag,
    )
    wait >> validate >> reparse
    return dag
