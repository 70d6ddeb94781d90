"""``sqlsentinel test --conn``: rule tests on a real PostgreSQL / MariaDB, in a temporary schema
that is gone afterwards - after a passing run, and after a run whose fixtures fail to load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from sqlsentinel_airflow.cli.main import main
from sqlsentinel_airflow.errors import SentinelError
from sqlsentinel_airflow.ruletest.loader import load_tests
from sqlsentinel_airflow.ruletest.runner import run_tests
from sqlsentinel_airflow.ruletest.tempschema import connection_engine

ALERTS = """\
alerts:
  - name: late_orders
    schedule: "*/5 * * * *"
    conn_id: wh
    key_columns: [region]
    query: |
      WITH late AS (
          SELECT region, COUNT(*) AS n FROM orders
          WHERE created_at < {clock} - INTERVAL {hour} AND status = 'open'
          GROUP BY region
      )
      SELECT r.region, CASE WHEN COALESCE(late.n, 0) > 1 THEN 'ALERT' ELSE 'OK' END AS status,
             COALESCE(late.n, 0) AS actual_value, 1 AS threshold
      FROM regions AS r LEFT JOIN late ON late.region = r.region
"""

TESTS = """\
alerts: alerts.yaml
fixtures:
  regions:
    columns: {region: VARCHAR(10)}
    rows: [[eu], [us]]
  orders:
    columns: {id: INTEGER, region: VARCHAR(10), created_at: TIMESTAMP, status: VARCHAR(10)}
    rows:
      - [1, eu, "2026-03-01 08:00:00", open]
      - [2, eu, "2026-03-01 08:30:00", open]
      - [3, us, "2026-03-01 08:30:00", open]
      - [4, us, "2026-03-01 09:50:00", open]
tests:
  - name: two late orders in eu fire, us is fine
    alert: late_orders
    steps:
      - at: 2026-03-01T10:00:00Z
        expect:
          instances:
            region=eu: {state: firing, value: 2, events: [firing]}
            region=us: {state: ok, value: 1}
      - at: 2026-03-01T11:00:00Z
        expect:
          instances:
            region=eu: {state: firing, events: []}
            region=us: {state: firing, value: 2, events: [firing]}
"""


def _files(tmp_path: Path, clock: str, hour: str, *, tests: str = TESTS) -> Path:
    (tmp_path / "alerts.yaml").write_text(ALERTS.format(clock=clock, hour=hour))
    (tmp_path / "alerts.test.yaml").write_text(tests)
    return tmp_path / "alerts.test.yaml"


def _pg_schemas(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'sst_test_%'"
                )
            )
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def _pg_conn(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    parsed = sa.engine.make_url(url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "login": parsed.username,
                "schema": parsed.database,
            }
        ),
    )


def test_postgres_run_passes_through_the_cli_and_leaves_no_schema(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _pg_conn(monkeypatch, pg_url)
    test_file = _files(tmp_path, "now()", "'1 hour'")
    code = main(["test", str(test_file), "--conn", "wh", "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    report = json.loads(captured.out)
    (test,) = report["tests"]
    assert test["status"] == "passed" and test["engine"] == "conn:wh"
    assert _pg_schemas(pg_url) == set()


def test_postgres_schema_is_dropped_when_loading_fails(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pg_conn(monkeypatch, pg_url)
    broken = TESTS.replace('[4, us, "2026-03-01 09:50:00", open]', '[4, us, "not a time", open]')
    loaded, errors = load_tests(
        str(_files(tmp_path, "now()", "'1 hour'", tests=broken)), dialect="postgres"
    )
    assert loaded is not None, errors
    factory, dialect = connection_engine("wh")
    assert dialect == "postgres"
    engine = factory()
    try:
        assert _pg_schemas(pg_url) == {engine.schema}  # it exists while the engine is open
        (result,) = run_tests(loaded, engine, engine_name="conn:wh")
    finally:
        engine.close()
    assert result.status == "error"
    assert "loading the fixtures failed" in (result.error or "")
    assert _pg_schemas(pg_url) == set()


def test_mariadb_run_passes_and_its_database_is_dropped(
    tmp_path: Path, mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH",
        json.dumps(
            {
                "conn_type": "mysql",
                "host": "127.0.0.1",
                "port": 3306,
                "login": "root",
                "schema": sa.engine.make_url(mysql_url).database,
            }
        ),
    )
    loaded, errors = load_tests(str(_files(tmp_path, "NOW()", "1 HOUR")), dialect="mysql")
    assert loaded is not None, errors
    factory, _dialect = connection_engine("wh")
    engine = factory()
    admin = sa.create_engine(mysql_url)
    try:
        (result,) = run_tests(loaded, engine, engine_name="conn:wh")
    finally:
        engine.close()
    try:
        with admin.connect() as conn:
            left = conn.execute(sa.text("SHOW DATABASES LIKE :name"), {"name": engine.schema}).all()
    finally:
        admin.dispose()
    assert result.status == "passed", result
    assert left == []


def test_a_connection_of_another_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_LITE", json.dumps({"conn_type": "sqlite", "host": "/tmp/x.db"})
    )
    with pytest.raises(
        SentinelError, match="--conn lite: rule tests run on PostgreSQL or MySQL/MariaDB"
    ):
        connection_engine("lite")


def test_qualifying_tables_leaves_ctes_and_schemas_alone() -> None:
    from sqlsentinel_airflow.ruletest.tempschema import qualify_tables

    sql = "WITH x AS (SELECT * FROM a) SELECT * FROM x JOIN other.b ON TRUE JOIN c ON TRUE"
    assert qualify_tables(sql, "postgres", "s") == (
        'WITH x AS (SELECT * FROM "s".a) SELECT * FROM x JOIN other.b ON TRUE JOIN "s".c ON TRUE'
    )
