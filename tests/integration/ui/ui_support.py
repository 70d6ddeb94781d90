"""What the UI tests share: the users, the alerts' dag_ids, a client for the plugin's API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PASSWORD = "ui-test-password"
SLACK_SECRET = "https://hooks.slack.com/services/T0/B0/ui-secret-token"
WEBHOOK_SECRET = (
    "https://bot:hook-password@hooks.example.com:8443/in/hook-path-token?key=hook-query-token"
)
ACTION_LINKS_KEY = "ui-tests-action-links-key-0123456789"  # ui_action_links' password
PREFIX = "uitest_"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
USERS = {"admin": "admin", "editor": "user", "viewer": "viewer"}


@dataclass(frozen=True)
class Rows:
    """A query result as the execution layer returns it."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass
class UiServer:
    client: Any  # fastapi.testclient.TestClient over the root app (plugin + auth)
    dags: Path
    alerts_file: Path
    tokens: dict[str, str]

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def get(self, path: str, user: str | None = "admin", **params: Any) -> Any:
        return self.client.get(f"/sqlsentinel/api{path}", headers=self.headers(user), params=params)

    def post(self, path: str, body: Any = None, user: str | None = "admin") -> Any:
        return self.client.post(f"/sqlsentinel/api{path}", headers=self.headers(user), json=body)

    def alerts(self, user: str = "admin") -> dict[str, dict[str, Any]]:
        response = self.get("/alerts", user)
        assert response.status_code == 200, response.text
        return {a["dag_id"]: a for a in response.json()["alerts"] if a["dag_id"].startswith(PREFIX)}
