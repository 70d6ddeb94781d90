"""Fixtures of the e2e stage: PostgreSQL databases, notification receivers, running Airflows.

Each test module starts its own deployment (module scope) from :func:`launched`: a metadata
database of its own on 127.0.0.1:5432 (created here, dropped afterwards), the package's
example DAG file and the module's alerts.yaml in a temporary dags folder, and the Airflow
components as processes. Every figure a scenario measures (time to healthy, reload latency)
is printed in the terminal summary.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from e2e_receivers import HttpReceiver, MailReceiver
from e2e_support import FIGURES, PG_ADMIN_URL, READER_PREFIX, STAGE_STARTED
from ui_browser import Server, launch_browser, start_server


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("e2e figures")
    for name, value in FIGURES:
        terminalreporter.write_line(f"{name}: {value}")
    terminalreporter.write_line(f"e2e stage so far: {time.monotonic() - STAGE_STARTED:.0f}s")


@pytest.fixture(scope="module")
def databases() -> Iterator[Callable[[str], str]]:
    """``create(purpose) -> name``: fresh PostgreSQL databases, dropped after the module."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    created: list[str] = []

    def create(purpose: str) -> str:
        name = f"sse2e_{purpose}_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        except sa.exc.OperationalError as exc:
            pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is required and unreachable: {exc}")
        created.append(name)
        return name

    yield create
    with admin.connect() as conn:
        for name in created:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for name in created:  # read-only logins made by e2e_support.reader_conn_uri
            role = READER_PREFIX + name.removeprefix("sse2e_")
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


@pytest.fixture(scope="module")
def mail() -> Iterator[MailReceiver]:
    receiver = MailReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def webhook() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The api-server every browser test uses (``ui_browser.start_server``)."""
    with start_server(tmp_path_factory.mktemp("ui_browser")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, under Playwright (``ui_browser.launch_browser``).

    Per module, not per session: Playwright's sync API keeps an asyncio event loop running
    in this thread while it is open, and later tests that run their own loop
    (``asyncio.run``, triggers, ``dag.test()``) must not find it."""
    with launch_browser() as launched:
        yield launched
