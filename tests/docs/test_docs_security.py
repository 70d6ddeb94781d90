"""docs/security.md, run for real: the refusal message, the opt-in, the read-only logins.

The PostgreSQL and MySQL statements run as the page writes them (the database, role and user
names replaced by the test's own), and a login made with them must pass the privilege check,
read, and be unable to write. Snowflake and BigQuery do not exist here: their statements are
checked for granting nothing but USAGE, SELECT and the two read-only BigQuery roles. The table
of refused functions must list exactly what ``core.config.sqlfunctions`` refuses.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_site_support import docs_env
from docs_snippets import DOCS, text

from sqlsentinel_airflow.core.config import models, sqlfunctions
from sqlsentinel_airflow.core.redact import MIN_SECRET_LENGTH, secret_field_names
from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook
from sqlsentinel_airflow.execution.privileges import forget_checked_logins

PAGE = DOCS / "security.md"
OPT_IN = "AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS"


@pytest.fixture(autouse=True)
def no_opt_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(OPT_IN, raising=False)
    forget_checked_logins()
    yield
    forget_checked_logins()


def statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


def runner(conn_id: str, **kwargs: object) -> QueryRunner:
    return QueryRunner(
        resolve_db_hook(conn_id), timeout=timedelta(seconds=10), max_rows=5, **kwargs
    )  # type: ignore[arg-type]


def test_the_refusal_message_is_the_one_a_superuser_login_gets(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sa.engine.make_url(pg_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE",
        json.dumps(
            {"conn_type": "postgres", "host": url.host, "login": "postgres", "schema": url.database}
        ),
    )
    with pytest.raises(QueryError) as raised:
        runner("warehouse").run("SELECT 'OK' AS status")
    assert f"query failed: {raised.value}" == text("security-privileged-message").strip()


def test_the_opt_in_lets_the_listed_connections_run(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "airflow.cfg").write_text(text("security-opt-in"))
    url = sa.engine.make_url(pg_url)
    superuser = json.dumps(
        {"conn_type": "postgres", "host": url.host, "login": "postgres", "schema": url.database}
    )
    alerts = "alerts:\n" + "".join(
        f"  - {{name: a_{conn}, conn_id: {conn}, schedule: '@daily', query: SELECT 'OK' AS status}}\n"
        for conn in ("warehouse_admin", "legacy_etl", "other")
    )
    (tmp_path / "alerts.yaml").write_text(alerts)
    env = docs_env(
        home,
        {
            f"AIRFLOW_CONN_{c.upper()}": superuser
            for c in ("warehouse_admin", "legacy_etl", "other")
        },
    )
    proc = subprocess.run(
        ["sqlsentinel", "validate", "alerts.yaml", "--check-connections", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    checks = {c["conn_id"]: c for c in json.loads(proc.stdout)["files"][0]["connection_checks"]}
    assert checks["warehouse_admin"]["ok"] and checks["legacy_etl"]["ok"]
    assert not checks["other"]["ok"]
    assert "a privileged login (superuser)" in checks["other"]["message"]


def _postgres_reader(engine: sa.Engine, database: str, role: str) -> None:
    sql = text("security-readonly-postgres")
    sql = sql.replace("sqlsentinel_reader", role).replace(
        "DATABASE warehouse", f'DATABASE "{database}"'
    )
    with engine.connect() as conn:
        for statement in statements(sql):
            conn.execute(sa.text(statement))


def test_the_postgres_read_only_login_reads_and_cannot_write(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(pg_url)
    role = f"sst_doc_reader_{uuid.uuid4().hex[:8]}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE orders (id int, amount numeric)"))
            conn.execute(sa.text("INSERT INTO orders VALUES (1, 10)"))
        _postgres_reader(engine, url.database or "", role)
        with engine.connect() as conn:  # created after the grants: the default privileges
            conn.execute(sa.text("CREATE TABLE later (id int)"))
        monkeypatch.setenv(
            "AIRFLOW_CONN_READER",
            json.dumps(
                {
                    "conn_type": "postgres",
                    "host": url.host,
                    "login": role,
                    "password": "change-me",
                    "schema": url.database,
                }
            ),
        )
        rows = (
            runner("reader")
            .run(
                "SELECT 'OK' AS status, (SELECT count(*) FROM orders) AS n, "
                "(SELECT count(*) FROM later) AS m"
            )
            .rows
        )
        assert rows == [("OK", 1, 0)]
        facts = (
            runner("reader")
            .run(
                "SELECT 'OK' AS status, has_table_privilege('orders', 'INSERT, UPDATE, DELETE') AS w,"
                " current_setting('default_transaction_read_only') AS ro"
            )
            .rows
        )
        assert facts == [("OK", False, "on")]
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM orders")) == 1
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        engine.dispose()


def test_the_mysql_read_only_login_reads_and_cannot_write(
    mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT")
    database = sa.engine.make_url(mysql_url).database or ""
    user = f"sst_doc_reader_{uuid.uuid4().hex[:8]}"
    sql = text("security-readonly-mysql")
    sql = sql.replace("sqlsentinel_reader", user).replace("warehouse.*", f"`{database}`.*")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("CREATE TABLE orders (id INT, amount DECIMAL(10, 2))"))
            conn.execute(sa.text("INSERT INTO orders VALUES (1, 10)"))
            for statement in statements(sql):
                conn.execute(sa.text(statement))
        monkeypatch.setenv(
            "AIRFLOW_CONN_READER",
            json.dumps(
                {
                    "conn_type": "mysql",
                    "host": "127.0.0.1",
                    "login": user,
                    "password": "change-me",
                    "schema": database,
                }
            ),
        )
        assert runner("reader").run("SELECT 'OK' AS status, COUNT(*) AS n FROM orders").rows == [
            ("OK", 1)
        ]
        with pytest.raises(QueryError):
            runner("reader", check_sql=False).run("DELETE FROM orders")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT COUNT(*) FROM orders")) == 1
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'%'"))
        engine.dispose()


def test_the_snowflake_role_grants_usage_and_select_only() -> None:
    found = statements(text("security-readonly-snowflake"))
    assert len(found) == 10
    for statement in found:
        grant = re.match(r"GRANT (.+?) ON ", statement)
        if grant:
            assert set(grant.group(1).split(", ")) <= {"USAGE", "SELECT"}, statement
        else:
            assert re.match(
                r"(CREATE ROLE|CREATE USER|GRANT ROLE sqlsentinel_reader TO USER|ALTER USER)",
                statement,
            ), statement
    assert any("STATEMENT_TIMEOUT_IN_SECONDS" in s for s in found)


def test_the_bigquery_account_gets_the_two_read_only_roles_only() -> None:
    body = text("security-readonly-bigquery").replace("\\\n", " ")
    commands = [shlex.split(line) for line in body.splitlines() if line.strip()]
    assert [c[:2] for c in commands] == [["gcloud", "iam"], ["gcloud", "projects"], ["bq", "query"]]
    roles = set(re.findall(r"roles/bigquery\.\w+", body))
    assert roles == {"roles/bigquery.jobUser", "roles/bigquery.dataViewer"}
    assert commands[2][-1].startswith("GRANT `roles/bigquery.dataViewer` ON SCHEMA ")


@pytest.mark.parametrize(
    ("heading", "categories"),
    [
        ("**PostgreSQL (and Redshift)**", sqlfunctions.POSTGRES),
        ("**MySQL and MariaDB**", sqlfunctions.MYSQL),
        ("**SQLite**", sqlfunctions.SQLITE),
    ],
)
def test_the_function_tables_list_exactly_what_is_refused(
    heading: str, categories: tuple[sqlfunctions.Category, ...]
) -> None:
    page = PAGE.read_text(encoding="utf-8")
    section = page[page.index(heading) :]
    table = section[section.index("| family | functions |") :].splitlines()[2:]
    rows = [line for line in table[: len(categories)] if line.startswith("| ")]
    for row, category in zip(rows, categories, strict=True):
        why, listed = (cell.strip() for cell in row.strip("|").split(" | "))
        assert why == category.why
        names = set(re.findall(r"`([a-z0-9_]+)`", listed))
        prefixes = set(re.findall(r"`([a-z0-9_]+)\*`", listed))
        assert names == set(category.names)
        assert prefixes == set(category.prefixes)


def test_the_masked_settings_table_lists_exactly_the_declared_secret_fields() -> None:
    page = PAGE.read_text(encoding="utf-8")
    section = page[page.index("## What is masked, where") :]
    section = section[: section.index("\n## ", 1)]
    listed = set(re.findall(r"\| `([A-Z]\w+)\.(\w+)` \|", section))
    declared = {
        (model.__name__, name)
        for model in vars(models).values()
        if isinstance(model, type)
        and issubclass(model, models.BaseModel)
        and model.__module__ == models.__name__
        for name in secret_field_names(model)
    }
    assert listed == declared
    assert f"shorter than {MIN_SECRET_LENGTH} characters are not masked" in section
    assert "`sqlsentinel_airflow/core/redact.py`" in section
