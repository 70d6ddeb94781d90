"""The plugin's registration, its pages and static files, and the sources of alert details."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from ui_support import PREFIX, UiServer

from sqlsentinel_airflow.core.config.models import AlertConfig, StateDbConfig
from sqlsentinel_airflow.dags.manifest import read_manifest, write_manifest
from sqlsentinel_airflow.ui.definitions import ManifestIndex, alert_docs

PACKAGE = Path(__file__).resolve().parents[3] / "sqlsentinel_airflow"


def test_importing_the_plugin_does_not_build_the_ui() -> None:
    """Schedulers and workers load every plugin: ours must not pull in FastAPI or the app."""
    code = (
        "import sys, sqlsentinel_airflow.plugin as p; p.SqlSentinelPlugin(); "
        "print(sorted(m for m in ('fastapi', 'sqlsentinel_airflow.ui.app', "
        "'airflow.api_fastapi.core_api.security') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_airflow_sees_the_app_and_both_views(ui: UiServer) -> None:
    from airflow import plugins_manager

    (info,) = [p for p in plugins_manager.get_plugin_info() if p["name"] == "sqlsentinel"]
    assert info["fastapi_apps"] == [
        {
            "app": "fastapi.applications.FastAPI",
            "url_prefix": "/sqlsentinel",
            "name": "SQL Sentinel",
        }
    ]
    views = {v["destination"]: v for v in info["external_views"]}
    assert views["nav"]["href"] == "sqlsentinel/ui/dashboard"
    assert views["nav"]["nav_top_level"] is True
    assert (views["nav"]["name"], views["dag"]["name"]) == ("Sentinel", "SQL Sentinel")
    assert views["dag"]["href"] == "sqlsentinel/ui/alert?dag_id={DAG_ID}"
    assert {v["url_route"] for v in views.values()} == {"sqlsentinel", "sqlsentinel-alert"}


def test_pages_and_assets_are_served_without_data_and_framed_by_airflow_only(ui: UiServer) -> None:
    for page in ("dashboard", "alert", "report"):
        response = ui.client.get(f"/sqlsentinel/ui/{page}")  # no token: the page holds no data
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'self'" in policy
        assert "script-src 'self'" in policy
        assert "revenue_drop" not in response.text
        assert "http://" not in response.text and "https://" not in response.text  # no CDN
    for asset in (
        "common.js",
        "dashboard.js",
        "alert.js",
        "report.js",
        "sentinel.css",
        "icon.svg",
        "icon-dark.svg",
    ):
        response = ui.client.get(f"/sqlsentinel/static/{asset}")
        assert response.status_code == 200, asset
        assert "https://" not in response.text, asset  # nothing fetched from the internet
    assert (
        ui.client.get("/sqlsentinel/", follow_redirects=False).headers["location"] == "ui/dashboard"
    )


def test_static_files_ship_in_the_wheel() -> None:
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert '"ui/static/*"' in pyproject
    shipped = {p.name for p in (PACKAGE / "ui" / "static").iterdir()}
    assert {"dashboard.html", "alert.html", "common.js", "sentinel.css"} <= shipped


def _alert(**overrides: Any) -> AlertConfig:
    base: dict[str, Any] = {
        "name": "orders_backlog",
        "slug": "orders_backlog",
        "dag_id": "sqlsentinel_orders_backlog",
        "description": "Too many orders wait.\nSecond line.",
        "query": "SELECT 'OK' AS status -- ``` inside the SQL\nFROM orders",
        "schedule": "*/10 * * * *",
        "severity": "critical",
        "key_columns": ("region",),
        "notify": (
            {"channel": "email", "to": ["a@example.com"]},
            {"channel": "webhook", "url": "https://hooks.example.com/secret-path"},
        ),
        "source_file": "alerts.yaml",
        "source_line": 12,
    }
    base.update(overrides)
    return AlertConfig.model_validate(base)


def test_the_ui_reads_the_definition_the_factory_embeds_not_the_markdown() -> None:
    from sqlsentinel_airflow.dags.factory import alert_doc_md

    text = alert_doc_md(_alert())
    docs = alert_docs(text)
    assert docs.description == "Too many orders wait.\nSecond line."
    assert docs.query == "SELECT 'OK' AS status -- ``` inside the SQL\nFROM orders"
    assert docs.channels == (
        "email to a@example.com via connection `smtp_default`",
        "webhook POST to URL (hidden)",
    )
    facts = {fact.label: fact.text for fact in docs.facts}
    assert facts["Severity"] == "critical"
    assert facts["One instance per"] == "region"
    assert facts["Source"] == "`alerts.yaml:12`"
    assert docs.banner == ""
    # The Markdown people read is not what the UI reads: rewriting it changes nothing.
    _, _, embedded = text.rpartition("<!-- sqlsentinel:alert-definition ")
    assert (
        alert_docs("### something else entirely\n\n<!-- sqlsentinel:alert-definition " + embedded)
        == docs
    )
    assert "hooks.example.com" not in text and "secret-path" not in text


def test_a_stale_alerts_docs_carry_the_banner() -> None:
    from sqlsentinel_airflow.dags.factory import alert_doc_md
    from sqlsentinel_airflow.dags.placeholder import stale_banner
    from sqlsentinel_airflow.errors import ConfigError

    error = ConfigError(
        message="unknown key 'shedule'", file="alerts.yaml", line=3, path="alerts[0]"
    )
    text = alert_doc_md(
        _alert(notify=()), banner=stale_banner([error], whole_file=False, since=None)
    )
    assert text.startswith("**⚠ This alert is invalid in the current alerts file.**")
    docs = alert_docs(text)
    assert docs.banner.startswith("⚠ This alert is invalid in the current alerts file. This")
    assert docs.channels == ()
    assert docs.query is not None and docs.query.endswith("FROM orders")


def test_docs_without_a_definition_read_as_a_description_only() -> None:
    assert alert_docs(None).query is None
    docs = alert_docs("Some other DAG's docs.")
    assert (docs.description, docs.query, docs.channels) == ("Some other DAG's docs.", None, ())
    newer = 'Docs.\n\n<!-- sqlsentinel:alert-definition {"version": 99, "name": "x"} -->\n'
    assert alert_docs(newer) == alert_docs("Docs.")


def test_the_newest_manifest_wins_and_edits_are_picked_up(
    ui: UiServer, airflow_home: Path, tmp_path: Path
) -> None:
    (source,) = [
        p
        for p in (airflow_home / "sqlsentinel" / "manifests").glob("*.json")
        if (m := read_manifest(p)) is not None and m.source == str(ui.alerts_file)
    ]
    manifest = read_manifest(source)
    assert manifest is not None
    folder = tmp_path / "manifests"
    write_manifest(folder / "a.json", manifest)
    index = ManifestIndex(folder)
    assert index.by_dag_id()[f"{PREFIX}revenue_drop"].severity == "critical"

    older = manifest.config.model_copy(
        update={
            "alerts": tuple(
                a.model_copy(update={"severity": "info"}) for a in manifest.config.alerts
            )
        }
    )
    write_manifest(
        folder / "b.json",
        replace(manifest, config=older, written_at=datetime(2020, 1, 1, tzinfo=timezone.utc)),
    )
    assert index.by_dag_id()[f"{PREFIX}revenue_drop"].severity == "critical"  # b is older
    write_manifest(
        folder / "b.json", replace(manifest, config=older, written_at=datetime.now(timezone.utc))
    )
    assert index.by_dag_id()[f"{PREFIX}revenue_drop"].severity == "info"
    (folder / "b.json").unlink()
    assert index.by_dag_id()[f"{PREFIX}revenue_drop"].severity == "critical"


def test_a_state_db_connection_is_read_through_airflow_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlsentinel_airflow.ui.stores import StateStores

    first, second = tmp_path / "first.db", tmp_path / "second.db"
    conn = {"conn_type": "sqlite", "host": str(first)}
    monkeypatch.setenv("AIRFLOW_CONN_UI_STATE", json.dumps(conn))
    stores = StateStores()
    assert stores.url_for(StateDbConfig(conn_id="ui_state")) == f"sqlite:///{first}"
    monkeypatch.setenv("AIRFLOW_CONN_UI_STATE", json.dumps({**conn, "host": str(second)}))
    assert stores.url_for(StateDbConfig(conn_id="ui_state")) == f"sqlite:///{first}"  # cached
    assert stores.url_for(StateDbConfig(url=f"sqlite:///{second}")) == f"sqlite:///{second}"
    assert StateStores().url_for(StateDbConfig(conn_id="ui_state")) == f"sqlite:///{second}"


def test_slack_reaches_its_route_through_airflow_without_a_login(
    ui: UiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow mounts the plugin as it is: the interaction route answers Slack (no Airflow
    token), verified by the signing secret of the connection the api-server reads."""
    import hashlib
    import hmac
    import time
    from urllib.parse import urlencode

    secret = "ui-test-signing-secret"
    monkeypatch.setenv(
        "AIRFLOW_CONN_SQLSENTINEL_SLACK_APP",
        json.dumps({"conn_type": "generic", "password": secret}),
    )
    body = urlencode({"payload": json.dumps({"type": "view_closed"})}).encode()
    stamp = str(int(time.time()))
    signature = (
        "v0="
        + hmac.new(
            secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
    }
    route = "/sqlsentinel/api/slack/interactions"

    unsigned = ui.client.post(route, content=body, headers=headers)
    signed = ui.client.post(
        route, content=body, headers={**headers, "X-Slack-Signature": signature}
    )

    assert (unsigned.status_code, unsigned.json()) == (401, {"detail": "request not verified"})
    assert signed.status_code == 200  # verified; not a button click, so nothing to do
