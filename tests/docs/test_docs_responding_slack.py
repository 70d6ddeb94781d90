"""docs/responding.md, "From Slack": the Slack app manifest, the connections and the alert, as written.

The manifest's interactivity URL is the route the plugin serves; the connections, turned into
``AIRFLOW_CONN_*`` variables, are read by the code that reads them in production (SlackHook
for the bot token, the interaction route's settings loader for the signing secret); the
alert loads with the page's connection as its ``bot_conn_id``.
"""

from __future__ import annotations

import json
import shlex
from urllib.parse import urlsplit

import pytest
import yaml
from docs_snippets import text

from sqlsentinel_airflow.airflow_contract import DEFAULT_SLACK_APP_CONN_ID
from sqlsentinel_airflow.core.config import SlackChannel, load_config_text
from sqlsentinel_airflow.ui import API_PREFIX, URL_PREFIX
from sqlsentinel_airflow.ui.slack_interactions import INTERACTIONS_PATH, load_slack_app_settings


def _connections() -> dict[str, dict[str, object]]:
    """``airflow connections add`` of the page, as Airflow's JSON connection form."""
    found: dict[str, dict[str, object]] = {}
    for command in text("respond-slack-connections").replace("\\\n", " ").splitlines():
        words = shlex.split(command, comments=True)
        if not words:
            continue
        assert words[:3] == ["airflow", "connections", "add"], command
        options = dict(zip(words[4::2], words[5::2], strict=True))
        conn: dict[str, object] = {"conn_type": options.pop("--conn-type")}
        conn["password"] = options.pop("--conn-password")
        if "--conn-extra" in options:
            conn["extra"] = json.loads(options.pop("--conn-extra"))
        assert not options, options
        found[words[3]] = conn
    return found


def test_the_manifest_points_slack_at_the_plugin_route() -> None:
    manifest = yaml.safe_load(text("respond-slack-app-manifest"))
    assert manifest["oauth_config"]["scopes"]["bot"] == ["chat:write", "users:read"]
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    url = urlsplit(interactivity["request_url"])
    assert (url.scheme, url.path) == ("https", URL_PREFIX + API_PREFIX + INTERACTIONS_PATH)


def test_the_connections_are_read_as_the_page_says(monkeypatch: pytest.MonkeyPatch) -> None:
    conns = _connections()
    assert sorted(conns) == sorted(["slack_bot", DEFAULT_SLACK_APP_CONN_ID])
    for conn_id, conn in conns.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))

    from airflow.providers.slack.hooks.slack import SlackHook

    client = SlackHook(slack_conn_id="slack_bot").client
    assert client.token == conns["slack_bot"]["password"]
    assert client.token.startswith("xoxb-")
    settings = load_slack_app_settings(DEFAULT_SLACK_APP_CONN_ID)
    assert settings is not None
    assert settings.signing_secret == conns[DEFAULT_SLACK_APP_CONN_ID]["password"]
    assert settings.allowed_team_ids == {"T0123ABCD"}
    assert settings.allowed_user_ids == {"U0123ANA", "U0456BOB"}


def test_the_alert_posts_through_the_page_s_bot_connection() -> None:
    result = load_config_text(text("respond-slack-alerts-yaml"), "alerts.yaml")
    assert result.errors == [] and result.config is not None
    (channel,) = result.config.alerts[0].notify
    assert isinstance(channel, SlackChannel)
    assert channel.bot_conn_id in _connections()
    assert (channel.slack_channel, channel.conn_id, channel.webhook_url) == (
        "#data-alerts",
        None,
        None,
    )
