"""Intake's HTTP routes: thin; parsing and authorisation here, rules in the use cases."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import (
    APIRouter,
    Depends,
    Header,
    Path,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from contracts.catalog import Catalog
from contracts.events import MILESTONE_ID_PATTERN, ProjectStatus
from contracts.projects import (
    MilestoneCompletionIn,
    MilestonesIn,
    ProjectAmendmentIn,
    ProjectClosureIn,
    ProjectCreated,
    ProjectIn,
    SheetId,
)
from contracts.reports import PERIOD_PATTERN, RegionCode, ReportIn, ReviewIn
from contracts.text import Text
from services.intake.anomalies import Rule as ArrivalRule
from services.intake.domain import CellLoc, ReviewStatus, json_cell_loc, reportable_periods
from services.intake.metrics import ReportMetrics
from services.intake.queries import (
    ProjectFilter,
    ProjectQueries,
    ReportQueries,
    ReviewQueries,
    StaffTokenQueries,
)
from services.intake.schemas import (
    XLSX_MEDIA_TYPE,
    AmendmentOut,
    CatalogOut,
    ClosureOut,
    Identity,
    MilestoneCompletionOut,
    MilestonesDeclared,
    ProjectOut,
    ProjectPage,
    ProjectTokenOut,
    ReportAccepted,
    ReportContent,
    ReportDryRun,
    ReportFormat,
    ReportHistory,
    ReviewOut,
    ReviewQueue,
    SilencedCheck,
    SilencedChecks,
    SilenceIn,
    StaffTokenCreated,
    StaffTokenIn,
    StaffTokenList,
    StaffTokenOut,
)
from services.intake.spreadsheets import charset_of, read_csv_report, read_xlsx_report
from services.intake.spreadsheets.template import csv_template, xlsx_template
from services.intake.usecases.amendments import AmendmentUseCases
from services.intake.usecases.checks import CheckUseCases
from services.intake.usecases.projects import ProjectUseCases
from services.intake.usecases.reports import ReportUseCases
from services.intake.usecases.reviews import ReviewUseCases
from services.intake.usecases.tokens import TokenUseCases
from services.runtime.auth import Caller
from services.runtime.clock import Clock
from services.runtime.errors import Unprocessable, pydantic_errors
from services.runtime.http import CONFLICT, FORBIDDEN, NOT_FOUND, PROBLEMS, inline_schema

REPORT_DOC = """Post one period's report for this project, as JSON (`ReportIn`), as `text/csv`
or as an `.xlsx` workbook (sheet `Rapport`); a report replaces the period's previous revision
as a whole. For CSV and XLSX, `period` and `reason` are query parameters (a workbook made from
the template states its period, so `period` may be left out).

