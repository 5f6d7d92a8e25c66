"""Milestone's read API (JSON)."""

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from contracts.events import MilestoneStatus
from contracts.projects import SheetId
from services.milestone.queries import MilestoneQueries
from services.milestone.schemas import MilestoneList, OverdueReports, ProjectTimeline, Summary
from services.runtime.auth import Caller
from services.runtime.http import FORBIDDEN, PROBLEMS


def milestone_router(
    queries: MilestoneQueries, authenticate: Callable[[Request], Awaitable[Caller]]
) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["milestones"], responses=PROBLEMS | FORBIDDEN)
    CallerDep = Annotated[Caller, Depends(authenticate)]

    def scope(caller: Caller, project_id: UUID | None) -> UUID | None:
        """Staff see every project; a project sees only itself."""
        if caller.staff:
            return project_id
        assert caller.project_id is not None
        caller.require_project(project_id or caller.project_id)
        return caller.project_id

    @router.get("/milestones")
    async def milestones(
        caller: CallerDep,
        status: MilestoneStatus | None = None,
        sheet: SheetId | None = None,
        project_id: UUID | None = None,
        region: Annotated[str | None, Query(pattern=r"^\d[\dAB]$")] = None,
    ) -> MilestoneList:
        """Milestone states (`pending`, `at_risk`, `overdue`, `met`, `met_late`), due first."""
        found = await queries.milestones(
            status=status, sheet=sheet, project_id=scope(caller, project_id), region=region
        )
        return MilestoneList.of(found)

    @router.get("/projects/{project_id}/milestones")
    async def timeline(project_id: UUID, caller: CallerDep) -> ProjectTimeline:
        """A project's milestones and every status change they went through, in order."""
        caller.require_project(project_id)
        return ProjectTimeline.of(
            project_id,
            await queries.milestones(project_id=project_id),
            await queries.timeline(project_id),
        )

    @router.get("/summary")
    async def summary(caller: CallerDep) -> Summary:
        """Per sheet: projects, milestones by status, overdue reports (programme staff)."""
        caller.require_staff()
        return Summary.of(await queries.counts())

    @router.get("/overdue-reports")
    async def overdue_reports(
        caller: CallerDep,
        sheet: SheetId | None = None,
        project_id: UUID | None = None,
    ) -> OverdueReports:
        """Closed semesters a project has not reported yet (past the grace period)."""
        found = await queries.overdue_reports(sheet=sheet, project_id=scope(caller, project_id))
        return OverdueReports.of(found)

    return router
