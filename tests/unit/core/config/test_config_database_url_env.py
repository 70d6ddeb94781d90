"""``DATABASE_URL``: the last fallback for an alert's query database (docs/migrating.md).

Standalone SQL Sentinel's daemon read the query database from ``DATABASE_URL`` when a file has
no ``database:``. Here it comes last: alert ``conn_id`` > ``defaults.conn_id`` > the file's
``database.url`` > ``DATABASE_URL``. Only the variable's name is kept on the alert; its value
(a URL that may hold a password) is read when the query runs and never shown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.redact import public_dump
from sqlsentinel_airflow.errors import QueryError

SECRET = "envPw-Fallb4ck-Q7"
PG_URL = f"postgresql://analyst:{SECRET}@warehouse.example.com:5432/analytics"

NO_DATABASE = """\
alerts:
  - name: Low Daily Revenue
    query: SELECT 'OK' AS status
    schedule: "0 9 * * *"
"""


class _Env(Mapping[str, str]):
    """An environment that remembers which variables were looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.read: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.read.append(key)
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def _alerts(text: str, env: Mapping[str, str]) -> dict[str, AlertConfig]:
    result = load_config_text(text, "alerts.yaml", env=env)
    assert result.errors == [], [e.format() for e in result.errors]
    assert result.config is not None
    return {a.name: a for a in result.config.alerts}


def test_alert_without_connection_or_database_runs_on_database_url() -> None:
    (alert,) = _alerts(NO_DATABASE, {"DATABASE_URL": PG_URL}).values()

    assert (alert.conn_id, alert.database_url, alert.database_url_env) == (
        None,
        None,
        "DATABASE_URL",
    )
    assert alert.dialect == "postgres"  # the SQL was checked in the URL's dialect
    assert alert.query_target == "DATABASE_URL"
    # read when the query runs, from the environment of that moment
    assert alert.query_database_url({"DATABASE_URL": f"  {PG_URL}\n"}) == PG_URL
    assert alert.query_database_url({"DATABASE_URL": "sqlite:///other.db"}) == "sqlite:///other.db"


def test_the_url_itself_is_stored_nowhere_on_the_alert() -> None:
    (alert,) = _alerts(NO_DATABASE, {"DATABASE_URL": PG_URL}).values()

    assert SECRET not in alert.model_dump_json()  # what the DAG manifest stores
    assert SECRET not in repr(alert)
    assert SECRET not in str(public_dump(alert))


def test_precedence_alert_conn_id_then_defaults_then_database_url_then_env() -> None:
    env = {"DATABASE_URL": PG_URL}
    text = """\
defaults:
  conn_id: from_defaults
alerts:
  - {name: own, conn_id: own_conn, query: SELECT 'OK' AS status, schedule: "@daily"}
  - {name: inherited, query: SELECT 'OK' AS status, schedule: "@daily"}
"""
    alerts = _alerts(text, env)
    assert [(a.conn_id, a.database_url, a.database_url_env) for a in alerts.values()] == [
        ("own_conn", None, None),
        ("from_defaults", None, None),
    ]

    with_file_url = "database:\n  url: sqlite:///file.db\n" + NO_DATABASE
    (alert,) = _alerts(with_file_url, env).values()
    assert (alert.database_url, alert.database_url_env) == ("sqlite:///file.db", None)
    assert alert.query_target == "database.url"
    assert alert.query_database_url(env) == "sqlite:///file.db"  # the file wins

    with_conn = NO_DATABASE.replace("    schedule:", "    conn_id: wh\n    schedule:")
    (alert,) = _alerts(with_conn, env).values()
    assert (alert.conn_id, alert.database_url_env, alert.query_database_url(env)) == (
        "wh",
        None,
        None,
    )


