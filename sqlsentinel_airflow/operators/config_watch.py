"""The config-watch DAG's operators: validate the watched alerts file(s), ask for a re-parse.

``ValidateAlertsConfigOperator`` validates the file(s) as the DAG factory does, records the
new baseline (``sensors/config_change.py``), logs the diff of alerts and returns it as XCom;
an invalid file notifies ``defaults.notify`` and fails without retry; the first valid run
after an invalid one notifies the same channels that the file is valid again.
``RequestReparseOperator`` asks Airflow to re-parse the DAG file now (``dags/reparse.py``).
The DAG itself is built by ``dags/watch.py`` (docs/adr/0006-config-watch.md).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from sqlsentinel_airflow.airflow_contract import DEFAULT_API_CONN_ID
from sqlsentinel_airflow.core.clock import rfc3339, utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig, ChannelConfig, MessageTemplates
from sqlsentinel_airflow.dags.config_diff import diff_snapshots, snapshot_alerts
from sqlsentinel_airflow.dags.manifest import display_name
from sqlsentinel_airflow.dags.reparse import request_reparse
from sqlsentinel_airflow.errors import ConfigError
from sqlsentinel_airflow.sensors.config_change import (
    WatchBaseline,
    read_baseline,
    write_baseline,
)
from sqlsentinel_airflow.triggers.fingerprint import content_hash, digest_of, watched_files

__all__ = [
    "CONFIG_ERROR_TEMPLATES",
    "RequestReparseOperator",
    "ValidateAlertsConfigOperator",
]

log = logging.getLogger(__name__)

# The texts of the notifications sent when alerts.yaml is invalid, and when it is valid again
# after that (a channel's own subject or body template still wins over these).
_ERRORS_TEXT = "{% for line in error_lines %}  - {{ line }}\n{% endfor %}"
_PAGE_TEXT = "{% if dashboard_url %}SQL Sentinel page: {{ dashboard_url }}\n{% endif %}"
_PAGE_HTML = (
    '{% if dashboard_url %}<p><a href="{{ dashboard_url }}">Open the SQL Sentinel page in '
    "Airflow</a></p>\n{% endif %}"
)
_PAGE_SLACK = "{% if dashboard_url %}\n<{{ dashboard_url }}|Open the SQL Sentinel page>{% endif %}"
CONFIG_ERROR_TEMPLATES = MessageTemplates(
    subject={
        "error": "[ERROR] SQL Sentinel: the alerts configuration is invalid",
        "resolved": "[RESOLVED] SQL Sentinel: the alerts configuration is valid again",
    },
    text={
        "error": "The alerts configuration ({{ context.file }}) is invalid; the alerts keep "
        "running their last valid version until it is fixed.\n\n{{ context.errors }} error(s):\n"
        + _ERRORS_TEXT
        + "\n"
        + _PAGE_TEXT
        + "Watch DAG: {{ alert.dag_id }}\n"
        "{% if task_log_url %}Task log: {{ task_log_url }}\n{% endif %}",
        "resolved": "The alerts configuration ({{ context.file }}) is valid again: every alert "
        "runs the current version of the file.\n\n"
        + _PAGE_TEXT
        + "Watch DAG: {{ alert.dag_id }}\n",
    },
    html={
        "error": '<html><body style="font-family:sans-serif">\n'
        '<h2 style="color:#7f8c8d">The alerts configuration is invalid</h2>\n'
        "<p>{{ context.file }}: {{ context.errors }} error(s). The alerts keep running their "
        "last valid version until it is fixed.</p>\n"
        "<ul>{% for line in error_lines %}<li><code>{{ line }}</code></li>\n{% endfor %}</ul>\n"
        + _PAGE_HTML
        + '{% if task_log_url %}<p><a href="{{ task_log_url }}">Open the task log in Airflow</a>'
        "</p>\n{% endif %}"
        '<p style="color:#888;font-size:small">SQL Sentinel config watch, DAG '
        "{{ alert.dag_id }}</p>\n</body></html>\n",
        "resolved": '<html><body style="font-family:sans-serif">\n'
        '<h2 style="color:#27ae60">The alerts configuration is valid again</h2>\n'
        "<p>{{ context.file }}: every alert runs the current version of the file.</p>\n"
        + _PAGE_HTML
        + '<p style="color:#888;font-size:small">SQL Sentinel config watch, DAG '
        "{{ alert.dag_id }}</p>\n</body></html>\n",
    },
    slack={
        "error": ":x: *The SQL Sentinel alerts configuration is invalid* (alerts keep "
        "running their last valid version)\n```{% for line in error_lines %}{{ line }}\n"
        "{% endfor %}```" + _PAGE_SLACK,
        "resolved": ":white_check_mark: *The SQL Sentinel alerts configuration is valid again*"
        + _PAGE_SLACK,
    },
)


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
            display = display_name(source, base_dir)
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
                updated_at=rfc3339(utcnow()) or "",
            ),
        )
        if not valid:
            self._fail(errors, channels or list(self.default_notify), context, digest)
        if previous is not None and not previous.valid:
            # Once per fix: the baseline written above is valid, so the next run is not here.
            log.info("Alerts configuration %s is valid again", self.path_or_glob)
            self._notify(
                channels or list(self.default_notify), [], context, digest, valid_again=True
            )
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
        from sqlsentinel_airflow.metrics import emit_config_errors

        messages = [e.format() for e in errors]
        emit_config_errors(len(messages))
        log.error("The alerts configuration is invalid (%d error(s)):", len(messages))
        for message in messages:
            log.error("  %s", message)
        self._notify(channels, messages, context, digest)
        request_reparse(self.dag_id, conn_id=self.api_conn_id)  # shows the errors in the UI now
        # No retry: only an edit of the file can fix it, and that starts a new run.
        raise AirflowFailException("the alerts configuration is invalid:\n" + "\n".join(messages))

    def _notify(
        self,
        channels: Sequence[ChannelConfig],
        messages: Sequence[str],
        context: Any,
        digest: str,
        *,
        valid_again: bool = False,
    ) -> None:
        what = "the fixed file" if valid_again else "the invalid file"
        if not channels:
            log.warning("defaults.notify is empty: nobody is notified of %s", what)
            return
        from sqlsentinel_airflow.airflow_compat import api_base_url
        from sqlsentinel_airflow.airflow_contract import dashboard_url
        from sqlsentinel_airflow.core.events import task_log_url
        from sqlsentinel_airflow.core.payload import config_error_payload
        from sqlsentinel_airflow.notify.base import OutboundEvent
        from sqlsentinel_airflow.notify.channels import build_channel

        run_id = getattr(context.get("dag_run"), "run_id", None) or context.get("run_id")
        log_url = (
            task_log_url(api_base_url(), self.dag_id, str(run_id), self.task_id) if run_id else None
        )
        payload = config_error_payload(
            event_id=str(uuid.uuid4()),
            source=self.path_or_glob,
            messages=messages,
            dag_id=self.dag_id,
            owner=self.owner,
            run_id=run_id,
            occurred_at=utcnow(),
            task_log_url=log_url,
            dashboard_url=dashboard_url(api_base_url()),
            valid_again=valid_again,
        ).to_json()
        suffix = ":valid" if valid_again else ""
        event = OutboundEvent(payload, idempotency_key=f"{self.dag_id}:{digest}{suffix}")
        for channel_config in channels:
            try:
                channel = build_channel(channel_config, templates=CONFIG_ERROR_TEMPLATES)
            except Exception as exc:  # a broken channel must not hide the validation errors
                log.error("cannot notify through a %s channel: %s", channel_config.channel, exc)
                continue
            result = channel.send(event)
            if result.delivered:
                log.info("notified %s of %s", channel.describe(), what)
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
