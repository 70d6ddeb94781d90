"""load_config / load_config_text: valid files, inheritance, interpolation, compatibility."""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sqlsentinel_airflow.core.config import (
    AlertsConfig,
    EmailChannel,
    SlackChannel,
    WebhookChannel,
    load_config,
    load_config_text,
    validate_config,
)
from sqlsentinel_airflow.errors import ConfigErrors

FIXTURES = Path(__file__).parents[3] / "fixtures" / "config"

STANDALONE_ENV = {
    "DATABASE_URL": "sqlite:////var/lib/sqlsentinel/warehouse.db",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
    "PAGERDUTY_WEBHOOK": "https://events.pagerduty.example/v2/enqueue",
    "PAGERDUTY_TOKEN": "pd-token-123",
}


def load_ok(text: str, **kwargs: object) -> AlertsConfig:
    result = load_config_text(text, "alerts.yaml", **kwargs)  # type: ignore[arg-type]
    assert result.errors == []
    assert result.config is not None
    return result.config


def test_example_file_resolves_every_setting() -> None:
    result = load_config(FIXTURES / "example.yaml", conn_type_of=lambda conn_id: "postgres")
    assert result.ok, result.errors
    config = result.config
    assert config is not None
    revenue, stale = config.alerts
    assert revenue.dag_id == "sqlsentinel_daily_revenue_check"
    assert revenue.slug == "daily_revenue_check"
    assert revenue.conn_id == "warehouse"
    assert revenue.dialect == "postgres"
    assert revenue.timezone == "Europe/Berlin"
    assert revenue.owner == "data-team"
    assert revenue.timeout == timedelta(minutes=5)
    assert revenue.renotify_after == timedelta(hours=4)
    assert revenue.notify_on_error == 3
    assert revenue.max_rows == 1
    assert revenue.source_line == 22
    email, slack, webhook = revenue.notify
    assert isinstance(email, EmailChannel) and email.to == ("team@company.com",)
    assert email.subject == "Revenue alert: {{ alert.name }}"
    assert isinstance(slack, SlackChannel) and slack.slack_channel == "#data-alerts"
    assert isinstance(webhook, WebhookChannel) and webhook.headers == {"X-Team": "data"}
    assert stale.query_file == "sql/stale_tables.sql"
    assert stale.query == (FIXTURES / "sql" / "stale_tables.sql").read_text()
    assert stale.key_columns == ("table_name",)
    assert stale.max_rows == 1000
    assert stale.renotify_after is None  # `never` overrides the 4h default
    assert config.state_db is not None and config.state_db.conn_id == "sqlsentinel_state"
    [silence] = config.silences
    assert silence.until == datetime(2030, 1, 1, 6, tzinfo=timezone.utc)
    assert [c.channel for c in config.default_notify] == ["email"]
    expected_hash = hashlib.sha256((FIXTURES / "example.yaml").read_bytes()).hexdigest()
    assert config.content_hash == expected_hash


def test_defaults_inheritance_alert_wins_tags_union_notify_replaces() -> None:
    config = load_ok(
        """
defaults:
  conn_id: warehouse
  severity: critical
  retries: 5
  tags: [finance, daily]
  notify:
    - {channel: email, to: defaults@example.com}
alerts:
  - name: inherits
    query: SELECT 'OK' AS status
    schedule: "@daily"
  - name: overrides
    query: SELECT 'OK' AS status
    schedule: "@daily"
    severity: info
    retries: 0
    tags: [daily, revenue, finance, revenue]
    notify:
      - {channel: webhook, url: "https://hooks.example.com/x"}
""",
        env={},
    )
    inherits, overrides = config.alerts
    assert (inherits.severity, inherits.retries) == ("critical", 5)
    assert inherits.tags == ("finance", "daily")
    assert [c.channel for c in inherits.notify] == ["email"]
    assert (overrides.severity, overrides.retries) == ("info", 0)
    assert overrides.tags == ("finance", "daily", "revenue")
    assert [c.channel for c in overrides.notify] == ["webhook"]


