# airflow DAG file: the floor. A hand-written generator building the same DAGs as
# load_alert_dags, with the same operator, from the same alerts.yaml, with no validation.
"""The floor for the parse benchmark (bench/parse.py): what any generator has to pay.

Same YAML (read with libyaml, as ours does), same DAG arguments, same operator
(SentinelAlertOperator; its AlertConfig built with ``model_construct``, i.e. unvalidated),
no schema, no SQL parsing, no manifest, no parsing-context shortcut.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
import yaml
from airflow.sdk import DAG, Param

from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.operators.alert import SentinelAlertOperator

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "alerts.yaml"), encoding="utf-8") as f:
    _doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

_defaults = _doc.get("defaults") or {}
for _raw in _doc["alerts"]:
    _item = {**_defaults, **_raw}
    _dag_id = "sqlsentinel_" + _item["name"]
    _alert = AlertConfig.model_construct(
        name=_item["name"],
        slug=_item["name"],
        dag_id=_dag_id,
        description=_item.get("description", ""),
        query=_item["query"],
        schedule=_item["schedule"],
        conn_id=_item.get("conn_id"),
        timezone=_item.get("timezone", "UTC"),
        owner=_item.get("owner", "airflow"),
        severity=_item.get("severity", "warning"),
    )
    _dag = DAG(
        dag_id=_dag_id,
        dag_display_name=_item["name"],
        description=_item.get("description"),
        schedule=_item["schedule"],
        start_date=pendulum.datetime(2024, 1, 1, tz=_alert.timezone),
        catchup=False,
        max_active_runs=1,
        is_paused_upon_creation=False,
        tags=["sqlsentinel", _alert.severity],
        default_args={
            "owner": _alert.owner,
            "retries": 2,
            "retry_delay": timedelta(minutes=1),
            "execution_timeout": timedelta(minutes=7),
        },
        params={"dry_run": Param(False, type="boolean", description="dry run")},
        doc_md=f"### {_item['name']}\n\n{_item.get('description', '')}\n\n```sql\n{_item['query']}\n```\n",
    )
    SentinelAlertOperator(task_id="evaluate", alert=_alert, dag=_dag)
    globals()[_dag_id] = _dag
