"""Indicator's read API (JSON): thin routes over the figures, answered as `schemas.py` says."""

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from contracts.projects import SheetId
from services.indicator.domain import Reading
from services.indicator.figures import Figures
from services.indicator.schemas import AllSheetsProgress, Coverage, ProjectProgress, SheetProgress
from services.runtime.auth import Caller
from services.runtime.errors import FieldError, Unprocessable
from services.runtime.http import FORBIDDEN, NOT_FOUND, PROBLEMS


def indicator_router(
    figures: Figures, authenticate: Callable[[Request], Awaitable[Caller]]
) -> APIRouter:
    router = APIRouter(prefix="/v1", responses=PROBLEMS)
    CallerDep = Annotated[Caller, Depends(authenticate)]
    SheetQuery = Annotated[
        SheetId | None, Query(description="A catalog sheet id; every sheet when absent.")
    ]
    ReadingQuery = Annotated[
        Reading,
        Query(
            description="`as_reported` (each period's latest revision) or `approved` (its "
            "latest approved revision)."
        ),
    ]

    @router.get("/progress", tags=["progress"], responses=FORBIDDEN)
    async def sheet_progress(
        caller: CallerDep,
        sheet: SheetQuery = None,
        explain: Annotated[
            str | None,
            Query(
                max_length=64,
                description="A target id of `sheet`: adds where its shortfall comes from.",
            ),
        ] = None,
        reading: ReadingQuery = Reading.AS_REPORTED,
    ) -> SheetProgress | AllSheetsProgress:
        """Each target of the sheet (or of every sheet) with `actual`, `target`, `progress`
        (actual / target), `expected` (the trajectory's share at today's date) and `forecast`;
        with `explain`, the target's gap split by region and by level."""
        caller.require_staff()
        if sheet is None:
            if explain is not None:
                raise Unprocessable([_explain_error("`explain` needs `sheet`")])
            return AllSheetsProgress.of(await figures.all_sheets(reading))
        found = await figures.sheet(sheet, reading)
        if explain is None:
            return SheetProgress.of(found)
        targets = {t.id: t for t in figures.catalog.sheets[sheet].targets}
        if explain not in targets:
            known = ", ".join(targets) or "none"
            raise Unprocessable([_explain_error(f"not a target of {sheet} (known: {known})")])
        return SheetProgress.of(found, await figures.explain(sheet, targets[explain], reading))

    @router.get(
        "/projects/{project_id}/progress", tags=["progress"], responses=FORBIDDEN | NOT_FOUND
    )
    async def project_progress(
        project_id: UUID, caller: CallerDep, reading: ReadingQuery = Reading.AS_REPORTED
    ) -> ProjectProgress:
        """A project's totals (by period, level, region) and progress on its commitments."""
        caller.require_project(project_id)
        return ProjectProgress.of(await figures.project(project_id, reading))

    @router.get("/coverage", tags=["coverage"], responses=FORBIDDEN)
    async def coverage(
        caller: CallerDep, sheet: SheetQuery = None, reading: ReadingQuery = Reading.AS_REPORTED
    ) -> Coverage:
        """Covered and uncovered regions (INSEE codes) and the uncovered population share,
        funded (a project declares the region) and delivered (people reported there)."""
        caller.require_staff()
        return Coverage.of(await figures.coverage(sheet, reading))

    return router


def _explain_error(message: str) -> FieldError:
    return FieldError(("query", "explain"), message, "value_error")