def test_unwritten_settings_take_the_model_defaults() -> None:
    [alert] = load_ok(
        "alerts: [{name: x, query: SELECT 1, schedule: '@hourly', conn_id: c}]", env={}
    ).alerts
    assert alert.timezone == "UTC"
    assert alert.notify_on_error == 3
    assert alert.renotify_after is None
    assert alert.enabled is True
    assert alert.dialect is None  # no conn_type_of: generic SQL


def test_variables_expand_everywhere_except_in_queries() -> None:
    config = load_ok(
        """
defaults: {conn_id: "${CONN:-fallback}"}
alerts:
  - name: "${PREFIX}_check"
    description: "owner is $${OWNER}"
    query: |
      SELECT CASE WHEN '${PREFIX}' = 'x' THEN 'ALERT' ELSE 'OK' END AS status
    schedule: "${SCHEDULE}"
    retries: ${RETRIES}
""",
        env={"PREFIX": "sales", "SCHEDULE": "0 9 * * *", "RETRIES": "4", "CONN": ""},
    )
    [alert] = config.alerts
    assert alert.name == "sales_check"
    assert alert.description == "owner is ${OWNER}"
    assert "'${PREFIX}' = 'x'" in alert.query
    assert alert.schedule == "0 9 * * *"
    assert alert.retries == 4
    assert alert.conn_id == "fallback"  # `:-` also replaces an empty value


