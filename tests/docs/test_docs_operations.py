"""docs/operations.md, run for real: state DB settings, sizing, migrations, purge, silences,
the monitoring query, the compose override, the Helm values and Dockerfile, and upgrading.

Commands run as the page writes them, with example hosts and paths replaced by the test's
databases (PostgreSQL and MariaDB on loopback, SQLite files in a temp folder). Not run: Helm
and Docker (neither exists here): the Helm values are checked as YAML whose environment
variables the package really reads, the Dockerfile for the distribution and Airflow version
CI pins, and the compose override with ``docker-compose ... config`` (offline).

Run as a script, ``python tests/docs/test_docs_operations.py [N]``, it prints the sizing
figures of the page for N evaluations (default 1000) on the local PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docs_site_support import console_steps, docs_env, markdown_table, run_shell
from docs_snippets import DOCS, REPO, text

sys.path.insert(0, str(REPO / "tests" / "integration" / "notify"))
from notify_engine import T0, Rows, evaluate, make_alert, result

from sqlsentinel_airflow import __version__
from sqlsentinel_airflow.store import StateStore
from sqlsentinel_airflow.store.locator import resolve_state_db_url
from sqlsentinel_airflow.store.migrations import (
    LATEST_VERSION,
    MIGRATIONS,
    ensure_schema,
)

PAGE = DOCS / "operations.md"
BIN = Path(sys.executable).parent
EXAMPLE_PG = "sqlsentinel:change-me@db.example.com:5432/sqlsentinel"
EXAMPLE_MYSQL = "sqlsentinel:change-me@db.example.com:3306/sqlsentinel"
SIZING_TOLERANCE = 0.30


def _env(home: Path, **extra: str) -> dict[str, str]:
    return docs_env(home, extra)


def _bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_shell(script, cwd=cwd, env=env, check=False)


def _commands(snippet_id: str) -> list[str]:
    lines = [line.split("  #", 1)[0].strip() for line in text(snippet_id).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _pg_form(url: str) -> str:
    """The fixture's URL in the ``postgresql://user@host:port/db`` form of the page."""
    u = sa.engine.make_url(url)
    return f"{u.username}@{u.host}:{u.port}/{u.database}"


