"""``ConfigChangeTrigger``: wakes the config-watch sensor when the alerts file's content changes.

Airflow's ``FileTrigger`` only waits for a file to exist; the watch needs "the bytes differ
from what was last validated", including a file that appears or disappears. The trigger
runs in the triggerer's event loop, so hashing happens in a worker thread and the loop
never blocks on disk. It holds no state besides its serialized arguments: a restarted
triggerer rebuilds it from ``serialize()`` and keeps comparing against the same baseline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from sqlsentinel_airflow.triggers.fingerprint import digest_of, fingerprint

__all__ = ["ConfigChangeTrigger", "change_event"]

log = logging.getLogger(__name__)

CLASSPATH = "sqlsentinel_airflow.triggers.config_change.ConfigChangeTrigger"


def change_event(
    path_or_glob: str, baseline_digest: str | None, hashes: dict[str, str | None]
) -> dict[str, Any]:
    """The payload the sensor hands on: what was watched, and what it looks like now."""
    return {
        "path_or_glob": path_or_glob,
        "previous_digest": baseline_digest,
        "digest": digest_of(hashes),
        "files": hashes,
    }


class ConfigChangeTrigger(BaseTrigger):
    """Fires once, when the content digest of ``path_or_glob`` differs from ``baseline_digest``.

    ``baseline_digest`` None means "nothing validated yet": the first poll fires.
    """

    def __init__(
        self, path_or_glob: str, baseline_digest: str | None, poll_interval: float = 5.0
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.path_or_glob = path_or_glob
        self.baseline_digest = baseline_digest
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "path_or_glob": self.path_or_glob,
                "baseline_digest": self.baseline_digest,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            hashes = await asyncio.to_thread(fingerprint, self.path_or_glob)
            if digest_of(hashes) != self.baseline_digest:
                log.info("sqlsentinel: %s changed", self.path_or_glob)
                event = change_event(self.path_or_glob, self.baseline_digest, hashes)
                yield TriggerEvent(event)  # type: ignore[no-untyped-call]
                return
            await asyncio.sleep(self.poll_interval)
