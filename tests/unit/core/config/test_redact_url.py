"""redact_url: URLs shown without passwords, tokens or query values."""

from __future__ import annotations

import pytest

from sqlsentinel_airflow.core.config import redact_url


@pytest.mark.parametrize(
    ("url", "keep_path", "shown"),
    [
        ("https://hooks.slack.com/services/T0/B0/SECRET", False, "https://hooks.slack.com/***"),
        ("https://example.com", False, "https://example.com"),
        ("https://example.com/", False, "https://example.com/"),
        (
            "https://user:pw@example.com:8443/x?token=abc&debug",
            False,
            "https://user:***@example.com:8443/***?token=***&debug",
        ),
        (
            "postgresql+psycopg2://app:s3cret@db:5432/warehouse",
            True,
            "postgresql+psycopg2://app:***@db:5432/warehouse",
        ),
        ("postgresql://app@db/warehouse", True, "postgresql://app@db/warehouse"),
        ("sqlite:////var/lib/state.db", True, "sqlite:////var/lib/state.db"),
        ("http://[::1]:8080/hook#frag", False, "http://[::1]:8080/***#***"),
        ("not a url", False, "***"),
        ("http://host:99999/x", False, "***"),
    ],
)
def test_redact_url(url: str, keep_path: bool, shown: str) -> None:
    assert redact_url(url, keep_path=keep_path) == shown
    for secret in ("SECRET", "s3cret", "abc", "pw@"):
        if secret in url:
            assert secret not in shown
