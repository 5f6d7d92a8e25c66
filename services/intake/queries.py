"""Intake's reads: a project's run (cached), an earlier report by its Idempotency-Key, a
project's report history and its milestones. Statements are built once: a report request
(the hot path) runs the first two."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from cachetools import LRUCache
from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.reports import Cell
from services.intake import models as m
from services.intake.domain import ProjectRun, ReportRevision, ReportTemplate
from services.intake.schemas import ReportHistory
from services.runtime.errors import NotFound

_r = m.reports.c
_REVISION = (
    _r.report_id,
    _r.period,
    _r.revision,
    _r.submitted_by,
    _r.submitted_at,
    _r.reason,
    func.jsonb_array_length(_r.cells).label("cells"),
)
_PROJECT = select(m.projects.c.regions, m.projects.c.start_date, m.projects.c.end_date).where(
    m.projects.c.project_id == bindparam("project_id")
)
_BY_KEY = select(_r.request_sha256, *_REVISION).where(
    _r.project_id == bindparam("project_id"), _r.idempotency_key == bindparam("key")
)
_MILESTONES = select(m.milestones.c.milestone_id, m.milestones.c.completed_on).where(
    m.milestones.c.project_id == bindparam("project_id")
)
_HISTORY = (
    select(*_REVISION)
    .where(_r.project_id == bindparam("project_id"))
    .order_by(_r.period, _r.revision)
)


_CURRENT = (
    select(_r.revision, _r.cells)
    .where(_r.project_id == bindparam("project_id"), _r.period == bindparam("period"))
    .order_by(_r.revision.desc())
    .limit(1)
)
_STATED = select(m.projects.c.name, m.projects.c.sheet, m.projects.c.regions).where(
    m.projects.c.project_id == bindparam("project_id")
)


def _revision(row: Row[*tuple[Any, ...]]) -> ReportRevision:
    return ReportRevision(
        row.report_id,
        row.period,
        row.revision,
        row.submitted_by,
        row.submitted_at,
        row.reason,
        row.cells,
    )


@dataclass(frozen=True, slots=True)
class EarlierReport:
    """The report first sent with an Idempotency-Key: its content's fingerprint and answer."""

    fingerprint: str
    revision: ReportRevision


class ProjectRuns:
    """A project's regions and run, or `NotFound`. A registered project's regions and run never
    change (API v1 has no update or delete), so what was found is kept: one round trip less
    per report."""

    def __init__(self, maxsize: int = 100_000) -> None:
        self._found: LRUCache[UUID, ProjectRun] = LRUCache(maxsize=maxsize)

    async def get(self, conn: AsyncConnection, project_id: UUID) -> ProjectRun:
        if (run := self._found.get(project_id)) is not None:
            return run
        row = (await conn.execute(_PROJECT, {"project_id": project_id})).one_or_none()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        run = self._found[project_id] = ProjectRun(tuple(row.regions), row.start_date, row.end_date)
        return run


async def earlier_report(conn: AsyncConnection, project_id: UUID, key: str) -> EarlierReport | None:
    row = (await conn.execute(_BY_KEY, {"project_id": project_id, "key": key})).one_or_none()
    return None if row is None else EarlierReport(row.request_sha256, _revision(row))


async def declared_milestones(conn: AsyncConnection, project_id: UUID) -> dict[str, date | None]:
    """A project's milestones, each with the day it was completed (None: not yet)."""
    rows = await conn.execute(_MILESTONES, {"project_id": project_id})
    return {row.milestone_id: row.completed_on for row in rows}


@dataclass(frozen=True, slots=True)
class CurrentReport:
    """A period's latest revision and its cells: what a dry run compares with, what a
    template is pre-filled with."""

    revision: int
    cells: tuple[Cell, ...]


async def current_report(
    conn: AsyncConnection, project_id: UUID, period: str
) -> CurrentReport | None:
    row = (await conn.execute(_CURRENT, {"project_id": project_id, "period": period})).first()
    if row is None:
        return None
    return CurrentReport(row.revision, tuple(Cell.model_validate(c) for c in row.cells))


class ReportQueries:
    def __init__(self, engine: AsyncEngine, projects: ProjectRuns) -> None:
        self.engine, self.projects = engine, projects

    async def history(self, project_id: UUID) -> ReportHistory:
        """Each period with its revisions, oldest first."""
        async with self.engine.connect() as conn:
            await self.projects.get(conn, project_id)
            rows = (await conn.execute(_HISTORY, {"project_id": project_id})).all()
        return ReportHistory.of(project_id, [_revision(row) for row in rows])

    async def template(self, project_id: UUID, period: str) -> ReportTemplate:
        """What the project's template for `period` holds, with its current revision."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(_STATED, {"project_id": project_id})).one_or_none()
            if row is None:
                raise NotFound(f"project {project_id} not found")
            current = await current_report(conn, project_id, period)
        return ReportTemplate(
            project_id,
            row.name,
            row.sheet,
            tuple(row.regions),
            period,
            current.revision if current else None,
            current.cells if current else (),
        )
