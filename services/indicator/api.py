"""Indicator's read API (JSON)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.indicator.figures import Figures
from services.runtime.auth import Caller
from services.runtime.http import FORBIDDEN, NOT_FOUND, PROBLEMS


def indicator_router(
    figures: Figures, authenticate: Callable[[Request], Awaitable[Caller]]
) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=PROBLEMS)
    CallerDep = Annotated[Caller, Depends(authenticate)]
    SheetQuery = Annotated[str | None, Query(max_length=40, description="A catalog sheet id.")]

    @router.get("/progress", tags=["progress"], responses=FORBIDDEN | NOT_FOUND)
    async def sheet_progress(caller: CallerDep, sheet: SheetQuery = None) -> dict[str, Any]:
        """Each target of the sheet (or of every sheet) with `actual`, `target`, `progress`
        (actual / target) and `expected` (the trajectory's share at today's date)."""
        caller.require_staff()
        return await figures.progress(sheet)

    @router.get(
        "/projects/{project_id}/progress", tags=["progress"], responses=FORBIDDEN | NOT_FOUND
    )
    async def project_progress(project_id: UUID, caller: CallerDep) -> dict[str, Any]:
        """A project's totals (by period, level, region) and progress on its commitments."""
        caller.require_project(project_id)
        return await figures.project_progress(project_id)

    @router.get("/coverage", tags=["coverage"], responses=FORBIDDEN | NOT_FOUND)
    async def coverage(caller: CallerDep, sheet: SheetQuery = None) -> dict[str, Any]:
        """Covered and uncovered regions (INSEE codes) and the uncovered population share,
        funded (a project declares the region) and delivered (people reported there)."""
        caller.require_staff()
        return await figures.coverage(sheet)

    return router
