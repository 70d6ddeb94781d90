"""The UI plugin in a real browser: one Airflow api-server and one Chromium for every browser test.

Debian's Chromium, headless, driven by Playwright.

A real ``airflow api-server`` (its own AIRFLOW_HOME, SQLite metadata DB, SimpleAuthManager)
serves Airflow's UI with our plugin. The alert DAGs are written to its metadata DB by
``airflow dags reserialize`` (as the dag-processor would; twice, with an edit in between
that breaks one alert, so it runs its last valid version: :data:`STALE`), and the state DB
is seeded by the real evaluation engine over canned query results. Then, as a user: log in through
Airflow's login page, open "SQL Sentinel", see the firing alert, silence it, see its badge
change, unsilence it; open the alert's tab on its DAG page; look at it in dark mode and
on a narrow window. Screenshots go to ``screenshots/`` (CI artifacts, gitignored); those the
docs show are also written to ``docs/img/`` when ``SQLSENTINEL_DOC_SCREENSHOTS=1`` (:func:`shot`).

``tests/e2e/conftest.py`` makes :func:`start_server` and :func:`launch_browser` session
fixtures (``ui_server``, ``browser``): the ``test_ui_*`` modules share one server, so each test
leaves the alerts as it found them (end the silences it adds) or uses an alert of its own.

Playwright's own browser download is never used: ``executable_path=/usr/bin/chromium``
(``apt-get install chromium``).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from e2e_receivers import free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
DOC_IMAGES = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PASSWORD = secrets.token_urlsafe(12)
ACTION_LINKS_CONN = "AIRFLOW_CONN_E2E_ACTION_LINKS"
ACTION_LINKS_KEY = secrets.token_urlsafe(32)  # the password of e2e_action_links
FIRING = "e2eui_api_error_rate"

ALERTS_YAML = """\
dag_id_prefix: e2eui_
action_links:  # Acknowledge links in emails (tests/e2e/test_browser_action_links.py)
  conn_id: e2e_action_links
defaults:
  conn_id: warehouse
  owner: data-team
  timezone: UTC
  notify:
    - channel: email
      to: [oncall@example.com]
