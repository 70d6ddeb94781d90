"""Airflow's own API app, in process, with the plugin mounted as the api-server mounts it.

Once per test process: ``airflow db migrate`` (SQLite, in the suite's private AIRFLOW_HOME),
users for the auth manager (admin, editor with role USER, viewer with role VIEWER), the
alerts of ``ui_alerts.yaml`` parsed by a real DagBag and written to the metadata DB as the
dag-processor writes them, then a root app put together by the functions Airflow's
``create_app`` calls: ``init_plugins`` (our app comes in through the ``airflow.plugins``
entry point and is mounted under its prefix, as in production) and ``init_auth_manager``
(``/auth/token`` and the JWTs our routes check). Airflow's own ~800 REST routes are left
out: building them takes longer than all the UI tests together.

Per test: a fresh state database (``SQLSENTINEL_STATE_DB_URL``), seeded by running the real
evaluation engine (``evaluate_alert``) over canned query results with an injected clock.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ui_support import (
    ACTION_LINKS_KEY,
    HERE,
    PASSWORD,
    PREFIX,
    ROOT,
    SLACK_SECRET,
    T0,
    USERS,
    WEBHOOK_SECRET,
    Rows,
    UiServer,
)


def _environment(home: Path) -> dict[str, str]:
    passwords = home / "ui_test_passwords.json"
    passwords.write_text(json.dumps(dict.fromkeys(USERS, PASSWORD)))
    return {
        "AIRFLOW__CORE__AUTH_MANAGER": "ui_auth_manager.PerDagAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "ui-tests-" + "0" * 64,
        "AIRFLOW__API__SECRET_KEY": "ui-tests-secret-key",
        "AIRFLOW_CONN_UI_ACTION_LINKS": json.dumps(
            {"conn_type": "generic", "password": ACTION_LINKS_KEY}
        ),
        "UI_TEST_SLACK_URL": SLACK_SECRET,
        "UI_TEST_WEBHOOK_URL": WEBHOOK_SECRET,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }


def _sync_dags(dags: Path) -> None:
    """Parse the folder and write its DAGs to the metadata DB, as the dag-processor does.

    They go into the default ``dags-folder`` bundle as configured (Airflow caches bundle
    configs per process; other tests' ``dag.test()`` walk that bundle), from a folder of
    their own: the other tests' DAG files never see these, nor these theirs.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=dags, bundle_path=dags, bundle_name="dags-folder", safe_mode=True)
    assert not bag.import_errors, bag.import_errors
    assert f"{PREFIX}revenue_drop" in bag.dags, sorted(bag.dags)
    sync_bag_to_db(bag, "dags-folder", None)


@pytest.fixture(scope="session")
def ui_env(airflow_home: Path) -> dict[str, str]:
    """The environment of the UI tests: applied around setup and around each test only, so
    no other test of the process sees this auth manager."""
    return _environment(airflow_home)


@pytest.fixture(scope="session")
def ui_dags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dags = tmp_path_factory.mktemp("ui_dags")
    shutil.copy(ROOT / "tests" / "fixtures" / "dags" / "alert_dags.py", dags / "alert_dags.py")
    shutil.copy(HERE / "ui_alerts.yaml", dags / "alerts.yaml")
    return dags


@contextmanager
def _applied(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def ui(ui_env: dict[str, str], ui_dags: Path) -> Iterator[UiServer]:
    dags = ui_dags
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))  # the auth manager class of the tests
    with _applied(ui_env):
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-4000:]
        _sync_dags(dags)

        from airflow.api_fastapi.app import init_auth_manager, init_plugins, purge_cached_app
        from fastapi import FastAPI
        from fastapi.testclient import TestClient

        app = FastAPI()
        init_plugins(app)
        init_auth_manager(app)
        client = TestClient(app).__enter__()
        tokens = {}
        for user in USERS:
            response = client.post("/auth/token", json={"username": user, "password": PASSWORD})
            assert response.status_code == 201, response.text
            tokens[user] = response.json()["access_token"]
    try:
        yield UiServer(client=client, dags=dags, alerts_file=dags / "alerts.yaml", tokens=tokens)
    finally:
        client.__exit__(None, None, None)
        purge_cached_app()


@pytest.fixture(autouse=True)
def _ui_environment(ui_env: dict[str, str]) -> Iterator[None]:
    with _applied(ui_env):
        yield


@pytest.fixture
def state_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite state database for this test, used by the UI through the environment."""
    url = f"sqlite:///{tmp_path / 'ui_state.db'}"
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", url)
    return url


@pytest.fixture
def alerts_config(ui: UiServer) -> Any:
    from sqlsentinel_airflow.core.config import load_config

    result = load_config(str(ui.alerts_file))
    assert result.config is not None, result.errors
    return result.config


@pytest.fixture
def seed(alerts_config: Any) -> Callable[[str], Any]:
    """``seed(url)``: a few hours of evaluations, as the operator would have recorded them.

    revenue_drop: OK 8000 -> ... then ALERT (firing, value 7500 / 10000); table_freshness:
    ``orders`` firing, ``customers`` OK; payroll_check: OK; never_run: nothing.
    """
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert
    from sqlsentinel_airflow.store import StateStore

    def run(store: StateStore, name: str, rows: Rows, step: int) -> None:
        evaluate_alert(
            alerts_config.alert(name),
            fetch=lambda: rows,
            store=store,
            run_type=RunType.SCHEDULED,
            run_id=f"scheduled__{name}_{step}",
            clock=lambda: T0 + timedelta(minutes=5 * step),
        )

    def _seed(url: str) -> StateStore:
        store = StateStore.connect(url)
        revenue = [12000, 11500, 10800, 9900, 8700, 7500]
        for step, amount in enumerate(revenue):
            status = "ALERT" if amount < 10000 else "OK"
            run(
                store,
                "revenue_drop",
                Rows(["status", "actual_value", "threshold"], [[status, amount, 10000]]),
                step,
            )
        for step, age in enumerate([20, 26, 30]):
            rows = Rows(
                ["table_name", "status", "actual_value", "threshold"],
                [
                    ["orders", "ALERT" if age > 24 else "OK", age, 24],
                    ["customers", "OK", 3, 24],
                ],
            )
            run(store, "table_freshness", rows, step)
        run(store, "payroll_check", Rows(["status", "actual_value"], [["OK", 1]]), 0)
        return store

    return _seed
