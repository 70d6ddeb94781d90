# airflow DAG file: the bare floor. The same number of DAGs as the alerts file, each the
# cheapest DAG Airflow can build: one EmptyOperator, no Params, no docs, no tags.
"""The bare floor for the parse benchmark (bench/parse.py): Airflow's own cost per DAG.

Same YAML (read with libyaml), same dag_ids and cron schedules, one ``EmptyOperator`` each,
nothing else. What a parse above it pays is ours (or the generator's) to explain.
"""

from __future__ import annotations

import os

import pendulum
import yaml
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

_HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(_HERE, "alerts.yaml"), encoding="utf-8") as f:
    _doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

for _raw in _doc["alerts"]:
    _dag_id = "sqlsentinel_" + _raw["name"]
    _dag = DAG(
        dag_id=_dag_id,
        schedule=_raw["schedule"],
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
    )
    EmptyOperator(task_id="evaluate", dag=_dag)
    globals()[_dag_id] = _dag
