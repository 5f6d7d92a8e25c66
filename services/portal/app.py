"""The portal: builds the web app from settings. It calls the four services over HTTP with
the signed-in person's token and keeps only sessions, in memory."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry

from contracts.catalog import load_catalog
from services.portal.api import portal_router
from services.portal.api.bilan import bilan_router
from services.portal.client import Api
from services.portal.metrics import PageTimer
from services.portal.queries import PortalQueries
from services.portal.sessions import Sessions
from services.portal.web import HERE, SessionMiddleware, error_pages, templates
from services.runtime import registry as service_registry
from services.runtime.clock import Clock, system_clock
from services.runtime.metrics import metrics_endpoint
from services.runtime.settings import Settings

SPEC = service_registry.PORTAL
DSFR = HERE / "node_modules" / "@gouvfr" / "dsfr" / "dist"
"""Installed by `make install` (`npm ci` from services/portal/package-lock.json)."""

log = logging.getLogger(__name__)


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    api = Api(settings.service_urls)
    shapes = json.loads((HERE / "data" / "regions.json").read_text())["regions"]
    queries = PortalQueries(api, load_catalog(), shapes)
    pages = templates()
    # The bilan reads the services by absolute URL (services/bilan), through its own pool.
    bilan_client = httpx.AsyncClient(timeout=60)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await api.aclose()
            await bilan_client.aclose()

    app = FastAPI(
        title="CMA portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    registry = CollectorRegistry()
    app.add_middleware(
        SessionMiddleware, sessions=Sessions(timedelta(minutes=settings.portal_session_minutes))
    )
    app.add_middleware(PageTimer, registry=registry)
    error_pages(app, pages)
    app.mount("/static/portal", StaticFiles(directory=HERE / "static"), name="portal-static")
    if DSFR.is_dir():
        app.mount("/static/dsfr", StaticFiles(directory=DSFR), name="dsfr")
    else:
        log.warning("DSFR assets missing at %s: run `make install` (npm ci)", DSFR)

    async def alive() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": SPEC.name})

    for probe in ("/livez", "/readyz", "/healthz"):
        app.add_api_route(probe, alive, methods=["GET"], include_in_schema=False)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    app.add_route("/metrics", metrics_endpoint(registry, None, token), include_in_schema=False)
    app.include_router(portal_router(api, queries, pages, clock))
    app.include_router(
        bilan_router(api, pages, queries.catalog, settings.service_urls, bilan_client)
    )
    return app
