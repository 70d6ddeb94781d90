"""Suite-wide set-up: a private AIRFLOW_HOME, and real databases on loopback.

PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306) are required: a test that needs
one and cannot reach it fails, it does not skip (CI machines start them before the run).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Before anything imports airflow: never touch ~/airflow, never load Airflow's examples.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="sqlsentinel-test-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
# The CLI keeps SQL verdicts between runs in a cache directory: never the user's ~/.cache.
os.environ["SQLSENTINEL_CACHE_DIR"] = os.path.join(_AIRFLOW_HOME, "cli-cache")
# The shared test servers are reached as superuser (postgres, root), which alert queries
# refuse by default. Suites about other things opt every connection in; the least-privilege
# tests (tests/integration/execution/test_execution_privileges.py, tests/hardening/readonly/)
# clear this and use read-only logins.
os.environ["AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS"] = "*"

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

PG_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
MYSQL_ADMIN_URL = os.environ.get(
    "SQLSENTINEL_TEST_MYSQL_URL", "mysql+mysqldb://root@127.0.0.1:3306/test"
)


def _url_with_db(admin_url: str, db: str) -> str:
    return sa.engine.make_url(admin_url).set(database=db).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    return Path(_AIRFLOW_HOME)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test; dropped afterwards."""
    name = f"sst_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required and unreachable: {exc}")
    try:
        yield _url_with_db(PG_ADMIN_URL, name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh, empty MariaDB database for this test; dropped afterwards."""
    name = f"sst_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(MYSQL_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE `{name}`"))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment failure
        pytest.fail(f"MariaDB on 127.0.0.1:3306 is required and unreachable: {exc}")
    try:
        yield _url_with_db(MYSQL_ADMIN_URL, name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture
def pg_reader_url(pg_url: str) -> Iterator[str]:
    """``pg_url`` with a read-only login: SELECT on every table of ``public``, also on those
    the admin creates later (how docs/security.md sets up an alert connection)."""
    role = f"sst_reader_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    database = sa.engine.make_url(pg_url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-pw'"))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(
            sa.text(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}")
        )
    try:
        url = sa.engine.make_url(pg_url).set(username=role, password="reader-pw")
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.fixture
def mysql_reader_url(mysql_url: str) -> Iterator[str]:
    """``mysql_url`` with a login that has SELECT on its database only."""
    user = f"sst_reader_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT")
    database = sa.engine.make_url(mysql_url).database
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'reader-pw'"))
        conn.execute(sa.text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'"))
    try:
        url = sa.engine.make_url(mysql_url).set(username=user, password="reader-pw")
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite, PostgreSQL and MariaDB."""
    fixture = {"sqlite": "sqlite_url", "postgres": "pg_url", "mysql": "mysql_url"}[request.param]
    return str(request.getfixturevalue(fixture))
