"""The Backtest panel's request: a replay of an alert's recorded evaluations over a bounded
range, under its current policy and a proposed one (docs/ui.md, "Backtest"; the engine and
its semantics: docs/backtests.md).

The same engine as ``sqlsentinel backtest --source replay`` (``backtest.run.run_backtest``),
with the proposed settings validated by the same code as ``--set``
(``backtest.policy.parse_overrides``). The alert is the one Airflow runs: its state-machine
settings, schedule, time zone and key columns come from the definition the serialized DAG
embeds; its channels (so messages per channel can be counted) from the manifest when this
api-server has it. As-of backtests run the alert's query at every tick: a CLI job, never a
request of the api-server.

Nothing here imports Airflow.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sqlsentinel_airflow.airflow_contract import AlertDefinition
from sqlsentinel_airflow.backtest.plot import drawn_series
from sqlsentinel_airflow.backtest.policy import parse_overrides
from sqlsentinel_airflow.backtest.result import BacktestResult, Source
from sqlsentinel_airflow.backtest.run import BacktestRequest, backtest_silences, run_backtest
from sqlsentinel_airflow.core.config.assets import parse_asset_condition
from sqlsentinel_airflow.core.config.models import AlertConfig, FileSilence
from sqlsentinel_airflow.core.durations import format_duration, parse_duration
from sqlsentinel_airflow.core.model import FlapPolicy
from sqlsentinel_airflow.errors import ConfigErrors
from sqlsentinel_airflow.store.store import StateStore

__all__ = [
    "MAX_INSTANCES",
    "MAX_POINTS",
    "MAX_RANGE",
    "RUNNING_AT_ONCE",
    "BacktestBody",
    "BacktestRefused",
    "BacktestRejected",
    "alert_to_backtest",
    "one_at_a_time",
    "panel_backtest",
]

MAX_RANGE = timedelta(days=31)  # a month of a minute schedule replays in about a second
MAX_POINTS = 1000  # per instance sent to the chart (the counts cover every evaluation)
MAX_INSTANCES = 12  # value series sent (backtest_chart.js draws as many), incidents first
RUNNING_AT_ONCE = 2  # backtests per api-server process; more wait their turn in the browser
AS_OF_HINT = "as-of backtests (the query run at every tick) are a CLI job: sqlsentinel backtest --source as-of"


class BacktestRejected(ValueError):
    """The request cannot be run as given (422): the message says what to change."""


class BacktestRefused(RuntimeError):
    """Too many backtests are running in this api-server (429): try again shortly."""


class BacktestBody(BaseModel):
    """The panel's form: the range ``[start, end)`` (times with a zone) and the proposed
    settings, as ``--set`` takes them (``{"fire_after": 3, "renotify_after": "4h"}``; a
    setting left out keeps its current value)."""

    model_config = ConfigDict(extra="forbid")

    start: datetime = Field(examples=["2026-11-24T00:00:00Z"])
    end: datetime = Field(examples=["2026-12-01T00:00:00Z"])
    proposed: dict[str, str | int | bool | None] = Field(
        default_factory=dict, examples=[{"fire_after": 3, "renotify_after": "4h"}]
    )
    flap_window: str = Field(default="1h", max_length=40, examples=["1h"])

    @field_validator("start", "end")
    @classmethod
    def _zoned(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the time has no time zone: add Z or an offset (2026-12-05T08:00:00Z)")
        return value

    @field_validator("flap_window")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration(value) <= timedelta(0):
            raise ValueError(f"the flap window must be positive, got {value!r}")
        return value

    def assignments(self) -> list[str]:
        """The proposed settings as ``--set`` assignments (values as YAML reads them)."""
        written = []
        for key, value in self.proposed.items():
            if value is None:
                text = "null"
            elif isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value).strip()
            written.append(f"{key}={text}")
        return written


def overrides_of(body: BacktestBody) -> dict[str, Any]:
    """The proposed settings, validated as ``--set`` validates them; BacktestRejected
    naming each bad one (``fire_after: ...``)."""
    try:
        return parse_overrides(body.assignments())
    except ConfigErrors as exc:
        raise BacktestRejected(
            "; ".join(
                f"{e.path}: {e.message}" + (f" ({e.hint})" if e.hint else "") for e in exc.errors
            )
        ) from None


def alert_to_backtest(
    definition: AlertDefinition | None, from_manifest: AlertConfig | None, dag_id: str
) -> AlertConfig:
    """The alert as Airflow runs it: the serialized definition's settings, on the
    manifest's alert (for its channels) when it has the same name."""
    if definition is None:
        if from_manifest is None:
            raise BacktestRejected(
                "the alert's DAG has not been parsed yet, so its settings are not known: "
                "try again after the next parse"
            )
        return from_manifest
    settings: dict[str, Any] = {
        "schedule": definition.schedule or None,  # "": it runs on assets only
        "assets": (None if definition.assets is None else parse_asset_condition(definition.assets)),
        "timezone": definition.timezone,
        "key_columns": tuple(definition.key_columns),
        "fire_after": definition.fire_after,
        "resolve_after": definition.resolve_after,
        "renotify_after": (
            None
            if definition.renotify_after_seconds is None
            else timedelta(seconds=definition.renotify_after_seconds)
        ),
        "notify_on_recovery": definition.notify_on_recovery,
        "notify_on_error": definition.notify_on_error,
        "flap_detection": _flap_of(definition),
    }
    if from_manifest is not None and from_manifest.name == definition.name:
        return from_manifest.model_copy(update=settings)
    return AlertConfig(
        name=definition.name,
        slug=dag_id,
        dag_id=dag_id,
        query=definition.query or "-- not known",
        **settings,
    )


