"""Indicator's reads: sums over the latest revisions' cells, funded regions, projects."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.indicators import Target
from services.indicator import models as m
from services.indicator.domain import Tally


class IndicatorQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def tallies(
        self, *, sheet: str | None = None, project_id: UUID | None = None
    ) -> list[Tally]:
        c, p = m.cells.c, m.projects.c
        dims = (p.sheet, c.kind, c.level, c.region, c.sex, c.audience, c.period)
        query = (
            select(*dims, func.sum(c.count))
            .select_from(m.cells.join(m.projects, c.project_id == p.project_id))
            .where(p.active)
            .group_by(*dims)
        )
        if sheet is not None:
            query = query.where(p.sheet == sheet)
        if project_id is not None:
            query = query.where(p.project_id == project_id)
        async with self.engine.connect() as conn:
            return [Tally(*row[:7], count=int(row[7])) for row in await conn.execute(query)]

    async def funded_regions(self) -> dict[str, set[str]]:
        p = m.projects.c
        region = func.unnest(p.regions)
        query = select(p.sheet, region).where(p.active).distinct()
        regions: dict[str, set[str]] = defaultdict(set)
        async with self.engine.connect() as conn:
            for sheet, code in await conn.execute(query):
                regions[sheet].add(code)
        return regions

    async def sheet_projects(self) -> dict[str, tuple[int, int]]:
        """Per sheet: active projects and their total funding in euros."""
        p = m.projects.c
        query = (
            select(p.sheet, func.count(), func.coalesce(func.sum(p.funding_eur), 0))
            .where(p.active)
            .group_by(p.sheet)
        )
        async with self.engine.connect() as conn:
            return {s: (int(n), int(f)) for s, n, f in await conn.execute(query)}

    async def active_projects(self) -> list[dict[str, Any]]:
        """Active projects with their commitments and reported people by kind, level and
        audience (what commitments select on), for the per-project gauges."""
        c, p = m.cells.c, m.projects.c
        dims = (c.kind, c.level, c.audience)
        sums = (
            select(c.project_id, *dims, func.sum(c.count))
            .join(m.projects, c.project_id == p.project_id)
            .where(p.active)
            .group_by(c.project_id, *dims)
        )
        projects = select(p.project_id, p.name, p.sheet, p.commitments).where(p.active)
        async with self.engine.connect() as conn:
            rows = {
                r.project_id: r._asdict() | {"tallies": []} for r in await conn.execute(projects)
            }
            for project_id, kind, level, audience, count in await conn.execute(sums):
                tally = Tally(
                    rows[project_id]["sheet"], kind, level, "", "", audience, "", int(count)
                )
                rows[project_id]["tallies"].append(tally)
        return sorted(rows.values(), key=lambda r: (r["sheet"], r["name"], str(r["project_id"])))

    async def project(self, project_id: UUID) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(m.projects).where(m.projects.c.project_id == project_id))
            ).one_or_none()
        return None if row is None else row._asdict()


def commitments_of(project: dict[str, Any]) -> list[Target]:
    return [Target.model_validate(c) for c in project["commitments"]]