def test_query_file_contents_are_never_interpolated(tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT '${HOME}' AS status\n")
    (tmp_path / "alerts.yaml").write_text(
        "alerts: [{name: f, query_file: q.sql, schedule: '@daily', conn_id: c}]\n"
    )
    config = validate_config(tmp_path / "alerts.yaml", env={"HOME": "/root"})
    assert config.alerts[0].query == "SELECT '${HOME}' AS status\n"


def test_standalone_sql_sentinel_file_validates_unchanged() -> None:
    result = load_config(FIXTURES / "standalone.yaml", env=STANDALONE_ENV)
    assert result.errors == []
    config = result.config
    assert config is not None
    assert config.database is not None
    assert config.database.url == STANDALONE_ENV["DATABASE_URL"]
    revenue, errors, payments = config.alerts
    for alert in config.alerts:
        assert alert.conn_id is None
        assert alert.database_url == STANDALONE_ENV["DATABASE_URL"]
        assert alert.dialect == "sqlite"
    [email] = revenue.notify
    assert isinstance(email, EmailChannel)
    assert email.to == ("finance@company.com",)
    assert email.subject == "Revenue Alert: {alert_name}"
    assert errors.enabled is False
    [slack] = errors.notify
    assert isinstance(slack, SlackChannel)
    assert slack.webhook_url == STANDALONE_ENV["SLACK_WEBHOOK_URL"]
    assert slack.slack_channel == "#data-quality-alerts"  # the second `channel:` key
    assert slack.username == "SQL Sentinel - Data Quality"
    assert payments.description == ""
    _, webhook = payments.notify
    assert isinstance(webhook, WebhookChannel)
    assert webhook.method == "POST"
    assert webhook.headers == {
        "Authorization": "Token token=pd-token-123",
        "Content-Type": "application/json",
    }


def test_standalone_database_url_scheme_chooses_the_dialect() -> None:
    env = dict(STANDALONE_ENV, DATABASE_URL="postgresql+psycopg2://u:pw@db/warehouse")
    config = validate_config(FIXTURES / "standalone.yaml", env=env)
    assert {a.dialect for a in config.alerts} == {"postgres"}


def test_conn_type_of_is_asked_once_per_connection() -> None:
    asked: list[str] = []

    def conn_type_of(conn_id: str) -> str | None:
        asked.append(conn_id)
        return {"pg": "postgres", "my": "mysql"}.get(conn_id)

    config = load_ok(
        """
alerts:
  - {name: a, query: "SELECT 1", schedule: "@daily", conn_id: pg}
  - {name: b, query: "SELECT 1", schedule: "@daily", conn_id: pg}
  - {name: c, query: "SELECT `x` FROM t", schedule: "@daily", conn_id: my}
  - {name: d, query: "SELECT 1", schedule: "@daily", conn_id: other}
""",
        env={},
        conn_type_of=conn_type_of,
    )
    assert [a.dialect for a in config.alerts] == ["postgres", "postgres", "mysql", None]
    assert asked == ["pg", "my", "other"]


def test_a_failing_conn_type_lookup_means_generic_sql() -> None:
    def conn_type_of(conn_id: str) -> str | None:
        raise LookupError(f"no connection {conn_id}")

    config = load_ok(
        "alerts: [{name: a, query: SELECT 1, schedule: '@daily', conn_id: nope}]",
        env={},
        conn_type_of=conn_type_of,
    )
    assert config.alerts[0].dialect is None


def test_sql_the_exact_dialect_cannot_parse_is_refused_not_tried_leniently() -> None:
    # sqlglot's T-SQL dialect has no IF() function. The generic dialect would parse it, but
    # a more lenient dialect reads comments and strings unlike the database: refused.
    query = "SELECT IF(n > 0, 'ALERT', 'OK') AS status FROM t"
    result = load_config_text(
        f"alerts: [{{name: a, query: \"{query}\", schedule: '@daily', conn_id: ms}}]",
        "alerts.yaml",
        env={},
        conn_type_of=lambda conn_id: "mssql",
    )
    assert result.config is not None and result.config.alerts == ()
    [error] = result.errors
    assert error.message.startswith("query does not parse as tsql SQL: ")
    assert error.line == 1 and error.path == "alerts[0].query"
    assert "move the part the parser does not know into a view" in (error.hint or "")


def test_notify_on_error_spellings() -> None:
    text = "\n".join(
        ["defaults: {conn_id: c, schedule: '@daily'}", "alerts:"]
        + [
            f"  - {{name: a{i}, query: SELECT 1, notify_on_error: {value}}}"
            for i, value in enumerate(["after 3", "5", "true", "false", "never", "'After 2'"])
        ]
    )
    config = load_ok(text, env={})
    assert [a.notify_on_error for a in config.alerts] == [3, 5, 1, None, None, 2]


def test_single_recipient_string_and_recipients_alias() -> None:
    config = load_ok(
        """
defaults: {conn_id: c, schedule: "@daily"}
alerts:
  - name: a
    query: SELECT 1
    notify:
      - {channel: email, to: one@example.com}
      - {channel: email, recipients: [two@example.com, "Team <three@example.com>"]}
""",
        env={},
    )
    first, second = config.alerts[0].notify
    assert isinstance(first, EmailChannel) and first.to == ("one@example.com",)
    assert isinstance(second, EmailChannel)
    assert second.to == ("two@example.com", "Team <three@example.com>")


def test_explicit_max_rows_and_key_columns_default() -> None:
    config = load_ok(
        """
defaults: {conn_id: c, schedule: "@daily"}
alerts:
  - {name: single, query: SELECT 1}
  - {name: keyed, query: SELECT 1, key_columns: [a, b]}
  - {name: capped, query: SELECT 1, key_columns: table_name, max_rows: 50}
""",
        env={},
    )
    assert [(a.key_columns, a.max_rows) for a in config.alerts] == [
        ((), 1),
        (("a", "b"), 1000),
        (("table_name",), 50),
    ]


def test_silence_times_naive_means_utc_and_date_means_midnight() -> None:
    config = load_ok(
        """
alerts: []
silences:
  - {match: "etl_*", until: "2031-03-04T05:06:07", reason: upgrade}
  - {match: a, starts: 2031-01-01T00:00:00+02:00, until: 2031-01-02}
""",
        env={},
    )
    first, second = config.silences
    assert first.until == datetime(2031, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert second.until == datetime(2031, 1, 2, tzinfo=timezone.utc)
    assert second.starts is not None and second.starts.utcoffset() == timedelta(hours=2)


def test_silence_ending_before_it_starts_is_a_file_error() -> None:
    result = load_config_text(
        "alerts: []\nsilences:\n  - {match: a, starts: 2031-01-02, until: 2031-01-01}\n",
        "alerts.yaml",
        env={},
    )
    assert [e.format() for e in result.errors] == [
        "alerts.yaml:3:5 silences[0]: silence `until` is not after `starts`"
    ]
    assert result.config is None


def test_x_keys_hold_anchors_merged_into_alerts() -> None:
    config = load_ok(
        """
x-common: &common
  conn_id: warehouse
  schedule: "*/5 * * * *"
  severity: critical
alerts:
  - <<: *common
    name: a
    query: SELECT 1
  - <<: *common
    name: b
    query: SELECT 2
    severity: info
""",
        env={},
    )
    assert [(a.conn_id, a.severity) for a in config.alerts] == [
        ("warehouse", "critical"),
        ("warehouse", "info"),
    ]


def test_alert_without_any_connection_is_refused() -> None:
    result = load_config_text(
        "alerts:\n  - name: a\n    query: SELECT 1\n    schedule: '@daily'\n", "f.yaml", env={}
    )
    [error] = result.errors
    assert error.format() == (
        "f.yaml:2:5 alerts[0].conn_id: no connection for this alert's query (set `conn_id` "
        "here or in `defaults`, a top-level `database: {url: ...}`, or the DATABASE_URL "
        "environment variable)"
    )


def test_errors_in_defaults_are_reported_once_not_per_alert() -> None:
    result = load_config_text(
        """
defaults:
  conn_id: c
  schedule: "0 99 * * *"
  query: SELECT 1
alerts:
  - {name: a, query: SELECT 1}
  - {name: b, query: SELECT 1}
""",
        "f.yaml",
        env={},
    )
    assert [e.format() for e in result.errors] == [
        "f.yaml:4:13 defaults.schedule: '0 99 * * *' is not a valid cron expression (hour 99)",
        "f.yaml:5:3 defaults.query: unknown key `query` "
        "(`query` belongs to each alert, not to `defaults`)",
    ]
    assert result.config is None


def test_wrong_types_are_named_with_what_was_written() -> None:
    result = load_config_text(
        """
defaults: {conn_id: c, schedule: "@daily"}
alerts:
  - name: a
    query: SELECT 1
    enabled: maybe
    retries: [1]
    tags: {a: 1}
    fire_after: 0
    notify:
      - channel: slack
      - just-a-string
      - {to: a@example.com}
""",
        "f.yaml",
        env={},
    )
    assert [e.format() for e in result.errors] == [
        "f.yaml:6:14 alerts[0].enabled: expected true or false, got 'maybe'",
        "f.yaml:7:14 alerts[0].retries: expected an integer, got a list",
        "f.yaml:8:11 alerts[0].tags: expected a list, got a mapping",
        "f.yaml:9:17 alerts[0].fire_after: must be at least 1, got 0",
        "f.yaml:11:9 alerts[0].notify[0]: a slack channel needs `conn_id`, `webhook_url` or "
        "`bot_conn_id` (write `conn_id: slack_alerts` (a slackwebhook connection), "
        "`webhook_url: ${SLACK_WEBHOOK_URL}`, or `bot_conn_id: slack_bot` with "
        "`slack_channel: '#data-alerts'` (a Slack app, for buttons))",
        "f.yaml:12:9 alerts[0].notify[1]: expected a mapping, got 'just-a-string' "
        "(write a channel like `{channel: email, to: [team@example.com]}`)",
        "f.yaml:13:9 alerts[0].notify[2].channel: missing required key `channel` "
        "(`channel` is one of: email, slack, webhook, pagerduty, teams)",
    ]


def test_file_level_shape_errors() -> None:
    cases = {
        "": "f.yaml:1:1 the file is empty (start with `alerts:`)",
        "- a\n": "f.yaml:1:1 the top level must be a mapping "
        "(start with `alerts:` followed by a list of alerts)",
        "version: 1\n": "f.yaml:1:1 alerts: missing required key `alerts` (add a list of alerts)",
        "alerts: {a: 1}\n": "f.yaml:1:9 alerts: expected a list of alerts "
        "(write `- name: ...` items)",
        "version: 2\nalerts: []\n": "f.yaml:1:10 version: unsupported version 2 "
        "(this release reads `version: 1`)",
        "alerts: []\ndag_id_prefix: 'bad prefix'\n": "f.yaml:2:16 dag_id_prefix: 'bad prefix' "
        "cannot start a dag_id (use letters, digits, `_`, `-` and `.`)",
    }
    for text, expected in cases.items():
        result = load_config_text(text, "f.yaml", env={})
        assert [e.format() for e in result.errors] == [expected], text
        assert result.config is None


def test_missing_file_is_a_file_error_not_an_exception(tmp_path: Path) -> None:
    result = load_config(tmp_path / "nope.yaml")
    [error] = result.errors
    assert (
        error.format()
        == f"{tmp_path / 'nope.yaml'} cannot read the file: No such file or directory"
    )
    assert result.config is None and result.file_errors == [error]
    with pytest.raises(ConfigErrors, match="cannot read the file"):
        validate_config(tmp_path / "nope.yaml")


def test_secrets_are_not_quoted_in_messages() -> None:
    secret = "http://hooks.slack.com/services/T0/B0/TOPSECRET"
    result = load_config_text(
        f"""
defaults: {{conn_id: c, schedule: "@daily"}}
alerts:
  - name: a
    query: SELECT 1
    notify:
      - {{channel: slack, webhook_url: "{secret}"}}
      - {{channel: webhook, url: 42}}
""",
        "f.yaml",
        env={},
    )
    text = "\n".join(e.format() for e in result.errors)
    assert "TOPSECRET" not in text
    assert "http://hooks.slack.com/*** uses plain http" in text
    assert "alerts[0].notify[1].url: expected a string, got a value" in text


def test_two_thousand_alerts_load_quickly() -> None:
    lines = ["defaults: {conn_id: warehouse, timezone: Europe/Berlin, tags: [ops]}", "alerts:"]
    for i in range(2000):
        lines += [
            f"  - name: alert_{i}",
            "    query: |",
            f"      SELECT CASE WHEN COUNT(*) > {i} THEN 'ALERT' ELSE 'OK' END AS status",
            f"      FROM orders_{i % 40} WHERE created_at > CURRENT_DATE - 1",
            f'    schedule: "{i % 60} * * * *"',
            "    notify: [{channel: slack, conn_id: slack_alerts}]",
        ]
    text = "\n".join(lines) + "\n"
    started = time.perf_counter()
    config = load_ok(text, env={}, conn_type_of=lambda conn_id: "postgres")
    elapsed = time.perf_counter() - started
    assert len(config.alerts) == 2000
    assert len({a.dag_id for a in config.alerts}) == 2000
    assert elapsed < 10, f"loading 2,000 alerts took {elapsed:.1f}s"


def test_templates_merge_part_by_part_and_channels_keep_their_own() -> None:
    config = load_ok(
        """
defaults:
  conn_id: c
  schedule: "@daily"
  delivery_attempts: 4
  templates:
    subject: "[{{ alert.severity }}] {{ alert.name }}"
    html: "<b>{{ alert.name }}</b>"
alerts:
  - name: a
    query: SELECT 1
    templates:
      subject: {firing: "{{ alert.name }} fired", resolved: "{{ alert.name }} is fine"}
    notify:
      - {channel: email, to: a@example.com, text: "plain {{ alert.name }}"}
      - {channel: slack, conn_id: s, text: {error: "query failed: {{ error }}"}}
  - name: b
    query: SELECT 1
    delivery_attempts: 1
""",
        env={},
    )
    a, b = config.alerts
    assert a.templates.subject == {
        "firing": "{{ alert.name }} fired",
        "resolved": "{{ alert.name }} is fine",
    }
    assert a.templates.html == "<b>{{ alert.name }}</b>"  # inherited part
    assert b.templates.subject == "[{{ alert.severity }}] {{ alert.name }}"
    email, slack = a.notify
    assert isinstance(email, EmailChannel) and email.text == "plain {{ alert.name }}"
    assert isinstance(slack, SlackChannel) and slack.text == {"error": "query failed: {{ error }}"}
    assert (a.delivery_attempts, b.delivery_attempts) == (4, 1)


def test_template_mistakes_are_located_config_errors() -> None:
    result = load_config_text(
        """
defaults: {conn_id: c, schedule: "@daily"}
alerts:
  - name: a
    query: SELECT 1
    templates:
      subject: "{{ alert.name }"
      slack: {firng: "x"}
    notify:
      - {channel: email, to: a@example.com, subject: "{% if %}"}
""",
        "f.yaml",
        env={},
    )
    assert [e.format() for e in result.errors] == [
        "f.yaml:7:16 alerts[0].templates.subject: template syntax error: unexpected '}' "
        "(line 1 of the template) (templates are Jinja, e.g. `{{ alert.name }} is {{ status }}`)",
        "f.yaml:8:14 alerts[0].templates.slack: unknown event kind `firng` "
        "(did you mean `firing`?)",
        "f.yaml:10:54 alerts[0].notify[0].subject: template syntax error: Expected an "
        "expression, got 'end of statement block' (line 1 of the template) "
        "(templates are Jinja, e.g. `{{ alert.name }} is {{ status }}`)",
    ]


def test_standalone_format_subjects_are_not_jinja_checked() -> None:
    config = load_ok(
        "defaults: {conn_id: c, schedule: '@daily'}\nalerts:\n  - name: a\n    query: SELECT 1\n"
        "    notify: [{channel: email, to: a@example.com, subject: 'Alert {alert_name} {'}]\n",
        env={},
    )
    [email] = config.alerts[0].notify
    assert isinstance(email, EmailChannel) and email.subject == "Alert {alert_name} {"


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("postgresql://u@h/db", True),
        ("postgresql+psycopg2://u@h/db", True),
        ("mysql+mysqldb://u@h/db", True),
        ("mariadb://u@h/db", True),
        ("sqlite:///tmp/w.db", True),
        ("bigquery://my-project/analytics", False),
        ("snowflake://u:secret@acct/db", False),
        ("not a url", False),
    ],
)
def test_database_url_backends_are_checked_without_echoing_the_url(
    url: str, accepted: bool
) -> None:
    result = load_config_text(
        f"database:\n  url: '{url}'\nalerts:\n  - {{name: a, query: SELECT 1, schedule: '* * * * *'}}\n",
        "f.yaml",
    )
    messages = [e.format() for e in result.errors]
    if accepted:
        assert messages == [] and result.config is not None
        assert result.config.alerts[0].database_url == url
    else:
        assert len(messages) == 1 and messages[0].startswith("f.yaml:2:8 database.url: "), messages
        assert "secret" not in messages[0] and "my-project" not in messages[0]
        if "://" in url:
            backend = url.split("://")[0]
            assert f"uses '{backend}', which cannot run from a URL" in messages[0]
            assert "set conn_id on the alerts" in messages[0]


