"""``escalation:`` ladders and ``ack:`` in alerts.yaml (docs/responding.md): where a ladder
comes from (the alert's own, then the deciding route's, then ``defaults``), the receivers it
names resolved at load, and every mistake located at its line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.loader import LoadResult
from sqlsentinel_airflow.core.config.routes import explain_routing
from sqlsentinel_airflow.core.events import alert_channels
from sqlsentinel_airflow.core.model import EscalationStep

RECEIVERS = """\
receivers:
  - name: team
    notify: [{channel: email, to: [team@example.com]}]
  - name: oncall
    notify: [{channel: webhook, conn_id: pager}]
  - name: leads
    notify: [{channel: email, to: [leads@example.com]}]
"""
ROUTES = """\
routes:
  receiver: team
  routes:
    - match: {severity: critical}
      escalation:
        - {after: 15m, receiver: oncall}
"""
DEFAULTS = """\
defaults:
  conn_id: wh
  schedule: "*/5 * * * *"
  ack: {rearm_factor: 2}
  escalation:
    - {after: 1h, receiver: leads}
"""
ALERTS = """\
alerts:
  - name: critical_one
    severity: critical
    query: "SELECT 'OK' AS status"
  - name: plain_one
    query: "SELECT 'OK' AS status"
  - name: own_ladder
    severity: critical
    ack: {rearm_factor: 1.5}
    escalation:
      - {after: 10m, receiver: oncall}
      - {after: 30m, receiver: leads}
    query: "SELECT 'OK' AS status"
  - name: no_ladder
    severity: critical
    escalation: []
    query: "SELECT 'OK' AS status"
"""


def _load(text: str) -> LoadResult:
    return load_config_text(text, "alerts.yaml")


def _errors(text: str) -> list[str]:
    return [e.format() for e in _load(text).errors]


def test_the_alerts_own_ladder_wins_then_the_routes_then_defaults() -> None:
    loaded = _load(RECEIVERS + ROUTES + DEFAULTS + ALERTS)
    assert loaded.ok, [e.format() for e in loaded.errors]
    assert loaded.config is not None
    alert = loaded.config.alert
    m = timedelta(minutes=1)
    assert alert("critical_one").escalation == (EscalationStep(15 * m, "oncall"),)
    assert alert("critical_one").escalation_from == "routes.routes[0]"
    assert alert("plain_one").escalation == (EscalationStep(60 * m, "leads"),)
    assert alert("plain_one").escalation_from == "defaults"
    assert alert("own_ladder").escalation == (
        EscalationStep(10 * m, "oncall"),
        EscalationStep(30 * m, "leads"),
    )
    assert alert("own_ladder").escalation_from == "the alert"
    assert alert("no_ladder").escalation == ()
    assert alert("no_ladder").escalation_receivers == ()
    # the receivers a ladder names are resolved with the alert, each once, in ladder order
    assert [r.name for r in alert("own_ladder").escalation_receivers] == ["oncall", "leads"]
    assert [r.name for r in alert("critical_one").escalation_receivers] == ["oncall"]
    # ack: the alert's own replaces the default
    assert alert("plain_one").ack_rearm_factor == 2.0
    assert alert("own_ladder").ack_rearm_factor == 1.5
    assert alert("own_ladder").policy.escalation == alert("own_ladder").escalation
    assert alert("own_ladder").policy.ack_rearm_factor == 1.5
    # a receiver only a ladder names is not "named by no route"
    assert loaded.warnings == []


def test_ladder_channels_are_resolvable_but_not_ordinary_channels() -> None:
    loaded = _load(RECEIVERS + ROUTES + DEFAULTS + ALERTS)
    assert loaded.config is not None
    alert = loaded.config.alert("own_ladder")
    ordinary = {slot.receiver for slot in alert.channel_slots()}
    assert ordinary == {"team"}  # the ladder's receivers get no firing, reminder or resolved
    ids = [cid for cid, _ in alert_channels(alert)]
    assert [cid.split(":")[0] for cid in ids] == ["team/0", "oncall/0", "leads/0"]
    assert [s.receiver for s in alert.escalation_slots(1)] == ["leads"]


def test_explain_shows_the_ladder_and_where_it_comes_from() -> None:
    loaded = _load(RECEIVERS + ROUTES + DEFAULTS + ALERTS)
    assert loaded.config is not None
    lines = explain_routing(loaded.config.alert("own_ladder")).lines()
    assert lines[-5:] == [
        "  escalation (from the alert), while unacknowledged:",
        "    step 1 after 10m: receiver oncall",
        "      - webhook POST via connection `pager`",
        "    step 2 after 30m: receiver leads",
        "      - email to leads@example.com via connection `smtp_default`",
    ]
    routed = explain_routing(loaded.config.alert("critical_one"))
    assert "  escalation (from routes.routes[0]), while unacknowledged:" in routed.lines()
    assert [s.after_seconds for s in routed.escalation] == [900]
    assert "escalation" not in "\n".join(explain_routing(loaded.config.alert("no_ladder")).lines())


def test_an_unknown_receiver_in_an_alert_is_that_alerts_error() -> None:
    text = RECEIVERS + ALERTS.replace("receiver: leads}", "receiver: lead}")
    text = text.replace("alerts:\n", "alerts:\n", 1)
    loaded = _load("defaults: {conn_id: wh, schedule: '@hourly'}\n" + text)
    assert [e.format() for e in loaded.errors] == [
        "alerts.yaml:20:32 alerts[2].escalation[1].receiver: unknown receiver `lead` in "
        "escalation step 2 (did you mean `leads`?)"
    ]
    assert loaded.config is not None  # the other alerts load
    assert {a.name for a in loaded.config.alerts} == {"critical_one", "plain_one", "no_ladder"}


def test_an_unknown_receiver_in_defaults_or_a_route_is_a_file_error() -> None:
    assert _errors(RECEIVERS + ROUTES + DEFAULTS.replace("leads}", "boss}") + ALERTS) == [
        "alerts.yaml:19:29 defaults.escalation[0].receiver: unknown receiver `boss` in "
        "escalation step 1 (define it under `receivers:`, or name one of: team, oncall, leads)"
    ]
    loaded = _load(
        RECEIVERS + ROUTES.replace("receiver: oncall}", "receiver: pager}") + DEFAULTS + ALERTS
    )
    assert [e.format() for e in loaded.errors] == [
        "alerts.yaml:13:34 routes.routes[0].escalation[0].receiver: unknown receiver `pager` in "
        "escalation step 1 (define it under `receivers:`, or name one of: team, oncall, leads)"
    ]
    assert loaded.config is None


def test_a_ladder_without_receivers_says_where_to_define_them() -> None:
    text = """\
