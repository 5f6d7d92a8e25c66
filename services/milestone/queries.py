"""Milestone's reads: filtered milestone states, a project's timeline, overdue reports, and
the counts behind its gauges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, any_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events import MilestoneStatus
from services.milestone import models as m


@dataclass(frozen=True)
class MilestoneState:
    project_id: UUID
    project_name: str
    sheet: str
    regions: tuple[str, ...]
    milestone_id: str
    title: str
    due_date: date
    status: MilestoneStatus
    completed_on: date | None
    quantitative: bool


@dataclass(frozen=True)
class Transition:
    project_id: UUID
    milestone_id: str
    seq: int
    previous: MilestoneStatus
    status: MilestoneStatus
    changed_at: datetime


@dataclass(frozen=True)
class OverdueReport:
    project_id: UUID
    project_name: str
    sheet: str
    period: str
    deadline: date
    detected_at: datetime


@dataclass(frozen=True)
class Counts:
    milestones: dict[tuple[str, MilestoneStatus], int]  # by (sheet, status)
    overdue_reports: dict[str, int]  # open ones, by sheet
    projects: dict[str, int]  # known projects, by sheet


class MilestoneQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def milestones(
        self,
        *,
        status: MilestoneStatus | None = None,
        sheet: str | None = None,
        project_id: UUID | None = None,
        region: str | None = None,
    ) -> list[MilestoneState]:
        """Due first."""
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
                # A deliverable's criterion is stored as JSON null, not SQL NULL.
                (func.jsonb_typeof(ms.criterion) == "object").label("quantitative"),
            )
            .join(m.projects, p.project_id == ms.project_id)
            .order_by(ms.due_date, ms.project_id, ms.milestone_id)
        )
        for column, value in ((ms.status, status), (p.sheet, sheet), (ms.project_id, project_id)):
            if value is not None:
                query = query.where(column == value)
        if region is not None:
            query = query.where(any_(p.regions) == region)
        async with self.engine.connect() as conn:
            return [_milestone(row) for row in await conn.execute(query)]

    async def timeline(self, project_id: UUID) -> list[Transition]:
        """Every status change of the project's milestones, in order."""
        t = m.transitions.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(m.transitions)
                .where(t.project_id == project_id)
                .order_by(t.changed_at, t.milestone_id, t.seq)
            )
            return [
                Transition(
                    **{
                        **row._mapping,
                        "previous": MilestoneStatus(row.previous),
                        "status": MilestoneStatus(row.status),
                    }
                )
                for row in rows
            ]

    async def overdue_reports(
        self, *, sheet: str | None = None, project_id: UUID | None = None
    ) -> list[OverdueReport]:
        """Not cleared yet, earliest deadline first."""
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
            return [OverdueReport(**row._mapping) for row in await conn.execute(query)]

    async def counts(self) -> Counts:
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
            projects = await conn.execute(select(p.sheet, func.count()).group_by(p.sheet))
            return Counts(
                {(s, MilestoneStatus(st)): n for s, st, n in by_status},
                {s: n for s, n in overdue},
                {s: n for s, n in projects},
            )


def _milestone(row: Row[*tuple[Any, ...]]) -> MilestoneState:
    return MilestoneState(
        **{**row._mapping, "regions": tuple(row.regions), "status": MilestoneStatus(row.status)}
    )
