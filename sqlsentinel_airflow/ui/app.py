"""The FastAPI app the plugin registers: the JSON API, the pages and their static files.

Mounted by Airflow's api-server under ``/sqlsentinel`` (``fastapi_apps``):

- ``/sqlsentinel/api/...``        the JSON API (``api.py``), every route authenticated
- ``/sqlsentinel/api/slack/interactions``  Slack's button clicks, authenticated by Slack's
                                  request signature instead (``slack_interactions.py``)
- ``/sqlsentinel/ui/dashboard``   the "SQL Sentinel" page (an ``external_views`` nav entry)
- ``/sqlsentinel/ui/alert``       the tab on each DAG's page (``?dag_id=``)
- ``/sqlsentinel/ui/report``      the monthly report (``?days=``), linked from the dashboard
- ``/sqlsentinel/ui/action``      the page an email's Acknowledge link opens (``#t=<token>``;
                                  ``actions.py``): it confirms before acting
- ``/sqlsentinel/static/...``     plain HTML/CSS/JS shipped in the wheel; no build step, no CDN

The pages are static and hold no data; they fetch it from the API with the browser's Airflow
session cookie, so opening them without a login shows a "log in" message, never data.
Their Content-Security-Policy allows only this origin: scripts, styles and framing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from sqlsentinel_airflow.airflow_contract import ACTION_PAGE_PATH
from sqlsentinel_airflow.dags.manifest import default_manifest_dir
from sqlsentinel_airflow.errors import StateStoreError
from sqlsentinel_airflow.ui import API_PREFIX, URL_PREFIX
from sqlsentinel_airflow.ui.actions import build_action_router
from sqlsentinel_airflow.ui.api import UiContext, build_api_router
from sqlsentinel_airflow.ui.definitions import ManifestIndex
from sqlsentinel_airflow.ui.slack_interactions import build_slack_router
from sqlsentinel_airflow.ui.stores import StateStores

__all__ = ["STATIC_DIR", "create_app", "plugin_app_spec"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    "Referrer-Policy": "same-origin",
}


def create_app(*, manifest_dir: Path | None = None, stores: StateStores | None = None) -> FastAPI:
    """The app; ``manifest_dir`` defaults to ``$AIRFLOW_HOME/sqlsentinel/manifests``."""
    ctx = UiContext(
        manifests=ManifestIndex(manifest_dir or default_manifest_dir()),
        stores=stores or StateStores(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.stores.close()

    app = FastAPI(
        title="SQL Sentinel",
        description="Alerts, their history and silences (an Airflow plugin).",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(build_api_router(ctx), prefix=API_PREFIX)
    app.include_router(
        build_slack_router(ctx.manifests, ctx.stores, lambda: ctx.clock()), prefix=API_PREFIX
    )
    app.include_router(build_action_router(ctx), prefix=API_PREFIX)

    @app.exception_handler(StateStoreError)
    async def state_store_unavailable(_request: Request, exc: StateStoreError) -> JSONResponse:
        # The store's messages name the database with its password redacted.
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if "/actions/" in request.url.path:  # never echo an action link's token back
            errors = [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in errors]
        return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})

    def page(name: str) -> FileResponse:
        return FileResponse(STATIC_DIR / name, media_type="text/html", headers=_PAGE_HEADERS)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("ui/dashboard")

    @app.get("/ui/dashboard", include_in_schema=False)
    def dashboard() -> FileResponse:
        return page("dashboard.html")

    @app.get("/ui/report", include_in_schema=False)
    def report_page() -> FileResponse:
        return page("report.html")

    @app.get("/ui/alert", include_in_schema=False)
    def alert_tab() -> FileResponse:
        return page("alert.html")

    @app.get(ACTION_PAGE_PATH, include_in_schema=False)
    def action_page() -> FileResponse:
        # no Referer at all from this page: its address held the token (in the fragment)
        return FileResponse(
            STATIC_DIR / "action.html",
            media_type="text/html",
            headers={
                **_PAGE_HEADERS,
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def plugin_app_spec() -> dict[str, Any]:
    """The ``fastapi_apps`` entry of the plugin."""
    return {"app": create_app(), "url_prefix": URL_PREFIX, "name": "SQL Sentinel"}
