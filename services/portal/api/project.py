"""A funded project's pages (project token): progress, reports (upload, history, template),
milestones ("marquer comme atteint")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.portal import domain
from services.portal.client import Api, ApiError
from services.portal.forms import XLSX, FormState, field_errors, report_media_type
from services.portal.queries import PortalQueries
from services.portal.schemas import Upload
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

    def upload_page(
        request: Request, status: int = 200, form: FormState | None = None, **context: object
    ) -> HTMLResponse:
        periods = _periods(clock().date())
        form = form or FormState(values={"period": periods[0]})
        return render(request, "upload.html", status, form=form, periods=periods, **context)

    def refused_file(request: Request, refused: ApiError, upload: Upload) -> HTMLResponse:
        """The file's errors by row; those naming a form field beside it; nothing stored."""
        form = field_errors([e for e in refused.field_errors if "row" not in e.loc])
        form.values = {"period": upload.period, "reason": upload.reason or ""}
        return upload_page(request, 422, form, rows=_row_errors(refused))

    @router.get("/rapports/nouveau", response_class=HTMLResponse)
    async def new_report(request: Request) -> HTMLResponse:
        project_of(request)
        return upload_page(request)

    @router.post("/rapports/nouveau", response_class=HTMLResponse)
    async def check(
        request: Request,
        csrf: Annotated[str | None, Form()] = None,
        period: Text = "",
        reason: Text = "",
        file: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        """Step 2: the file goes to intake as a dry run; refused, its errors by row; passed,
        what it would change, kept in the session until the project confirms it."""
        token, project_id = project_of(request)
        check_csrf(request, csrf)
        form = FormState(values={"period": period, "reason": reason})
        content = await file.read(MAX_UPLOAD + 1) if file is not None else b""
        media_type = report_media_type(file.filename if file is not None else None)
        if not content:
            form.errors["file"] = "Choisissez un fichier XLSX ou CSV."
        elif media_type is None:
            form.errors["file"] = "Le fichier doit être un classeur .xlsx ou un fichier .csv."
        elif len(content) > MAX_UPLOAD:
            form.errors["file"] = "Le fichier dépasse 2 Mo."
        if form.errors or media_type is None or file is None:
            return upload_page(request, 422, form)
        upload = Upload(content, media_type, file.filename or "", period, reason or None)
        try:
            dry = await api.check_report(token, project_id, upload)
        except ApiError as refused:
            if refused.status != 422:
                raise
            return refused_file(request, refused, upload)
        session_of(request).pending = upload
        return render(request, "upload_check.html", dry=dry, upload=upload)

    @router.post("/rapports/confirmation", response_class=HTMLResponse)
    async def confirm(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
        """Step 3: the file checked at step 2, sent for real."""
        token, project_id = project_of(request)
        check_csrf(request, csrf)
        session = session_of(request)
        upload = session.pending
        if upload is None:
            session.say("error", "Aucun rapport en attente de confirmation : déposez le fichier.")
            return RedirectResponse("/mon-projet/rapports/nouveau", 303)
        try:
            accepted = await api.submit_report(token, project_id, upload)
        except ApiError as refused:  # the project changed between the check and now
            if refused.status != 422:
                raise
            session.pending = None
            return refused_file(request, refused, upload)
        session.pending = None
        session.say(
            "success",
            f"Rapport du {domain.semester(accepted.period)} enregistré "
            f"(révision {accepted.revision}, {accepted.cells} cellules).",
        )
        return RedirectResponse("/mon-projet/rapports", 303)

    @router.get("/modele")
    async def template(
        request: Request,
        periode: Annotated[str | None, Query(pattern=r"^\d{4}-S[12]$")] = None,
        fmt: Annotated[Literal["xlsx", "csv"], Query(alias="format")] = "xlsx",
    ) -> Response:
        """Intake's template of the period (the current semester by default), pre-filled with
        its current revision."""
        token, project_id = project_of(request)
        period = periode or _periods(clock().date())[0]
        content = await api.template(token, project_id, fmt, period)
        media_type = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
        disposition = f'attachment; filename="rapport-{period}.{fmt}"'
        return Response(
            content, media_type=media_type, headers={"Content-Disposition": disposition}
        )

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
    """The errors that name a row of the file, by row: `["body", "row", 7]` (CSV) or
    `["body", "sheet", "Rapport", "row", 7, "trained"]` (XLSX)."""
    rows = []
    for e in refused.field_errors:
        at = e.loc.index("row") if "row" in e.loc else -1
        if 0 <= at < len(e.loc) - 1 and isinstance(e.loc[at + 1], int):
            rows.append((int(e.loc[at + 1]), e.french))
    return sorted(rows)
