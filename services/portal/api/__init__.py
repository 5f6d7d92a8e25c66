"""The portal's pages, one module per door: sign-in, programme office, funded project,
subscriber. Routes are thin: guard, call the queries or the client, render a template."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates

from services.portal.api.auth import auth_router
from services.portal.api.programme import programme_router
from services.portal.api.project import project_router
from services.portal.api.subscriptions import subscriptions_router
from services.portal.client import Api
from services.portal.queries import PortalQueries
from services.runtime.clock import Clock


def portal_router(
    api: Api, queries: PortalQueries, pages: Jinja2Templates, clock: Clock
) -> APIRouter:
    router = APIRouter()
    router.include_router(auth_router(api, pages))
    router.include_router(programme_router(api, queries, pages))
    router.include_router(project_router(api, queries, pages, clock))
    router.include_router(subscriptions_router(api, pages))
    return router
