"""Groups across alerts (docs/adr/0016-groups-across-alerts.md): the receiver's ``group_by``
and ``group_wait`` as the loader reads them, the group key a channel's rows carry, and the
grouping stage leaving such a channel to delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sqlsentinel_airflow.core.config import load_config_text
from sqlsentinel_airflow.core.config.models import AlertsConfig
from sqlsentinel_airflow.core.grouping import (
    GROUP_CLAIM_MARGIN,
    group_wait_allowance,
    plan_messages,
)
from sqlsentinel_airflow.notify.delivery import CLAIM_LEASE, GROUP_POLL
from tests.unit.core.test_grouping import event

FILE = """
defaults: {{conn_id: wh, schedule: "@daily"}}
receivers:
  - name: team
    {settings}
    notify: [{{channel: email, to: [team@example.com]}}, {{channel: webhook, conn_id: hook}}]
routes: {{receiver: team}}
alerts:
  - {{name: load_a, owner: data-team, severity: critical, key_columns: [region], query: {q}}}
  - {{name: load_b, owner: data-team, severity: warning, query: {q}}}
  - {{name: billing, owner: billing, severity: critical, query: {q}}}
"""
QUERY = "\"SELECT 'OK' AS status\""


def load(settings: str) -> AlertsConfig:
    loaded = load_config_text(FILE.format(settings=settings, q=QUERY), "alerts.yaml")
    assert loaded.config is not None and not loaded.errors, [e.format() for e in loaded.errors]
    return loaded.config


def keys(config: AlertsConfig) -> dict[str, list[str | None]]:
    """Per alert, the group key of each of its channels' rows."""
    out = {}
    for a in config.alerts:
        plans = plan_messages(a, [event("eu"), event("us")] if a.key_columns else [event("")])
        out[a.name] = [p.group_key for p in plans]
    return out


def test_group_by_owner_puts_one_owners_alerts_in_one_group_per_channel() -> None:
    config = load("group_by: [owner]\n    group_wait: 2m")
    (team,) = config.alerts[0].routing.receivers  # type: ignore[union-attr]
    assert (team.group_by, team.group_wait) == (("owner",), timedelta(minutes=2))
    found = keys(config)
    assert found["load_a"] == found["load_b"]  # same owner, same channel: one group
    assert found["load_a"][0] != found["load_a"][1]  # each channel its own group
    assert found["billing"][0] != found["load_a"][0]  # another owner: another group
    assert all(k is not None and k.startswith("team/") for k in found["load_a"])


def test_group_by_severity_and_owner_splits_by_both_and_defaults_to_one_minute() -> None:
    config = load("group_by: [owner, severity]")
    (team,) = config.alerts[0].routing.receivers  # type: ignore[union-attr]
    assert team.group_wait == timedelta(minutes=1)
    found = keys(config)
    assert len({found[name][0] for name in ("load_a", "load_b", "billing")}) == 3


def test_a_channel_grouped_across_alerts_is_not_grouped_per_evaluation_too() -> None:
    config = load("group_by: [alert]")
    keyed = config.alerts[0]
    plans = plan_messages(keyed, [event("eu"), event("us")])
    assert [(len(p.single), len(p.grouped)) for p in plans] == [(2, 0), (2, 0)]


def test_without_group_by_nothing_carries_a_group_key() -> None:
    config = load("group: {by_evaluation: true}")
    assert {k for ks in keys(config).values() for k in ks} == {None}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("group_by: [team]", "group_by[0]: 'team' is not one of 'owner', 'severity' or 'alert'"),
        ("group_by: []", "receivers[0].group_by"),
        ("group_by: [owner]\n    group_wait: 11m", "longer than 10m"),
        ("group_by: [owner]\n    group_wait: 0s", "must be longer than zero"),
        ("group_by: [owner]\n    group_wait: soon", "receivers[0].group_wait"),
    ],
)
def test_bad_group_by_and_group_wait_are_located(settings: str, expected: str) -> None:
    loaded = load_config_text(FILE.format(settings=settings, q=QUERY), "alerts.yaml")
    messages = [e.format() for e in loaded.errors]
    assert loaded.config is None and any(expected in m for m in messages), messages
    # that problem alone (pydantic also calls a list with no valid key too short)
    assert len([m for m in messages if "must not be empty" not in m]) <= 1, messages
    assert all(m.startswith("alerts.yaml:") for m in messages), messages


def test_the_task_may_wait_the_longest_group_wait_plus_a_lapsed_claim() -> None:
    grouped = load("group_by: [owner]\n    group_wait: 3m")
    plain = load("group: false")
    assert group_wait_allowance(grouped.alerts[0]) == timedelta(minutes=3) + GROUP_CLAIM_MARGIN
    assert group_wait_allowance(plain.alerts[0]) == timedelta(0)
    assert CLAIM_LEASE + GROUP_POLL <= GROUP_CLAIM_MARGIN  # it outlasts a dead deliverer
