"""Which state database is used: the order of docs/operations.md (no database needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import ResolvedStateDb, resolve_state_db_url

CONNS = {
    "yaml_conn": "postgresql+psycopg2://yaml:pw1@db1/state",
    "cfg_conn": "mysql+mysqldb://cfg:pw2@db2/state",
}
ENV_URL = "postgresql+psycopg2://env:pw3@db3/state"


def _resolve(
    *,
    state_db: StateDbConfig | None = None,
    conn_id: str | None = None,
    env: dict[str, str] | None = None,
    airflow_home: str | None = None,
    with_airflow: bool = True,
) -> ResolvedStateDb:
    return resolve_state_db_url(
        state_db=state_db,
        conn_url_of=CONNS.__getitem__ if with_airflow else None,
        airflow_state_db_conn_id=conn_id,
        env=env if env is not None else {},
        airflow_home=airflow_home,
    )


def test_each_source_wins_over_the_ones_after_it(tmp_path: Path) -> None:
    env = {"SQLSENTINEL_STATE_DB_URL": ENV_URL, "AIRFLOW_HOME": str(tmp_path)}
    yaml_conn = StateDbConfig(conn_id="yaml_conn")
    yaml_url = StateDbConfig(url="sqlite:////data/yaml.db")

    assert _resolve(state_db=yaml_conn, conn_id="cfg_conn", env=env) == ResolvedStateDb(
        CONNS["yaml_conn"], "alerts.yaml state_db.conn_id 'yaml_conn'"
    )
    assert _resolve(state_db=yaml_url, conn_id="cfg_conn", env=env) == ResolvedStateDb(
        "sqlite:////data/yaml.db", "alerts.yaml state_db.url"
    )
    assert _resolve(state_db=StateDbConfig(), conn_id="cfg_conn", env=env) == ResolvedStateDb(
        CONNS["cfg_conn"], "Airflow config [sqlsentinel] state_db_conn_id 'cfg_conn'"
    )
    assert _resolve(conn_id=None, env=env) == ResolvedStateDb(
        ENV_URL, "environment variable SQLSENTINEL_STATE_DB_URL"
    )
    default = _resolve(env={"AIRFLOW_HOME": str(tmp_path)})
    assert default == ResolvedStateDb(
        f"sqlite:///{tmp_path}/sqlsentinel/state.db", "default (SQLite under AIRFLOW_HOME)"
    )
    assert (tmp_path / "sqlsentinel").is_dir()  # created for the default database


def test_default_home_argument_then_env_then_user_airflow(tmp_path: Path) -> None:
    explicit, from_env = tmp_path / "explicit", tmp_path / "env"
    resolved = _resolve(env={"AIRFLOW_HOME": str(from_env)}, airflow_home=str(explicit))
    assert resolved.url == f"sqlite:///{explicit}/sqlsentinel/state.db"
    assert not from_env.exists()
    blank = _resolve(env={"SQLSENTINEL_STATE_DB_URL": "  ", "AIRFLOW_HOME": str(from_env)})
    assert blank.url == f"sqlite:///{from_env}/sqlsentinel/state.db"


def test_resolved_url_never_shows_its_password() -> None:
    resolved = _resolve(env={"SQLSENTINEL_STATE_DB_URL": ENV_URL})
    assert resolved.display_url == "postgresql+psycopg2://env:***@db3/state"
    assert "pw3" not in repr(resolved)


def test_connection_without_airflow_and_ambiguous_state_db_are_errors() -> None:
    with pytest.raises(
        StateStoreError,
        match=r"alerts.yaml state_db.conn_id 'yaml_conn' names an Airflow connection, but "
        r"Airflow connections cannot be read here; .*SQLSENTINEL_STATE_DB_URL",
    ):
        _resolve(state_db=StateDbConfig(conn_id="yaml_conn"), with_airflow=False)
    with pytest.raises(StateStoreError, match=r"state_db: set either conn_id .* or url, not both"):
        _resolve(state_db=StateDbConfig(conn_id="yaml_conn", url="sqlite://"))


def test_default_folder_that_cannot_be_created_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(
        StateStoreError, match=r"cannot create .* for the default SQLite state database"
    ):
        _resolve(airflow_home=str(blocker))
