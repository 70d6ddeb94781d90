"""Silences: activity computed from the clock, glob matching, alerts.yaml silences, windows."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sqlsentinel_airflow.core.config.models import FileSilence
from sqlsentinel_airflow.core.model import Silence
from sqlsentinel_airflow.core.silences import (
    SilenceStatus,
    active_for,
    from_file,
    is_active,
    matches,
    silence_status,
    silence_window,
)

NOON = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def _silence(match: str = "revenue_*", **changes: Any) -> Silence:
    return dataclasses.replace(
        Silence(match=match, starts_at=NOON, ends_at=NOON + 2 * HOUR), **changes
    )


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (-HOUR, SilenceStatus.PENDING),
        (timedelta(0), SilenceStatus.ACTIVE),  # starts_at is inclusive
        (HOUR, SilenceStatus.ACTIVE),
        (2 * HOUR - timedelta(microseconds=1), SilenceStatus.ACTIVE),
        (2 * HOUR, SilenceStatus.EXPIRED),  # ends_at is exclusive
        (3 * HOUR, SilenceStatus.EXPIRED),
    ],
)
def test_status_follows_the_clock(offset: timedelta, status: SilenceStatus) -> None:
    silence = _silence()
    assert silence_status(silence, NOON + offset) is status
    assert is_active(silence, NOON + offset) is (status is SilenceStatus.ACTIVE)


def test_ended_early_silence_expires_at_ended_at() -> None:
    silence = _silence(ended_at=NOON + HOUR)
    assert is_active(silence, NOON + HOUR - timedelta(seconds=1))
    assert not is_active(silence, NOON + HOUR)
    assert silence_status(silence, NOON + HOUR) is SilenceStatus.EXPIRED


@pytest.mark.parametrize(
    ("match", "name", "dag_id", "expected"),
    [
        ("revenue_*", "revenue_daily", None, True),
        ("revenue_*", "Revenue_daily", None, False),  # case-sensitive
        ("revenue_?", "revenue_1", None, True),
        ("revenue_[0-9]", "revenue_x", None, False),
        ("daily_revenue_check", "daily_revenue_check", None, True),
        ("*", "anything", None, True),
        ("sqlsentinel_rev*", "Revenue check", "sqlsentinel_revenue_check", True),
        ("sqlsentinel_rev*", "Revenue check", None, False),
        ("other*", "Revenue check", "sqlsentinel_revenue_check", False),
    ],
)
def test_matches_globs_on_name_or_dag_id(
    match: str, name: str, dag_id: str | None, expected: bool
) -> None:
    assert matches(_silence(match), name, dag_id) is expected


def test_active_for_keeps_matching_active_silences_in_order() -> None:
    first = _silence("revenue_*", reason="maintenance")
    later = _silence("revenue_*", starts_at=NOON + 3 * HOUR, ends_at=NOON + 4 * HOUR)
    other = _silence("orders_*")
    ended = _silence("*", ended_at=NOON)
    everything = _silence("*", reason="freeze")
    silences = [first, later, other, ended, everything]
    assert active_for("revenue_daily", silences, NOON + HOUR) == [first, everything]
    assert active_for("revenue_daily", silences, NOON + 3 * HOUR) == [later]
    assert active_for("orders_x", [first], NOON + HOUR) == []


def test_from_file_builds_a_config_silence() -> None:
    declared = FileSilence(
        match="revenue_*",
        starts=NOON,
        until=NOON + 2 * HOUR,
        reason="warehouse migration",
    )
    silence = from_file(declared, NOON - HOUR, file="alerts.yaml")
    assert silence == Silence(
        match="revenue_*",
        starts_at=NOON,
        ends_at=NOON + 2 * HOUR,
        reason="warehouse migration",
        author="alerts.yaml",
        source="config",
    )
    assert silence.id is None


def test_from_file_without_starts_is_in_force_from_now() -> None:
    silence = from_file(FileSilence(match="*", until=NOON + HOUR), NOON)
    assert (silence.starts_at, silence.ends_at) == (NOON, NOON + HOUR)
    assert is_active(silence, NOON)
    assert not is_active(from_file(FileSilence(match="*", until=NOON), NOON), NOON)


def test_from_file_reads_naive_times_in_the_given_timezone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    declared = FileSilence(match="*", until=datetime(2024, 6, 1, 15, 0))
    silence = from_file(declared, NOON, tz=berlin)
    assert silence.ends_at == datetime(2024, 6, 1, 13, 0, tzinfo=timezone.utc)  # CEST = UTC+2
    assert from_file(declared, NOON).ends_at == datetime(2024, 6, 1, 15, 0, tzinfo=timezone.utc)


def test_from_file_rejects_until_before_starts() -> None:
    declared = FileSilence(match="rev*", starts=NOON, until=NOON - HOUR)
    with pytest.raises(
        ValueError,
        match=r"alerts\.yaml: silence for 'rev\*': until \(2024-06-01T11:00:00\+00:00\) must be "
        r"after starts \(2024-06-01T12:00:00\+00:00\)",
    ):
        from_file(declared, NOON, file="alerts.yaml")


def test_silence_window_for_a_duration() -> None:
    assert silence_window(now=NOON, duration=2 * HOUR) == (NOON, NOON + 2 * HOUR)


def test_silence_window_until_a_time() -> None:
    assert silence_window(now=NOON, until=NOON + HOUR) == (NOON, NOON + HOUR)
    naive = datetime(2024, 6, 1, 18, 0)
    assert silence_window(now=NOON, until=naive) == (NOON, naive.replace(tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("duration", "until", "message"),
    [
        (None, None, r"give exactly one of a duration \(--for 2h\) or an end time \(--until\)"),
        (HOUR, NOON + HOUR, "give exactly one of a duration"),
        (timedelta(0), None, "the silence duration must be positive, got 0:00:00"),
        (-HOUR, None, "the silence duration must be positive"),
        (
            None,
            NOON,
            r"the silence would end at 2024-06-01T12:00:00\+00:00, which is not after now "
            r"\(2024-06-01T12:00:00\+00:00\); give a future end time or a duration",
        ),
        (None, NOON - HOUR, "which is not after now"),
    ],
)
def test_silence_window_rejects_windows_not_in_the_future(
    duration: timedelta | None, until: datetime | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        silence_window(now=NOON, duration=duration, until=until)


def test_an_instance_silence_covers_that_instance_only() -> None:
    from sqlsentinel_airflow.core.silences import covers, mutes

    whole = _silence()
    one = _silence(instance_key='{"table_name":"customers"}')
    assert covers(whole, None) and covers(whole, "") and covers(whole, '{"table_name":"x"}')
    assert covers(one, '{"table_name":"customers"}')
    assert not covers(one, '{"table_name":"orders"}')
    assert not covers(one, "")  # the alert-level instance (query errors of a keyed alert)
    assert not covers(one, None)  # the whole alert is not muted by one instance's silence
    # active_for lists both for the alert; mutes narrows them to an instance
    active = active_for("revenue_daily", [whole, one], NOON + HOUR)
    assert active == [whole, one]
    assert mutes([one], '{"table_name":"customers"}')
    assert not mutes([one], '{"table_name":"orders"}') and not mutes([one], None)
    assert mutes([one, whole], None) and not mutes([], "")
