"""Which state database is used: the order of docs/operations.md, the one reading of
``[sqlsentinel] state_db_conn_id``, the locator's cache, and the three edges agreeing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sqlsentinel_airflow.core.config.models import StateDbConfig
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.store import ResolvedStateDb, StateDbLocator, resolve_state_db_url
from sqlsentinel_airflow.store.locator import state_db_conn_id

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


# --- [sqlsentinel] state_db_conn_id, read one way ---------------------------------------------


def test_conn_id_from_env_then_airflow_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "airflow.cfg"
    cfg.write_text("[core]\nx = 1\n[sqlsentinel]\nstate_db_conn_id = from_cfg\n")
    other = tmp_path / "other.cfg"
    other.write_text("[sqlsentinel]\nstate_db_conn_id = from_airflow_config\n")
    home = {"AIRFLOW_HOME": str(tmp_path)}

    assert state_db_conn_id(home) == "from_cfg"
    assert state_db_conn_id({**home, "AIRFLOW_CONFIG": str(other)}) == "from_airflow_config"
    env = {**home, "AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID": " from_env "}
    assert state_db_conn_id(env) == "from_env"
    assert state_db_conn_id({"AIRFLOW_HOME": str(tmp_path / "none")}) is None
    cfg.write_text("[sqlsentinel]\nstate_db_conn_id =\n")
    assert state_db_conn_id(home) is None
    cfg.write_text("not an ini file [\n")
    assert state_db_conn_id(home) is None


# --- the locator: explicit URL first, the cache, opening ---------------------------------------


class Lookups:
    """An Airflow stand-in: conn_id -> URL, counting the look-ups."""

    def __init__(self) -> None:
        self.urls = dict(CONNS)
        self.calls: list[str] = []

    def __call__(self, conn_id: str) -> str:
        self.calls.append(conn_id)
        return self.urls[conn_id]


def test_explicit_url_wins_over_everything() -> None:
    env = {
        "SQLSENTINEL_STATE_DB_URL": ENV_URL,
        "AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID": "cfg_conn",
    }
    lookups = Lookups()
    locator = StateDbLocator(env=env, conn_url_of=lookups)
    explicit = locator.resolve(StateDbConfig(conn_id="yaml_conn"), explicit_url="sqlite:////x.db")

    assert explicit == ResolvedStateDb("sqlite:////x.db", "--state-db")
    assert lookups.calls == []  # nothing else was even looked at
    assert locator.resolve(StateDbConfig(conn_id="yaml_conn")).url == CONNS["yaml_conn"]
    assert locator.resolve() == ResolvedStateDb(
        CONNS["cfg_conn"], "Airflow config [sqlsentinel] state_db_conn_id 'cfg_conn'"
    )


def test_without_a_cache_every_resolve_reads_again() -> None:
    lookups = Lookups()
    env = {"AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID": "cfg_conn"}
    locator = StateDbLocator(env=env, conn_url_of=lookups)
    assert locator.url() == CONNS["cfg_conn"]
    lookups.urls["cfg_conn"] = "sqlite:////moved.db"
    assert locator.url() == "sqlite:////moved.db"
    assert lookups.calls == ["cfg_conn", "cfg_conn"]


def test_the_cache_keeps_airflow_look_ups_for_its_lifetime_only() -> None:
    now = [100.0]
    lookups = Lookups()
    env = {"AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID": "cfg_conn", "SQLSENTINEL_STATE_DB_URL": "x"}
    locator = StateDbLocator(env=env, conn_url_of=lookups, cache_seconds=60, clock=lambda: now[0])
    yaml_conn = StateDbConfig(conn_id="yaml_conn")

    assert [locator.url(), locator.url(yaml_conn), locator.url(), locator.url(yaml_conn)] == [
        CONNS["cfg_conn"],
        CONNS["yaml_conn"],
        CONNS["cfg_conn"],
        CONNS["yaml_conn"],
    ]
    assert lookups.calls == ["cfg_conn", "yaml_conn"]  # once per connection
    lookups.urls["cfg_conn"] = "sqlite:////moved.db"
    env["AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID"] = ""
    now[0] += 59.9
    assert locator.url() == CONNS["cfg_conn"]  # still the cached setting and URL
    now[0] += 0.2
    assert locator.url() == "x"  # expired: the setting is gone, the environment decides
    env["AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID"] = "cfg_conn"
    now[0] += 61
    assert locator.url() == "sqlite:////moved.db"
    assert lookups.calls == ["cfg_conn", "yaml_conn", "cfg_conn"]


def test_opening_for_reading_creates_nothing_and_for_writing_creates_the_schema(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.db"
    locator = StateDbLocator(env={"SQLSENTINEL_STATE_DB_URL": f"sqlite:///{state}"})

    assert locator.open_for_reading() is None
    assert not state.exists()
    with locator.open_for_writing() as store:
        assert store.history() == []
    reader = locator.open_for_reading()
    assert reader is not None
    reader.dispose()
    with pytest.raises(StateStoreError, match=r"names an Airflow connection, but Airflow"):
        StateDbLocator(env={}, conn_url_of=None).resolve(StateDbConfig(conn_id="c"))


# --- the three edges agree ------------------------------------------------------------------


@pytest.mark.airflow
def test_operator_cli_and_ui_find_the_same_state_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deployment's setting only in an airflow.cfg: ``[sqlsentinel] state_db_conn_id``
    names a connection; each edge must land on that connection's database."""
    from types import SimpleNamespace

    from sqlsentinel_airflow.cli.context import resolve_store_url
    from sqlsentinel_airflow.core.config import load_config
    from sqlsentinel_airflow.operators.alert import SentinelAlertOperator
    from sqlsentinel_airflow.store import StateStore
    from sqlsentinel_airflow.ui.stores import StateStores

    state = tmp_path / "shared-state.db"
    (tmp_path / "airflow.cfg").write_text("[sqlsentinel]\nstate_db_conn_id = shared_state\n")
    monkeypatch.setenv("AIRFLOW_CONFIG", str(tmp_path / "airflow.cfg"))
    monkeypatch.delenv("AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID", raising=False)
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", f"sqlite:///{tmp_path / 'wrong.db'}")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHARED_STATE", json.dumps({"conn_type": "sqlite", "host": str(state)})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "wh.db")})
    )
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(
        "alerts:\n  - name: a\n    conn_id: wh\n    schedule: '@hourly'\n"
        "    query: SELECT 'OK' AS status\n"
    )
    config = load_config(str(alerts)).config
    assert config is not None and config.state_db is None
    alert = config.alerts[0]

    cli = resolve_store_url(config, None)
    ui = StateStores().url_for(config.state_db)
    task = SentinelAlertOperator(task_id="evaluate", alert=alert, state_db=config.state_db)
    task.execute({"params": {}, "dag_run": SimpleNamespace(run_id="r1", run_type="manual")})

    assert cli.url == ui == f"sqlite:///{state}"
    assert cli.source == "Airflow config [sqlsentinel] state_db_conn_id 'shared_state'"
    with StateStore.connect(cli.url) as store:  # where the operator wrote its evaluation
        assert [h.run_id for h in store.history(alert_name="a")] == ["r1"]
    assert not (tmp_path / "wrong.db").exists()
