"""receivers: and routes: through the real loader: the tree, renotify_after, channel ids,
and every validation error and warning with its location (docs/notifications.md)."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest

from sqlsentinel_airflow.core.config import AlertsConfig, load_config_text
from sqlsentinel_airflow.core.config.loader import LoadResult
from sqlsentinel_airflow.core.config.routes import explain_routing
from sqlsentinel_airflow.core.events import alert_channels

RECEIVERS = """\
receivers:
  - name: team
    notify:
      - {channel: email, to: team@example.com}
  - name: oncall
    notify:
      - {channel: slack, conn_id: slack_oncall}
      - {channel: webhook, conn_id: pager, endpoint: /v2/enqueue}
  - name: finance
    notify:
      - {channel: email, to: finance@example.com}
"""
ALERTS = """\
defaults: {conn_id: wh, schedule: "@hourly", renotify_after: 4h}
alerts:
  - {name: rev, severity: critical, tags: [finance], query: "SELECT 'OK' AS status"}
  - {name: load, severity: critical, query: "SELECT 'OK' AS status", renotify_after: 2h}
  - {name: cost, tags: [finance], query: "SELECT 'OK' AS status"}
  - {name: misc, severity: info, query: "SELECT 'OK' AS status"}
"""


def load(routes: str, receivers: str = RECEIVERS, alerts: str = ALERTS) -> LoadResult:
    text = receivers + textwrap.dedent(routes) + alerts
    return load_config_text(text, "alerts.yaml")


def load_ok(routes: str, **kwargs: str) -> AlertsConfig:
    result = load(routes, **kwargs)
    assert result.errors == [], [e.format() for e in result.errors]
    assert result.config is not None
    return result.config


def reached(config: AlertsConfig, name: str) -> list[str]:
    routing = config.alert(name).routing
    assert routing is not None
    return [r.name for r in routing.receivers]


TREE = """\
routes:
  receiver: team
  renotify_after: 12h
  routes:
    - match: {severity: critical}
      receiver: oncall
      renotify_after: 1h
      continue: true
    - match: {tags: finance}
      receiver: finance
