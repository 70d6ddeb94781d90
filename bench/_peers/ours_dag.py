# airflow DAG file: SQL Sentinel alerts (the words "airflow" and "dag" keep safe mode happy)
from sqlsentinel_airflow import load_alert_dags

load_alert_dags("alerts.yaml", globals())
