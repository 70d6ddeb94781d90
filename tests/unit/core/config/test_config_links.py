"""``runbook_url`` and ``links``: http(s) only, located errors, merged over ``defaults``."""

from __future__ import annotations

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import Link
from sqlsentinel_airflow.dags.factory import alert_definition

HEAD = """\
defaults:
  conn_id: warehouse
  schedule: "@hourly"
"""


def _errors(text: str) -> list[str]:
    return [str(e) for e in load_config_text(text, "alerts.yaml", env={}).errors]


def test_runbook_and_links_are_read_and_merged_over_defaults() -> None:
    text = """\
defaults:
  conn_id: warehouse
  schedule: "@hourly"
  runbook_url: https://wiki.example.com/oncall
  links:
    - {title: Handbook, url: "https://wiki.example.com/handbook"}
    - {title: Status page, url: "https://status.example.com"}
alerts:
  - name: a
    query: SELECT 'OK' AS status
  - name: b
    query: SELECT 'OK' AS status
    runbook_url: "  HTTPS://wiki.example.com/runbooks/b?x=1&y=2  "
    links:
      - {title: Grafana, url: "http://grafana.internal:3000/d/b"}
      - {title: Handbook again, url: "https://wiki.example.com/handbook"}
"""
    result = load_config_text(text, "alerts.yaml", env={})
    assert result.errors == []
    assert result.config is not None
    a, b = result.config.alerts
    assert a.runbook_url == "https://wiki.example.com/oncall"
    assert a.links == (
        Link(title="Handbook", url="https://wiki.example.com/handbook"),
        Link(title="Status page", url="https://status.example.com"),
    )
    assert b.runbook_url == "HTTPS://wiki.example.com/runbooks/b?x=1&y=2"  # the alert's wins
    # merged like tags: defaults first, one per URL (the first title wins), then the alert's
    assert [link.title for link in b.links] == ["Handbook", "Status page", "Grafana"]
    definition = alert_definition(b)
    assert definition.runbook_url == b.runbook_url
    assert [(x.title, x.url) for x in definition.links] == [(x.title, x.url) for x in b.links]


def test_an_alert_without_them_has_none() -> None:
    result = load_config_text(
        HEAD + "alerts:\n  - name: a\n    query: SELECT 'OK' AS status\n", env={}
    )
    assert result.config is not None
    (alert,) = result.config.alerts
    assert (alert.runbook_url, alert.links) == (None, ())
    assert alert_definition(alert).facts()[-1][0] != "Runbook"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("javascript:alert(1)", "'javascript:alert(1)' is not an http(s) URL"),
        ("JavaScript://x.example/%0aalert(1)", "is not an http(s) URL"),
        ("data:text/html,<script>", "is not an http(s) URL"),
        (
            "ftp://files.example.com/runbook",
            "'ftp://files.example.com/runbook' is not an http(s) URL",
        ),
        ("/runbooks/x", "'/runbooks/x' is not an http(s) URL"),
        ("https://", "'https://' is not an http(s) URL"),
        (
            "https://wiki.example.com/a b",
            "is not one line of at most 2000 characters without spaces",
        ),
        ("https://wiki.example.com/" + "x" * 2000, "is not one line of at most 2000 characters"),
    ],
)
def test_a_runbook_url_that_is_not_http_is_refused_where_it_is(value: str, message: str) -> None:
    text = HEAD + f"alerts:\n  - name: a\n    query: SELECT 1\n    runbook_url: {value!r}\n"
    (error,) = _errors(text)
    assert error.startswith("alerts.yaml:7:18 alerts[0].runbook_url: "), error
    assert message in error
    assert "(write a link people can open, like https://wiki.example.com/runbooks/x)" in error or (
        "percent-encode spaces" in error
    )


def test_bad_links_are_each_located() -> None:
    text = """\
defaults:
  conn_id: warehouse
  schedule: "@hourly"
  runbook_url: mailto:oncall@example.com
alerts:
  - name: a
    query: SELECT 1
    links:
      - title: Dashboard
        url: javascript:void(0)
      - {title: "", url: "https://ok.example.com"}
      - {url: "https://ok.example.com"}
      - {title: Ok, url: "https://ok.example.com", target: _blank}
"""
    assert _errors(text) == [
        "alerts.yaml:4:16 defaults.runbook_url: 'mailto:oncall@example.com' is not an http(s) "
        "URL (write a link people can open, like https://wiki.example.com/runbooks/x)",
        "alerts.yaml:10:14 alerts[0].links[0].url: 'javascript:void(0)' is not an http(s) URL "
        "(write a link people can open, like https://wiki.example.com/runbooks/x)",
        "alerts.yaml:11:17 alerts[0].links[1].title: must not be empty",
        "alerts.yaml:12:9 alerts[0].links[2].title: missing required key `title`",
        "alerts.yaml:13:52 alerts[0].links[3].target: unknown key `target`",
    ]


def test_at_most_ten_links() -> None:
    links = "".join(f"      - {{title: L{i}, url: 'https://x.example/{i}'}}\n" for i in range(11))
    text = HEAD + "alerts:\n  - name: a\n    query: SELECT 1\n    links:\n" + links
    (error,) = _errors(text)
    assert error.startswith("alerts.yaml:8:7 alerts[0].links: ")
    assert error == (
        "alerts.yaml:8:7 alerts[0].links: 11 links; at most 10 (link the rest from the runbook page)"
    )
