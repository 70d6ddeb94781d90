"""The backtest result type: JSON of every part, thinning a long series for display."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from sqlsentinel_airflow.backtest.result import (
    BacktestIncident,
    BacktestResult,
    ChannelInfo,
    Counts,
    PolicyRun,
    PolicySettings,
    Source,
    ValueSeries,
)
from sqlsentinel_airflow.core.model import Policy

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _series(n: int) -> ValueSeries:
    series = ValueSeries("", {})
    for i in range(n):
        value: object = 1000 if i == 777 else (i % 10)
        if i == 5:
            value = "n/a"
        series.append(T0 + timedelta(minutes=i), value, "9.5")
    return series


def test_series_keeps_numbers_and_marks_the_rest_missing() -> None:
    series = _series(10)
    data = series.to_dict()
    assert data["times"][0] == "2026-11-01T00:00:00+00:00"
    assert data["values"][:6] == [0.0, 1.0, 2.0, 3.0, 4.0, None]
    assert data["thresholds"] == [9.5] * 10


def test_downsampling_keeps_a_spike_and_the_time_order() -> None:
    series = _series(10_000)
    thin = series.downsampled(200)
    assert 100 <= len(thin) <= 200
    assert 1000.0 in thin.values
    assert list(thin.times) == sorted(thin.times)
    assert series.downsampled(20_000) is series
    with pytest.raises(ValueError, match="max_points must be at least 2"):
        series.downsampled(1)


def test_policy_settings_name_what_differs() -> None:
    current = Policy(fire_after=1, renotify_after=timedelta(hours=1))
    proposed = Policy(fire_after=3, renotify_after=timedelta(hours=4))
    settings = PolicySettings.of(proposed, current)
    assert settings.changed == ("fire_after", "renotify_after")
    assert settings.policy == proposed
    assert settings.to_dict()["renotify_after_seconds"] == 14400


def test_the_whole_result_is_json() -> None:
    channels = (ChannelInfo("0:email:abc", "email", "team@example.com"),)
    incident = BacktestIncident(
        kind="firing",
        instance_key="",
        started_at=T0,
        ended_at=None,
        duration_seconds=600.0,
        evaluations=10,
        peak_at=T0,
        peak_value=12,
        peak_threshold=10,
        notifications={"firing": 1, "reminder": 2},
    )
    assert incident.per_channel(channels) == {"0:email:abc": {"firing": 1, "reminder": 2}}
    counts = Counts(
        evaluations=10,
        incidents=1,
        error_incidents=0,
        events={"firing": 1, "reminder": 2},
        notifications=incident.per_channel(channels),
        firing_seconds=600.0,
        flaps=0,
        flap_window_seconds=3600.0,
    )
    run = PolicyRun("current", PolicySettings.of(Policy()), (incident,), counts)
    result = BacktestResult(
        alert_name="a",
        dag_id="sqlsentinel_a",
        source=Source.REPLAY,
        start=T0,
        end=T0 + timedelta(days=1),
        evaluations=10,
        series=(_series(1000),),
        runs=(run,),
        channels=channels,
    )
    data = json.loads(json.dumps(result.to_dict(max_points=100)))
    assert data["source"] == "replay"
    assert len(data["series"][0]["times"]) <= 100
    assert data["runs"][0]["incidents"][0]["ongoing"] is True
    assert data["runs"][0]["counts"]["events"] == {
        "firing": 1,
        "reminder": 2,
        "resolved": 0,
        "error": 0,
        "flapping": 0,
        "escalation": 0,
    }
    assert data["runs"][0]["counts"]["messages"] == 3
    assert result.proposed is None
    assert not math.isnan(result.current.counts.firing_seconds)
