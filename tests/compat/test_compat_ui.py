"""The UI plugin in a real ``airflow api-server`` of this release: its API refuses anonymous
requests and serves an authenticated one; its page renders the firing alert in a browser."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import AIRFLOW, FIRING, Env, free_port

CHROMIUM = "/usr/bin/chromium"
PASSWORD = secrets.token_urlsafe(12)


@dataclass
class Server:
    base_url: str
    token: str


@pytest.fixture(scope="module")
def server(env: Env, fired: subprocess.CompletedProcess[str]) -> Iterator[Server]:
    passwords = env.home / "passwords.json"
    passwords.write_text(json.dumps({"admin": PASSWORD}))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server_env = {
        **os.environ,
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
    }
    log = env.home / "api-server.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [AIRFLOW, "api-server", "--port", str(port)],
            env=server_env,
            cwd=env.home,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        token = _wait_for_token(base_url, process, log)
        yield Server(base_url, token)
    finally:
        _stop(process)


def _wait_for_token(base_url: str, process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, f"api-server exited:\n{log.read_text()[-4000:]}"
        try:
            response = httpx.post(
                f"{base_url}/auth/token",
                json={"username": "admin", "password": PASSWORD},
                timeout=5,
            )
            if response.status_code in (200, 201):
                return str(response.json()["access_token"])
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"api-server not ready in 120 s:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_the_api_refuses_an_anonymous_request(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/sqlsentinel/api/alerts", timeout=30)
    assert response.status_code == 401, response.text


def test_the_api_serves_an_authenticated_request(server: Server) -> None:
    response = httpx.get(
        f"{server.base_url}/sqlsentinel/api/alerts",
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    alerts = {a["dag_id"]: a for a in response.json()["alerts"]}
    assert alerts[FIRING]["status"] == "firing"


def test_the_page_shows_the_firing_alert_in_a_browser(server: Server) -> None:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's Chromium is required: apt-get install -y chromium"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context()
            context.set_default_timeout(30_000)
            host = server.base_url.split("//", 1)[1].split(":")[0]
            context.add_cookies(
                [{"name": "_token", "value": server.token, "domain": host, "path": "/"}]
            )
            page: Any = context.new_page()
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(f"{server.base_url}/sqlsentinel/ui/dashboard")
            badge = page.locator(f"tr[data-dag-id='{FIRING}'] .badge").first
            badge.wait_for()
            assert badge.get_attribute("data-status") == "firing"
        finally:
            browser.close()
    assert problems == []
