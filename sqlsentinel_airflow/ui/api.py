"""The UI's JSON API (under ``/sqlsentinel/api``): alerts, history, silences.

Imported by the api-server only (through ``app.py``): it imports Airflow's auth and DB
dependencies at module level, which FastAPI needs to resolve the routes' annotations.

Thin edge: the catalog says which alerts exist, the state stores what they did, the read
model (``sqlsentinel_airflow.readmodel``, the shapes the CLI prints too) shapes it. Every route requires an authenticated Airflow user (``auth.py``); inputs are
validated by pydantic and answered with 422 (bad duration, end time in the past, empty
reason, an instance the alert cannot have), 404 (no such alert or silence), 409 (silence
already over), 415 (not JSON).

GET  /alerts                                 every alert the user may read, with its state,
                                             and the invalid ones (``invalid``)
GET  /alerts/{dag_id}                        one alert: instances, docs, silences, deliveries;
                                             ``{"invalid": ...}`` for an invalid alert's DAG
GET  /alerts/{dag_id}/history                its evaluations, newest first, paged by before_id
GET  /alerts/{dag_id}/incidents              its incidents (firing / query-error stretches),
                                             newest first, paged by before (an incident's id)
GET  /alerts/{dag_id}/deliveries             its notifications (every status, or ?status=),
                                             newest first, paged by before_id
POST /alerts/{dag_id}/silences               silence it: {"duration": "2h" | "until": ISO,
                                             "reason": "...", "instance_key"?: one instance
                                             of a keyed alert}; the author is the user
POST /alerts/{dag_id}/silences/{id}/end      end a silence early
POST /alerts/{dag_id}/ack                    acknowledge its firing incident: {"instance_key"?:
                                             one instance (else every firing one), "comment"?};
                                             the author is the user; 409 when nothing fires
POST /alerts/{dag_id}/unack                  take the acknowledgement back: {"instance_key"?}
GET  /alerts/{dag_id}/actions                what people and the escalation ladder did to its
                                             incidents, newest first (?instance_key=, ?limit=)
POST /alerts/{dag_id}/backtest               replay its recorded evaluations over a range of at
                                             most a month under its current and a proposed
                                             policy: {"start", "end", "proposed": {"fire_after":
                                             3, ...}} (``ui/backtest.py``); 422 with the reason,
                                             429 while two run already
GET  /report                                 the monthly report of the alerts the user may read
                                             (?days=90&long_after=7): what ``sqlsentinel
                                             report FILE --format json`` prints as ``report``
GET  /me                                     who the API thinks you are
"""

from __future__ import annotations

import dataclasses
import glob
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import to_json

from sqlsentinel_airflow import acks, readmodel
from sqlsentinel_airflow.airflow_compat import configured_api_base_url
from sqlsentinel_airflow.core import silences as silence_rules
from sqlsentinel_airflow.core.clock import rfc3339, utcnow
from sqlsentinel_airflow.core.config.models import AlertConfig
from sqlsentinel_airflow.core.durations import parse_duration
from sqlsentinel_airflow.core.gcpause import cyclic_gc_paused
from sqlsentinel_airflow.core.instances import resolve_instance_key
from sqlsentinel_airflow.core.model import InstanceState, Silence
from sqlsentinel_airflow.readmodel import report as report_rules
from sqlsentinel_airflow.store.records import OutboxStatus
from sqlsentinel_airflow.store.store import StateStore
from sqlsentinel_airflow.ui import auth, catalog
from sqlsentinel_airflow.ui import backtest as panel
from sqlsentinel_airflow.ui.definitions import ManifestIndex
from sqlsentinel_airflow.ui.stores import StateStores
from sqlsentinel_airflow.ui.timing import Timings

__all__ = ["AckRequest", "SilenceRequest", "UiContext", "build_api_router"]


@dataclass
class UiContext:
    """What the routes share in one api-server process."""

    manifests: ManifestIndex
    stores: StateStores
    clock: Callable[[], datetime] = utcnow