alerts:
  - name: lonely
    conn_id: wh
    schedule: "*/5 * * * *"
    notify: [{channel: email, to: [a@example.com]}]
    escalation: [{after: 15m, receiver: oncall}]
    query: "SELECT 'OK' AS status"
"""
    assert _errors(text) == [
        "alerts.yaml:6:41 alerts[0].escalation[0].receiver: unknown receiver `oncall` in "
        "escalation step 1 (define it under `receivers:` (a name and its `notify:` channels))"
    ]


@pytest.mark.parametrize(
    ("ladder", "message"),
    [
        (
            "[{after: 1h, receiver: oncall}, {after: 30m, receiver: leads}]",
            "alerts.yaml:12:17 alerts[0].escalation: step 2 (after 30m) does not come after "
            "step 1 (after 1h) (list the steps in order of `after`, each later than the one "
            "before)",
        ),
        (
            "[{after: 1h, receiver: oncall}, {after: 1h, receiver: leads}]",
            "alerts.yaml:12:17 alerts[0].escalation: step 2 (after 1h) does not come after "
            "step 1 (after 1h)",
        ),
        (
            "[{after: 0s, receiver: oncall}]",
            "alerts.yaml:12:26 alerts[0].escalation[0].after: '0s' must be longer than zero",
        ),
        (
            "[{after: 15m}]",
            "alerts.yaml:12:18 alerts[0].escalation[0].receiver: missing required key `receiver`",
        ),
        (
            "[" + ", ".join(f"{{after: {i}m, receiver: oncall}}" for i in range(1, 12)) + "]",
            "alerts.yaml:12:17 alerts[0].escalation: 11 escalation steps; at most 10",
        ),
    ],
)
def test_a_malformed_ladder_is_located(ladder: str, message: str) -> None:
    text = RECEIVERS + (
        "alerts:\n"
        "  - name: a\n"
        "    conn_id: wh\n"
        '    schedule: "*/5 * * * *"\n'
        f"    escalation: {ladder}\n"
        "    query: \"SELECT 'OK' AS status\"\n"
    )
    errors = _errors(text)
    assert len(errors) == 1 and errors[0].startswith(message), errors


@pytest.mark.parametrize("factor", ["1", "0.5", "-2", "'twice'"])
def test_rearm_factor_must_be_more_than_one(factor: str) -> None:
    text = f"""\
alerts:
  - name: a
    conn_id: wh
    schedule: "*/5 * * * *"
    ack: {{rearm_factor: {factor}}}
    query: "SELECT 'OK' AS status"
"""
    (error,) = _errors(text)
    assert error.startswith("alerts.yaml:5:25 alerts[0].ack.rearm_factor: "), error


def test_a_schedule_slower_than_the_first_step_is_a_warning() -> None:
    text = (
        RECEIVERS
        + """\
alerts:
  - name: hourly
    conn_id: wh
    schedule: "0 * * * *"
    escalation: [{after: 15m, receiver: oncall}]
    query: "SELECT 'OK' AS status"
  - name: weekdays
    conn_id: wh
    schedule: "0 9 * * 1-5"
    escalation: [{after: 1d, receiver: oncall}]
    query: "SELECT 'OK' AS status"
  - name: fast_enough
    conn_id: wh
    schedule: "*/5 * * * *"
    escalation: [{after: 5m, receiver: oncall}]
    query: "SELECT 'OK' AS status"
"""
    )
    loaded = _load(text)
    assert loaded.ok
    assert [w.format() for w in loaded.warnings if "escalation" in w.message] == [
        "alerts.yaml:12:17 alerts[0].escalation: alert `hourly` runs up to 1h apart (schedule "
        "`0 * * * *`), longer than its first escalation step's after 15m (from the alert): a "
        "step goes out at the first run at or after its time (run it at least every 15m, or "
        "give the first step `after: 1h` or more)",
        "alerts.yaml:17:17 alerts[1].escalation: alert `weekdays` runs up to 3d apart (schedule "
        "`0 9 * * 1-5`), longer than its first escalation step's after 1d (from the alert): a "
        "step goes out at the first run at or after its time (run it at least every 1d, or "
        "give the first step `after: 3d` or more)",
    ]
