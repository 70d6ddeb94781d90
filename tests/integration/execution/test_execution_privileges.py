"""Least privilege, checked on the real servers: privileged logins are refused before the
alert statement runs, read-only logins run, and the operator's opt-in is honoured.

Every login here is created for the test and dropped afterwards. "Nothing ran" is judged by
a fact: the refused statement would reset the database's statistics (PostgreSQL) or take a
user lock (MariaDB), and those are checked from an admin session afterwards.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.errors import QueryError
from sqlsentinel_airflow.execution import QueryRunner, resolve_db_hook
from sqlsentinel_airflow.execution.privileges import forget_checked_logins, mysql_grant_findings

OPT_IN = "AIRFLOW__SQLSENTINEL__ALLOW_PRIVILEGED_CONN_IDS"


@pytest.fixture(autouse=True)
def no_opt_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(OPT_IN, raising=False)  # tests/conftest.py opts every conn in
    forget_checked_logins()
    yield
    forget_checked_logins()


def run(conn_id: str, sql: str, **kwargs: object) -> list[tuple[object, ...]]:
    runner = QueryRunner(
        resolve_db_hook(conn_id), timeout=timedelta(seconds=10), max_rows=5, **kwargs
    )  # type: ignore[arg-type]
    return runner.run(sql).rows


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def pg(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[sa.Engine, str, str]]:
    """(admin engine on a fresh database, its name, a prefix for roles made by the test)."""
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    prefix = f"sst_priv_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE metrics (v int)"))
        conn.execute(sa.text("INSERT INTO metrics VALUES (1)"))
    database = sa.engine.make_url(pg_url).database or ""
    yield engine, database, prefix
    with engine.connect() as conn:
        roles = conn.scalars(
            sa.text("SELECT rolname FROM pg_roles WHERE rolname LIKE :p"), {"p": prefix + "%"}
        ).all()
        for role in roles:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
    engine.dispose()


def pg_login(
    monkeypatch: pytest.MonkeyPatch, engine: sa.Engine, database: str, role: str, *grants: str
) -> str:
    """A LOGIN role with SELECT on ``metrics`` plus ``grants``; its conn_id."""
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(sa.text(f'GRANT SELECT ON metrics TO "{role}"'))
        for grant in grants:
            conn.execute(sa.text(grant.format(role=f'"{role}"')))
    conn_id = role
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps(
            {"conn_type": "postgres", "host": "127.0.0.1", "login": role, "schema": database}
        ),
    )
    return conn_id


def stats_reset(engine: sa.Engine, database: str) -> object:
    with engine.connect() as conn:
        return conn.scalar(
            sa.text("SELECT stats_reset FROM pg_stat_database WHERE datname = :d"), {"d": database}
        )


def test_postgres_read_only_login_runs(
    pg: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, database, prefix = pg
    conn_id = pg_login(monkeypatch, engine, database, f"{prefix}_ro")
    assert run(conn_id, "SELECT 'OK' AS status, sum(v) AS n FROM metrics") == [("OK", 1)]


def test_postgres_superuser_is_refused_before_anything_runs(
    pg: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch, pg_conn_id: str
) -> None:
    engine, database, _ = pg
    before = stats_reset(engine, database)
    with pytest.raises(QueryError) as raised:
        run(pg_conn_id, "SELECT pg_stat_reset() AS status", check_sql=False)
    message = str(raised.value)
    assert message.startswith(
        "connection 'sst_pg' logs in as 'postgres', a privileged login (superuser); "
        "SQL Sentinel refuses to run alert queries with it."
    )
    assert "add 'sst_pg' to [sqlsentinel] allow_privileged_conn_ids" in message
    assert stats_reset(engine, database) == before


@pytest.mark.parametrize(
    ("grant", "finding"),
    [
        ("GRANT INSERT ON metrics TO {role}", "may write public.metrics"),
        ("GRANT TRUNCATE ON metrics TO {role}", "may write public.metrics"),
        ("GRANT pg_read_server_files TO {role}", "member of pg_read_server_files"),
        ("GRANT pg_signal_backend TO {role}", "member of pg_signal_backend"),
        ("GRANT EXECUTE ON FUNCTION pg_stat_reset() TO {role}", "may execute pg_stat_reset()"),
        ("ALTER ROLE {role} REPLICATION", "REPLICATION attribute"),
        ("GRANT UPDATE (v) ON metrics TO {role}", "may write public.metrics"),
        ("GRANT pg_write_all_data TO {role}", "member of pg_write_all_data"),
        ("CREATE SEQUENCE s; GRANT UPDATE ON SEQUENCE s TO {role}", "may change the sequences"),
        # NOINHERIT: no inherited rights, but set_config('role', ...) switches to the role
        ("ALTER ROLE {role} NOINHERIT; GRANT pg_signal_backend TO {role}", "pg_signal_backend"),
    ],
)
def test_postgres_privileged_grants_are_named(
    pg: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch, grant: str, finding: str
) -> None:
    engine, database, prefix = pg
    conn_id = pg_login(monkeypatch, engine, database, f"{prefix}_x", grant)
    with pytest.raises(QueryError, match="a privileged login") as raised:
        run(conn_id, "SELECT 'OK' AS status")
    assert finding in str(raised.value)


def test_postgres_membership_in_a_superuser_role_is_found(
    pg: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, database, prefix = pg
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{prefix}_admins" SUPERUSER NOLOGIN'))
    conn_id = pg_login(
        monkeypatch,
        engine,
        database,
        f"{prefix}_y",
        "ALTER ROLE {role} NOINHERIT",
        f'GRANT "{prefix}_admins" TO {{role}}',
    )
    with pytest.raises(QueryError, match=rf"member of {prefix}_admins"):
        run(conn_id, "SELECT 'OK' AS status")


def test_postgres_opt_in_by_glob_runs_and_warns(
    pg: tuple[sa.Engine, str, str],
    monkeypatch: pytest.MonkeyPatch,
    pg_conn_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(OPT_IN, "other_conn, sst_p*")
    with caplog.at_level(logging.WARNING):
        assert run(pg_conn_id, "SELECT 'OK' AS status") == [("OK",)]
    assert any(
        "running anyway because it is listed in [sqlsentinel] allow_privileged_conn_ids"
        in r.getMessage()
        for r in caplog.records
    )
    monkeypatch.setenv(OPT_IN, "other_conn")
    with pytest.raises(QueryError, match="privileged login"):
        run(pg_conn_id, "SELECT 'OK' AS status")


# --- MariaDB ----------------------------------------------------------------------------------


@pytest.fixture
def maria(mysql_url: str) -> Iterator[tuple[sa.Engine, str, str]]:
    engine = sa.create_engine(mysql_url, isolation_level="AUTOCOMMIT")
    prefix = f"sst_priv_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE metrics (v INT)"))
        conn.execute(sa.text("INSERT INTO metrics VALUES (1)"))
    database = sa.engine.make_url(mysql_url).database or ""
    yield engine, database, prefix
    with engine.connect() as conn:
        users = conn.execute(
            sa.text("SELECT user, host FROM mysql.user WHERE user LIKE :p"), {"p": prefix + "%"}
        ).all()
        for user, host in users:
            if host:
                conn.execute(sa.text(f"DROP USER IF EXISTS '{user}'@'{host}'"))
            else:
                conn.execute(sa.text(f"DROP ROLE IF EXISTS '{user}'"))
    engine.dispose()


def maria_login(
    monkeypatch: pytest.MonkeyPatch, engine: sa.Engine, database: str, user: str, *grants: str
) -> str:
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw-{user}'"))
        conn.execute(sa.text(f"GRANT SELECT ON `{database}`.* TO '{user}'@'%'"))
        for grant in grants:
            conn.execute(sa.text(grant.format(user=f"'{user}'@'%'", db=f"`{database}`")))
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{user.upper()}",
        json.dumps(
            {
                "conn_type": "mysql",
                "host": "127.0.0.1",
                "login": user,
                "password": f"pw-{user}",
                "schema": database,
            }
        ),
    )
    return user


def test_mariadb_select_only_login_runs(
    maria: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, database, prefix = maria
    conn_id = maria_login(monkeypatch, engine, database, f"{prefix}_ro")
    assert run(conn_id, "SELECT 'OK' AS status, SUM(v) AS n FROM metrics") == [("OK", 1)]


def test_mariadb_root_is_refused_before_anything_runs(
    maria: tuple[sa.Engine, str, str], mysql_conn_id: str
) -> None:
    engine, _, prefix = maria
    lock = f"{prefix}_lock"
    with pytest.raises(QueryError) as raised:
        # would hold a user lock until the connection closes, if it ran
        run(mysql_conn_id, f"SELECT GET_LOCK('{lock}', 0) AS status, SLEEP(1)", check_sql=False)
    assert "logs in as 'root@" in str(raised.value)
    assert "ALL PRIVILEGES ON *.*" in str(raised.value)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT IS_USED_LOCK(:n)"), {"n": lock}) is None


@pytest.mark.parametrize(
    ("grant", "finding"),
    [
        ("GRANT INSERT ON {db}.* TO {user}", "INSERT ON `"),
        ("GRANT UPDATE ON {db}.metrics TO {user}", "UPDATE ON `"),
        ("GRANT FILE ON *.* TO {user}", "FILE ON *.*"),
        ("GRANT SUPER ON *.* TO {user}", "SUPER ON *.*"),
        ("GRANT BINLOG ADMIN ON *.* TO {user}", "BINLOG ADMIN ON *.*"),
        ("GRANT SELECT ON {db}.* TO {user} WITH GRANT OPTION", "GRANT OPTION ON `"),
        ("GRANT PROCESS ON *.* TO {user}", "PROCESS ON *.*"),
    ],
)
def test_mariadb_privileged_grants_are_named(
    maria: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch, grant: str, finding: str
) -> None:
    engine, database, prefix = maria
    conn_id = maria_login(monkeypatch, engine, database, f"{prefix}_x", grant)
    with pytest.raises(QueryError, match="a privileged login") as raised:
        run(conn_id, "SELECT 'OK' AS status")
    assert finding in str(raised.value)


def test_mariadb_privileges_through_a_default_role_are_found(
    maria: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, database, prefix = maria
    role = f"{prefix}_role"
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE '{role}'"))
        conn.execute(sa.text(f"GRANT DELETE ON `{database}`.* TO '{role}'"))
    conn_id = maria_login(
        monkeypatch,
        engine,
        database,
        f"{prefix}_r",
        f"GRANT '{role}' TO {{user}}",
        f"SET DEFAULT ROLE '{role}' FOR {{user}}",
    )
    with pytest.raises(QueryError, match=rf"DELETE ON `{database}`\.\* \(through role {role}\)"):
        run(conn_id, "SELECT 'OK' AS status")


def test_mariadb_a_role_whose_grants_cannot_be_read_counts_as_privileged(
    maria: tuple[sa.Engine, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Granted but not the default role: the login may not run SHOW GRANTS FOR it.
    engine, database, prefix = maria
    role = f"{prefix}_hidden"
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE '{role}'"))
        conn.execute(sa.text(f"GRANT FILE ON *.* TO '{role}'"))
    conn_id = maria_login(
        monkeypatch, engine, database, f"{prefix}_h", f"GRANT '{role}' TO {{user}}"
    )
    with pytest.raises(QueryError, match=rf"role {role}, whose privileges it may not read"):
        run(conn_id, "SELECT 'OK' AS status")


def test_grant_lines_are_read_like_the_server_writes_them() -> None:
    findings, roles = mysql_grant_findings(
        [
            "GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB'",
            "GRANT SELECT, SELECT (a, b), SHOW VIEW ON `db`.* TO `u`@`%`",
            "GRANT `reader`,`writer` TO `u`@`%`",
            "GRANT SELECT, INSERT (a) ON `db`.`t` TO `u`@`%`",
            "GRANT CONNECTION ADMIN, SYSTEM_VARIABLES_ADMIN ON *.* TO `u`@`%`",
        ]
    )
    assert findings == [
        "INSERT ON `db`.`t`",
        "CONNECTION ADMIN ON *.*",
        "SYSTEM_VARIABLES_ADMIN ON *.*",
    ]
    assert roles == ["reader", "writer"]
