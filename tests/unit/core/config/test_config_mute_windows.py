"""``mute_windows:`` in alerts.yaml: what it builds, which alerts it applies to, located errors."""

from __future__ import annotations

import textwrap

import pytest

from sqlsentinel_airflow.core import mutewindows as mw
from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.loader import LoadResult
from sqlsentinel_airflow.core.config.models import AlertConfig, AlertsConfig

ALERTS = """\
database: {url: "sqlite://"}
alerts:
  - {name: nightly_load, query: "SELECT 1", schedule: "@hourly", tags: [batch]}
  - {name: revenue, query: "SELECT 1", schedule: "@hourly", severity: critical}
"""


def load(windows: str) -> LoadResult:
    return load_config_text(ALERTS + "mute_windows:\n" + textwrap.indent(windows, "  "))


def load_ok(windows: str) -> AlertsConfig:
    result = load(windows)
    assert result.ok, [e.format() for e in result.errors]
    assert result.config is not None
    return result.config


def alert(config: AlertsConfig, name: str) -> AlertConfig:
    return config.alert(name)


def test_a_window_is_built_and_given_to_the_alerts_it_matches() -> None:
    config = load_ok(
        """\
- name: weekends
  match: {tags: batch}
  timezone: Europe/Berlin
  reason: loads are re-run on Monday
  intervals:
    - weekdays: [saturday, sunday]
- name: first-sunday
  notify_firing_at_end: false
  notify_resolved_inside: true
  intervals:
    - weekdays: "sunday#1"
      times: [{start_time: "02:00", end_time: "24:00"}]
      days_of_month: "-7:-1"
      months: [december, "1:2"]
      years: 2027
"""
    )
    weekends, first_sunday = config.mute_windows
    assert [w.name for w in alert(config, "nightly_load").mute_windows] == [
        "weekends",
        "first-sunday",
    ]
    assert [w.name for w in alert(config, "revenue").mute_windows] == ["first-sunday"]
    assert weekends.timezone == "Europe/Berlin" and weekends.reason == "loads are re-run on Monday"
    assert weekends.notify_firing_at_end and not weekends.notify_resolved_inside
    assert not first_sunday.notify_firing_at_end and first_sunday.notify_resolved_inside
    (interval,) = first_sunday.intervals
    assert interval == mw.TimeInterval(
        times=(mw.TimeRange(start=120, end=1440),),
        weekdays=(mw.WeekdaySpec(first=6, last=6, nth=1),),
        days_of_month=(mw.DayRange(first=-7, last=-1),),
        months=(mw.DayRange(first=12, last=12), mw.DayRange(first=1, last=2)),
        years=(mw.DayRange(first=2027, last=2027),),
    )
    # the resolved alert survives a JSON round trip (manifests, the UI's catalog)
    again = AlertConfig.model_validate_json(alert(config, "revenue").model_dump_json())
    assert again.mute_windows == alert(config, "revenue").mute_windows


def test_a_window_that_matches_no_alert_is_a_located_warning() -> None:
    result = load(
        """\
- name: finance-nights
  match: {tags: finance}
  intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]
"""
    )
    assert result.ok
    (warning,) = result.warnings
    assert (warning.line, warning.path) == (6, "mute_windows[0].name")
    assert "matches no alert of this file (tags: finance)" in warning.message


@pytest.mark.parametrize(
    ("windows", "where", "message"),
    [
        (
            "- {name: w, intervals: [{times: [{start_time: '25:00', end_time: '06:00'}]}]}",
            "mute_windows[0].intervals[0].times[0].start_time",
            "'25:00' is not a time of day",
        ),
        (
            "- {name: w, intervals: [{times: [{start_time: '22:00', end_time: '06:00'}]}]}",
            "mute_windows[0].intervals[0].times[0]",
            "end_time 06:00 is not after start_time 22:00",
        ),
        (
            "- {name: w, intervals: [{weekdays: [sonday]}]}",
            "mute_windows[0].intervals[0].weekdays[0]",
            "'sonday' is not a weekday",
        ),
        (
            "- {name: w, intervals: [{weekdays: ['sunday#0']}]}",
            "mute_windows[0].intervals[0].weekdays[0]",
            "takes 1 to 5 or -1 to -5",
        ),
        (
            "- {name: w, intervals: [{days_of_month: [32]}]}",
            "mute_windows[0].intervals[0].days_of_month[0]",
            "32 is not a day of the month",
        ),
        (
            "- {name: w, timezone: Europe/Berln, intervals: [{months: [may]}]}",
            "mute_windows[0].timezone",
            "'Europe/Berln' is not an IANA timezone",
        ),
        ("- {name: w, intervals: []}", "mute_windows[0].intervals", "must not be empty"),
        (
            "- {name: 'my window', intervals: [{months: [may]}]}",
            "mute_windows[0].name",
            "'my window' is not a mute window name",
        ),
        (
            "- {name: w, intervals: [{}]}",
            "mute_windows[0].intervals[0]",
            "an interval needs at least one of",
        ),
        (
            "- {name: w, intervals: [{months: [may]}]}\n- {name: w, intervals: [{months: [june]}]}",
            "mute_windows[1].name",
            "duplicate mute window name `w`",
        ),
    ],
)
def test_mistakes_are_located_file_errors(windows: str, where: str, message: str) -> None:
    result = load(windows)
    assert result.config is None
    (error,) = result.errors
    assert error.path == where and message in error.message, error.format()
    assert error.line is not None and error.line >= 6 and error.alert is None


def test_an_alert_may_name_windows_besides_those_that_match_it() -> None:
    result = load_config_text(
        ALERTS.replace("severity: critical}", "severity: critical, mute_windows: [batch-nights]}")
        + "mute_windows:\n"
        + "  - {name: batch-nights, match: {tags: batch}, intervals: [{months: [may]}]}\n"
    )
    assert result.ok and result.warnings == []
    assert result.config is not None
    assert [w.name for w in alert(result.config, "revenue").mute_windows] == ["batch-nights"]


def test_an_unknown_window_name_invalidates_that_alert_only() -> None:
    result = load_config_text(
        ALERTS.replace("severity: critical}", "severity: critical, mute_windows: [weekend]}")
        + "mute_windows:\n  - {name: weekends, intervals: [{weekdays: [saturday, sunday]}]}\n"
    )
    (error,) = result.errors
    assert (error.path, error.alert, error.line) == ("alerts[1].mute_windows[0]", "revenue", 4)
    assert error.message == "unknown mute window `weekend`"
    assert error.hint == "did you mean `weekends`?"
    assert result.config is not None and [a.name for a in result.config.alerts] == ["nightly_load"]


def test_defaults_cannot_name_windows() -> None:
    result = load_config_text(
        ALERTS.replace("alerts:\n", "defaults: {mute_windows: [w]}\nalerts:\n")
    )
    assert result.config is None
    assert "`mute_windows` belongs to each alert, not to `defaults`" in result.errors[0].format()
