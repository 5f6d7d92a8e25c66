"""The programme office's pages (staff token): overview, sheets, coverage, projects,
milestones; the register form."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.portal.client import Api, ApiError
from services.portal.forms import FormState, field_errors, project_body
from services.portal.queries import PortalQueries
from services.portal.sessions import Role
from services.portal.web import PageError, check_csrf, session_of, staff_token, token_of

Text = Annotated[str, Form(max_length=2000)]


def programme_router(api: Api, queries: PortalQueries, pages: Jinja2Templates) -> APIRouter:
    router = APIRouter()

    def render(
        request: Request, template: str, status: int = 200, **context: object
    ) -> HTMLResponse:
        context["session"] = session_of(request)
        return pages.TemplateResponse(request, template, context, status)

    @router.get("/", response_class=HTMLResponse)
    async def overview(request: Request) -> Response:
        token_of(request)
        if session_of(request).role is Role.PROJECT:
            return RedirectResponse("/mon-projet", 303)
        view = await queries.overview(staff_token(request))
        return render(request, "overview.html", view=view)

    @router.get("/fiches/{sheet}", response_class=HTMLResponse)
    async def sheet(request: Request, sheet: str) -> HTMLResponse:
        token = staff_token(request)
        if sheet not in queries.catalog.sheets:
            raise PageError(404, "Fiche introuvable", "Cette fiche n'existe pas.")
        return render(request, "sheet.html", view=await queries.sheet(token, sheet))

    @router.get("/couverture", response_class=HTMLResponse)
    async def coverage(request: Request, fiche: str | None = None) -> HTMLResponse:
        token = staff_token(request)
        sheet = fiche if fiche in queries.catalog.sheets else None
        view = await queries.coverage(token, sheet)
        return render(request, "coverage.html", view=view, sheet=sheet)

    @router.get("/projets", response_class=HTMLResponse)
    async def projects(
        request: Request,
        fiche: str | None = None,
        region: str | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
    ) -> HTMLResponse:
        every = await queries.directory(staff_token(request))
        shown = [
            p
            for p in every
            if (not fiche or p.sheet == fiche)
            and (not region or region in p.regions)
            and (not q or q.casefold() in p.name.casefold())
        ]
        filters = {"fiche": fiche or "", "region": region or "", "q": q or ""}
        return render(request, "projects.html", projects=shown, total=len(every), filters=filters)

    @router.get("/projets/nouveau", response_class=HTMLResponse)
    async def register_form(request: Request) -> HTMLResponse:
        staff_token(request)
        return render(request, "register.html", form=FormState())

    @router.post("/projets/nouveau", response_class=HTMLResponse)
    async def register(
        request: Request,
        csrf: Annotated[str | None, Form()] = None,
        sheet: Text = "",
        wave: Text = "",
        name: Text = "",
        lead: Text = "",
        regions: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
        start_date: Text = "",
        end_date: Text = "",
        funding_eur: Text = "",
        trained: Text = "",
        milestone_title: Text = "",
        milestone_due: Text = "",
    ) -> HTMLResponse:
        token = staff_token(request)
        check_csrf(request, csrf)
        values: dict[str, object] = dict(
            sheet=sheet,
            wave=wave,
            name=name,
            lead=lead,
            regions=regions,
            start_date=start_date,
            end_date=end_date,
            funding_eur=funding_eur,
            trained=trained,
            milestone_title=milestone_title,
            milestone_due=milestone_due,
        )
        try:
            created = await api.register(token, project_body(values))
        except ApiError as refused:
            if refused.status != 422:
                raise
            form = field_errors(refused.field_errors)
            form.values = values
            return render(request, "register.html", 422, form=form)
        return render(request, "registered.html", created=created, name=name)

    @router.get("/projets/{project_id}", response_class=HTMLResponse)
    async def project(request: Request, project_id: UUID) -> HTMLResponse:
        view = await queries.project(staff_token(request), project_id)
        return render(request, "project.html", view=view, staff=True)

    @router.get("/jalons", response_class=HTMLResponse)
    async def milestones(request: Request) -> HTMLResponse:
        view = await queries.milestones(staff_token(request))
        return render(request, "milestones.html", view=view)

    return router
