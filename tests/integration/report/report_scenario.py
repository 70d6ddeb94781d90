"""A state database for the monthly report, filled by the real engine (``evaluate_alert``
with an injected clock, ``deliver_pending`` to a loopback webhook, ``acks.acknowledge``, a
stored silence), so that each section of the report holds known alerts.

The window is the day before ``start + 1 day`` (``--days 1``); evaluations are hours apart.
``expected_sections()`` is what the report must say.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))

from notify_servers import HttpReceiver

from sqlsentinel_airflow import acks
from sqlsentinel_airflow.core.config import load_config
from sqlsentinel_airflow.core.config.models import AlertsConfig
from sqlsentinel_airflow.core.model import RunType, Silence
from sqlsentinel_airflow.evaluation import evaluate_alert
from sqlsentinel_airflow.notify.delivery import deliver_pending
from sqlsentinel_airflow.store import StateStore

SLOW_SECONDS = 0.15  # the slow alert's query; the others answer at once

_OWNED = """\
    owner: data-team
    runbook_url: https://wiki.example.com/runbooks/{name}
"""


def alerts_yaml(hook_url: str) -> str:
    alerts = []
    for name in ("stuck", "quiet", "unrun", "wobbly", "muted", "acked", "slow"):
        alerts.append(
            f"""\
  - name: {name}
    conn_id: wh
    schedule: "0 * * * *"
    query: SELECT 'OK' AS status
{_OWNED.format(name=name)}    notify:
      - channel: webhook
        url: {hook_url}
"""
        )
    alerts.append(
        f"""\
  - name: orphan
    conn_id: wh
    schedule: "0 * * * *"
    query: SELECT 'OK' AS status
    notify:
      - channel: webhook
        url: {hook_url}
"""
    )
    return "alerts:\n" + "".join(alerts)


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


def _fetch(status: str, sleep: float = 0.0) -> Any:
    def fetch() -> _Rows:
        if sleep:
            time.sleep(sleep)
        return _Rows(
            ["status", "actual_value", "threshold"], [[status, 12 if status == "ALERT" else 3, 10]]
        )

    return fetch


def fill(url: str, tmp: Path, start: datetime, receiver: HttpReceiver) -> tuple[Path, AlertsConfig]:
    """Write alerts.yaml into ``tmp`` and fill the state DB at ``url``; the report's ``now``
    is ``start + 1 day``. Returns the file and its config."""
    path = tmp / "alerts.yaml"
    path.write_text(alerts_yaml(receiver.url("/hook")))
    config = load_config(str(path)).config
    assert config is not None
    store = StateStore.connect(url)

    def run(name: str, at: datetime, status: str, sleep: float = 0.0) -> None:
        alert = config.alert(name)
        evaluate_alert(
            alert,
            fetch=_fetch(status, sleep),
            store=store,
            run_type=RunType.SCHEDULED,
            run_id=f"scheduled__{at.isoformat()}",
            clock=lambda: at,
        )
        assert deliver_pending(alert, store, clock=lambda: at).complete

    hour = timedelta(hours=1)
    try:
        # acknowledged 8 days before the window's end, firing ever since
        run("acked", start - 7 * 24 * hour, "ALERT")
        acks.acknowledge(
            store,
            config.alert("acked"),
            None,
            by="maria",
            source="cli",
            comment="vendor ticket open",
            now=start - 7 * 24 * hour + hour,
        )
        for h in (0, 12, 23):
            run("stuck", start + h * hour, "ALERT")
            run("quiet", start + h * hour, "OK")
            run("acked", start + h * hour, "ALERT")
            run("orphan", start + h * hour, "OK")
            run("muted", start + h * hour, "OK")
        for h in (1, 2, 3, 4, 5, 6):  # three short incidents
            run("wobbly", start + h * hour, "ALERT" if h % 2 else "OK")
        for h in (2, 8, 14):
            run("slow", start + h * hour, "OK", sleep=SLOW_SECONDS)
        store.add_silence(
            Silence(
                match="muted",
                starts_at=start + 2 * hour,
                ends_at=start + 12 * 24 * hour,
                reason="warehouse migration",
                author="li",
                created_at=start + 2 * hour,
            )
        )
    finally:
        store.dispose()
    return path, config


def expected_sections() -> dict[str, list[str]]:
    """The alerts each section lists, in order."""
    return {
        "always_firing": ["acked", "stuck"],
        "never_fired": ["muted", "orphan", "quiet", "slow", "unrun"],
        "flapping": ["wobbly"],
        "silenced_long": ["muted"],
        "acknowledged_long": ["acked"],
        "no_owner": ["orphan"],
        "no_runbook": ["orphan"],
    }
