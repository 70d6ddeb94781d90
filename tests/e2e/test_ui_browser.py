"""The UI plugin in a real browser: Debian's Chromium, headless, driven by Playwright.

A real ``airflow api-server`` (its own AIRFLOW_HOME, SQLite metadata DB, SimpleAuthManager)
serves Airflow's UI with our plugin. The alert DAGs are written to its metadata DB by
``airflow dags reserialize`` (as the dag-processor would), and the state DB is seeded by
the real evaluation engine over canned query results. Then, as a user: log in through
Airflow's login page, open "SQL Sentinel", see the firing alert, silence it, see its badge
change, unsilence it; open the alert's tab on its DAG page; look at it in dark mode and
on a narrow window. Screenshots go to ``screenshots/`` (CI artifacts, gitignored).

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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_receivers import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
PASSWORD = secrets.token_urlsafe(12)
FIRING = "e2eui_api_error_rate"

ALERTS_YAML = """\
dag_id_prefix: e2eui_
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
"""


@dataclass(frozen=True)
class _Rows:
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


def _seed(alerts_file: Path, state_url: str) -> None:
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
    for step in range(2):
        run(
            "stuck_orders",
            step * 5,
            ["status", "actual_value", "threshold"],
            [["ALERT", 28 + step * 3, 25]],
        )
    store.dispose()


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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("ui_browser")
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY": "False",
            "SQLSENTINEL_STATE_DB_URL": state_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    for args in (["db", "migrate"], ["dags", "reserialize"]):
        done = subprocess.run(
            [AIRFLOW, *args], env=env, cwd=root, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, (
            f"airflow {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
        )
    _seed(dags / "alerts.yaml", state_url)
    log = root / "api-server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [AIRFLOW, "api-server", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped with its workers
        )
    try:
        _wait_healthy(base_url, process, log)
        yield Server(base_url, process, log)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
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


def _shot(page: Any, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def _status(frame: Any, dag_id: str) -> str | None:
    """The status word of an alert's row on the dashboard (its badge's data-status)."""
    return frame.locator(f"tr[data-dag-id='{dag_id}'] .badge").first.get_attribute("data-status")


def _log_in(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url, timeout=30_000)


def test_a_user_sees_the_firing_alert_silences_it_and_unsilences_it(
    server: Server, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 820}, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    try:
        _log_in(page, server.base_url)
        page.goto(f"{server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[title='SQL Sentinel']")
        row = frame.locator(f"tr[data-dag-id='{FIRING}']")
        row.wait_for(timeout=30_000)
        assert _status(frame, FIRING) == "firing"
        assert row.locator(".value").inner_text() == "12.4"
        assert _status(frame, "e2eui_stuck_orders") == "pending"  # fire_after: 3, seen twice
        assert _status(frame, "e2eui_new_customers_drop") == "unknown"
        assert frame.locator("button[data-chip='firing'] .count").inner_text() == "1"
        _shot(page, "ui-dashboard")

        row.locator("button[data-action='silence']").click()
        dialog = frame.locator("dialog[open]")
        dialog.locator("button", has_text="1h").click()
        dialog.locator("#silence-reason").fill("deploy in progress, error spike expected")
        _shot(page, "ui-silence-dialog")
        dialog.locator("button[type='submit']").click()
        frame.locator(f"tr[data-dag-id='{FIRING}'][data-status='silenced']").wait_for()
        assert "underneath: firing" in row.inner_text()
        assert "deploy in progress" in row.inner_text()
        _shot(page, "ui-dashboard-silenced")

        row.locator("button[data-action='unsilence']").click()
        frame.locator(f"tr[data-dag-id='{FIRING}'][data-status='firing']").wait_for()

        frame.locator("#f-severity").select_option("critical")
        assert frame.locator("tbody tr[data-dag-id]").count() == 1
        frame.locator("#f-severity").select_option("")
        frame.locator("#f-search").fill("revenue")
        assert frame.locator("tbody tr[data-dag-id]").count() == 1
        frame.locator("#f-search").fill("")

        row.locator(".alert-name a").click()  # moves Airflow's page, not the iframe
        page.wait_for_url(f"**/dags/{FIRING}", timeout=15_000)
    finally:
        context.close()
    assert problems == []


def test_the_alert_tab_shows_history_sql_and_channels(server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    try:
        _log_in(page, server.base_url)
        page.goto(f"{server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        frame = page.frame_locator("iframe[title='SQL Sentinel']")
        frame.locator("svg.chart circle").first.wait_for(timeout=30_000)
        assert frame.locator("svg.chart circle").count() == 15
        assert "FROM api_requests" in frame.locator("pre.sql").inner_text()
        assert "email to oncall@example.com" in frame.locator("#definition").inner_text()
        assert frame.locator("header .badge").first.get_attribute("data-status") == "firing"
        _shot(page, "ui-alert-tab")
        frame.locator("header button[data-action='silence']").click()
        frame.locator("#silence-reason").fill("looking into it")
        frame.locator("dialog[open] button[type='submit']").click()
        frame.locator("#silences li").first.wait_for(timeout=15_000)
        assert "by admin" in frame.locator("#silences").inner_text()
        _shot(page, "ui-alert-tab-silenced")
        frame.locator("#silences button[data-action='end-silence']").click()
        frame.locator("header .badge[data-status='firing']").wait_for(timeout=15_000)

        page.goto(f"{server.base_url}/sqlsentinel/ui/alert?dag_id={FIRING}")  # the page alone
        page.locator("#history tbody tr").first.wait_for(timeout=30_000)
        assert page.locator("#history tbody tr").count() == 15  # one row per evaluation
        _shot(page, "ui-alert-page-full", full_page=True)
    finally:
        context.close()


def test_dark_mode_and_a_narrow_window(server: Server, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 820}, color_scheme="dark")
    page = context.new_page()
    try:
        _log_in(page, server.base_url)
        page.goto(f"{server.base_url}/plugin/sqlsentinel")
        frame = page.frame_locator("iframe[title='SQL Sentinel']")
        frame.locator(f"tr[data-dag-id='{FIRING}']").wait_for(timeout=30_000)
        theme = frame.locator("html").evaluate("e => [e.dataset.theme, getComputedStyle(e).color]")
        assert theme == ["dark", "rgb(230, 233, 238)"]  # Airflow's dark theme, our dark palette
        _shot(page, "ui-dashboard-dark")
        page.goto(f"{server.base_url}/dags/{FIRING}/plugin/sqlsentinel-alert")
        tab = page.frame_locator("iframe[title='SQL Sentinel']")
        tab.locator("svg.chart circle").first.wait_for(timeout=30_000)
        _shot(page, "ui-alert-tab-dark")

        page.set_viewport_size({"width": 420, "height": 860})
        page.goto(f"{server.base_url}/sqlsentinel/ui/dashboard")
        card = page.locator(f"tr[data-dag-id='{FIRING}']")
        card.wait_for(timeout=30_000)
        assert card.evaluate("r => getComputedStyle(r).display") == "grid"  # rows become cards
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        _shot(page, "ui-dashboard-narrow")
    finally:
        context.close()