_KEYED = """
alerts:
  - name: table_freshness
    conn_id: wh
    schedule: "@hourly"
    key_columns: [table_name, region]
    query: SELECT table_name, region, 'OK' AS status FROM t
  - name: single
    conn_id: wh
    schedule: "@hourly"
    query: SELECT 'OK' AS status
silences:
"""


def test_a_file_silence_of_one_instance_is_resolved_to_its_key() -> None:
    from sqlsentinel_airflow.core.silences import from_file

    config = load_ok(
        _KEYED
        + "  - {match: table_freshness, instance: 'region=eu, table_name=orders', until: 2031-01-01}\n"
        + "  - match: table_freshness\n"
        + '    instance: \'{"table_name": "users", "region": null}\'\n'
        + "    until: 2031-01-01\n"
        + "  - {match: 'table_*', until: 2031-01-01}\n",
        env={},
        conn_type_of=lambda conn_id: "postgres",
    )
    first, second, every = config.silences
    assert first.instance == "region=eu, table_name=orders"
    assert first.instance_key == '{"table_name":"orders","region":"eu"}'
    assert second.instance_key == '{"table_name":"users","region":null}'
    assert every.instance_key is None
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert from_file(first, now).instance_key == first.instance_key


@pytest.mark.parametrize(
    ("silence", "message"),
    [
        (
            "{match: 'table_*', instance: table_name=x, until: 2031-01-01}",
            "silences[0].instance: `instance` silences one instance of one alert, but no valid "
            "alert of this file is named 'table_*' (set `match` to the keyed alert's name",
        ),
        (
            "{match: single, instance: table_name=x, until: 2031-01-01}",
            "silences[0].instance: alert 'single': this alert has no key_columns",
        ),
        (
            "{match: table_freshness, instance: table=x, until: 2031-01-01}",
            "silences[0].instance: alert 'table_freshness': the instance names 'table', which is "
            "not a key column of this alert; its key_columns are table_name, region: write "
            "table_name=...,region=...",
        ),
        (
            "{match: table_freshness, instance: table_name=x, until: 2031-01-01}",
            "the instance leaves out region",
        ),
    ],
)
def test_a_file_silence_of_an_instance_it_cannot_resolve_is_a_file_error(
    silence: str, message: str
) -> None:
    result = load_config_text(
        _KEYED + f"  - {silence}\n",
        "alerts.yaml",
        env={},
        conn_type_of=lambda conn_id: "postgres",
    )
    assert result.config is None
    errors = [e.format() for e in result.errors]
    assert len(errors) == 1 and message in errors[0], errors
    assert errors[0].startswith("alerts.yaml:13:")  # on the silence's `instance`


