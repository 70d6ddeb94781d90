"""Helpers of the e2e stage: running deployments, database URLs, measured figures.

A module of its own (not conftest.py) so test modules can import it by a unique name.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from e2e_deployment import AirflowDeployment
from e2e_receivers import MailReceiver

PG_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DAG_FILE = ROOT / "dags" / "sqlsentinel_alerts.py"
FIGURES: list[tuple[str, str]] = []
STAGE_STARTED = time.monotonic()


def record_figure(name: str, value: str) -> None:
    """A measured figure, printed in the terminal summary."""
    FIGURES.append((name, value))
    print(f"[e2e] {name}: {value}")


def pg_url(database: str) -> str:
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=database)
    return url.render_as_string(hide_password=False)


def airflow_conn_uri(database: str) -> str:
    """``AIRFLOW_CONN_*`` URI form of a PostgreSQL database on 127.0.0.1:5432."""
    url = sa.engine.make_url(PG_ADMIN_URL)
    auth = url.username or "postgres"
    if url.password:
        auth += f":{url.password}"
    return f"postgres://{auth}@{url.host or '127.0.0.1'}:{url.port or 5432}/{database}"


READER_PREFIX = "sse2e_reader_"


def reader_conn_uri(database: str) -> str:
    """``AIRFLOW_CONN_*`` URI of a read-only login on ``database`` (SELECT on its tables,
    also on those created later), made as docs/security.md shows: alert queries refuse a
    superuser. The ``databases`` fixture drops these roles with the databases."""
    role = READER_PREFIX + database.removeprefix("sse2e_")
    admin = sa.create_engine(pg_url(database), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'"))
            conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
            conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            conn.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
            conn.execute(
                sa.text(
                    f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}"
                )
            )
    finally:
        admin.dispose()
    url = sa.engine.make_url(PG_ADMIN_URL)
    return f"postgres://{role}:reader-pw@{url.host or '127.0.0.1'}:{url.port or 5432}/{database}"


@contextmanager
def launched(
    root: Path,
    *,
    label: str,
    metadata_db: str,
    alerts_yaml: str,
    env: Mapping[str, str],
    executor: str = "LocalExecutor",
    celery_workers: int = 0,
    celery_queue: str = "default",
    extra_dags: Mapping[str, str] | None = None,
) -> Iterator[AirflowDeployment]:
    """A running deployment; stopped (SIGINT, then SIGKILL, by PID) on exit. ``extra_dags``:
    more DAG files (name -> source) in its dags folder from the start."""
    deployment = AirflowDeployment(
        root,
        metadata_url=pg_url(metadata_db),
        executor=executor,
        extra_env=env,
        package_dag_file=PACKAGE_DAG_FILE,
    )
    deployment.env.update(api_conn_env(deployment.port, deployment.password))
    (deployment.dags / "alerts.yaml").write_text(alerts_yaml, encoding="utf-8")
    for name, source in (extra_dags or {}).items():
        (deployment.dags / name).write_text(source, encoding="utf-8")
    try:
        record_figure(f"{label}: airflow db migrate", f"{deployment.migrate():.1f}s")
        deployment.start_core()
        for index in range(celery_workers):
            deployment.start_celery_worker(f"worker{index + 1}", queue=celery_queue)
        record_figure(f"{label}: time to healthy", f"{deployment.wait_healthy():.1f}s")
        yield deployment
    except BaseException:
        print(deployment.log_tails())
        raise
    finally:
        deployment.stop()


def smtp_env(mail: MailReceiver) -> dict[str, str]:
    return {"AIRFLOW_CONN_SMTP_DEFAULT": mail.conn_json()}


def api_conn_env(deployment_port: int, password: str) -> dict[str, str]:
    """The documented ``sqlsentinel_airflow_api`` http connection for the config watch."""
    return {
        "AIRFLOW_CONN_SQLSENTINEL_AIRFLOW_API": json.dumps(
            {
                "conn_type": "http",
                "host": "127.0.0.1",
                "port": deployment_port,
                "schema": "http",
                "login": "admin",
                "password": password,
            }
        )
    }
