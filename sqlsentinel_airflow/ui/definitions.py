"""What the UI may show about an alert's definition: never a secret, and never stale.

Two sources, both written by the DAG factory (docs/adr/0005-ui-plugin.md):

- **The DAG's documentation** (``doc_md``, serialized into Airflow's metadata database) holds
  the SQL, the schedule, the policy and the channels, already without secrets
  (``factory.alert_doc_md`` / ``describe_channel``). It is the text of the DAG version
  Airflow runs, and the api-server always has it. :func:`parse_alert_doc` reads it back.
- **The manifests** (``$AIRFLOW_HOME/sqlsentinel/manifests/*.json``, ``dags/manifest.py``)
  hold the resolved config of each alerts file. The UI takes from them only what the DAG
  does not carry: the exact severity, the file's ``state_db`` and the silences declared in
  the file. They exist where the DAG file is parsed; an api-server on another machine
  without them falls back to the deployment's state database (``[sqlsentinel]
  state_db_conn_id``, ``SQLSENTINEL_STATE_DB_URL``).

Nothing here imports Airflow.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlsentinel_airflow.core.config.models import FileSilence, StateDbConfig
from sqlsentinel_airflow.dags.manifest import read_manifest

__all__ = [
    "AlertDocs",
    "ManifestAlert",
    "ManifestIndex",
    "parse_alert_doc",
]

_HEADING = re.compile(r"^### (?P<name>.+)$", re.MULTILINE)
_FACT = re.compile(r"^- \*\*(?P<label>[^*]+?):?\*\* ?(?P<text>.*)$")
_QUERY = re.compile(r"^#### Query\n\n(?P<fence>`{3,})sql\n(?P<sql>.*?)\n(?P=fence)$", re.M | re.S)
_SECTION = re.compile(r"^#### (?P<title>.+)$", re.MULTILINE)


@dataclass(frozen=True)
class AlertDocs:
    """An alert DAG's documentation, read back into parts.

    ``facts`` are the bullet points under the heading as (label, text), e.g.
    ``("Schedule", "`*/5 * * * *` in UTC")``; ``channels`` the lines under "Notifications".
    ``banner`` is the warning the factory puts on top of a DAG that runs the last valid
    version of an alert whose current version is invalid ("" when there is none).
    """

    name: str = ""
    description: str = ""
    facts: tuple[tuple[str, str], ...] = ()
    query: str | None = None
    channels: tuple[str, ...] = ()
    banner: str = ""

    def fact(self, label: str) -> str | None:
        for name, text in self.facts:
            if name.lower() == label.lower():
                return text
        return None


def parse_alert_doc(doc_md: str | None) -> AlertDocs:
    """The parts of a ``factory.alert_doc_md`` text; missing parts stay empty, never raise."""
    if not doc_md:
        return AlertDocs()
    heading = _HEADING.search(doc_md)
    if heading is None:
        return AlertDocs(description=doc_md.strip())
    banner = _plain_banner(doc_md[: heading.start()])
    body = doc_md[heading.end() :]
    first_section = _SECTION.search(body)
    head = body[: first_section.start()] if first_section else body
    description_lines: list[str] = []
    facts: list[tuple[str, str]] = []
    for line in head.strip().splitlines():
        fact = _FACT.match(line)
        if fact:
            facts.append(
                (fact.group("label").strip(), fact.group("text").replace("**", "").strip())
            )
        elif not facts:
            description_lines.append(line)
    query = _QUERY.search(body)
    return AlertDocs(
        name=heading.group("name").strip(),
        description="\n".join(description_lines).strip(),
        facts=tuple(facts),
        query=query.group("sql") if query else None,
        channels=_section_bullets(body, "Notifications"),
        banner=banner,
    )


def _section_bullets(body: str, title: str) -> tuple[str, ...]:
    start = re.search(rf"^#### {re.escape(title)}\n", body, re.MULTILINE)
    if start is None:
        return ()
    bullets: list[str] = []
    for line in body[start.end() :].lstrip("\n").splitlines():
        if not line.startswith("- "):
            break
        text = line[2:].strip()
        if text != "none configured":
            bullets.append(text)
    return tuple(bullets)


def _plain_banner(text: str) -> str:
    """The stale-alert banner without its Markdown: the first paragraph, bold marks removed."""
    paragraph = text.strip().split("\n\n", 1)[0] if text.strip() else ""
    return paragraph.replace("**", "").strip()


# --- manifests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestAlert:
    """What a manifest adds to an alert DAG: exact severity, its file's state DB and silences."""

    name: str
    dag_id: str
    severity: str
    owner: str
    tags: tuple[str, ...]
    state_db: StateDbConfig | None = None
    file_silences: tuple[FileSilence, ...] = ()
    source_file: str | None = None
    written_at: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=timezone.utc))


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
            paths = sorted(
                p for p in self.directory.glob("*.json") if not p.name.startswith("glob-")
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
            state_db=config.state_db,
            file_silences=config.silences,
            source_file=manifest.source,
            written_at=manifest.written_at,
        )
        for alert in versions
    )
