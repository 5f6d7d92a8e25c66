"""Milestone's read API (JSON)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.milestone.queries import MilestoneQueries
from services.runtime.auth import Caller
from services.runtime.http import FORBIDDEN, PROBLEMS

Status = Literal["pending", "at_risk", "overdue", "met", "met_late"]


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
        status: Status | None = None,
        sheet: Annotated[str | None, Query(max_length=40)] = None,
        project_id: UUID | None = None,
        region: Annotated[str | None, Query(pattern=r"^\d[\dAB]$")] = None,
    ) -> dict[str, Any]:
        """Milestone states (`pending`, `at_risk`, `overdue`, `met`, `met_late`), due first."""
        found = await queries.milestones(
            status=status, sheet=sheet, project_id=scope(caller, project_id), region=region
        )
        return {"milestones": found}

    @router.get("/projects/{project_id}/milestones")
    async def timeline(project_id: UUID, caller: CallerDep) -> dict[str, Any]:
        """A project's milestones and every status change they went through, in order."""
        caller.require_project(project_id)
        return {
            "project_id": str(project_id),
            "milestones": await queries.milestones(project_id=project_id),
            "transitions": await queries.timeline(project_id),
        }

    @router.get("/overdue-reports")
    async def overdue_reports(
        caller: CallerDep,
        sheet: Annotated[str | None, Query(max_length=40)] = None,
        project_id: UUID | None = None,
    ) -> dict[str, Any]:
        """Closed semesters a project has not reported yet (past the grace period)."""
        found = await queries.overdue_reports(sheet=sheet, project_id=scope(caller, project_id))
        return {"overdue_reports": found}

    return router
