"""The Airflow UI plugin: a dashboard of every alert, a tab per alert DAG, silences (ADR 5).

Served by Airflow's own api-server as a FastAPI sub-application (``fastapi_apps``) under
``/sqlsentinel``, and shown inside Airflow's UI through ``external_views`` (iframes on the
same origin, so Airflow's login cookie authenticates them). Decisions: docs/adr/0005-ui-plugin.md.

Modules, one concept each:

- ``definitions``  what the UI may show about an alert (no secrets), from the manifests the
                   DAG factory writes or, failing that, from the DAG's documentation
- ``catalog``      which alerts exist: the alert DAGs in Airflow's metadata database
- ``stores``       the state databases the alerts write to, opened once per process
- ``overview``     the JSON the pages read: state per instance, sparklines, history, silences
- ``auth``         Airflow's auth manager as FastAPI dependencies (per-DAG read / edit)
- ``app``          the FastAPI app: JSON API under ``/api``, the pages and their static files

Importing this package imports neither FastAPI nor Airflow: the plugin class builds the app
only when the api-server asks for it.
"""

from __future__ import annotations

from sqlsentinel_airflow.airflow_contract import UI_URL_PREFIX as URL_PREFIX

__all__ = ["API_PREFIX", "URL_PREFIX"]

API_PREFIX = "/api"
