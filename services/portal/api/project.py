"""A funded project's pages (project token): progress, reports (upload, history, template),
milestones ("marquer comme atteint")."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.portal import domain
from services.portal.client import Api, ApiError
from services.portal.forms import FormState, field_errors
from services.portal.queries import PortalQueries
from services.portal.web import Period, Revision, check_csrf, project_of, session_of
from services.runtime.clock import Clock

Text = Annotated[str, Form(max_length=2000)]
MAX_UPLOAD = 2_000_000


def project_router(
    api: Api, queries: PortalQueries, pages: Jinja2Templates, clock: Clock
) -> APIRouter:
    router = APIRouter(prefix="/mon-projet")

    def render(
        request: Request, template: str, status: int = 200, **context: object
    ) -> HTMLResponse:
        context["session"] = session_of(request)
        return pages.TemplateResponse(request, template, context, status)

    @router.get("", response_class=HTMLResponse)
    async def home(request: Request) -> HTMLResponse:
        token, project_id = project_of(request)
        view = await queries.project(token, project_id)
        return render(request, "project.html", view=view, staff=False)

    @router.get("/rapports", response_class=HTMLResponse)
    async def reports(request: Request) -> HTMLResponse:
        token, project_id = project_of(request)
        history = await api.reports(token, project_id)
        return render(request, "reports.html", history=history)

    @router.get("/rapports/{period}/{revision}", response_class=HTMLResponse)
    async def revision(request: Request, period: Period, revision: Revision) -> HTMLResponse:
        token, project_id = project_of(request)
        view = await queries.revision(token, project_id, period, revision)
        return render(request, "revision.html", view=view, base="/mon-projet/rapports")

    @router.get("/rapports/nouveau", response_class=HTMLResponse)
    async def new_report(request: Request) -> HTMLResponse:
        project_of(request)
        return render(request, "upload.html", form=FormState(), periods=_periods(clock().date()))

    @router.post("/rapports/nouveau", response_class=HTMLResponse)
    async def upload(
        request: Request,
        csrf: Annotated[str | None, Form()] = None,
        period: Text = "",
        reason: Text = "",
        file: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        token, project_id = project_of(request)
        check_csrf(request, csrf)
        form = FormState(values={"period": period, "reason": reason})
        content = await file.read(MAX_UPLOAD + 1) if file is not None else b""
        if not content:
            form.errors["file"] = "Choisissez un fichier CSV."
        elif len(content) > MAX_UPLOAD:
            form.errors["file"] = "Le fichier dépasse 2 Mo."
        if form.errors:
            return render(request, "upload.html", 422, form=form, periods=_periods(clock().date()))
        try:
            accepted = await api.submit_csv(
                token, project_id, content, period=period, reason=reason or None
            )
        except ApiError as refused:
            if refused.status != 422:
                raise
            rows = _row_errors(refused)
            form = field_errors([e for e in refused.field_errors if "row" not in e.loc])
            form.values = {"period": period, "reason": reason}
            context = {"form": form, "periods": _periods(clock().date()), "rows": rows}
            return render(request, "upload.html", 422, **context)
        session_of(request).say(
            "success",
            f"Rapport du {domain.semester(accepted.period)} enregistré "
            f"(révision {accepted.revision}, {accepted.cells} cellules).",
        )
        return RedirectResponse("/mon-projet/rapports", 303)

    @router.get("/modele.csv")
    async def template(request: Request) -> PlainTextResponse:
        token, project_id = project_of(request)
        progress = await api.project_progress(token, project_id)
        regions = sorted(progress.by_region) or ["11"]
        rows = ["kind,level,region,sex,audience,count"]
        rows += [f"trained,bac+5,{code},F,,0" for code in regions]
        headers = {"Content-Disposition": 'attachment; filename="modele-rapport.csv"'}
        return PlainTextResponse("\n".join(rows) + "\n", headers=headers, media_type="text/csv")

    @router.get("/jalons", response_class=HTMLResponse)
    async def milestones(request: Request) -> HTMLResponse:
        token, project_id = project_of(request)
        timeline = await api.project_milestones(token, project_id)
        return render(request, "my_milestones.html", timeline=timeline, today=clock().date())

    @router.post("/jalons/{milestone_id}/atteint")
    async def complete(
        request: Request,
        milestone_id: str,
        csrf: Annotated[str | None, Form()] = None,
        completed_on: Text = "",
        evidence: Text = "",
    ) -> Response:
        token, project_id = project_of(request)
        check_csrf(request, csrf)
        body = {"completed_on": completed_on or None, "evidence": evidence or None}
        try:
            await api.complete(token, project_id, milestone_id, body)
        except ApiError as refused:
            if refused.status not in (409, 422):
                raise
            detail = refused.problem.detail if refused.problem else None
            session_of(request).say("error", f"Jalon non enregistré : {detail}")
        else:
            session_of(request).say("success", "Jalon marqué comme atteint.")
        return RedirectResponse("/mon-projet/jalons", 303)

    return router


def _periods(today: date) -> list[str]:
    """The semesters a report may be for, newest first: the current one and the five before."""
    half = 1 if today.month <= 6 else 2
    periods, year = [], today.year
    for _ in range(6):
        periods.append(f"{year}-S{half}")
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    return periods


def _row_errors(refused: ApiError) -> list[tuple[int, str]]:
    """The errors that name a CSV row (`["body", "row", 7]`), by row."""
    rows = []
    for e in refused.field_errors:
        if len(e.loc) >= 3 and e.loc[1] == "row" and isinstance(e.loc[2], int):
            rows.append((e.loc[2], e.french))
    return sorted(rows)