Spreadsheet layouts (columns matched regardless of case and accents, in French or English):
the template's wide one, `région, niveau, [public], [sexe], formés, dont en alternance,
sensibilisés` (a blank count is no cell, 0 is a cell), or one cell per row,
`kind, level, region, [sex], [audience], count`. CSV: `;` or `,` (told by the header),
UTF-8 with or without BOM, else Windows-1252 (or the Content-Type's `charset`), CRLF, blank
trailing lines and columns ignored, `1 200` (space, non-breaking or thin space) read as 1200.
Errors name the sheet, row and column (`feuille Rapport, ligne 7, colonne D : nombre entier
attendu`), all at once. Refused workbooks: macros (`.xlsm`), formulas without a cached value,
merged cells, parts over their size bound (zip bombs), more than 5,100 rows, no `Rapport`
sheet.

`dry_run=true`: every rule is checked and, when the report passes, the answer is 200
`ReportDryRun` (the cells as they would be stored and the difference from the current
revision); nothing is stored, no event sent, no revision number used, the Idempotency-Key
ignored. A French guide with an example file: docs/reports.md.

Rules: counts are integers ≥ 0; `alternance` counts people "of which in alternance" among
`trained` and may not exceed `trained` in the same cell (same level, region, sex, audience);
a cell appears once; its region must be one the project declared; the period (`YYYY-S1` =
January-June, `YYYY-S2` = July-December) must have begun and overlap the project's run.

`Idempotency-Key`: a retry with the same key and the same content returns the first answer
(header `Idempotent-Replayed: true`) and changes nothing; the same key with other content is 422.
"""


_report_body: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": inline_schema(ReportIn)},
            "text/csv": {"schema": {"type": "string"}},
            XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
DRY_RUN: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "`dry_run=true`: the report would be accepted; nothing was stored.",
        "content": {"application/json": {"schema": inline_schema(ReportDryRun)}},
    }
}
TEMPLATE_DOC = """The project's report template for `period`, in French: one row per declared
region and catalog level (and audience where the project's sheet counts audiences), one column
per kind, whole-number validation, an `Instructions` sheet stating the project and the period,
pre-filled with the period's current revision. Uploaded unchanged it is accepted."""


def _file(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    schema = {"type": "string", "format": "binary"}
    return {200: {"description": description, "content": {media_type: {"schema": schema}}}}


def intake_router(
    projects: ProjectUseCases,
    reports: ReportUseCases,
    report_queries: ReportQueries,
    checks: CheckUseCases,
    authenticate: Callable[[Request], Awaitable[Caller]],
    metrics: ReportMetrics,
    reviews: ReviewUseCases,
    review_queries: ReviewQueries,
) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=PROBLEMS)
    CallerDep = Annotated[Caller, Depends(authenticate)]

    @router.get("/me", tags=["projects"])
    async def who_am_i(caller: CallerDep) -> Identity:
        """Who this token is: programme staff, or which project (any valid token)."""
        return Identity.of(caller)

    @router.post(
        "/projects",
        status_code=201,
        response_model=ProjectCreated,
        tags=["projects"],
        responses=FORBIDDEN,
    )
    async def register_project(body: ProjectIn, caller: CallerDep) -> ProjectCreated:
        """Register a funded project (programme staff). The API token is shown only here."""
        caller.require_staff()
        return await projects.register(body, caller)

    @router.post(
        "/projects/{project_id}/reports",
        status_code=201,
        response_model=ReportAccepted,
        tags=["reports"],
        description=REPORT_DOC,
        openapi_extra=_report_body,
        responses=DRY_RUN | FORBIDDEN | NOT_FOUND,
    )
    async def submit_report(
        project_id: UUID,
        request: Request,
        response: Response,
        caller: CallerDep,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
        period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
        reason: Annotated[Text | None, Query(max_length=500)] = None,
        dry_run: Annotated[bool, Query(description="Check only: store nothing.")] = False,
    ) -> Any:
        caller.require_project(project_id)
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        report_format = ReportFormat.of(content_type)
        loc: CellLoc = json_cell_loc
        if report_format is ReportFormat.CSV:
            read = read_csv_report(
                body, charset=charset_of(content_type), period=period, reason=reason
            )
            report, loc = read.report, read.cell_loc
        elif report_format is ReportFormat.XLSX:
            read = read_xlsx_report(body, project_id=project_id, period=period, reason=reason)
            report, loc = read.report, read.cell_loc
        else:
            report = _json_report(body)
        if dry_run:
            check, warnings = await reports.check_report(project_id, report, loc)
            answer = ReportDryRun.of(project_id, check, warnings)
            return JSONResponse(answer.model_dump(mode="json"), status_code=200)
        accepted = await reports.submit_report(project_id, report, caller, idempotency_key, loc)
        if accepted.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        metrics.accepted(report_format, replayed=accepted.replayed)
        return accepted.answer

    @router.get("/projects/{project_id}/reports", tags=["reports"], responses=FORBIDDEN | NOT_FOUND)
    async def report_history(project_id: UUID, caller: CallerDep) -> ReportHistory:
        """Each period with its revisions (sender, time, reason, cell count), oldest first."""
        caller.require_project(project_id)
        return await report_queries.history(project_id)

    @router.get(
        "/projects/{project_id}/template.xlsx",
        tags=["reports"],
        description=TEMPLATE_DOC,
        response_class=Response,
        responses=_file(XLSX_MEDIA_TYPE, "The workbook.") | FORBIDDEN | NOT_FOUND,
    )
    async def report_template_xlsx(
        project_id: UUID, caller: CallerDep, period: Annotated[str, Query(pattern=PERIOD_PATTERN)]
    ) -> Response:
        caller.require_project(project_id)
        template = await report_queries.template(project_id, period)
        return _download(xlsx_template(template), XLSX_MEDIA_TYPE, f"rapport-{period}.xlsx")

    @router.get(
        "/projects/{project_id}/template.csv",
        tags=["reports"],
        description=f"{TEMPLATE_DOC}\n\nCSV: `;`, UTF-8 with BOM, CRLF; no instructions sheet, "
        "so `period` must be given when it is uploaded.",
        response_class=Response,
        responses=_file(CSV_MEDIA_TYPE, "The CSV file.") | FORBIDDEN | NOT_FOUND,
    )
    async def report_template_csv(
        project_id: UUID, caller: CallerDep, period: Annotated[str, Query(pattern=PERIOD_PATTERN)]
    ) -> Response:
        caller.require_project(project_id)
        template = await report_queries.template(project_id, period)
        return _download(csv_template(template), CSV_MEDIA_TYPE, f"rapport-{period}.csv")

    @router.post(
        "/projects/{project_id}/milestones",
        status_code=201,
        tags=["milestones"],
        responses=FORBIDDEN | NOT_FOUND | CONFLICT,
    )
    async def declare_milestones(
        project_id: UUID, body: MilestonesIn, caller: CallerDep
    ) -> MilestonesDeclared:
        """Declare milestones, or reschedule existing ones (a `reason` is then required)."""
        caller.require_staff()
        return await projects.declare_milestones(project_id, body)

    @router.post(
        "/projects/{project_id}/milestones/{milestone_id}/complete",
        tags=["milestones"],
        status_code=status.HTTP_200_OK,
        responses=FORBIDDEN | NOT_FOUND | CONFLICT,
    )
    async def complete_milestone(
        project_id: UUID,
        milestone_id: Annotated[str, Path(pattern=MILESTONE_ID_PATTERN)],
        body: MilestoneCompletionIn,
        caller: CallerDep,
    ) -> MilestoneCompletionOut:
        caller.require_project(project_id)
        return await projects.complete_milestone(project_id, milestone_id, body, caller)

    # Review by programme officers (docs/review.md).

    @router.get("/reviews", tags=["reviews"], responses=FORBIDDEN)
    async def review_queue(
        caller: CallerDep,
        status: Annotated[
            ReviewStatus, Query(description="`submitted`: the revisions awaiting a decision.")
        ] = ReviewStatus.SUBMITTED,
        sheet: Annotated[SheetId | None, Query(description="Only this sheet's projects.")] = None,
        project: Annotated[UUID | None, Query(description="Only this project.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> ReviewQueue:
        """Each period's latest revision in `status`, oldest submission first, with its totals
        by kind, the difference from the revision it supersedes and its warnings (staff)."""
        caller.require_staff()
        found = await review_queries.queue(status, sheet=sheet, project_id=project, limit=limit)
        return ReviewQueue.of(status, found)

    @router.post(
        "/projects/{project_id}/reports/{period}/revisions/{revision}/review",
        tags=["reviews"],
        responses=FORBIDDEN | NOT_FOUND | CONFLICT,
    )
    async def review_report(
        project_id: UUID,
        period: Annotated[str, Path(pattern=PERIOD_PATTERN)],
        revision: Annotated[int, Path(ge=1, le=1_000_000)],
        body: ReviewIn,
        caller: CallerDep,
    ) -> ReviewOut:
        """Approve or return a period's latest revision (staff). A revision superseded by a
        newer one is refused (409), as is changing a decision taken; repeating it changes
        nothing. Returning needs a `comment` and alerts the project (`report_returned`)."""
        caller.require_staff()
        return await reviews.review(project_id, period, revision, body, caller)

    @router.get(
        "/projects/{project_id}/silenced-checks",
        tags=["reports"],
        responses=FORBIDDEN | NOT_FOUND,
    )
    async def silenced_checks(project_id: UUID, caller: CallerDep) -> SilencedChecks:
        """The checks on arrival this project's reports are not run against, and why."""
        caller.require_project(project_id)
        return await report_queries.silenced_checks(project_id)

    @router.put(
        "/projects/{project_id}/silenced-checks/{rule}",
        tags=["reports"],
        responses=FORBIDDEN | NOT_FOUND,
    )
    async def silence_check(
        project_id: UUID, rule: ArrivalRule, body: SilenceIn, caller: CallerDep
    ) -> SilencedCheck:
        """Silence a check on arrival for this project (programme staff), a false positive:
        its next reports are not checked against it, and the `report_anomaly` alerts it
        raised are resolved now. Again: only the reason changes."""
        caller.require_staff()
        return await checks.silence(project_id, rule, body, caller)

    @router.delete(
        "/projects/{project_id}/silenced-checks/{rule}",
        tags=["reports"],
        responses=FORBIDDEN | NOT_FOUND,
    )
    async def unsilence_check(
        project_id: UUID, rule: ArrivalRule, caller: CallerDep
    ) -> SilencedChecks:
        """Check this project's next reports against the rule again (programme staff);
        answers the checks still silenced."""
        caller.require_staff()
        await checks.unsilence(project_id, rule)
        return await report_queries.silenced_checks(project_id)

    return router


CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _download(content: bytes, media_type: str, filename: str) -> Response:
    disposition = f'attachment; filename="{filename}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


def _json_report(body: bytes) -> ReportIn:
    try:
        return ReportIn.model_validate_json(body)
    except ValidationError as exc:
        raise Unprocessable(pydantic_errors(exc.errors(), prefix=["body"])) from None


def project_router(
    amendments: AmendmentUseCases,
    queries: ProjectQueries,
    catalog: Catalog,
    clock: Clock,
    authenticate: Callable[[Request], Awaitable[Caller]],
) -> APIRouter:
    """Projects listed, read, amended and closed; a report's cells; the reference catalog."""
    router = APIRouter(prefix="/v1", responses=PROBLEMS)
    CallerDep = Annotated[Caller, Depends(authenticate)]

    @router.get("/projects", tags=["projects"], responses=FORBIDDEN)
    async def list_projects(
        caller: CallerDep,
        sheet: Annotated[SheetId | None, Query()] = None,
        wave: Annotated[Text | None, Query(max_length=40)] = None,
        region: Annotated[RegionCode | None, Query()] = None,
        status: Annotated[ProjectStatus | None, Query()] = None,
        q: Annotated[
            Text | None, Query(max_length=200, description="Text in the name or the lead.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> ProjectPage:
        """Projects in registration order (programme staff), a page at a time."""
        caller.require_staff()
        where = ProjectFilter(sheet=sheet, wave=wave, region=region, status=status, text=q)
        return await queries.page(where, limit, cursor)

    @router.get("/projects/{project_id}", tags=["projects"], responses=FORBIDDEN | NOT_FOUND)
    async def read_project(project_id: UUID, caller: CallerDep) -> ProjectOut:
        """Everything registered as it now stands, its milestones, status, closure and the
        history of its amendments (staff, or the project itself)."""
        caller.require_project(project_id)
        return await queries.project(project_id)

    @router.patch(
        "/projects/{project_id}", tags=["projects"], responses=FORBIDDEN | NOT_FOUND | CONFLICT
    )
    async def amend_project(
        project_id: UUID, body: ProjectAmendmentIn, caller: CallerDep
    ) -> AmendmentOut:
        """Amend a project (programme staff): the fields that change, each given whole, and
        why. Reports are checked against the amended regions and run from then on; a region
        removed stops counting as funded, the reports already counted there stay."""
        caller.require_staff()
        return await amendments.amend(project_id, body, caller)

    @router.post(
        "/projects/{project_id}/close",
        tags=["projects"],
        status_code=status.HTTP_200_OK,
        responses=FORBIDDEN | NOT_FOUND | CONFLICT,
    )
    async def close_project(
        project_id: UUID, body: ProjectClosureIn, caller: CallerDep
    ) -> ClosureOut:
        """Close a project (programme staff) as `completed` or `abandoned` from `on`: it stops
        counting as funded, its open milestones are cancelled, no report is due for a period
        after `on`; its figures stay in the totals."""
        caller.require_staff()
        return await amendments.close(project_id, body, caller)

    @router.get(
        "/projects/{project_id}/reports/{period}",
        tags=["reports"],
        responses=FORBIDDEN | NOT_FOUND,
    )
    async def current_report(
        project_id: UUID,
        period: Annotated[str, Path(pattern=PERIOD_PATTERN)],
        caller: CallerDep,
    ) -> ReportContent:
        """The period's current revision, with its cells."""
        caller.require_project(project_id)
        return await queries.report(project_id, period, None)

    @router.get(
        "/projects/{project_id}/reports/{period}/revisions/{revision}",
        tags=["reports"],
        responses=FORBIDDEN | NOT_FOUND,
    )
    async def report_revision(
        project_id: UUID,
        period: Annotated[str, Path(pattern=PERIOD_PATTERN)],
        revision: Annotated[int, Path(ge=1, le=1_000_000)],
        caller: CallerDep,
    ) -> ReportContent:
        """Any revision of the period's report, with its cells: what was sent before."""
        caller.require_project(project_id)
        return await queries.report(project_id, period, revision)

    @router.get("/catalog", tags=["reference"])
    async def read_catalog(caller: CallerDep) -> CatalogOut:
        """Sheets with their targets, levels, regions with their population, audiences, kinds
        and the periods that can be reported (any token)."""
        return CatalogOut.of(catalog, reportable_periods(clock().date()))

    return router


def tokens_router(
    tokens: TokenUseCases,
    staff_tokens: StaffTokenQueries,
    authenticate: Callable[[Request], Awaitable[Caller]],
) -> APIRouter:
    """A project's token replaced; named staff tokens issued, listed, revoked (staff admins)."""
    router = APIRouter(prefix="/v1", responses=PROBLEMS)
    CallerDep = Annotated[Caller, Depends(authenticate)]

    @router.post("/projects/{project_id}/token", tags=["tokens"], responses=FORBIDDEN | NOT_FOUND)
    async def rotate_project_token(project_id: UUID, caller: CallerDep) -> ProjectTokenOut:
        """Replace the project's API token (staff, or the project itself). The new token is
        shown only here; every service refuses the old one within 5 seconds."""
        caller.require_project(project_id)
        return await tokens.rotate_project_token(project_id, caller)

    @router.post("/staff-tokens", status_code=201, tags=["tokens"], responses=FORBIDDEN)
    async def issue_staff_token(body: StaffTokenIn, caller: CallerDep) -> StaffTokenCreated:
        """Issue a named staff token for a person (staff admins). Shown only here; records
        of what it does name the person."""
        caller.require_staff_admin()
        return await tokens.issue_staff_token(body, caller)

    @router.get("/staff-tokens", tags=["tokens"], responses=FORBIDDEN)
    async def list_staff_tokens(caller: CallerDep) -> StaffTokenList:
        """Every named staff token, revoked ones included (staff admins); never the secret."""
        caller.require_staff_admin()
        return StaffTokenList(items=[StaffTokenOut.of(t) for t in await staff_tokens.all()])

    @router.delete("/staff-tokens/{token_id}", tags=["tokens"], responses=FORBIDDEN | NOT_FOUND)
    async def revoke_staff_token(token_id: UUID, caller: CallerDep) -> StaffTokenOut:
        """Revoke a named staff token (staff admins): every service refuses it within
        5 seconds. Revoking it again changes nothing."""
        caller.require_staff_admin()
        return await tokens.revoke_staff_token(token_id, caller)

    return router
