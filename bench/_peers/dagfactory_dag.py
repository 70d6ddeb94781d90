# airflow DAG file: dag-factory building the benchmark's DAGs from dagfactory.yml.
"""dag-factory peer for bench/parse.py (telemetry off via AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY)."""

import os

from dagfactory import load_yaml_dags

load_yaml_dags(
    globals_dict=globals(),
    config_filepath=os.path.join(os.path.dirname(os.path.abspath(__file__)), "dagfactory.yml"),
)
