"""`/login` and `/logout`: a pasted token becomes a server-side session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.portal.client import Api, ApiError
from services.portal.sessions import Role, Session
from services.portal.web import check_csrf, session_of, sign_in, sign_out


def auth_router(api: Api, pages: Jinja2Templates) -> APIRouter:
    router = APIRouter()

    def login_page(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
        context = {"session": session_of(request), "error": error}
        return pages.TemplateResponse(request, "login.html", context, status)

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> HTMLResponse:
        return login_page(request)

    @router.post("/login", response_class=HTMLResponse)
    async def login(
        request: Request,
        token: Annotated[str, Form(max_length=500)] = "",
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        check_csrf(request, csrf)
        token = token.strip()
        if not token:
            return login_page(request, "Collez votre jeton d'accès.", 422)
        try:
            identity = await api.me(token)
        except ApiError as refused:
            if refused.status == 401:
                return login_page(request, "Ce jeton n'est pas reconnu.", 422)
            raise
        session = Session(token=token, role=Role(identity.role), project_id=identity.project_id)
        if session.role is Role.PROJECT and session.project_id is not None:
            try:  # the indicator may not have applied a fresh registration yet
                progress = await api.project_progress(token, session.project_id)
                session.project_name = progress.name
            except ApiError:
                session.project_name = None
        sign_in(request, session)
        return RedirectResponse("/" if session.role is Role.STAFF else "/mon-projet", 303)

    @router.post("/logout")
    async def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
        check_csrf(request, csrf)
        sign_out(request)
        session_of(request).say("success", "Vous êtes déconnecté.")
        return RedirectResponse("/login", 303)

    return router
