"""core.redact: URLs, database URLs, known values, bare tokens, short values, declared fields."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel

from sqlsentinel_airflow.core.config.models import (
    AlertConfig,
    AlertsConfig,
    DatabaseConfig,
    EmailChannel,
    Receiver,
    Routing,
    SlackChannel,
    StateDbConfig,
    WebhookChannel,
)
from sqlsentinel_airflow.core.redact import (
    MASK,
    MIN_SECRET_LENGTH,
    Redactor,
    _walk_plan,
    is_maskable,
    mask_values,
    one_line,
    public_dump,
    public_text,
    redact_db_url,
    redact_text,
    redact_url,
    secret_field_names,
    secret_values,
    url_origin,
)

# --- URLs -------------------------------------------------------------------------------


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


def test_redact_db_url_keeps_the_database_name_for_text_and_sqlalchemy_urls() -> None:
    text = "postgresql+psycopg2://alice:s3cret@127.0.0.1:5432/postgres?sslpassword=x"
    shown = "postgresql+psycopg2://alice:***@127.0.0.1:5432/postgres?sslpassword=***"
    assert redact_db_url(text) == shown
    assert redact_db_url(sa.engine.make_url(text)) == shown


def test_urls_in_text_keep_a_database_name_and_lose_a_webhook_path() -> None:
    text = (
        "failed: postgresql://alice:hunter22@db/x and host=db password=hunter22 "
        "after POST https://hooks.example.com/in/tok3nValue?sig=abc."
    )
    assert redact_text(text) == (
        "failed: postgresql://alice:***@db/x and host=db password=*** "
        "after POST https://hooks.example.com/***?sig=***"
    )


# --- known values -----------------------------------------------------------------------


def test_known_values_are_masked_in_every_form_a_library_prints() -> None:
    url = "https://hooks.example.com/services/T000/B000/s3cretTokenValue?key=qK81vd"
    redact = Redactor([url, "pw/with space", None, ""])
    text = (
        f"POST {url} failed; with url: /services/T000/B000/s3cretTokenValue; "
        "query key=qK81vd; dsn postgresql://u:pw%2Fwith%20space@h/db; login pw/with space"
    )
    cleaned = redact(text)
    for leaked in ("s3cretTokenValue", "qK81vd", "pw/with space", "pw%2Fwith%20space"):
        assert leaked not in cleaned
    assert cleaned == (
        "POST *** failed; with url: ***; query ***; dsn postgresql://u:***@h/db; login ***"
    )


def test_mask_values_masks_exactly_the_values_given() -> None:
    url = "https://hooks.example.com/alerts?token=webhook-secret-token"
    doc = f"Slack #data-alerts; post to {url} by hand; file dags/alerts/alerts.yaml; tok"
    assert mask_values(doc, [url, "tok", None]) == (
        "Slack #data-alerts; post to *** by hand; file dags/alerts/alerts.yaml; tok"
    )


def test_mask_known_changes_nothing_but_the_known_values() -> None:
    redact = Redactor(["hunter22"])
    text = "see https://wiki.example.com/runbooks/orders (hunter22)"
    assert redact.mask_known(text) == "see https://wiki.example.com/runbooks/orders (***)"


@pytest.mark.parametrize("value", ["", "  ", "abc", " ab "])
def test_values_shorter_than_the_minimum_are_not_masked(value: str) -> None:
    assert MIN_SECRET_LENGTH == 4
    assert not is_maskable(value)
    assert Redactor([value]).secrets == frozenset()
    assert redact_text("abc dev ab", [value]) == "abc dev ab"


def test_a_value_of_the_minimum_length_is_masked() -> None:
    assert is_maskable("abcd")
    assert redact_text("login abcd failed", ["abcd"]) == "login *** failed"


def test_unicode_values_are_masked_as_written_and_url_quoted() -> None:
    secret = "pässwörd-ü€"
    text = f"login {secret} failed; dsn mysql://u:p%C3%A4ssw%C3%B6rd-%C3%BC%E2%82%AC@h/db; café"
    cleaned = redact_text(text, [secret])
    assert cleaned == "login *** failed; dsn mysql://u:***@h/db; café"


def test_the_longest_value_is_masked_first() -> None:
    # "token-abc" inside "token-abcdef": masking the short one first would leave "def".
    assert redact_text("x token-abcdef y", ["token-abc", "token-abcdef"]) == "x *** y"


# --- bare tokens ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp", "***"),
        ("invalid_auth: xoxp-11-22-33-abcdef", "invalid_auth: ***"),
        ("app token xapp-1-A0B1C2-123-abcdef0123 rejected", "app token *** rejected"),
        ("refresh xoxe.xoxp-1-Mi0yLTEyMzQ1", "refresh ***"),
        ("refresh xoxe-1-My0xLTEyMzQ1", "refresh ***"),
        ("no_service: T0AB12CD/B0EF34GH/AbCdEfGhIjKlMnOpQrStUvWx", "no_service: ***"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.SflKxw", "Authorization: ***"),
        ("headers {'Authorization': 'Basic dXNlcjpwYXNz'}", "headers {'Authorization': '***'}"),
        ("sent with Bearer abc.def-ghi_123", "sent with Bearer ***"),
        ("password=hunter22 user=bob", "password=*** user=bob"),
        ('{"token": "t0ken-value", "ok": false}', '{"token": "***", "ok": false}'),
        ("api_key: 'k3y k3y' and client_secret=s3c", "api_key: '***' and client_secret=***"),
        ("(using password: YES)", "(using password: ***"),
    ],
)
def test_bare_tokens_are_masked_without_knowing_them(text: str, shown: str) -> None:
    assert redact_text(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Slack answered HTTP 404: no_service",
        "the receiver answered HTTP 500 Internal Server Error",
        "TCP/BGP/route flapped",  # no Slack webhook path: the last part is too short
        "boxb-1234 and xoxbox",  # not a Slack token
        "HMAC secret connection 'signing' has no password; put the signing key there",
        "the query on connection 'wh' exceeded timeout 5m",
    ],
)
def test_ordinary_messages_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_none_stays_none() -> None:
    assert redact_text(None) is None
    assert redact_text(None, ["secret-value"]) is None


def test_one_line_is_the_first_non_blank_line() -> None:
    assert one_line('\n  ERROR:  relation "x" does not exist\nLINE 1: SELECT\n  ^') == (
        'ERROR:  relation "x" does not exist'
    )
    assert one_line("  \n") == ""


# --- declared secret fields -------------------------------------------------------------


def test_the_secret_fields_declared_on_the_config_models() -> None:
    declared = {
        model.__name__: secret_field_names(model)
        for model in (
            EmailChannel,
            SlackChannel,
            WebhookChannel,
            StateDbConfig,
            DatabaseConfig,
            AlertConfig,
            AlertsConfig,
        )
    }
    assert declared == {
        "EmailChannel": (),
        "SlackChannel": ("webhook_url",),
        "WebhookChannel": ("url", "headers"),
        "StateDbConfig": ("url",),
        "DatabaseConfig": ("url",),
        "AlertConfig": ("database_url",),
        "AlertsConfig": (),
    }


def _alert(**changes: object) -> AlertConfig:
    fields: dict[str, object] = {
        "name": "orders",
        "slug": "orders",
        "dag_id": "sqlsentinel_orders",
        "query": "SELECT 'OK' AS status",
        "schedule": "@hourly",
        "database_url": "postgresql://app:dbPw-Q7k2@db/wh",
        "notify": (
            EmailChannel(channel="email", recipients=("oncall@example.com",)),
            SlackChannel(channel="slack", webhook_url="https://hooks.slack.com/services/T/B/slk9"),
            WebhookChannel(
                channel="webhook",
                url="https://hooks.example.com/in/whTok-3",
                headers={"X-Api-Key": "apiKey-8", "X-Team": "data"},
            ),
        ),
    }
    fields.update(changes)
    return AlertConfig.model_validate(fields)


def test_secret_values_walks_nested_models() -> None:
    config = AlertsConfig(
        state_db=StateDbConfig(url="postgresql://s:statePw-1@db/state"),
        database=DatabaseConfig(url="postgresql://app:dbPw-Q7k2@db/wh"),
        alerts=(_alert(),),
        default_notify=(SlackChannel(channel="slack", webhook_url="https://h/T/B/defaultTok"),),
    )
    assert sorted(secret_values(config)) == sorted(
        [
            "postgresql://s:statePw-1@db/state",
            "postgresql://app:dbPw-Q7k2@db/wh",
            "postgresql://app:dbPw-Q7k2@db/wh",
            "https://hooks.slack.com/services/T/B/slk9",
            "https://hooks.example.com/in/whTok-3",
            "apiKey-8",
            "data",
            "https://h/T/B/defaultTok",
        ]
    )


def test_public_dump_masks_declared_fields_and_keeps_the_rest() -> None:
    config = AlertsConfig(
        state_db=StateDbConfig(conn_id="state"),
        alerts=(_alert(),),
        silences=(),
    )
    dumped = public_dump(config)
    text = str(dumped)
    for secret in ("dbPw-Q7k2", "slk9", "whTok-3", "apiKey-8"):
        assert secret not in text
    alert = dumped["alerts"][0]  # type: ignore[index]
    assert alert["database_url"] == MASK
    email, slack, webhook = alert["notify"]
    assert email["to"] == ["oncall@example.com"]
    assert slack["webhook_url"] == MASK
    assert webhook["url"] == MASK
    assert webhook["headers"] == {"X-Api-Key": MASK, "X-Team": MASK}  # names stay, values go
    assert webhook["method"] == "POST" and alert["schedule"] == "@hourly"
    assert dumped["state_db"] == {"conn_id": "state", "url": None}  # unset stays visible
    assert public_dump(config.alerts[0]) == alert


def test_public_dump_of_a_model_without_secret_values_is_its_json_dump() -> None:
    alert = _alert(database_url=None, notify=(EmailChannel(channel="email", recipients=("a@b",)),))
    assert public_dump(alert) == alert.model_dump(mode="json")


# --- public destinations: where a delivery goes, as the outbox and the UI show it ------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        (
            "https://user:pw-secret@hooks.example.com:8443/a/token-path?key=q-secret#f",
            "https://hooks.example.com:8443",
        ),
        ("http://127.0.0.1/hooks/x", "http://127.0.0.1"),
        ("https://[::1]:9/x", "https://[::1]:9"),
        ("not a url", MASK),
        ("https://host:99999/x", MASK),
    ],
)
def test_url_origin_keeps_scheme_host_and_port_only(url: str, origin: str) -> None:
    assert url_origin(url) == origin


def test_each_channel_says_its_destination_without_a_secret() -> None:
    email = EmailChannel(
        channel="email", to=("a@x.org", "b@x.org"), cc=("c@x.org",), bcc=("d@x.org",)
    )
    assert email.public_destination() == "a@x.org, b@x.org, c@x.org (+1 bcc)"
    hook = "https://hooks.slack.com/services/T00/B00/slack-secret-token"
    assert SlackChannel(channel="slack", webhook_url=hook).public_destination() == "Slack webhook"
    named = SlackChannel(channel="slack", webhook_url=hook, slack_channel="#ops")
    assert named.public_destination() == "#ops"
    assert SlackChannel(channel="slack", conn_id="slack_ops").public_destination() == (
        "Slack connection slack_ops"
    )
    webhook = WebhookChannel(
        channel="webhook",
        url="https://bot:pw-secret@example.com/in/path-secret?token=q-secret",
        headers={"Authorization": "Bearer header-secret"},
    )
    assert webhook.public_destination() == "POST https://example.com"
    by_conn = WebhookChannel(channel="webhook", conn_id="pager", endpoint="/v1/token-in-path")
    assert by_conn.public_destination() == "POST via connection pager"


# --- the walk: every field that may nest a model, and only those --------------------------


def test_public_text_masks_the_secrets_of_routed_and_escalation_receivers() -> None:
    # a file gives receivers connections only; the models allow secrets there, so the walk
    # must reach them
    routed = Receiver(
        name="team",
        notify=(SlackChannel(channel="slack", webhook_url="https://h/T1/B1/routedTok"),),
    )
    escalated = Receiver(
        name="oncall",
        notify=(WebhookChannel(channel="webhook", url="https://pager.example.com/escalTok-5"),),
    )
    alert = _alert(
        description="posts to https://h/T1/B1/routedTok, pages https://pager.example.com/"
        "escalTok-5, reads postgresql://app:dbPw-Q7k2@db/wh, https://h/T/B/notMine-1",
        notify=(),
        routing=Routing(receivers=(routed,)),
        escalation_receivers=(escalated,),
    )
    shown = public_text(alert, alert.description)
    assert shown == f"posts to {MASK}, pages {MASK}, reads {MASK}, https://h/T/B/notMine-1"


class _SlackInside(BaseModel):
    """Loosely typed fields, each holding a channel with a secret."""

    anything: Any = None
    an_object: object = None
    bare_dict: dict = {}  # type: ignore[type-arg]
    typed_dict: dict[str, SlackChannel] = {}
    any_list: list[Any] = []
    optional: int | SlackChannel | None = None
    annotated: Annotated[SlackChannel | None, "note"] = None


def test_secret_values_walks_loosely_typed_fields() -> None:
    def slack(token: str) -> SlackChannel:
        return SlackChannel(channel="slack", webhook_url=f"https://h/T/B/{token}")

    holder = _SlackInside(
        anything=slack("any-1"),
        an_object=slack("obj-2"),
        bare_dict={"k": slack("bare-3")},
        typed_dict={"k": slack("typed-4")},
        any_list=[slack("list-5")],
        optional=slack("opt-6"),
        annotated=slack("ann-7"),
    )
    tokens = ("any-1", "obj-2", "bare-3", "typed-4", "list-5", "opt-6", "ann-7")
    assert sorted(secret_values(holder)) == sorted(f"https://h/T/B/{t}" for t in tokens)


def test_the_walk_skips_fields_whose_type_holds_no_model() -> None:
    plan = dict(_walk_plan(AlertConfig))
    assert [name for name, secret in plan.items() if secret] == ["database_url"]
    assert {"notify", "routing", "escalation_receivers", "freshness", "assets"} <= set(plan)
    skipped = set(AlertConfig.model_fields) - set(plan)
    assert {"name", "description", "query", "tags", "timeout", "severity"} <= skipped
    assert list(plan) == [name for name in AlertConfig.model_fields if name in plan]  # in order
