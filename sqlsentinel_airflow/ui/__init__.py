"""The Airflow UI plugin: a dashboard of every alert, a tab per alert DAG, silences (ADR 5).

Served by Airflow's own api-server as a FastAPI sub-application (``fastapi_apps``) under
``/sqlsentinel``, and shown inside Airflow's UI through ``external_views`` (iframes on the
same origin, so Airflow's login cookie authenticates them). Decisions: docs/adr/0005-ui-plugin.md.

Modules, one concept each:

- ``definitions``  what the UI may show about an alert (no secrets): the definition the DAG
                   factory embeds in the DAG, and what the manifests add
- ``catalog``      which alerts exist: the alert DAGs in Airflow's metadata database
- ``stores``       the state databases the alerts write to, opened once per process
- ``auth``         Airflow's auth manager as FastAPI dependencies (per-DAG read / edit)
- ``api``          the JSON API: ``readmodel`` views, the same objects the CLI prints
- ``slack_interactions``  Slack's button clicks (Acknowledge, Snooze 1h), verified by Slack's
                   request signature, not by Airflow's login
- ``backtest``     the Backtest panel's replay: the alert as its DAG runs it, bounded ranges
- ``app``          the FastAPI app: JSON API under ``/api``, the pages and their static files

Importing this package imports neither FastAPI nor Airflow: the plugin class builds the app
only when the api-server asks for it.
"""

from __future__ import annotations

from sqlsentinel_airflow.airflow_contract import UI_URL_PREFIX as URL_PREFIX

__all__ = ["API_PREFIX", "URL_PREFIX"]

API_PREFIX = "/api"
