"""``ConfigChangeSensor``: waits, deferred, until the alerts file differs from the last one seen.

The baseline ("what the watch last validated") must survive between DAG runs, task retries
and triggerer restarts, and be readable from any worker, so it lives in an Airflow Variable
(``<watch dag_id>__baseline``, JSON) written by the validate task: the content digest of the
watched files and a secret-free snapshot of the alerts last loaded (for the next diff). A
Variable goes through the execution API like every task-side read, needs no table of ours,
and works with every executor; the factory's manifest would not, since it lives on the
dag-processor's disk.

Deferrable by default: while it waits it occupies no worker slot, only a coroutine in the
triggerer polling the content hash (``ConfigChangeTrigger``). With ``deferrable=False`` it
pokes in ``reschedule`` mode instead. It never times out: waiting for weeks is its job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from sqlsentinel_airflow.triggers.config_change import ConfigChangeTrigger, change_event
from sqlsentinel_airflow.triggers.fingerprint import digest_of, fingerprint

__all__ = ["ConfigChangeSensor", "WatchBaseline", "read_baseline", "write_baseline"]

log = logging.getLogger(__name__)

_FOREVER = timedelta(days=365 * 100)


@dataclass(frozen=True)
class WatchBaseline:
    """What the config watch last validated (stored as JSON in an Airflow Variable)."""

    digest: str
    files: dict[str, str | None] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)  # config_diff.snapshot_alerts()
    valid: bool = True
    updated_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "files": self.files,
            "alerts": self.alerts,
            "valid": self.valid,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> WatchBaseline | None:
        if not isinstance(data, dict) or not isinstance(data.get("digest"), str):
            return None
        return cls(
            digest=data["digest"],
            files=dict(data.get("files") or {}),
            alerts=dict(data.get("alerts") or {}),
            valid=bool(data.get("valid", True)),
            updated_at=str(data.get("updated_at", "")),
        )


def read_baseline(variable: str) -> WatchBaseline | None:
    """The stored baseline; None when there is none yet (or it is unreadable)."""
    from airflow.sdk import Variable

    try:
        data = Variable.get(variable, default=None, deserialize_json=True)
    except ValueError:  # not JSON: someone edited it by hand; start over
        log.warning("sqlsentinel: Variable %s is not valid JSON; ignoring it", variable)
        return None
    return WatchBaseline.from_json(data)


def write_baseline(variable: str, baseline: WatchBaseline) -> None:
    from airflow.sdk import Variable

    Variable.set(
        variable,
        baseline.to_json(),
        description="SQL Sentinel config watch: the alerts files last validated (managed)",
        serialize_json=True,
    )


class ConfigChangeSensor(BaseSensorOperator):
    """Succeeds when the content of ``path_or_glob`` differs from the stored baseline.

    Returns (XCom) the change: ``path_or_glob``, ``previous_digest``, ``digest``, ``files``.
    With no baseline yet it succeeds at once, so the first run records one.
    """

    template_fields: Sequence[str] = ()
    ui_color = "#e0f0ff"

    def __init__(
        self,
        *,
        path_or_glob: str,
        baseline_variable: str,
        poll_interval: float = 5.0,
        deferrable: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("timeout", _FOREVER)
        kwargs.setdefault("poke_interval", poll_interval)
        if not deferrable:
            kwargs.setdefault("mode", "reschedule")
        super().__init__(**kwargs)
        self.path_or_glob = path_or_glob
        self.baseline_variable = baseline_variable
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self._baseline_digest: str | None = None

    def execute(self, context: Any) -> Any:
        baseline = read_baseline(self.baseline_variable)
        self._baseline_digest = baseline.digest if baseline is not None else None
        if baseline is None:
            log.info("No baseline in Variable %s yet: recording one now", self.baseline_variable)
        changed = self.poke(context)
        if changed:
            return changed.xcom_value
        if not self.deferrable:
            return super().execute(context)
        log.info(
            "Waiting for %s to change (digest %s), polling every %ss in the triggerer",
            self.path_or_glob,
            self._baseline_digest,
            self.poll_interval,
        )
        self.defer(
            trigger=ConfigChangeTrigger(
                self.path_or_glob, self._baseline_digest, poll_interval=self.poll_interval
            ),
            method_name="execute_complete",
            timeout=None,
        )
        return None  # not reached: defer() raises

    def poke(self, context: Any) -> PokeReturnValue:
        hashes = fingerprint(self.path_or_glob)
        if digest_of(hashes) == self._baseline_digest:
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(
            is_done=True, xcom_value=change_event(self.path_or_glob, self._baseline_digest, hashes)
        )

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        if not event:
            from airflow.sdk.exceptions import AirflowException

            raise AirflowException("the config-change trigger fired without an event")
        log.info(
            "%s changed: digest %s -> %s",
            self.path_or_glob,
            event.get("previous_digest"),
            event.get("digest"),
        )
        return event
