"""The read model: what people and programs are shown about alerts, one typed view per record.

The CLI (``--format json`` and its tables) and the UI's JSON API render these views and
nothing else, so one record reads the same everywhere. The shapes are published in
docs/reference/read-model.md, generated from these types (``scripts/gen_docs_read_model.py``).

Each view is built from the store's records by one function and written as JSON by one
method, ``to_json()``, with one set of rules:

- enum values in lower case (``"firing"``, ``"alert"``, ``"scheduled"``);
- times as RFC 3339 in UTC (``core.clock.rfc3339``);
- a reason as ``reason`` (the English) and ``reason_code`` (its stable name);
- every error text redacted once, when the view is built (``core.redact.redact_text``).

Facts only Airflow knows (paused, stale, the DAG's docs, who may edit) and the recent values
are optional inputs of :func:`alert_summary`: null in the JSON of a caller that does not know
them (the CLI). Nothing here imports Airflow.

Modules: ``views`` (the types and their JSON), ``build`` (the views from store records),
``incidents`` (an alert's incidents, as the state DB keeps them), ``report`` (the monthly
report).
"""

from __future__ import annotations

from sqlsentinel_airflow.readmodel.build import (
    AlertFacts,
    ack_view,
    alert_status,
    alert_summary,
    config_error_view,
    delivery_view,
    evaluation_view,
    incident_action_view,
    incident_view,
    instance_view,
    invalid_alert_view,
    mute_window_view,
    reason_fields,
    silence_view,
    silences_for,
    spark_series,
    worst_instance,
)
from sqlsentinel_airflow.readmodel.incidents import incident_views
from sqlsentinel_airflow.readmodel.report import ReportAlert, hygiene_report
from sqlsentinel_airflow.readmodel.views import (
    DELIVERIES_IN_STATUS,
    DELIVERIES_SHOWN,
    FIRING_LABELS_SHOWN,
    INSTANCES_IN_LIST,
    SPARK_POINTS,
    UNDELIVERED,
    VIEWS,
    AckView,
    AlertStatus,
    AlertSummary,
    ConfigErrorView,
    DeliveryMemberView,
    DeliveryView,
    DocsFact,
    DocsView,
    EvaluationView,
    IncidentActionView,
    IncidentKind,
    IncidentView,
    InstanceView,
    InvalidAlertView,
    LinkView,
    MuteWindowView,
    ReceiverView,
    ReportItem,
    ReportSection,
    ReportView,
    RoutingView,
    SampleView,
    SilenceView,
    SparkSeries,
    View,
)

__all__ = [
    "DELIVERIES_IN_STATUS",
    "DELIVERIES_SHOWN",
    "FIRING_LABELS_SHOWN",
    "INSTANCES_IN_LIST",
    "SPARK_POINTS",
    "UNDELIVERED",
    "VIEWS",
    "AckView",
    "AlertFacts",
    "AlertStatus",
    "AlertSummary",
    "ConfigErrorView",
    "DeliveryMemberView",
    "DeliveryView",
    "DocsFact",
    "DocsView",
    "EvaluationView",
    "IncidentActionView",
    "IncidentKind",
    "IncidentView",
    "InstanceView",
    "InvalidAlertView",
    "LinkView",
    "MuteWindowView",
    "ReceiverView",
    "ReportAlert",
    "ReportItem",
    "ReportSection",
    "ReportView",
    "RoutingView",
    "SampleView",
    "SilenceView",
    "SparkSeries",
    "View",
    "ack_view",
    "alert_status",
    "alert_summary",
    "config_error_view",
    "delivery_view",
    "evaluation_view",
    "hygiene_report",
    "incident_action_view",
    "incident_view",
    "incident_views",
    "instance_view",
    "invalid_alert_view",
    "mute_window_view",
    "reason_fields",
    "silence_view",
    "silences_for",
    "spark_series",
    "worst_instance",
]