def _flap_of(definition: AlertDefinition) -> FlapPolicy | None:
    changes, window = definition.flap_changes, definition.flap_window_seconds
    stable = definition.flap_stable_for_seconds
    if not (changes and window and stable):
        return None
    return FlapPolicy(changes, timedelta(seconds=window), timedelta(seconds=stable))


_running = threading.BoundedSemaphore(RUNNING_AT_ONCE)


@contextmanager
def one_at_a_time() -> Iterator[None]:
    """A slot among :data:`RUNNING_AT_ONCE`; BacktestRefused when none is free (a request
    never queues behind a long replay inside the server)."""
    if not _running.acquire(blocking=False):
        raise BacktestRefused(
            f"{RUNNING_AT_ONCE} backtests are running on this api-server already: try again "
            "in a few seconds"
        )
    try:
        yield
    finally:
        _running.release()


def panel_backtest(
    alert: AlertConfig,
    body: BacktestBody,
    store: StateStore | None,
    file_silences: tuple[FileSilence, ...],
    now: datetime,
    *,
    channels_known: bool = True,
) -> BacktestResult:
    """Replay ``alert``'s recorded evaluations in the body's range, under its current policy
    and the proposed one. BacktestRejected: a bad range or setting, or nothing recorded."""
    start, end = body.start, body.end
    if end <= start:
        raise BacktestRejected("the range is empty: `to` must be after `from`")
    if end - start > MAX_RANGE:
        raise BacktestRejected(
            f"the range is {format_duration(end - start)}: at most "
            f"{format_duration(MAX_RANGE)} here; longer ranges: sqlsentinel backtest --from --to"
        )
    overrides = overrides_of(body)
    request = BacktestRequest(
        alert,
        start,
        end,
        source=Source.REPLAY,
        overrides=overrides or None,
        flap_window=parse_duration(body.flap_window),
    )
    try:
        request.policies()
    except ValueError as exc:  # a combination the state machine refuses
        raise BacktestRejected(str(exc)) from None
    if store is None:
        raise BacktestRejected(
            f"alert {alert.name!r} has no state database yet, so no recorded evaluation to "
            f"replay; {AS_OF_HINT}"
        )
    stored = store.list_silences(now, include_inactive=True)
    result = run_backtest(
        request, store=store, silences=backtest_silences(stored, file_silences, now)
    )
    if result.evaluations == 0:
        raise BacktestRejected(
            f"no evaluation of alert {alert.name!r} is recorded in this range, so there is "
            f"nothing to replay: pick a range it ran in; {AS_OF_HINT}"
        )
    if len(result.series) > MAX_INSTANCES:
        shown = drawn_series(result, MAX_INSTANCES)
        result = _noted(
            dataclasses.replace(result, series=tuple(shown)),
            f"the chart shows {len(shown)} of the {len(result.series)} instances (those with "
            "incidents first); the counts and incidents cover them all",
        )
    if not channels_known:
        result = _noted(
            result,
            "the alert's channels are not known to this api-server (no manifest): events "
            "are counted, messages per channel are not",
        )
    return result


def _noted(result: BacktestResult, note: str) -> BacktestResult:
    return dataclasses.replace(result, notes=(*result.notes, note))
