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

from services.intake import models as m
from services.intake.anomalies import ArrivalWarning, Rule
from services.intake.domain import ProjectRun, ReportRevision
from services.intake.schemas import ReportHistory, SilencedCheck, SilencedChecks
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
_BY_KEY = select(_r.request_sha256, _r.warnings, *_REVISION).where(
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
    warnings: tuple[ArrivalWarning, ...]


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
    if row is None:
        return None
    found = tuple(ArrivalWarning(Rule(w["rule"]), w["message"]) for w in row.warnings)
    return EarlierReport(row.request_sha256, _revision(row), found)


async def declared_milestones(conn: AsyncConnection, project_id: UUID) -> dict[str, date | None]:
    """A project's milestones, each with the day it was completed (None: not yet)."""
    rows = await conn.execute(_MILESTONES, {"project_id": project_id})
    return {row.milestone_id: row.completed_on for row in rows}


class ReportQueries:
    def __init__(self, engine: AsyncEngine, projects: ProjectRuns) -> None:
        self.engine, self.projects = engine, projects

    async def history(self, project_id: UUID) -> ReportHistory:
        """Each period with its revisions, oldest first."""
        async with self.engine.connect() as conn:
            await self.projects.get(conn, project_id)
            rows = (await conn.execute(_HISTORY, {"project_id": project_id})).all()
        return ReportHistory.of(project_id, [_revision(row) for row in rows])

    async def silenced_checks(self, project_id: UUID) -> SilencedChecks:
        s = m.silenced_checks.c
        query = (
            select(s.rule, s.reason, s.silenced_by, s.silenced_at)
            .where(s.project_id == project_id)
            .order_by(s.rule)
        )
        async with self.engine.connect() as conn:
            await self.projects.get(conn, project_id)
            rows = (await conn.execute(query)).all()
        checks = [SilencedCheck.model_validate(row, from_attributes=True) for row in rows]
        return SilencedChecks(project_id=project_id, checks=checks)