"""


def test_first_match_wins_continue_goes_on_and_the_root_is_the_default() -> None:
    config = load_ok(TREE)
    assert reached(config, "rev") == ["oncall", "finance"]  # continue: true
    assert reached(config, "load") == ["oncall"]
    assert reached(config, "cost") == ["finance"]
    assert reached(config, "misc") == ["team"]  # no route matched: the default receiver


def test_first_match_without_continue_stops() -> None:
    config = load_ok(TREE.replace("      continue: true\n", ""))
    assert reached(config, "rev") == ["oncall"]


def test_children_inherit_the_receiver_and_a_receiver_is_reached_once() -> None:
    config = load_ok(
        """\
        routes:
          routes:
            - match: {tags: finance}
              receiver: finance
              continue: true
              routes:
                - match: {severity: critical}   # no receiver: the parent's
            - match: {alert: [rev, cost]}
              receiver: finance
        """
    )
    routing = config.alert("rev").routing
    assert routing is not None
    assert [r.name for r in routing.receivers] == ["finance"]
    assert [h.steps[-1].path for h in routing.via("finance")] == [
        "routes.routes[0].routes[0]",
        "routes.routes[1]",
    ]
    # no default receiver: misc reaches nobody, and the loader says so (a warning)
    assert config.alert("misc").channel_slots() == ()


def test_renotify_after_precedence() -> None:
    """The alert's own value, else the shortest of its routes' (inherited), else defaults."""
    config = load_ok(TREE)
    assert config.alert("rev").renotify_after == timedelta(hours=1)  # 1h beats finance's 12h
    assert config.alert("load").renotify_after == timedelta(hours=2)  # its own
    assert config.alert("cost").renotify_after == timedelta(hours=12)  # the root's, inherited
    routing = config.alert("load").routing
    assert routing is not None and not routing.renotify_applied
    assert routing.renotify_from == "routes.routes[0]"
    untimed = load_ok(TREE.replace("  renotify_after: 12h\n", ""))
    assert untimed.alert("misc").renotify_after == timedelta(hours=4)  # defaults
    never = load_ok(TREE.replace("renotify_after: 1h", "renotify_after: never"))
    assert never.alert("load").renotify_after == timedelta(hours=2)
    assert never.alert("rev").renotify_after == timedelta(hours=12)  # never is the longest


def test_channel_ids_name_the_receiver_and_survive_reordering() -> None:
    config = load_ok(TREE)
    ids = [cid for cid, _ in alert_channels(config.alert("rev"))]
    assert [cid.split(":")[0] for cid in ids] == ["oncall/0", "oncall/1", "finance/0"]
    team, oncall, finance = RECEIVERS.split("  - name: ")[1:]
    shuffled = "receivers:\n" + "".join("  - name: " + r for r in (finance, team, oncall))
    swapped = load_ok(
        """\
        routes:
          receiver: team
          routes:
            - match: {tags: finance}
              receiver: finance
              continue: true
            - match: {severity: critical}
              receiver: oncall
              renotify_after: 1h
        """,
        receivers=shuffled,
    )
    again = [cid for cid, _ in alert_channels(swapped.alert("rev"))]
    assert sorted(again) == sorted(ids)


def test_inline_notify_keeps_working_beside_routes() -> None:
    alerts = ALERTS.replace(
        "{name: misc, severity: info, query: \"SELECT 'OK' AS status\"}",
        "{name: misc, severity: info, query: \"SELECT 'OK' AS status\", "
        "notify: [{channel: email, to: me@example.com}]}",
    )
    config = load_ok(TREE, alerts=alerts)
    ids = [cid for cid, _ in alert_channels(config.alert("misc"))]
    assert [cid.split(":")[0] for cid in ids] == ["0", "team/0"]


def test_explanation_says_which_routes_and_why() -> None:
    config = load_ok(TREE)
    explained = explain_routing(config.alert("rev"))
    assert [r.name for r in explained.receivers] == ["oncall", "finance"]
    assert explained.receivers[0].via == ("routes.routes[0] (severity: critical)",)
    assert explained.receivers[0].channels[1] == (
        "webhook POST via connection `pager` endpoint `/v2/enqueue`"
    )
    assert "  renotify_after 1h from routes.routes[0] (applies)" in explained.lines()
    default = explain_routing(config.alert("misc"))
    assert default.receivers[0].via == ("routes (the root: no route under it matched)",)


# --- validation: errors are file errors, located --------------------------------------------


def errors_of(result: LoadResult) -> list[str]:
    assert result.config is None  # a routing error may change where every alert goes
    return [e.format() for e in result.errors]


def test_unknown_receiver_is_located_with_a_suggestion() -> None:
    result = load(TREE.replace("receiver: finance", "receiver: finanse"))
    assert errors_of(result) == [
        "alerts.yaml:21:17 routes.routes[1].receiver: unknown receiver `finanse` "
        "(did you mean `finance`?)"
    ]


def test_route_shadowed_by_an_earlier_sibling_is_unreachable() -> None:
    result = load(
        """\
        routes:
          routes:
            - match: {severity: [critical, warning]}
              receiver: oncall
            - match: {severity: critical, tags: finance}
              receiver: finance
        """
    )
    (error,) = result.errors
    assert (error.line, error.column, error.path) == (16, 7, "routes.routes[1]")
    assert error.message.startswith(
        "route never reached: routes.routes[0] before it takes every alert this one matches"
    )
    assert result.config is None


def test_route_whose_severity_its_parent_never_lets_through_is_unreachable() -> None:
    result = load(
        """\
        routes:
          routes:
            - match: {severity: critical}
              receiver: oncall
              routes:
                - match: {severity: info}
                  receiver: team
        """
    )
    (error,) = result.errors
    assert error.path == "routes.routes[0].routes[0]"
    assert "matches severity info, but only alerts of severity critical get to" in error.message


def test_continue_makes_the_next_sibling_reachable() -> None:
    load_ok(
        """\
        routes:
          routes:
            - receiver: oncall
              continue: true
            - match: {tags: finance}
              receiver: finance
        """
    )


@pytest.mark.parametrize(
    ("receivers", "expected"),
    [
        (
            RECEIVERS + "  - name: team\n    notify: [{channel: email, to: x@example.com}]\n",
            "alerts.yaml:12:11 receivers[3].name: duplicate receiver name `team` "
            "(also receivers[0]) (receiver names must be unique)",
        ),
        (
            RECEIVERS.replace(
                "{channel: slack, conn_id: slack_oncall}",
                "{channel: slack, webhook_url: 'https://hooks.slack.com/services/T/B/x'}",
            ),
            "alerts.yaml:7:26 receivers[1].notify[0].webhook_url: a receiver's channel takes "
            "its secrets from an Airflow connection, not from `webhook_url` (use `conn_id` of "
            "a slackwebhook connection)",
        ),
        (
            RECEIVERS.replace(
                "{channel: slack, conn_id: slack_oncall}",
                "{channel: teams, webhook_url: 'https://prod.example.com/workflows/x?sig=s'}",
            ),
            "alerts.yaml:7:26 receivers[1].notify[0].webhook_url: a receiver's channel takes "
            "its secrets from an Airflow connection, not from `webhook_url` (use `conn_id` of "
            "a connection whose password is the webhook URL)",
        ),
        (
            RECEIVERS.replace("name: oncall", "name: on call"),
            "alerts.yaml:5:11 receivers[1].name: 'on call' is not a receiver name (up to 64 "
            "letters, digits, `_`, `-` and `.`, starting with a letter or digit)",
        ),
    ],
)
def test_receiver_errors_are_located(receivers: str, expected: str) -> None:
    assert errors_of(load(TREE, receivers=receivers)) == [expected]


def test_a_receiver_pages_through_a_pagerduty_connection() -> None:
    receivers = RECEIVERS.replace(
        "{channel: slack, conn_id: slack_oncall}", "{channel: pagerduty, conn_id: pd_oncall}"
    )
    config = load_ok(TREE, receivers=receivers)
    channels = {c.channel: c for a in config.alerts for _, c in alert_channels(a)}
    assert channels["pagerduty"].public_destination() == "PagerDuty connection pd_oncall"


def test_a_mistyped_route_key_is_located_with_a_suggestion() -> None:
    (error,) = load(TREE.replace("continue: true", "contine: true")).errors
    assert (error.line, error.path) == (19, "routes.routes[0].contine")
    assert (error.message, error.hint) == ("unknown key `contine`", "did you mean `continue`?")


# --- warnings: nothing becomes invalid ---------------------------------------------------------


def test_an_alert_that_reaches_nobody_is_a_located_warning() -> None:
    result = load(TREE.replace("  receiver: team\n", "", 1))
    assert result.ok
    assert [w.format() for w in result.warnings] == [
        "alerts.yaml:2:11 receivers[0].name: receiver `team` is named by no route (name it "
        "in a route's `receiver` (or the root's, as the default), or remove it)",
        "alerts.yaml:26:12 alerts[3].name: alert `misc` reaches nobody: it has no `notify:` "
        "and no route sends it to a receiver (give it `notify:`, add a route that matches it, "
        "or give `routes:` a default `receiver`)",
    ]


def test_a_file_without_routes_warns_about_nothing() -> None:
    result = load_config_text(ALERTS, "alerts.yaml")
    assert result.ok and result.warnings == []
    assert result.config is not None and result.config.alert("misc").routing is None
