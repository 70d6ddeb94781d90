"""What the UI may show about an alert's definition: never a secret, and never stale.

Two sources, both written by the DAG factory (docs/adr/0005-ui-plugin.md):

- **The alert definition** (``airflow_contract.AlertDefinition``), embedded by the factory
  in the DAG's ``doc_md`` and so serialized into Airflow's metadata database: the SQL, the
  schedule, the policy and the channels, without secrets. It belongs to the DAG version
  Airflow runs, and the api-server always has it. :func:`alert_docs` reads it; no Markdown
  is parsed.
- **The manifests** (``$AIRFLOW_HOME/sqlsentinel/manifests/*.json``, ``dags/manifest.py``)
  hold the resolved config of each alerts file. The UI takes from them only what the DAG
  does not carry: the exact severity, the file's ``state_db`` and the silences declared in
  the file. They exist where the DAG file is parsed; an api-server on another machine
  without them falls back to the deployment's state database (``[sqlsentinel]
  state_db_conn_id``, ``SQLSENTINEL_STATE_DB_URL``).

Nothing here imports Airflow.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlsentinel_airflow.airflow_contract import (
    RoutingExplanation,
    read_definition,
    strip_definition,
)
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence, StateDbConfig
from sqlsentinel_airflow.core.redact import public_text
from sqlsentinel_airflow.dags.manifest import read_manifest
from sqlsentinel_airflow.readmodel import DocsFact, DocsView, LinkView, ReceiverView, RoutingView

__all__ = ["ManifestAlert", "ManifestIndex", "alert_docs"]


def alert_docs(doc_md: str | None) -> DocsView:
    """The settings of the definition embedded in ``doc_md``; never raises.

    A DAG without one (not an alert's, or serialized by a release before the definition)
    shows its docs as the description, and nothing else.
    """
    definition = read_definition(doc_md)
    if definition is None:
        description = strip_definition(doc_md).strip() if doc_md else ""
        return DocsView(
            description=description,
            facts=(),
            query=None,
            channels=(),
            banner="",
            runbook_url=None,
            links=(),
            routing=None,
        )
    return DocsView(
        description=definition.description.strip(),
        facts=tuple(DocsFact(label=label, text=text) for label, text in definition.facts()),
        query=definition.query.rstrip(),
        channels=tuple(definition.channels),
        banner=definition.banner,
        runbook_url=definition.runbook_url,
        links=tuple(LinkView(title=link.title, url=link.url) for link in definition.links),
        routing=_routing_view(definition.routing),
    )


def _routing_view(routing: RoutingExplanation | None) -> RoutingView | None:
    if routing is None:
        return None
    return RoutingView(
        receivers=tuple(
            ReceiverView(name=r.name, channels=r.channels, via=r.via) for r in routing.receivers
        ),
        nobody_via=routing.nobody_via,
        renotify=routing.renotify_text(),
        reaches_nobody=routing.reaches_nobody,
        escalation=tuple(
            f"{step.text()} ({'; '.join(step.channels)})" for step in routing.escalation
        ),
        escalation_from=routing.escalation_from,
    )


# --- manifests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestAlert:
    """What a manifest adds to an alert DAG: exact severity, its file's state DB and silences."""

    name: str
    dag_id: str
    severity: str
    owner: str
    tags: tuple[str, ...]
    enabled: bool | None = None  # `enabled:` in the file
    state_db: StateDbConfig | None = None
    file_silences: tuple[FileSilence, ...] = ()
    source_file: str | None = None
    runbook_url: str | None = None
    written_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=timezone.utc))
    # the whole resolved alert (secrets included: never shown), for the Backtest panel's
    # channels (ui/backtest.py)
    config: AlertConfig | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class _Read:
    stamp: tuple[int, int]
    alerts: tuple[ManifestAlert, ...]


class ManifestIndex:
    """The alerts of every manifest in a folder, by dag_id; re-read only when a file changes.

    When two manifests name the same dag_id (an alerts file renamed, its old manifest left
    behind) the newer one wins. Manifests are read as written: unreadable ones are skipped.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._cache: dict[Path, _Read] = {}

    def by_dag_id(self) -> Mapping[str, ManifestAlert]:
        found: dict[str, ManifestAlert] = {}
        for alert in sorted(self._alerts(), key=lambda a: a.written_at):
            found[alert.dag_id] = alert
        return found

    def _alerts(self) -> list[ManifestAlert]:
        try:
            # beside the manifests: glob indexes and SQL verdicts (core/config/sqlcheck.py)
            paths = sorted(
                p
                for p in self.directory.glob("*.json")
                if not p.name.startswith(("glob-", "verdicts-"))
            )
        except OSError:
            return []
        alerts: list[ManifestAlert] = []
        with self._lock:
            for path in paths:
                try:
                    info = path.stat()
                except OSError:
                    continue
                stamp = (info.st_mtime_ns, info.st_size)
                cached = self._cache.get(path)
                if cached is None or cached.stamp != stamp:
                    cached = _Read(stamp, _manifest_alerts(path))
                    self._cache[path] = cached
                alerts.extend(cached.alerts)
            for gone in set(self._cache) - set(paths):
                del self._cache[gone]
        return alerts


def _manifest_alerts(path: Path) -> tuple[ManifestAlert, ...]:
    manifest = read_manifest(path)
    if manifest is None:
        return ()
    config = manifest.config
    versions = [*config.alerts, *manifest.last_valid.values()]
    return tuple(
        ManifestAlert(
            name=alert.name,
            dag_id=alert.dag_id,
            severity=alert.severity,
            owner=alert.owner,
            tags=alert.tags,
            enabled=alert.enabled,
            state_db=config.state_db,
            file_silences=config.silences,
            source_file=manifest.source,
            runbook_url=public_text(alert, alert.runbook_url) if alert.runbook_url else None,
            written_at=manifest.written_at,
            config=alert,
        )
        for alert in versions
    )
