"""What the UI adds to the read model: its alert catalog's facts and the DAG's docs, as inputs.

The API's bodies are ``sqlsentinel_airflow.readmodel`` views, the same objects the CLI
prints; this module only translates what the api-server knows (a ``catalog.AlertEntry``,
an ``AlertDocs``) into the read model's inputs. Pure functions, no I/O, no Airflow.
"""

from __future__ import annotations

from sqlsentinel_airflow.readmodel import AlertFacts, AlertStatus, DocsFact, DocsView
from sqlsentinel_airflow.ui.catalog import AlertEntry
from sqlsentinel_airflow.ui.definitions import AlertDocs

__all__ = ["STATUS_ORDER", "docs_view", "facts_of"]

STATUS_ORDER = tuple(AlertStatus)  # the dashboard's counts, most urgent first


def facts_of(entry: AlertEntry) -> AlertFacts:
    """The alert's facts as Airflow and its manifest know them (not whether it is enabled)."""
    return AlertFacts(
        dag_id=entry.dag_id,
        name=entry.name,
        description=entry.description,
        severity=entry.severity,
        owner=entry.owner,
        tags=entry.tags,
        paused=entry.paused,
        stale=entry.stale,
    )


def docs_view(docs: AlertDocs) -> DocsView:
    return DocsView(
        description=docs.description,
        facts=tuple(DocsFact(label=label, text=text) for label, text in docs.facts),
        query=docs.query,
        channels=tuple(docs.channels),
        banner=docs.banner,
    )
