"""``--set`` overrides: validated by the alerts.yaml model, every problem located at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlsentinel_airflow.backtest.policy import apply_overrides, parse_overrides
from sqlsentinel_airflow.core.model import Policy
from sqlsentinel_airflow.errors import ConfigErrors


def test_values_are_read_as_in_alerts_yaml() -> None:
    overrides = parse_overrides(
        ["fire_after=3", "renotify_after=4h", "notify_on_error=never", "notify_on_recovery=false"]
    )
    assert overrides == {
        "fire_after": 3,
        "renotify_after": timedelta(hours=4),
        "notify_on_error": None,
        "notify_on_recovery": False,
    }
    proposed = apply_overrides(Policy(renotify_after=timedelta(hours=1)), overrides)
    assert proposed == Policy(
        fire_after=3,
        renotify_after=timedelta(hours=4),
        notify_on_error=None,
        notify_on_recovery=False,
    )
    assert parse_overrides(["notify_on_error=after 2", "renotify_after=never"]) == {
        "notify_on_error": 2,
        "renotify_after": None,
    }


def test_every_bad_assignment_is_reported_with_its_position() -> None:
    with pytest.raises(ConfigErrors) as caught:
        parse_overrides(
            ["fire_after=0", "renotfy_after=4h", "schedule=@daily", "oops", "resolve_after=x"]
        )
    assert str(caught.value).splitlines() == [
        "--set:1 fire_after: must be at least 1, got 0",
        "--set:2 renotfy_after: unknown key `renotfy_after` (did you mean `renotify_after`?)",
        "--set:3 schedule: `schedule` cannot be changed in a backtest (a backtest changes only "
        "fire_after, resolve_after, renotify_after, notify_on_recovery, notify_on_error)",
        "--set:4 oops: expected KEY=VALUE (e.g. --set fire_after=3)",
        "--set:5 resolve_after: expected an integer, got 'x'",
    ]


def test_a_duration_that_is_not_one_and_a_missing_value() -> None:
    with pytest.raises(ConfigErrors, match=r"--set:1 renotify_after: '4x' is not a duration"):
        parse_overrides(["renotify_after=4x"])
    with pytest.raises(ConfigErrors, match=r"--set:1 fire_after: needs a value"):
        parse_overrides(["fire_after="])
    with pytest.raises(ConfigErrors, match=r"--set:2 fire_after: `fire_after` is set twice"):
        parse_overrides(["fire_after=2", "fire_after=3"])
