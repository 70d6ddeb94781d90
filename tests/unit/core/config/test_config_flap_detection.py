"""``flap_detection``: off unless written, inherited from ``defaults``, turned off by null or
false, its values checked with located errors."""

from __future__ import annotations

from datetime import timedelta

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.model import FlapPolicy

HEAD = """\
defaults:
  conn_id: warehouse
  schedule: "@hourly"
  flap_detection: {changes: 4, window: 30m, stable_for: 15m}
alerts:
"""
QUERY = "    query: SELECT 'OK' AS status\n"


def test_written_in_defaults_inherited_overridden_and_turned_off() -> None:
    text = (
        HEAD
        + "  - name: inherits\n"
        + QUERY
        + "  - name: own\n"
        + QUERY
        + "    flap_detection: {changes: 2, window: 600, stable_for: 1h}\n"
        + "  - name: nulled\n"
        + QUERY
        + "    flap_detection: null\n"
        + "  - name: offed\n"
        + QUERY
        + "    flap_detection: off\n"
    )
    result = load_config_text(text, "alerts.yaml", env={})
    assert result.errors == []
    assert result.config is not None
    flaps = {a.name: a.policy.flap for a in result.config.alerts}
    assert flaps == {
        "inherits": FlapPolicy(4, timedelta(minutes=30), timedelta(minutes=15)),
        "own": FlapPolicy(2, timedelta(minutes=10), timedelta(hours=1)),
        "nulled": None,
        "offed": None,
    }


def test_off_unless_written() -> None:
    text = 'alerts:\n  - name: a\n    conn_id: w\n    schedule: "@hourly"\n' + QUERY
    result = load_config_text(text, "alerts.yaml", env={})
    assert result.config is not None and result.config.alerts[0].policy.flap is None


def test_every_problem_is_located_in_one_pass() -> None:
    text = (
        HEAD
        + "  - name: bad\n"
        + QUERY
        + "    flap_detection: {changes: 1, window: 0, stable_for: 15x, stable: 1m}\n"
        + "  - name: short\n"
        + QUERY
        + "    flap_detection: {changes: 3}\n"
    )
    errors = [str(e) for e in load_config_text(text, "alerts.yaml", env={}).errors]
    assert errors == [
        "alerts.yaml:8:31 alerts[0].flap_detection.changes: must be at least 2, got 1",
        "alerts.yaml:8:42 alerts[0].flap_detection.window: 0 must be longer than zero "
        "(e.g. 30s, 5m, 4h)",
        "alerts.yaml:8:57 alerts[0].flap_detection.stable_for: '15x' is not a duration "
        "(write e.g. 30s, 5m, 4h, 1d, 1h30m or an integer of seconds)",
        "alerts.yaml:8:62 alerts[0].flap_detection.stable: unknown key `stable` "
        "(did you mean `stable_for`?)",
        "alerts.yaml:11:21 alerts[1].flap_detection.window: missing required key `window`",
        "alerts.yaml:11:21 alerts[1].flap_detection.stable_for: missing required key `stable_for`",
    ]