class SilenceRequest(BaseModel):
    """A new silence: for ``duration`` (``30m``, ``2h``, ``1d``, seconds) or ``until`` a time."""

    model_config = ConfigDict(extra="forbid")

    duration: str | None = Field(default=None, examples=["2h"])
    until: datetime | None = Field(default=None, examples=["2030-01-01T06:00:00Z"])
    reason: str = Field(max_length=2000, examples=["warehouse maintenance"])
    instance_key: str | None = Field(
        default=None,
        max_length=10_000,
        description=(
            "only this instance of a keyed alert: its key as the API lists it "
            '(`{"table_name":"customers"}`) or as people write it (`table_name=customers`)'
        ),
        examples=['{"table_name":"customers"}'],
    )

    @field_validator("duration")
    @classmethod
    def _duration_parses(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= timedelta(0):
            raise ValueError(f"the silence duration must be positive, got {value!r}")
        return value

    @field_validator("reason")
    @classmethod
    def _reason_given(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason must not be empty: say why, for the people who see it later")
        return value.strip()

    @model_validator(mode="after")
    def _one_end(self) -> SilenceRequest:
        if (self.duration is None) == (self.until is None):
            raise ValueError("give exactly one of duration (e.g. 2h) or until (an ISO 8601 time)")
        return self

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """``(start, end)``; ValueError when ``until`` is not in the future."""
        duration = parse_duration(self.duration) if self.duration is not None else None
        return silence_rules.silence_window(now=now, duration=duration, until=self.until)


class AckRequest(BaseModel):
    """Acknowledge (or take back) the firing incident of one instance, or of every one."""

    model_config = ConfigDict(extra="forbid")

    instance_key: str | None = Field(
        default=None,
        max_length=10_000,
        description="only this instance of a keyed alert (as for a silence); absent: every "
        "firing instance",
        examples=['{"table_name":"customers"}'],
    )
    comment: str = Field(default="", max_length=acks.MAX_COMMENT_CHARS, examples=["on it"])


def _json_response(body: dict[str, Any]) -> Response:
    """``body`` (read-model JSON: plain dicts, lists and scalars already) encoded once, by
    pydantic's encoder (NaN and infinities as null, as FastAPI's own path writes them).

    FastAPI would otherwise walk it in Python and re-serialise it before encoding it: for the
    SQL Sentinel page's 1,000 alerts its encoder's walk alone took 0.26 s of CPU.
    """
    return Response(to_json(body, inf_nan_mode="null"), media_type="application/json")


def _stores_by_url(
    ctx: UiContext, entries: Sequence[catalog.AlertEntry]
) -> dict[str, list[catalog.AlertEntry]]:
    grouped: dict[str, list[catalog.AlertEntry]] = {}
    for entry in entries:
        grouped.setdefault(ctx.stores.url_for(entry.state_db), []).append(entry)
    return grouped


def _summaries(
    ctx: UiContext,
    entries: Sequence[catalog.AlertEntry],
    editable: Collection[str],
    *,
    docs: Callable[[catalog.AlertEntry], readmodel.DocsView] | None = None,
) -> list[readmodel.AlertSummary]:
    """The alerts' summaries, by name; with ``docs`` (one alert's page) also every instance,
    the undelivered notifications and the DAG's docs."""
    now = ctx.clock()
    found: list[readmodel.AlertSummary] = []
    for url, group in _stores_by_url(ctx, entries).items():
        store = ctx.stores.for_reading(url)
        names = [e.name for e in group]
        states = store.list_states(alert_names=names) if store else []
        stored_silences = store.list_silences(now) if store else []
        # a list counts what is owed; one alert's page counts its deliveries too
        counts = (
            store.outbox_counts(names, None if docs is not None else readmodel.UNDELIVERED)
            if store
            else {}
        )
        delivered = store.delivered_alerts(names) if store and docs is None else set()
        by_alert: dict[str, list[InstanceState]] = {}
        for s in states:
            by_alert.setdefault(s.alert_name, []).append(s)
        worst_of = {n: readmodel.worst_instance(by_alert.get(n, [])) for n in names}
        sparks = (
            store.recent_values(
                [(n, w.instance_key) for n, w in worst_of.items() if w is not None],
                readmodel.SPARK_POINTS,
            )
            if store is not None
            else {}
        )
        for entry in group:
            mine = by_alert.get(entry.name, [])
            worst = worst_of[entry.name]
            spark = sparks.get((entry.name, worst.instance_key), []) if worst is not None else []
            undelivered = None
            if docs is not None:
                undelivered = (
                    store.outbox(
                        status=readmodel.UNDELIVERED,
                        alert_name=entry.name,
                        limit=readmodel.DELIVERIES_SHOWN,
                    )
                    if store is not None
                    else []
                )
            found.append(
                readmodel.alert_summary(
                    entry,
                    states=mine,
                    silences=readmodel.silences_for(
                        entry.name, entry.dag_id, stored_silences, entry.file_silences, now
                    ),
                    outbox_counts=counts.get(entry.name, {}),
                    now=now,
                    delivered=entry.name in delivered,
                    deliveries=undelivered,
                    spark=spark,
                    docs=docs(entry) if docs is not None else None,
                    can_edit=entry.dag_id in editable,
                    all_instances=docs is not None,
                )
            )
    return sorted(found, key=lambda a: (a.name.lower(), a.dag_id))


def build_api_router(ctx: UiContext) -> APIRouter:
    """The routes, each with Airflow's auth dependencies."""
    router = APIRouter()
    can_read = [Depends(requires_access_dag("GET"))]
    can_edit = [Depends(requires_access_dag("PUT")), Depends(auth.require_json)]

    def alert_or_404(session: Any, dag_id: str) -> catalog.AlertEntry:
        entry = catalog.find_alert(session, dag_id, ctx.manifests.by_dag_id())
        if entry is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no SQL Sentinel alert has the DAG id {dag_id!r} (or its DAG was removed)",
            )
        return entry

    @router.get("/me")
    def me(user: GetUserDep) -> dict[str, Any]:
        return {"user": auth.user_name(user)}

    @router.get("/alerts", response_model=None)
    def list_alerts(user: GetUserDep, session: SessionDep) -> Response:
        timings = Timings()
        with cyclic_gc_paused():  # ~100,000 acyclic objects: see core/gcpause
            manifests = ctx.manifests.by_dag_id()
            every = catalog.list_alerts(session, manifests)
            timings.mark("catalog")
            readable = auth.authorized_dag_ids(user, [e.dag_id for e in every], "GET", session)
            editable = auth.authorized_dag_ids(user, readable, "PUT", session)
            timings.mark("auth")
            alerts = _summaries(ctx, [e for e in every if e.dag_id in readable], editable)
            counts = {status.value: 0 for status in readmodel.AlertStatus}
            for alert in alerts:
                counts[alert.status.value] += 1
            timings.mark("state")
            invalid = _invalid_views(user, session)
            counts["invalid"] = len(invalid)
            timings.mark("invalid")
            response = _json_response(
                {
                    "generated_at": rfc3339(ctx.clock()),
                    "counts": counts,
                    "alerts": [a.to_json() for a in alerts],
                    "invalid": [i.to_json() for i in invalid],
                }
            )
            timings.mark("json")
        response.headers["Server-Timing"] = timings.header()
        return response

    @router.get("/report", response_model=None)
    def get_report(
        user: GetUserDep,
        session: SessionDep,
        days: Annotated[int, Query(ge=1, le=3660)] = report_rules.DEFAULT_DAYS,
        long_after: Annotated[int, Query(ge=1, le=3660)] = report_rules.DEFAULT_LONG_AFTER_DAYS,
    ) -> Response:
        every = catalog.list_alerts(session, ctx.manifests.by_dag_id())
        readable = auth.authorized_dag_ids(user, [e.dag_id for e in every], "GET", session)
        grouped = _stores_by_url(ctx, [e for e in every if e.dag_id in readable])
        report = readmodel.hygiene_report(
            [
                (
                    ctx.stores.for_reading(url),
                    [readmodel.ReportAlert(e, e.file_silences) for e in group],
                )
                for url, group in grouped.items()
            ],
            now=ctx.clock(),
            days=days,
            long_after=timedelta(days=long_after),
        )
        return _json_response({"report": report.to_json()})

    @router.get("/alerts/{dag_id}", dependencies=can_read)
    def get_alert(dag_id: str, user: GetUserDep, session: SessionDep) -> dict[str, Any]:
        entry = catalog.find_alert(session, dag_id, ctx.manifests.by_dag_id())
        if entry is None:
            invalid = catalog.find_invalid(session, dag_id)
            if invalid is not None:
                return {"invalid": _invalid_view(invalid).to_json()}
            entry = alert_or_404(session, dag_id)  # 404
        editable = auth.authorized_dag_ids(user, [dag_id], "PUT", session)

        docs, enabled = catalog.serialized_alert_docs(session, dag_id)
        if enabled is not None:  # the DAG's, not the manifest's
            entry = dataclasses.replace(entry, enabled=enabled)
        (summary,) = _summaries(ctx, [entry], editable, docs=lambda _entry: docs)
        return {"alert": summary.to_json()}

    @router.get("/alerts/{dag_id}/deliveries", dependencies=can_read)
    def get_deliveries(
        dag_id: str,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        before_id: Annotated[int | None, Query(ge=1)] = None,
        delivery_status: Annotated[OutboxStatus | None, Query(alias="status")] = None,
    ) -> dict[str, Any]:
        entry = alert_or_404(session, dag_id)
        store = ctx.stores.for_reading(ctx.stores.url_for(entry.state_db))
        rows = (
            store.outbox(
                status=delivery_status, alert_name=entry.name, limit=limit, before_id=before_id
            )
            if store
            else []
        )
        next_before = rows[-1].id if len(rows) == limit and rows else None
        return {
            "dag_id": dag_id,
            "deliveries": [readmodel.delivery_view(r).to_json() for r in rows],
            "next_before_id": next_before,
        }

    @router.get("/alerts/{dag_id}/history", dependencies=can_read)
    def get_history(
        dag_id: str,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        before_id: Annotated[int | None, Query(ge=1)] = None,
        instance_key: str | None = None,
        samples: bool = False,
    ) -> dict[str, Any]:
        entry = alert_or_404(session, dag_id)
        store = ctx.stores.for_reading(ctx.stores.url_for(entry.state_db))
        rows = (
            store.history(entry.name, limit=limit, before_id=before_id, instance_key=instance_key)
            if store
            else []
        )
        next_before = rows[-1].id if len(rows) == limit and rows else None
        # A compacted row stands for up to 240 evaluations: the table needs none of them, the
        # chart (samples=true) the newest `limit` evaluations at most, rows included.
        room = limit if samples else 0
        views = []
        for row in rows:
            view = readmodel.evaluation_view(row)
            room -= 1
            kept = view.samples[-room:] if room > 0 else ()
            room -= len(kept)
            views.append(dataclasses.replace(view, samples=kept) if kept != view.samples else view)
        return {
            "dag_id": dag_id,
            "entries": [v.to_json() for v in views],
            "next_before_id": next_before,
        }

    @router.get("/alerts/{dag_id}/incidents", dependencies=can_read)
    def get_incidents(
        dag_id: str,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        before: Annotated[int | None, Query(ge=1)] = None,
        instance_key: str | None = None,
        since: datetime | None = None,
    ) -> dict[str, Any]:
        entry = alert_or_404(session, dag_id)
        if since is not None and since.tzinfo is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "since has no time zone: add Z or an offset (2026-12-05T08:00:00Z)",
            )
        store = ctx.stores.for_reading(ctx.stores.url_for(entry.state_db))
        views, next_before = (
            readmodel.incident_views(
                store,
                entry.name,
                limit=limit,
                before=before,
                instance_key=instance_key,
                since=since,
            )
            if store
            else ((), None)
        )
        return {
            "dag_id": dag_id,
            "incidents": [v.to_json() for v in views],
            "next_before": next_before,
        }

    @router.post(
        "/alerts/{dag_id}/silences", dependencies=can_edit, status_code=status.HTTP_201_CREATED
    )
    def create_silence(
        dag_id: str, body: SilenceRequest, user: GetUserDep, session: SessionDep
    ) -> dict[str, Any]:
        entry = alert_or_404(session, dag_id)
        now = ctx.clock()
        try:
            start, end = body.window(now)
        except ValueError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        store = ctx.stores.for_writing(ctx.stores.url_for(entry.state_db))
        key = None
        if body.instance_key is not None:
            key = _instance_key(body.instance_key, entry, store, session)
        saved = store.add_silence(
            Silence(
                match=glob.escape(entry.name),  # this alert only, even if its name has * ? [
                starts_at=start,
                ends_at=end,
                reason=body.reason,
                author=auth.user_name(user),
                created_at=now,
                source="ui",
                instance_key=key,
            )
        )
        return {"silence": readmodel.silence_view(saved, now).to_json()}

    @router.post("/alerts/{dag_id}/silences/{silence_id}/end", dependencies=can_edit)
    def end_silence(
        dag_id: str, silence_id: int, user: GetUserDep, session: SessionDep
    ) -> dict[str, Any]:
        entry = alert_or_404(session, dag_id)
        now = ctx.clock()
        store = ctx.stores.for_reading(ctx.stores.url_for(entry.state_db))
        known = store.list_silences(now, include_inactive=True) if store is not None else []
        found = next((s for s in known if s.id == silence_id), None)
        if (
            store is None
            or found is None
            or not silence_rules.matches(found, entry.name, entry.dag_id)
        ):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"no silence #{silence_id} applies to alert {entry.name!r}",
            )
        if silence_rules.silence_status(found, now) is silence_rules.SilenceStatus.EXPIRED:
            raise HTTPException(status.HTTP_409_CONFLICT, f"silence #{silence_id} is already over")
        _require_edit_on_everything_muted(found, entry, user, session, ctx)
        ended = store.end_silence(silence_id, now)
        return {"silence": readmodel.silence_view(ended, now).to_json()}

    def ack_targets(
        dag_id: str, instance_key: str | None, session: Any
    ) -> tuple[AlertConfig, StateStore, str | None]:
        entry = alert_or_404(session, dag_id)
        known = ctx.manifests.by_dag_id().get(dag_id)
        if known is None or known.name != entry.name or known.config is None:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the definition of alert {entry.name!r} is not known to this api-server (its "
                "manifest is missing): try again once the DAG processor has parsed its file",
            )
        store = ctx.stores.for_writing(ctx.stores.url_for(entry.state_db))
        key = None
        if instance_key is not None:
            key = _instance_key(instance_key, entry, store, session) if instance_key else ""
        return known.config, store, key

    def ack_answer(results: Sequence[acks.AckResult]) -> dict[str, Any]:
        return {"instances": [r.to_json() for r in results]}

    @router.post("/alerts/{dag_id}/ack", dependencies=can_edit)
    def acknowledge(
        dag_id: str, body: AckRequest, user: GetUserDep, session: SessionDep
    ) -> dict[str, Any]:
        alert, store, key = ack_targets(dag_id, body.instance_key, session)
        try:
            results = acks.acknowledge(
                store,
                alert,
                key,
                by=auth.user_name(user),
                source="ui",
                comment=body.comment,
                now=ctx.clock(),
                ui_base_url=configured_api_base_url(),
            )
        except acks.NotFiringError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return ack_answer(results)

    @router.post("/alerts/{dag_id}/unack", dependencies=can_edit)
    def unacknowledge(
        dag_id: str, body: AckRequest, user: GetUserDep, session: SessionDep
    ) -> dict[str, Any]:
        alert, store, key = ack_targets(dag_id, body.instance_key, session)
        try:
            results = acks.unacknowledge(
                store, alert, key, by=auth.user_name(user), source="ui", now=ctx.clock()
            )
        except acks.NotFiringError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return ack_answer(results)

    @router.get("/alerts/{dag_id}/actions", dependencies=can_read)
    def get_actions(
        dag_id: str,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        instance_key: str | None = None,
    ) -> dict[str, Any]:
        entry = alert_or_404(session, dag_id)
        store = ctx.stores.for_reading(ctx.stores.url_for(entry.state_db))
        found = (
            store.incident_actions(entry.name, instance_key=instance_key, limit=limit)
            if store
            else []
        )
        return {
            "dag_id": dag_id,
            "actions": [readmodel.incident_action_view(a).to_json() for a in found],
        }

    # a sync route: FastAPI runs it in its thread pool, so a replay never blocks the event
    # loop; the range is bounded and at most panel.RUNNING_AT_ONCE run at a time
    @router.post("/alerts/{dag_id}/backtest", dependencies=can_edit, response_model=None)
    def backtest(dag_id: str, body: panel.BacktestBody, session: SessionDep) -> Response:
        entry = alert_or_404(session, dag_id)
        known = ctx.manifests.by_dag_id().get(dag_id)
        from_manifest = known.config if known is not None and known.name == entry.name else None
        try:
            with panel.one_at_a_time():
                alert = panel.alert_to_backtest(
                    catalog.serialized_definition(session, dag_id), from_manifest, dag_id
                )
                result = panel.panel_backtest(
                    alert,
                    body,
                    ctx.stores.for_reading(ctx.stores.url_for(entry.state_db)),
                    entry.file_silences,
                    ctx.clock(),
                    channels_known=from_manifest is not None,
                )
        except panel.BacktestRejected as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        except panel.BacktestRefused as exc:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from None
        return _json_response(result.to_dict(max_points=panel.MAX_POINTS))

    return router


