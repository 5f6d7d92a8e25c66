"""The portal's HTTP shell: templates with the French formats, the session of each request,
the guards of each page (signed in, staff, project, CSRF) and the error pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import FastAPI, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from contracts.catalog import load_catalog
from services.portal import domain
from services.portal.client import ApiError
from services.portal.sessions import COOKIE, Role, Session, Sessions

HERE = Path(__file__).parent
Period = Annotated[str, PathParam(pattern=r"^\d{4}-S[12]$")]
Revision = Annotated[int, PathParam(ge=1, le=1_000_000)]
SERVICE_NAME = "Suivi AMI CMA — France 2030"


def templates() -> Jinja2Templates:
    pages = Jinja2Templates(directory=HERE / "templates")
    catalog = load_catalog()
    pages.env.filters |= {
        "number": domain.number,
        "percent": domain.percent,
        "long_date": domain.long_date,
        "semester": domain.semester,
    }
    pages.env.globals |= {
        "service_name": SERVICE_NAME,
        "regions": catalog.regions,
        "sheets": catalog.sheets,
        "levels": catalog.levels,
        "milestone_label": domain.milestone_label,
        "polyline": domain.polyline,
        "forecast": domain.forecast,
        "alert_kinds": domain.ALERT_KINDS,
        "project_status": domain.PROJECT_STATUS,
        "delivery_status": domain.DELIVERY_STATUS,
    }
    return pages


class NotSignedIn(Exception):
    """No token in this session: the page sends to /login."""


@dataclass
class PageError(Exception):
    status: int
    title: str
    message: str


FORBIDDEN = PageError(
    403, "Accès refusé", "Cette page est réservée à un autre profil que le vôtre."
)
CSRF_REFUSED = PageError(
    403,
    "Formulaire refusé",
    "Ce formulaire a expiré ou ne vient pas du portail. Rechargez la page et recommencez.",
)


def session_of(request: Request) -> Session:
    session: Session = request.state.session
    return session


def token_of(request: Request) -> str:
    session = session_of(request)
    if session.token is None:
        raise NotSignedIn
    return session.token


def staff_token(request: Request) -> str:
    token = token_of(request)
    if session_of(request).role is not Role.STAFF:
        raise FORBIDDEN
    return token


def project_of(request: Request) -> tuple[str, UUID]:
    token = token_of(request)
    session = session_of(request)
    if session.role is not Role.PROJECT or session.project_id is None:
        raise FORBIDDEN
    return token, session.project_id


def check_csrf(request: Request, given: str | None) -> None:
    if not session_of(request).csrf_matches(given):
        raise CSRF_REFUSED


class SessionMiddleware(BaseHTTPMiddleware):
    """Loads the request's session (a new anonymous one when the cookie names none) and sets
    the cookie when the session is new or was replaced (`request.state.session_id`)."""

    def __init__(self, app: Any, sessions: Sessions) -> None:
        super().__init__(app)
        self.sessions = sessions

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        given = request.cookies.get(COOKIE)
        session = self.sessions.get(given)
        session_id = given
        if session is None:
            session_id, session = self.sessions.new()
        request.state.session, request.state.session_id = session, session_id
        request.state.sessions = self.sessions
        response = await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.state.session_id != given:
            response.set_cookie(
                COOKIE,
                request.state.session_id,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response


def sign_in(request: Request, session: Session) -> None:
    """Replaces the anonymous session by `session` under a new id (no session fixation)."""
    sessions: Sessions = request.state.sessions
    sessions.drop(request.state.session_id)
    request.state.session_id, request.state.session = sessions.new(session)


def sign_out(request: Request) -> None:
    sessions: Sessions = request.state.sessions
    sessions.drop(request.state.session_id)
    request.state.session_id, request.state.session = sessions.new()


Renderer = Callable[..., Awaitable[HTMLResponse]]


def error_pages(app: FastAPI, pages: Jinja2Templates) -> None:
    def page(request: Request, error: PageError) -> HTMLResponse:
        return pages.TemplateResponse(
            request, "error.html", {"error": error, "session": session_of(request)}, error.status
        )

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: NotSignedIn) -> Response:
        return RedirectResponse("/login", 303)

    @app.exception_handler(PageError)
    async def refused(request: Request, error: PageError) -> HTMLResponse:
        return page(request, error)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        if error.status == 401:  # the token was revoked or rotated meanwhile
            sign_out(request)
            return RedirectResponse("/login", 303)
        if error.status == 403:
            return page(request, FORBIDDEN)
        if error.status == 404:
            return page(request, PageError(404, "Page introuvable", "Cet objet n'existe pas."))
        return page(
            request,
            PageError(
                503,
                "Service indisponible",
                "Un service de la plateforme ne répond pas. Réessayez dans quelques instants.",
            ),
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return page(request, PageError(404, "Page introuvable", "Cette adresse n'existe pas."))
        return page(request, PageError(exc.status_code, "Requête refusée", str(exc.detail)))