def _schema_rows(url: str) -> list[tuple[int, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                (int(r[0]), str(r[1])) for r in conn.execute(sa.text(text("ops-schema-version")))
            ]
    finally:
        engine.dispose()


# --- choosing the state database ---------------------------------------------------------------


def test_state_db_from_the_documented_environment(pg_url: str, tmp_path: Path) -> None:
    script = text("ops-state-db-env").replace(EXAMPLE_PG, _pg_form(pg_url))
    assert script != text("ops-state-db-env")
    proc = _bash(script + "sqlsentinel silences --format json\n", _env(tmp_path), tmp_path)

    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == {"silences": []}
    # the CLI went through the Airflow connection to PostgreSQL and migrated it there
    assert _schema_rows(pg_url) == [(m.version, m.description) for m in MIGRATIONS]


def test_migration_table_on_the_page_is_the_code_s() -> None:
    documented = [(int(v), d) for v, d in markdown_table(PAGE, "### Migrations")]
    assert documented == [(m.version, m.description) for m in MIGRATIONS]
    assert MIGRATIONS[-1].version == LATEST_VERSION


def test_airflow_cfg_section_is_read_by_the_locator_as_airflow_reads_it(tmp_path: Path) -> None:
    (tmp_path / "airflow.cfg").write_text(text("ops-airflow-cfg"), encoding="utf-8")
    probe = (
        "import os\n"
        "from sqlsentinel_airflow.store.locator import state_db_conn_id\n"
        "print(state_db_conn_id(os.environ))\n"
        "from airflow.configuration import conf\n"  # Airflow reads the same value
        "print(conf.get('sqlsentinel', 'state_db_conn_id'))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["sqlsentinel_state", "sqlsentinel_state"]


def test_state_db_in_alerts_yaml_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlsentinel_airflow.cli.context import resolve_store_url
    from sqlsentinel_airflow.core.config import load_config

    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(
        text("ops-state-db-yaml")
        + "alerts:\n  - name: a\n    conn_id: wh\n    schedule: '@hourly'\n"
        + "    query: SELECT 'OK' AS status\n",
        encoding="utf-8",
    )
    state = tmp_path / "state.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SQLSENTINEL_STATE", json.dumps({"conn_type": "sqlite", "host": str(state)})
    )
    monkeypatch.setenv("AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID", "something_else")
    monkeypatch.setenv("SQLSENTINEL_STATE_DB_URL", f"sqlite:///{tmp_path / 'other.db'}")
    loaded = load_config(str(alerts))
    assert loaded.config is not None and not loaded.errors

    resolved = resolve_store_url(loaded.config, None)

    assert resolved.source == "alerts.yaml state_db.conn_id 'sqlsentinel_state'"
    assert resolved.url == f"sqlite:///{state}"


def test_documented_state_db_urls_connect(pg_url: str, mysql_url: str, tmp_path: Path) -> None:
    urls = [line.split("=", 1)[1].strip("'") for line in _commands("ops-state-db-urls")]
    assert [u.split("://")[0] for u in urls] == ["postgresql+psycopg2", "mysql+mysqldb", "sqlite"]
    mysql = sa.engine.make_url(mysql_url)
    local = [
        urls[0].replace(EXAMPLE_PG, _pg_form(pg_url)),
        urls[1].replace(
            EXAMPLE_MYSQL, f"{mysql.username}@{mysql.host}:{mysql.port}/{mysql.database}"
        ),
        urls[2].replace("/var/lib/sqlsentinel/state.db", str(tmp_path / "state.db")),
    ]
    assert local[:2] != urls[:2] and local[2] != urls[2]
    for url in local:
        resolved = resolve_state_db_url(
            state_db=None,
            conn_url_of=None,
            airflow_state_db_conn_id=None,
            env={"SQLSENTINEL_STATE_DB_URL": url},
            airflow_home=str(tmp_path),
        )
        assert (resolved.url, resolved.source) == (
            url,
            "environment variable SQLSENTINEL_STATE_DB_URL",
        )
        StateStore.connect(url).dispose()
        assert _schema_rows(url)[-1][0] == LATEST_VERSION


# --- sizing -------------------------------------------------------------------------------------


def measure(url: str, evaluations: int) -> dict[str, Any]:
    """The page's sizing run: a plain and a keyed (10 instances) alert, two channels each."""
    channels = [
        {"channel": "webhook", "url": "https://hooks.example.com/alerts"},
        {"channel": "email", "to": ["oncall@example.com"]},
    ]
    plain = make_alert("orders_backlog", channels)
    keyed = make_alert("table_freshness", channels, key_columns=("table_name",), max_rows=1000)
    with StateStore.connect(url) as store:
        for i in range(evaluations):
            status = "ALERT" if (i // 10) % 2 else "OK"
            evaluate(
                plain,
                store,
                result(status, 100 + i, 50, region="eu-west", open_orders=1234),
                minute=i,
            )
            rows = [[f"t{k:02d}", status if k == 0 else "OK", 3600 + k] for k in range(10)]
            evaluate(keyed, store, Rows(["table_name", "status", "actual_value"], rows), minute=i)
    engine = sa.create_engine(url)
    figures: dict[str, Any] = {"evaluations": evaluations}
    try:
        with engine.connect() as conn:
            for table in ("history", "outbox"):
                name = f"sqlsentinel_{table}"
                rows = conn.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
                total = conn.execute(
                    sa.text(f"SELECT pg_total_relation_size('{name}')")
                ).scalar_one()
                heap = conn.execute(sa.text(f"SELECT pg_relation_size('{name}')")).scalar_one()
                figures[table] = {
                    "rows": int(rows),
                    "table_bytes_per_row": heap / rows,
                    "total_bytes_per_row": total / rows,
                }
    finally:
        engine.dispose()
    return figures


def _documented_sizes() -> dict[str, tuple[int, int]]:
    sizes = {}
    for name, _, measured in markdown_table(PAGE, "### Sizing"):
        numbers = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) bytes", measured)]
        if numbers:
            sizes[name.strip("`").removeprefix("sqlsentinel_")] = (numbers[0], numbers[1])
    return sizes


def test_sizing_figures_match_a_fresh_measurement(pg_url: str) -> None:
    n = 300
    figures = measure(pg_url, n)
    documented = _documented_sizes()
    assert set(documented) == {"history", "outbox"}

    assert figures["history"]["rows"] == 11 * n  # 1 + 10 instances per evaluation
    flips = (n - 1) // 10  # a firing or resolved event every 10 evaluations, per alert
    assert figures["outbox"]["rows"] == 2 * 2 * flips  # two alerts, two channels
    for table, (table_bytes, total_bytes) in documented.items():
        got = figures[table]
        assert abs(got["table_bytes_per_row"] / table_bytes - 1) <= SIZING_TOLERANCE, (table, got)
        if table == "history":  # 116 outbox rows leave its five indexes mostly empty pages
            assert abs(got["total_bytes_per_row"] / total_bytes - 1) <= SIZING_TOLERANCE, got

    # the worked example follows from the documented figure
    page = " ".join(PAGE.read_text(encoding="utf-8").split())
    per_day = 200 * 24 * 60 // 5
    history_total = documented["history"][1]
    assert f"{per_day:,} history rows a day" in page
    assert f"about {round(per_day * history_total / 1e6)} MB" in page
    assert f"about {per_day * history_total * 90 / 1e9:.1f} GB" in page


# --- retention, silences, monitoring --------------------------------------------------------------


def _console(snippet_id: str) -> list[tuple[str, list[str]]]:
    """``$ command`` lines and the output lines that follow each."""
    return console_steps(text(snippet_id))


def test_purge_deletes_old_history_and_keeps_owed_notifications(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    alert = make_alert("orders_backlog", [{"channel": "webhook", "url": "https://h.example.com/x"}])
    now_minute = int((datetime.now(timezone.utc) - T0).total_seconds() // 60)
    assert now_minute > 91 * 24 * 60  # T0 is more than 90 days ago
    with StateStore.connect(url) as store:
        for minute in (0, 5, 10):  # old: one firing event, still pending (never delivered)
            evaluate(alert, store, result("ALERT", 42), minute=minute)
        evaluate(alert, store, result("ALERT", 42), minute=now_minute)  # recent

    ((command, expected),) = _console("ops-purge")
    proc = _bash(command, _env(tmp_path, SQLSENTINEL_STATE_DB_URL=url), tmp_path)

    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == expected
    with StateStore.connect(url) as store:
        assert len(store.history(alert_name="orders_backlog", limit=100)) == 1
        assert [e.status for e in store.outbox(limit=100)] == ["pending"]


def test_purge_dag_loads_and_runs_the_documented_command(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from sqlsentinel_airflow.cli.main import build_parser

    (tmp_path / "sqlsentinel_purge.py").write_text(text("ops-purge-dag"), encoding="utf-8")
    bag = DagBag(dag_folder=str(tmp_path))

    assert bag.import_errors == {}
    assert list(bag.dags) == ["sqlsentinel_purge"]
    dag = bag.dags["sqlsentinel_purge"]
    (task,) = dag.tasks
    args = build_parser().parse_args(task.bash_command.split()[1:])
    assert (args.command, args.older_than) == ("purge", None)  # [sqlsentinel] history_retention


def test_purge_without_older_than_uses_history_retention(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    alert = make_alert("orders_backlog", [])
    now_minute = int((datetime.now(timezone.utc) - T0).total_seconds() // 60)
    with StateStore.connect(url) as store:
        for minute in (0, now_minute - 20 * 24 * 60, now_minute):  # >90 days, 20 days, now
            evaluate(alert, store, result("OK", 0), minute=minute)
    env = _env(tmp_path, SQLSENTINEL_STATE_DB_URL=url)
    assert "AIRFLOW__SQLSENTINEL__HISTORY_RETENTION=30d" in PAGE.read_text(encoding="utf-8")

    default = _bash("sqlsentinel purge", env, tmp_path)  # 90d: only the oldest goes
    assert default.returncode == 0 and default.stdout.startswith("1 history rows"), default
    bad = _bash(
        "sqlsentinel purge", {**env, "AIRFLOW__SQLSENTINEL__HISTORY_RETENTION": "x"}, tmp_path
    )
    assert bad.returncode == 2 and "[sqlsentinel] history_retention" in bad.stderr, bad.stderr
    month = _bash(
        "sqlsentinel purge", {**env, "AIRFLOW__SQLSENTINEL__HISTORY_RETENTION": "10d"}, tmp_path
    )
    assert month.returncode == 0 and month.stdout.startswith("1 history rows"), month
    with StateStore.connect(url) as store:
        assert len(store.history(alert_name="orders_backlog", limit=10)) == 1


def test_silence_commands(tmp_path: Path) -> None:
    env = _env(tmp_path, SQLSENTINEL_STATE_DB_URL=f"sqlite:///{tmp_path / 'state.db'}")
    outputs = []
    for command in _commands("ops-silence"):
        proc = _bash(command, env, tmp_path)
        assert proc.returncode == 0, f"{command}: {proc.stderr[-2000:]}"
        outputs.append(proc.stdout)
    created, listed, ended, listed_all = outputs

    assert re.match(r"silence #1 for 'orders_\*' until \d{4}-\d\d-\d\d ", created), created
    assert created.rstrip().endswith("(warehouse maintenance until the load finishes)")
    (row,) = listed.splitlines()[1:]
    assert row.split()[:2] == ["1", "orders_*"] and " yes " in row
    assert ended.strip() == "ended silence #1 for 'orders_*'"
    (row,) = listed_all.splitlines()[1:]
    assert " no " in row


def test_silences_in_alerts_yaml(tmp_path: Path) -> None:
    from sqlsentinel_airflow.core.config import load_config

    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(
        "alerts:\n  - name: orders_backlog\n    conn_id: wh\n    schedule: '@hourly'\n"
        "    query: SELECT 'OK' AS status\n" + text("ops-file-silences"),
        encoding="utf-8",
    )
    loaded = load_config(str(alerts))
    assert loaded.config is not None and not loaded.errors, loaded.errors
    (silence,) = loaded.config.silences
    assert silence.match == "orders_*"
    assert silence.starts == datetime(2026, 12, 5, 22, tzinfo=timezone.utc)
    assert silence.until - silence.starts == timedelta(hours=6)
    assert silence.reason == "warehouse migration (CHG-1234)"


def test_monitoring_query_lists_owed_and_dead_notifications(pg_url: str) -> None:
    alert = make_alert("orders_backlog", [{"channel": "webhook", "url": "https://h.example.com/x"}])
    with StateStore.connect(pg_url) as store:
        evaluate(alert, store, result("ALERT", 42), minute=0)
        evaluate(alert, store, result("OK", 1), minute=5)
        first, _second = store.pending_outbox("orders_backlog")
        store.mark_attempt_failed(int(first.id or 0), "HTTP 404", T0, 1)
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            rows = [tuple(r[:3]) for r in conn.execute(sa.text(text("ops-monitoring-sql")))]
    finally:
        engine.dispose()
    assert rows == [("orders_backlog", "dead", 1), ("orders_backlog", "pending", 1)]


# --- deploying --------------------------------------------------------------------------------


def test_compose_override_validates_and_merges(tmp_path: Path) -> None:
    assert shutil.which("docker-compose"), "docker-compose (v1) is installed by scripts/test"
    shutil.copy(REPO / "docker-compose.airflow.yaml", tmp_path / "docker-compose.airflow.yaml")
    (tmp_path / "docker-compose.override.yaml").write_text(
        text("ops-compose-override"), encoding="utf-8"
    )
    (command,) = _commands("ops-compose-validate")
    env = _env(tmp_path)
    proc = _bash(command, env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]

    merged = _bash(command.replace(" config -q", " config"), env, tmp_path)
    assert merged.returncode == 0, merged.stderr[-2000:]
    scheduler = yaml.safe_load(merged.stdout)["services"]["airflow-scheduler"]["environment"]
    assert json.loads(scheduler["AIRFLOW_CONN_SLACK_ALERTS"])["conn_type"] == "slackwebhook"
    assert scheduler["AIRFLOW_CONN_WAREHOUSE"].startswith("postgresql://")
    # the override adds to the file's environment, it does not replace it
    assert scheduler["AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID"] == "sqlsentinel_state"


def _pinned_airflow() -> str:
    for line in (REPO / "requirements" / "ci.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("apache-airflow=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError("requirements/ci.txt pins no apache-airflow")


def test_dockerfile_installs_this_distribution_on_the_pinned_airflow() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dockerfile = text("ops-dockerfile")
    airflow = _pinned_airflow()
    assert dockerfile.splitlines()[0] == f"FROM apache/airflow:{airflow}"
    assert f'"apache-airflow=={airflow}"' in dockerfile
    assert f"/constraints-{airflow}/constraints-" in dockerfile
    match = re.search(r'"([a-z0-9-]+)\[(\w+)\]==\$\{SQLSENTINEL_VERSION\}"', dockerfile)
    assert match is not None
    assert match.group(1) == project["name"]
    assert match.group(2) in project["optional-dependencies"]


def test_helm_values_set_variables_the_package_reads() -> None:
    """Checked: valid YAML, chart keys used, and every variable it sets is read by the
    package (the ``[sqlsentinel]`` option is declared and read, the connection variables
    name the connections the settings point at). Not checked: rendering by Helm."""
    from sqlsentinel_airflow.provider_info import get_provider_info

    values = yaml.safe_load(text("ops-helm-values"))
    assert values["airflowVersion"] == _pinned_airflow()
    assert values["defaultAirflowTag"].startswith(_pinned_airflow())
    plain = {e["name"]: e["value"] for e in values["env"]}
    secret_vars = {s["envName"] for s in values["secret"]}
    options = get_provider_info()["config"]["sqlsentinel"]["options"]
    sources = "\n".join(
        p.read_text(encoding="utf-8")
        for p in (REPO / "sqlsentinel_airflow").rglob("*.py")
        if p.name != "provider_info.py"  # declaring an option is not reading it
    )
    for name in plain:
        section, option = name.split("__")[1:3]
        assert section == "SQLSENTINEL" and option.lower() in options, name
        assert f'"{option.lower()}"' in sources, f"nothing reads [sqlsentinel] {option.lower()}"
    state_conn = plain["AIRFLOW__SQLSENTINEL__STATE_DB_CONN_ID"]
    assert f"AIRFLOW_CONN_{state_conn.upper()}" in secret_vars
    notifications = (DOCS / "notifications.md").read_text(encoding="utf-8")
    for var in secret_vars:
        assert var.startswith("AIRFLOW_CONN_"), var
        conn_id = var.removeprefix("AIRFLOW_CONN_").lower()
        assert conn_id == state_conn or f"conn_id: {conn_id}" in notifications, var
    assert values["dags"]["gitSync"]["subPath"] == "dags"


# --- upgrading ----------------------------------------------------------------------------------


def test_version_command(tmp_path: Path) -> None:
    (command,) = _commands("ops-version")
    proc = _bash(command, _env(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"sqlsentinel {__version__}"


def test_first_connection_after_an_upgrade_migrates_and_old_code_refuses_newer(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    try:
        assert ensure_schema(engine, display_url=url, target_version=1) == 1  # an old release
    finally:
        engine.dispose()
    env = _env(tmp_path, SQLSENTINEL_STATE_DB_URL=url)

    proc = _bash("sqlsentinel history --limit 1", env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [v for v, _ in _schema_rows(url)] == [m.version for m in MIGRATIONS]

    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # a newer release migrated it further
            conn.execute(
                sa.text(
                    "INSERT INTO sqlsentinel_schema_version (version, description, applied_at) "
                    "VALUES (:v, 'from the future', :t)"
                ),
                {"v": LATEST_VERSION + 1, "t": datetime.now(timezone.utc).replace(tzinfo=None)},
            )
    finally:
        engine.dispose()
    proc = _bash("sqlsentinel history --limit 1", env, tmp_path)
    assert proc.returncode == 1
    assert "upgrade sqlsentinel-airflow here" in proc.stderr


if __name__ == "__main__":  # the measurement behind the page's sizing table
    admin_url = os.environ.get(
        "SQLSENTINEL_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
    )
    name = f"sst_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        db_url = sa.engine.make_url(admin_url).set(database=name)
        print(
            json.dumps(
                measure(
                    db_url.render_as_string(hide_password=False),
                    int(sys.argv[1]) if len(sys.argv) > 1 else 1000,
                ),
                indent=2,
            )
        )
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