def test_a_slack_app_channel_needs_its_channel_and_no_webhook() -> None:
    head = (
        "alerts:\n  - name: a\n    conn_id: wh\n    query: SELECT 1\n"
        '    schedule: "@daily"\n    notify:\n      - '
    )
    config = load_ok(head + "{channel: slack, bot_conn_id: slack_bot, slack_channel: C0ALERTS}\n")
    (channel,) = config.alerts[0].notify
    assert isinstance(channel, SlackChannel)
    assert (channel.bot_conn_id, channel.slack_channel, channel.conn_id) == (
        "slack_bot",
        "C0ALERTS",
        None,
    )
    errors = {
        "{channel: slack, bot_conn_id: slack_bot}": "a slack channel with `bot_conn_id` needs "
        "`slack_channel` (write `slack_channel: '#data-alerts'` (or the channel's id, "
        "C0123ABCD): a bot token is not bound to a channel, an incoming webhook is)",
        "{channel: slack, bot_conn_id: b, conn_id: w, slack_channel: C1}": "`conn_id` and "
        "`bot_conn_id` are both set (keep one of them: `bot_conn_id` posts as a Slack app "
        "(with buttons), the others through an incoming webhook)",
    }
    for channel_text, message in errors.items():
        result = load_config_text(head + channel_text + "\n", "alerts.yaml")
        assert [e.format() for e in result.errors] == [
            f"alerts.yaml:7:9 alerts[0].notify[0]: {message}"
        ]