def _invalid_view(entry: catalog.InvalidEntry) -> readmodel.InvalidAlertView:
    return readmodel.invalid_alert_view(
        dag_id=entry.dag_id,
        name=entry.invalid.name,
        source_file=entry.invalid.source_file,
        errors=[e.to_error() for e in entry.invalid.errors],
        paused=entry.paused,
    )


def _invalid_views(user: Any, session: Any) -> list[readmodel.InvalidAlertView]:
    """The invalid alerts whose placeholder DAG the user may read, by name."""
    every = catalog.list_invalid(session)
    readable = auth.authorized_dag_ids(user, [e.dag_id for e in every], "GET", session)
    return [_invalid_view(e) for e in every if e.dag_id in readable]


def _instance_key(text: str, entry: catalog.AlertEntry, store: Any, session: Any) -> str:
    """The stored key of the instance ``text`` names, checked against the alert's key
    columns (from the DAG Airflow serialized, else from the instances the state database
    knows); 422 saying what to send otherwise."""
    known = [s.key_values for s in store.list_states(entry.name) if s.key_values]
    definition = catalog.serialized_definition(session, entry.dag_id)
    if definition is not None:
        key_columns: tuple[str, ...] = definition.key_columns
    elif known:
        key_columns = tuple(known[0])
    else:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"instance_key: the key columns of alert {entry.name!r} are not known yet (its DAG "
            "has not been parsed, and it has no instances); try again later",
        )
    try:
        return resolve_instance_key(text, key_columns, known)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"instance_key: {exc}") from None


def _require_edit_on_everything_muted(
    silence: Silence, entry: catalog.AlertEntry, user: Any, session: Any, ctx: UiContext
) -> None:
    """Ending a glob silence unmutes every alert it matches: the user must be able to edit
    each of them (in the same state database), not only the one whose page they are on."""
    url = ctx.stores.url_for(entry.state_db)
    muted = [
        e.dag_id
        for e in catalog.list_alerts(session, ctx.manifests.by_dag_id())
        if silence_rules.matches(silence, e.name, e.dag_id)
        and ctx.stores.url_for(e.state_db) == url
    ]
    editable = auth.authorized_dag_ids(user, muted, "PUT", session)
    refused = sorted(set(muted) - editable)
    if refused:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"silence #{silence.id} ({silence.match!r}) also mutes alerts you may not edit: "
            + ", ".join(refused),
        )