def test_database_url_is_read_only_when_an_alert_needs_it() -> None:
    """So a file whose alerts all name a connection does not depend on the variable (the
    DAG manifest re-parses when a variable the loader read changes)."""
    env = _Env({"DATABASE_URL": PG_URL})
    with_conn = NO_DATABASE.replace("    schedule:", "    conn_id: wh\n    schedule:")

    _alerts(with_conn, env)
    assert "DATABASE_URL" not in env.read
    _alerts("database:\n  url: sqlite:///file.db\n" + NO_DATABASE, env)
    assert "DATABASE_URL" not in env.read

    _alerts(NO_DATABASE + NO_DATABASE.replace("alerts:\n", "").replace("Low", "High"), env)
    assert env.read == ["DATABASE_URL"]  # once per file, not per alert


@pytest.mark.parametrize("value", ["", "   "])
def test_unset_or_blank_database_url_names_every_fallback(value: str) -> None:
    env = {"DATABASE_URL": value} if value else {}
    result = load_config_text(NO_DATABASE, "alerts.yaml", env=env)

    assert [e.format() for e in result.errors] == [
        "alerts.yaml:2:5 alerts[0].conn_id: no connection for this alert's query (set `conn_id` "
        "here or in `defaults`, a top-level `database: {url: ...}`, or the DATABASE_URL "
        "environment variable)"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            f"postgresql//analyst:{SECRET}@warehouse/analytics",
            "alerts.yaml:{line}:5 alerts[{i}].conn_id: DATABASE_URL is not a SQLAlchemy URL; "
            "this alert's query runs there (it has no `conn_id`, the file no `database:`) "
            "(set DATABASE_URL to e.g. postgresql://user@host/db, or set conn_id on the alerts)",
        ),
        (
            f"bigquery://analyst:{SECRET}@project/dataset",
            "alerts.yaml:{line}:5 alerts[{i}].conn_id: DATABASE_URL uses 'bigquery', which "
            "cannot run from a URL (supported: postgresql://, mysql:// (or mariadb://) and "
            "sqlite:///); this alert's query runs there (it has no `conn_id`, the file no "
            "`database:`) (create an Airflow connection for it and set conn_id on the alerts)",
        ),
    ],
)
def test_malformed_database_url_is_located_at_each_alert_using_it_and_never_echoed(
    value: str, expected: str
) -> None:
    text = (
        NO_DATABASE
        + """\
  - name: on_a_connection
    conn_id: wh
    query: SELECT 'OK' AS status
    schedule: "0 9 * * *"
  - name: also_without
    query: SELECT 'OK' AS status
    schedule: "0 9 * * *"
"""
    )
    result = load_config_text(text, "alerts.yaml", env={"DATABASE_URL": value})

    messages = [e.format() for e in result.errors]
    assert messages == [expected.format(line=2, i=0), expected.format(line=9, i=2)]
    assert all(SECRET not in m for m in messages)
    assert [e.alert for e in result.errors] == ["Low Daily Revenue", "also_without"]
    assert result.config is not None  # alert errors: the alert on a connection still loads
    assert [a.name for a in result.config.alerts] == ["on_a_connection"]


def test_a_broken_database_section_is_not_replaced_by_database_url() -> None:
    text = "database:\n  url: not a url\n" + NO_DATABASE
    result = load_config_text(text, "alerts.yaml", env={"DATABASE_URL": PG_URL})

    assert result.config is None
    assert [e.format() for e in result.errors] == [
        "alerts.yaml:2:8 database.url: database.url is not a SQLAlchemy URL "
        "(e.g. postgresql://user@host/db or ${DATABASE_URL})"
    ]


def test_database_url_gone_when_the_query_runs_is_a_query_error_naming_the_variable() -> None:
    (alert,) = _alerts(NO_DATABASE, {"DATABASE_URL": PG_URL}).values()

    with pytest.raises(
        QueryError, match=r"^environment variable DATABASE_URL is not set in this process; "
    ) as gone:
        alert.query_database_url({})
    assert "set conn_id" in str(gone.value)
