"""Matchers: every condition given must hold; ``covers`` is sure or says no."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sqlsentinel_airflow.core.config.matchers import Matcher, glob_covers


@dataclass(frozen=True)
class A:
    name: str = "daily_revenue"
    severity: str = "warning"
    owner: str = "data-team"
    tags: tuple[str, ...] = ("finance", "team-bi")


@pytest.mark.parametrize(
    ("matcher", "alert", "expected"),
    [
        (Matcher(), A(), True),
        (Matcher(severity=("critical",)), A(), False),
        (Matcher(severity=("critical", "warning")), A(), True),
        (Matcher(owner=("data-*",)), A(), True),
        (Matcher(owner=("Data-*",)), A(), False),  # case-sensitive, as silences
        (Matcher(tags=("finance", "team-*")), A(), True),
        (Matcher(tags=("finance", "ops")), A(), False),  # each tag glob must find a tag
        (Matcher(tags=("finance",)), A(tags=()), False),
        (Matcher(alert=("weekly_*", "daily_*")), A(), True),
        (Matcher(alert=("daily_?",)), A(), False),
        (Matcher(severity=("warning",), owner=("ops",)), A(), False),  # all given must hold
        (Matcher(severity=("warning",), alert=("daily_*",), tags=("fin*",)), A(), True),
    ],
)
def test_matches(matcher: Matcher, alert: A, expected: bool) -> None:
    assert matcher.matches(alert) is expected


@pytest.mark.parametrize(
    ("wide", "narrow", "expected"),
    [
        (Matcher(), Matcher(severity=("critical",)), True),
        (Matcher(severity=("critical",)), Matcher(), False),
        (Matcher(severity=("critical", "warning")), Matcher(severity=("critical",)), True),
        (Matcher(severity=("critical",)), Matcher(severity=("critical", "info")), False),
        (Matcher(alert=("daily_*",)), Matcher(alert=("daily_revenue",)), True),
        (Matcher(alert=("daily_*",)), Matcher(alert=("daily_r*",)), False),  # not sure: no
        (Matcher(alert=("daily_*",)), Matcher(alert=("daily_*",)), True),
        (Matcher(owner=("*",)), Matcher(owner=("a?",)), True),
        (Matcher(tags=("finance",)), Matcher(tags=("finance", "ops")), True),
        (Matcher(tags=("finance", "ops")), Matcher(tags=("finance",)), False),
        (Matcher(tags=("fin*",)), Matcher(tags=("finance",)), True),
        (Matcher(tags=("finance",)), Matcher(severity=("info",)), False),
    ],
)
def test_covers(wide: Matcher, narrow: Matcher, expected: bool) -> None:
    assert wide.covers(narrow) is expected


def test_covers_agrees_with_matches_on_sample_alerts() -> None:
    """Whenever ``covers`` says yes, no sample alert matches the narrow one but not the wide."""
    matchers = [
        Matcher(),
        Matcher(severity=("critical",)),
        Matcher(severity=("critical", "warning")),
        Matcher(tags=("finance",)),
        Matcher(tags=("finance", "team-*")),
        Matcher(alert=("daily_*",)),
        Matcher(alert=("daily_revenue",), owner=("data-team",)),
    ]
    alerts = [
        A(severity=s, tags=t, name=n)
        for s in ("info", "warning", "critical")
        for t in ((), ("finance",), ("finance", "team-bi"))
        for n in ("daily_revenue", "weekly")
    ]
    for wide in matchers:
        for narrow in matchers:
            if wide.covers(narrow):
                assert all(wide.matches(a) for a in alerts if narrow.matches(a)), (wide, narrow)


def test_glob_covers_and_describe() -> None:
    assert glob_covers("*", "x*")
    assert not glob_covers("x*", "x?")
    assert Matcher().describe() == "any alert"
    text = Matcher(severity=("critical",), tags=("finance", "bi")).describe()
    assert text == "severity: critical; tags: finance and bi"
