"""The programme office's pages (staff token): overview, sheets, coverage, projects,
milestones; the register form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.portal import domain
from services.portal.client import Api, ApiError
from services.portal.forms import FormState, amendment_body, field_errors, project_body
from services.portal.queries import PortalQueries, ProjectView
from services.portal.sessions import Role
from services.portal.web import (
    PageError,
    Period,
    Revision,
    check_csrf,
    session_of,
    staff_token,
    token_of,
)

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
        statut: str | None = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
    ) -> HTMLResponse:
        token = staff_token(request)
        filters = {
            "sheet": fiche if fiche in queries.catalog.sheets else None,
            "region": region if region in queries.catalog.regions else None,
            "status": statut if statut in domain.PROJECT_STATUS else None,
            "q": q or None,
        }
        shown = await queries.directory(token, **filters)
        values = {
            "fiche": fiche or "",
            "region": region or "",
            "statut": statut or "",
            "q": q or "",
        }
        return render(request, "projects.html", projects=shown, filters=values)

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
        return render(request, "project.html", view=view, staff=True, form=prefilled(view))

    @router.post("/projets/{project_id}/modification", response_class=HTMLResponse)
    async def amend(
        request: Request,
        project_id: UUID,
        csrf: Annotated[str | None, Form()] = None,
        reason: Text = "",
        name: Text = "",
        lead: Text = "",
        end_date: Text = "",
        regions: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    ) -> Response:
        token = staff_token(request)
        check_csrf(request, csrf)
        current = await api.project(token, project_id)
        body = amendment_body(
            current, reason=reason, name=name, lead=lead, end_date=end_date, regions=regions
        )
        return await project_command(request, token, project_id, api.amend, body, "modifié", True)

    @router.post("/projets/{project_id}/cloture", response_class=HTMLResponse)
    async def close(
        request: Request,
        project_id: UUID,
        csrf: Annotated[str | None, Form()] = None,
        status: Text = "",
        on: Text = "",
        reason: Text = "",
    ) -> Response:
        token = staff_token(request)
        check_csrf(request, csrf)
        body: dict[str, object] = {"status": status, "on": on or None, "reason": reason}
        return await project_command(request, token, project_id, api.close, body, "clôturé", False)

    def prefilled(view: ProjectView) -> FormState:
        p = view.project
        values = {"name": p.name, "lead": p.lead, "end_date": p.end_date.isoformat()}
        return FormState(values={**values, "regions": p.regions})

    async def project_command(
        request: Request,
        token: str,
        project_id: UUID,
        command: Callable[[str, UUID, dict[str, object]], Awaitable[None]],
        body: dict[str, object],
        done: str,
        beside_fields: bool,
    ) -> Response:
        """Runs an amend (errors beside its fields) or a close (errors above the forms);
        refused, the project page comes back with the errors."""
        try:
            await command(token, project_id, body)
        except ApiError as refused:
            if refused.status not in (409, 422):
                raise
            view = await queries.project(token, project_id)
            form = prefilled(view)
            if beside_fields:
                form = field_errors(refused.field_errors)
                form.values = prefilled(view).values | body
            else:
                form.general += [e.french for e in refused.field_errors]
            if refused.status == 409 and refused.problem is not None:
                form.general.append(refused.problem.detail or "")
            return render(request, "project.html", 422, view=view, staff=True, form=form)
        session_of(request).say("success", f"Projet {done}.")
        return RedirectResponse(f"/projets/{project_id}", 303)

    @router.get("/projets/{project_id}/rapports/{period}/{revision}", response_class=HTMLResponse)
    async def revision(
        request: Request, project_id: UUID, period: Period, revision: Revision
    ) -> HTMLResponse:
        view = await queries.revision(staff_token(request), project_id, period, revision)
        return render(request, "revision.html", view=view, base=f"/projets/{project_id}")

    @router.get("/revues", response_class=HTMLResponse)
    async def reviews(request: Request) -> HTMLResponse:
        queue = await api.reviews(staff_token(request))
        return render(request, "reviews.html", reviews=queue.reviews)

    @router.post("/revues/{project_id}/{period}/{revision}")
    async def review(
        request: Request,
        project_id: UUID,
        period: Period,
        revision: Revision,
        csrf: Annotated[str | None, Form()] = None,
        decision: Text = "",
        comment: Text = "",
    ) -> Response:
        token = staff_token(request)
        check_csrf(request, csrf)
        body = {"decision": decision, "comment": comment or None}
        try:
            await api.review(token, project_id, period, revision, body)
        except ApiError as refused:
            if refused.status not in (409, 422):
                raise
            detail = (refused.problem.detail if refused.problem else None) or ""
            why = [e.french for e in refused.field_errors] or [detail]
            session_of(request).say("error", "Décision non enregistrée : " + " ".join(why))
        else:
            done = "approuvé" if decision == "approved" else "renvoyé au projet"
            session_of(request).say("success", f"Rapport {done}.")
        return RedirectResponse("/revues", 303)

    @router.get("/alertes", response_class=HTMLResponse)
    async def alerts(request: Request) -> HTMLResponse:
        page = await api.alerts(staff_token(request))
        return render(request, "alerts.html", alerts=page.alerts, more=page.next_cursor)

    @router.get("/jalons", response_class=HTMLResponse)
    async def milestones(request: Request) -> HTMLResponse:
        view = await queries.milestones(staff_token(request))
        return render(request, "milestones.html", view=view)

    return router
