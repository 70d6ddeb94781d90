"""Fixtures of the monthly report's tests: a loopback webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from report_scenario import HttpReceiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    yield server
    server.close()
