"""Milestone's reads: filtered milestone states, a project's timeline, overdue reports."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import any_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.milestone import models as m


class MilestoneQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def milestones(
        self,
        *,
        status: str | None = None,
        sheet: str | None = None,
        project_id: UUID | None = None,
        region: str | None = None,
    ) -> list[dict[str, Any]]:
        ms, p = m.milestones.c, m.projects.c
        query = (
            select(
                ms.project_id,
                p.name.label("project_name"),
                p.sheet,
                p.regions,
                ms.milestone_id,
                ms.title,
                ms.due_date,
                ms.status,
                ms.completed_on,
                (ms.criterion.is_not(None)).label("quantitative"),
            )
            .join(m.projects, p.project_id == ms.project_id)
            .order_by(ms.due_date, ms.project_id, ms.milestone_id)
        )
        for column, value in ((ms.status, status), (p.sheet, sheet), (ms.project_id, project_id)):
            if value is not None:
                query = query.where(column == value)
        if region is not None:
            query = query.where(region == any_(p.regions))
        async with self.engine.connect() as conn:
            return [row._asdict() for row in await conn.execute(query)]

    async def timeline(self, project_id: UUID) -> list[dict[str, Any]]:
        t = m.transitions.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(m.transitions)
                .where(t.project_id == project_id)
                .order_by(t.changed_at, t.milestone_id, t.seq)
            )
            return [row._asdict() for row in rows]

    async def overdue_reports(
        self, *, sheet: str | None = None, project_id: UUID | None = None
    ) -> list[dict[str, Any]]:
        o, p = m.overdue_reports.c, m.projects.c
        query = (
            select(
                o.project_id,
                p.name.label("project_name"),
                p.sheet,
                o.period,
                o.deadline,
                o.detected_at,
            )
            .join(m.projects, p.project_id == o.project_id)
            .where(o.cleared_at.is_(None))
            .order_by(o.deadline, o.project_id)
        )
        if sheet is not None:
            query = query.where(p.sheet == sheet)
        if project_id is not None:
            query = query.where(o.project_id == project_id)
        async with self.engine.connect() as conn:
            return [row._asdict() for row in await conn.execute(query)]

    async def counts(self) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
        """(milestones by (sheet, status), open overdue reports by sheet), for /metrics."""
        ms, p, o = m.milestones.c, m.projects.c, m.overdue_reports.c
        async with self.engine.connect() as conn:
            by_status = await conn.execute(
                select(p.sheet, ms.status, func.count())
                .join(m.projects, p.project_id == ms.project_id)
                .group_by(p.sheet, ms.status)
            )
            overdue = await conn.execute(
                select(p.sheet, func.count())
                .join(m.projects, p.project_id == o.project_id)
                .where(o.cleared_at.is_(None))
                .group_by(p.sheet)
            )
            return ({(s, st): n for s, st, n in by_status}, {s: n for s, n in overdue})
