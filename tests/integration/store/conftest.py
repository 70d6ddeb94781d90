"""Fixtures of the state store tests: a migrated store on each database, and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from sqlsentinel_airflow.store import StateStore


@pytest.fixture
def store(any_db_url: str) -> Iterator[StateStore]:
    """A StateStore on a fresh, migrated SQLite / PostgreSQL / MariaDB database."""
    opened = StateStore.connect(any_db_url)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def now() -> datetime:
    """A fixed instant with microseconds, so round trips show any precision loss."""
    return datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=timezone.utc)