alerts:
  - name: api_error_rate
    description: More than 5% of API requests failed in the last hour.
    schedule: "* * * * *"
    severity: critical
    tags: [platform]
    runbook_url: https://wiki.example.com/runbooks/api-error-rate
    links:
      - {title: API dashboard, url: "https://grafana.example.com/d/api"}
      - {title: Incident channel, url: "https://chat.example.com/c/incidents"}
    notify:
      - channel: email
        to: [oncall@example.com]
      - channel: webhook  # its token must never show (tests/e2e/test_browser_runs.py)
        url: ${E2E_WEBHOOK_URL:-http://127.0.0.1:9/hooks/e2e-webhook-token}  # dead unless set
    query: |
      SELECT CASE WHEN 100.0 * SUM(failed) / COUNT(*) > 5 THEN 'ALERT' ELSE 'OK' END AS status,
             ROUND(100.0 * SUM(failed) / COUNT(*), 2) AS actual_value, 5 AS threshold
      FROM api_requests
  - name: daily_revenue
    description: Yesterday's revenue fell below 10,000 EUR.
    schedule: "0 9 * * *"
    tags: [finance]
    query: SELECT 'OK' AS status, 15230.5 AS actual_value, 10000 AS threshold
  - name: table_freshness
    description: A monitored table was not loaded within its SLA.
    schedule: "*/5 * * * *"
    key_columns: [table_name]
    tags: [data-quality]
    query: SELECT table_name, 'OK' AS status, age AS actual_value, 24 AS threshold FROM t
  - name: stuck_orders
    description: More than 25 orders have been pending for over two hours.
    schedule: "*/30 * * * *"
    fire_after: 3
    tags: [finance]
    query: SELECT 'ALERT' AS status, 31 AS actual_value, 25 AS threshold
  - name: new_customers_drop
    description: Fewer than 5 customers signed up yesterday.
    schedule: "0 8 * * 1-5"
    severity: info
    query: SELECT 'OK' AS status, 12 AS actual_value, 5 AS threshold
  - name: export_backlog
    description: The nightly export left more than 1,000 rows behind.
    schedule: "0 * * * *"
    notify_on_error: 1
    renotify_after: 10m
    query: SELECT 'OK' AS status, 12 AS actual_value, 1000 AS threshold
  - name: orders_backlog
    description: Orders wait longer than their SLA (never valid, a cron typo).
    schedule: "every 5 minutes"
    query: SELECT 'OK' AS status
  - name: nightly_export
    description: The nightly export did not finish.
    schedule: "0 3 * * *"
    query: SELECT 'OK' AS status
    resolve_after: 1  # STALE_EDIT breaks this line after the first parse
  # keyed, all OK when seeded; tests/e2e/test_browser_instances.py makes one instance fire
  - name: table_loads
    description: A warehouse table was not loaded within 24 hours.
    schedule: "*/10 * * * *"
    key_columns: [table_name]
    tags: [data-quality]
    notify: []
    query: |
      SELECT table_name, CASE WHEN age_h > 24 THEN 'ALERT' ELSE 'OK' END AS status,
             age_h AS actual_value, 24 AS threshold, loaded_by, last_file
      FROM load_ages
  - name: legacy_export_check
    description: Retired export check, kept for manual runs.
    enabled: false
    schedule: "0 5 * * *"
    tags: [finance]
    query: SELECT 'OK' AS status, 0 AS actual_value
"""
# Mute windows (test_ui_browser.py): an upcoming one of the firing alert (next year's, so
# never active while the tests run), shown on its tab with its next start and end; and one
# always active on daily_revenue (always OK), whose row then says it is muted
MUTE_WINDOW = "change-freeze"
MUTE_WINDOW_YEAR = datetime.now(timezone.utc).year + 1
ACTIVE_MUTE_WINDOW = "finance-freeze"
ALERTS_YAML += f"""\
mute_windows:
  - name: {MUTE_WINDOW}
    match: {{alert: api_error_rate}}
    reason: the first week of the year is a change freeze
    intervals: [{{years: [{MUTE_WINDOW_YEAR}], months: [january], days_of_month: ["1:7"]}}]
  - name: {ACTIVE_MUTE_WINDOW}
    match: {{alert: daily_revenue}}
    intervals: [{{years: ["2000:9999"]}}]
"""
INVALID = "e2eui_orders_backlog"  # a placeholder DAG: the alert never validated
STALE = "e2eui_nightly_export"  # valid at the first parse, broken at the second: stale
STALE_EDIT = ("    resolve_after: 1  #", "    resolve_after: 0  #")

TABLE_LOADS = "e2eui_table_loads"
TABLE_LOADS_COLUMNS = [
    "table_name",
    "status",
    "actual_value",
    "threshold",
    "loaded_by",
    "last_file",
]


def table_loads_rows(customers_age: float) -> list[list[Any]]:
    """``table_loads``' rows: ``customers`` ALERT when ``customers_age`` > 24 (with context)."""
    status = "ALERT" if customers_age > 24 else "OK"
    return [
        [
            "customers",
            status,
            customers_age,
            24,
            "nightly_etl",
            "s3://warehouse-landing/crm/customers/2026/12/04/part-00017-of-00020.snappy.parquet",
        ],
        [
            "orders",
            "OK",
            2.5,
            24,
            "hourly_etl",
            "s3://warehouse-landing/shop/orders/latest.parquet",
        ],
        ["payments", "OK", 4, 24, "hourly_etl", "s3://warehouse-landing/psp/payments.parquet"],
    ]


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    state_url: str  # the alerts' state database (SQLite), for tests that add rows
    dags: Path  # the dags folder (alerts.yaml)
    env: dict[str, str]  # the environment the server runs with (for `airflow ...` commands)


def seed(alerts_file: Path, state_url: str) -> None:
    """Evaluations over the last hours, recorded by the real engine with an injected clock."""
    from sqlsentinel_airflow.core.config import load_config
    from sqlsentinel_airflow.core.model import RunType
    from sqlsentinel_airflow.evaluation import evaluate_alert
    from sqlsentinel_airflow.store import StateStore

    config = load_config(str(alerts_file)).config
    assert config is not None
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    store = StateStore.connect(state_url)

    def run(name: str, step: int, columns: list[str], rows: list[list[Any]]) -> None:
        evaluate_alert(
            config.alert(name),
            fetch=lambda: _Rows(columns, rows),
            store=store,
            run_type=RunType.SCHEDULED,
            run_id=f"scheduled__{name}_{step}",
            clock=lambda: start + timedelta(minutes=6 * step),
        )

    error_rates = [1.2, 0.8, 1.9, 2.4, 1.1, 3.0, 2.2, 4.1, 3.6, 4.8, 6.3, 7.9, 9.4, 11.8, 12.4]
    for step, rate in enumerate(error_rates):
        status = "ALERT" if rate > 5 else "OK"
        run("api_error_rate", step, ["status", "actual_value", "threshold"], [[status, rate, 5]])
    for step, amount in enumerate([14210, 15020.4, 13980, 16110, 15230.5]):
        run(
            "daily_revenue",
            step * 3,
            ["status", "actual_value", "threshold"],
            [["OK", amount, 10000]],
        )
    for step, age in enumerate([3, 5, 8, 12]):
        run(
            "table_freshness",
            step * 4,
            ["table_name", "status", "actual_value", "threshold"],
            [["orders", "OK", age, 24], ["customers", "OK", age + 2, 24]],
        )
    for step, age in enumerate([6, 12, 18]):
        run("table_loads", step * 5, TABLE_LOADS_COLUMNS, table_loads_rows(age))
    for step in range(2):
        run(
            "stuck_orders",
            step * 5,
            ["status", "actual_value", "threshold"],
            [["ALERT", 28 + step * 3, 25]],
        )
    # export_backlog: fired, muted by a silence for one evaluation (long over), announced again
    # and resolved; then its query failed twice
    from sqlsentinel_airflow.core.model import Silence

    store.add_silence(
        Silence(
            match="export_backlog",
            starts_at=start + timedelta(minutes=11),
            ends_at=start + timedelta(minutes=13),
            reason="export rerun",
            author="ops",
            created_at=start,
            source="cli",
        )
    )
    backlog = [900, 1400, 2600, 1900, 800, None, None, 300]
    for step, rows in enumerate(backlog):
        if rows is None:
            evaluate_alert(
                config.alert("export_backlog"),
                fetch=_failing,
                store=store,
                run_type=RunType.SCHEDULED,
                run_id=f"scheduled__export_backlog_{step}",
                clock=lambda step=step: start + timedelta(minutes=6 * step),
            )
            continue
        status = "ALERT" if rows > 1000 else "OK"
        run("export_backlog", step, ["status", "actual_value", "threshold"], [[status, rows, 1000]])
    # what was sent: the firing of api_error_rate delivered by email, dead on the webhook
    sent = {r.channel_kind: r.id for r in store.outbox(alert_name="api_error_rate")}
    assert sent.keys() == {"email", "webhook"} and None not in sent.values(), sent
    store.mark_delivered(sent["email"], start + timedelta(minutes=61))  # type: ignore[arg-type]
    store.mark_attempt_failed(
        sent["webhook"],  # type: ignore[arg-type]
        "connection refused: http://127.0.0.1:9/hooks/e2e-webhook-token",
        start + timedelta(minutes=61),
        max_attempts=1,
    )
    # a run of `sqlsentinel run` (no Airflow run)
    evaluate_alert(
        config.alert("daily_revenue"),
        fetch=lambda: _Rows(["status", "actual_value", "threshold"], [["OK", 15001, 10000]]),
        store=store,
        run_type=RunType.CLI,
        run_id="cli-e2e",
        clock=lambda: start + timedelta(minutes=100),
    )
    store.dispose()


def _failing() -> Any:
    from sqlsentinel_airflow.errors import QueryError

    raise QueryError('relation "export_queue" does not exist')


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"api-server exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"{base_url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"api-server not healthy after 90 s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT to the server's process group, then SIGKILL whatever is left (by PID)."""
    for sig, grace in ((signal.SIGINT, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            if sig == signal.SIGKILL:
                return
        except subprocess.TimeoutExpired:
            continue


def api_server_env(
    home: Path, dags: Path, *, port: int, meta_url: str, passwords: Path, state_url: str
) -> dict[str, str]:
    """The environment of an Airflow on loopback: this process's, without its ``AIRFLOW*``
    settings, plus SimpleAuthManager (user ``admin``, passwords from ``passwords``), one
    api-server worker on ``port``, the metadata DB ``meta_url`` and the state DB ``state_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",
            "SQLSENTINEL_STATE_DB_URL": state_url,
            ACTION_LINKS_CONN: json.dumps({"conn_type": "generic", "password": ACTION_LINKS_KEY}),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def spawn_api_server(
    root: Path, env: dict[str, str], port: int
) -> tuple[subprocess.Popen[bytes], Path]:
    """``airflow api-server`` in a process group of its own (``_stop`` ends it with its
    workers), logging to ``root/api-server.log``: the process and the log."""
    log = root / "api-server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [AIRFLOW, "api-server", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return process, log


@contextmanager
def start_server(root: Path) -> Iterator[Server]:
    """An api-server with the alerts of ALERTS_YAML serialized and seeded, stopped after."""
    home, dags = root / "airflow_home", root / "dags"
    home.mkdir()
    dags.mkdir()
    shutil.copy(ROOT / "dags" / "sqlsentinel_alerts.py", dags / "sqlsentinel_alerts.py")
    (dags / "alerts.yaml").write_text(ALERTS_YAML, encoding="utf-8")
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    state_url = f"sqlite:///{root / 'state.db'}"
    env = api_server_env(
        home,
        dags,
        port=port,
        meta_url=f"sqlite:///{home / 'airflow.db'}",
        passwords=passwords,
        state_url=state_url,
    )
    steps = (["db", "migrate"], ["dags", "reserialize"], ["dags", "reserialize"])
    for step, args in enumerate(steps):
        if step == 2:
            # The second parse, after an edit that breaks one alert: its DAG keeps running
            # the version of the first parse (stale), with the current error.
            alerts = dags / "alerts.yaml"
            alerts.write_text(alerts.read_text().replace(*STALE_EDIT), encoding="utf-8")
            env["AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL"] = "0"
        done = subprocess.run(
            [AIRFLOW, *args], env=env, cwd=root, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, (
            f"airflow {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    seed(dags / "alerts.yaml", state_url)
    process, log = spawn_api_server(root, env, port)
    try:
        _wait_healthy(base_url, process, log)
        yield Server(base_url, process, log, state_url, dags, env)
    finally:
        _stop(process)


@contextmanager
def launch_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's Chromium is required: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def shot(page: Any, name: str, *, full_page: bool = False, doc: bool = False) -> None:
    """``screenshots/<name>.png``; with ``doc`` also ``docs/img/<name>.png`` when
    ``SQLSENTINEL_DOC_SCREENSHOTS=1`` (how the docs' screenshots are refreshed)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
    if doc and os.environ.get("SQLSENTINEL_DOC_SCREENSHOTS") == "1":
        DOC_IMAGES.mkdir(exist_ok=True)
        shutil.copy(SCREENSHOTS / f"{name}.png", DOC_IMAGES / f"{name}.png")


def status(frame: Any, dag_id: str) -> str | None:
    """The status word of an alert's row on the dashboard (its badge's data-status)."""
    return frame.locator(f"tr[data-dag-id='{dag_id}'] .badge").first.get_attribute("data-status")


def log_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url, timeout=30_000)
