"""Which alerts exist: the alert DAGs in Airflow's metadata database.

The UI lists what Airflow runs, not what some file says: an alert is a DAG tagged
``sqlsentinel`` that is not stale (removed from its file), not a placeholder for an invalid
alert (``sqlsentinel-invalid``) and not the config-watch DAG. Per-DAG permissions refer to
these dag_ids, so the list the UI shows is always filtered through the auth manager
(``auth.py``). The placeholders of invalid alerts are listed apart (:func:`list_invalid`),
with the errors the factory embeds in them, so the UI shows what does not run too. An
alert's settings come from the definition the factory embeds in the serialized DAG
(``airflow_contract``), with the current errors of a stale one; what Airflow does not hold
(the file's state DB and silences) from the manifests (``definitions.py``).

Runs in the api-server only (it imports Airflow's ORM models).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from sqlsentinel_airflow.airflow_contract import (
    INVALID_TAG,
    SENTINEL_TAG,
    STALE_TAG,
    WATCH_TAG,
    AlertDefinition,
    InvalidAlertDefinition,
    read_definition,
    read_invalid_alert,
)
from sqlsentinel_airflow.core.config.models import FileSilence, StateDbConfig
from sqlsentinel_airflow.errors import ConfigError
from sqlsentinel_airflow.readmodel import AlertFacts, DocsView
from sqlsentinel_airflow.ui.definitions import ManifestAlert, alert_docs

__all__ = [
    "SEVERITIES",
    "AlertEntry",
    "InvalidEntry",
    "find_alert",
    "find_invalid",
    "list_alerts",
    "list_invalid",
    "serialized_alert_docs",
    "serialized_definition",
]

SEVERITIES = ("critical", "warning", "info")  # most severe first
_NOT_ALERTS = frozenset({INVALID_TAG, WATCH_TAG})


@dataclass(frozen=True)
class AlertEntry(AlertFacts):
    """One alert as the UI knows it: the read model's facts of its DAG, plus what its
    manifest adds (if found), which the UI needs to find its state and silences.

    ``tags`` are the user's tags (without ``sqlsentinel`` and the severity). ``stale`` means
    the DAG runs the last valid version of an alert that is invalid in its file now.
    """

    paused: bool = False
    stale: bool = False
    state_db: StateDbConfig | None = None
    file_silences: tuple[FileSilence, ...] = field(default=())
    from_manifest: bool = False


@dataclass(frozen=True)
class _DagRow:
    """The columns of Airflow's ``dag`` row an entry needs, and the DAG's tags."""

    dag_id: str
    display_name: str | None
    description: str | None
    owners: str | None
    is_paused: bool | None
    tags: tuple[str, ...]


def _entry(
    dag: _DagRow, manifests: Mapping[str, ManifestAlert], session: Session | None = None
) -> AlertEntry:
    tags = tuple(sorted(dag.tags))
    name = str(dag.display_name or dag.dag_id)
    known = manifests.get(dag.dag_id)
    if known is not None and known.name != name:
        known = None  # a manifest of another alerts file that once used this dag_id
    if known is not None:
        severity = known.severity
        user_tags = known.tags
    else:
        severity = next((s for s in SEVERITIES if s in tags), "warning")
        user_tags = tuple(t for t in tags if t not in {SENTINEL_TAG, STALE_TAG, severity})
    return AlertEntry(
        dag_id=dag.dag_id,
        name=name,
        description=dag.description or "",
        severity=severity,
        owner=(known.owner if known is not None else dag.owners) or "",
        tags=user_tags,
        enabled=known.enabled if known is not None else None,
        paused=bool(dag.is_paused),
        stale=STALE_TAG in tags,
        config_errors=_stale_errors(session, dag.dag_id) if STALE_TAG in tags else (),
        state_db=known.state_db if known is not None else None,
        file_silences=known.file_silences if known is not None else (),
        from_manifest=known is not None,
        runbook_url=known.runbook_url if known is not None else None,
        mute_windows=known.config.mute_windows
        if known is not None and known.config is not None
        else (),
    )


def list_alerts(
    session: Session,
    manifests: Mapping[str, ManifestAlert],
    *,
    dag_ids: Collection[str] | None = None,
) -> list[AlertEntry]:
    """The alert DAGs Airflow runs (only ``dag_ids`` when given), by name.

    Two plain reads (the columns an entry needs, then the tags), not ``DagModel`` objects:
    loading 1,000 ORM objects with their tags was a fifth of the SQL Sentinel page's call.
    """
    from airflow.models.dag import DagModel, DagTag

    if dag_ids is not None and not dag_ids:
        return []
    alerts = select(DagTag.dag_id).where(DagTag.name == SENTINEL_TAG)
    query = select(
        DagModel.dag_id,
        DagModel._dag_display_property_value,  # the column; dag_display_name is a hybrid
        DagModel.description,
        DagModel.owners,
        DagModel.is_paused,
    ).where(DagModel.is_stale.is_(False), DagModel.dag_id.in_(alerts))
    tag_query = select(DagTag.dag_id, DagTag.name).where(DagTag.dag_id.in_(alerts))
    if dag_ids is not None:
        query = query.where(DagModel.dag_id.in_(list(dag_ids)))
        tag_query = tag_query.where(DagTag.dag_id.in_(list(dag_ids)))
    tags: dict[str, list[str]] = {}
    for dag_id, tag in session.execute(tag_query):
        tags.setdefault(dag_id, []).append(tag)
    dags = [
        _DagRow(dag_id, display, description, owners, paused, tuple(tags.get(dag_id, ())))
        for dag_id, display, description, owners, paused in session.execute(query)
    ]
    entries = [
        _entry(dag, manifests, session) for dag in dags if not _NOT_ALERTS.intersection(dag.tags)
    ]
    return sorted(entries, key=lambda e: (e.name.lower(), e.dag_id))


def find_alert(
    session: Session, dag_id: str, manifests: Mapping[str, ManifestAlert]
) -> AlertEntry | None:
    """The alert of ``dag_id``; None when that DAG is no (longer an) alert."""
    found = list_alerts(session, manifests, dag_ids=[dag_id])
    return found[0] if found else None


@dataclass(frozen=True)
class InvalidEntry:
    """The placeholder DAG of an invalid alert, with what it embeds (name, file, errors)."""

    dag_id: str
    paused: bool
    invalid: InvalidAlertDefinition


def list_invalid(session: Session, *, dag_ids: Collection[str] | None = None) -> list[InvalidEntry]:
    """The placeholders of invalid alerts Airflow holds (only ``dag_ids`` when given), by name.

    The config-errors DAG carries the same tag but no embedded invalid alert: it is left out.
    """
    from airflow.models.dag import DagModel, DagTag

    query = select(DagModel).where(
        DagModel.is_stale.is_(False),
        DagModel.dag_id.in_(select(DagTag.dag_id).where(DagTag.name == INVALID_TAG)),
    )
    if dag_ids is not None:
        if not dag_ids:
            return []
        query = query.where(DagModel.dag_id.in_(list(dag_ids)))
    found: list[InvalidEntry] = []
    for dag in session.scalars(query).all():
        invalid = read_invalid_alert(_serialized_doc_md(session, dag.dag_id))
        if invalid is not None:
            found.append(InvalidEntry(dag.dag_id, bool(dag.is_paused), invalid))
    return sorted(found, key=lambda e: (e.invalid.name.lower(), e.dag_id))


def find_invalid(session: Session, dag_id: str) -> InvalidEntry | None:
    """The invalid alert whose placeholder is ``dag_id``; None when it is none."""
    found = list_invalid(session, dag_ids=[dag_id])
    return found[0] if found else None


def _stale_errors(session: Session | None, dag_id: str) -> tuple[ConfigError, ...]:
    """The current errors of an alert whose DAG runs its last valid version."""
    if session is None:
        return ()
    definition = read_definition(_serialized_doc_md(session, dag_id))
    if definition is None:
        return ()
    return tuple(e.to_error() for e in definition.config_errors)


def _serialized_doc_md(session: Session, dag_id: str) -> str | None:
    from airflow.models.serialized_dag import SerializedDagModel

    row = SerializedDagModel.get(dag_id, session=session)
    data = row.data if row is not None else None
    doc = (data.get("dag") or {}).get("doc_md") if isinstance(data, dict) else None
    return doc if isinstance(doc, str) else None


def serialized_alert_docs(session: Session, dag_id: str) -> tuple[DocsView, bool | None]:
    """The alert's settings as the DAG version Airflow last serialized holds them, and its
    ``enabled:`` there (None: unknown), from one read of that DAG.

    Read from the definition embedded in the serialized DAG's ``doc_md``: the metadata
    database has it even when this api-server does not share the DAG folder.
    """
    doc_md = _serialized_doc_md(session, dag_id)
    definition = read_definition(doc_md)
    return alert_docs(doc_md), (definition.enabled if definition is not None else None)


def serialized_definition(session: Session, dag_id: str) -> AlertDefinition | None:
    """The alert definition the serialized DAG embeds (None: not parsed yet, or no alert's)."""
    return read_definition(_serialized_doc_md(session, dag_id))
