"""Indicator's use cases: apply events (inside the consumer's transaction) and read figures."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import Event, IndicatorReportSubmitted, ProjectRegistered
from contracts.indicators import Target
from services.indicator import models as m
from services.indicator.domain import Tally


async def apply_events(conn: AsyncConnection, events: list[Event]) -> None:
    for event in events:
        if isinstance(event, ProjectRegistered):
            await _register(conn, event)
        elif isinstance(event, IndicatorReportSubmitted):
            await _replace_period(conn, event)


async def _register(conn: AsyncConnection, event: ProjectRegistered) -> None:
    p = event.payload
    await conn.execute(
        insert(m.projects)
        .values(
            project_id=event.project_id,
            sheet=p.sheet,
            wave=p.wave,
            name=p.name,
            lead=p.lead,
            regions=list(p.regions),
            start_date=p.start_date,
            end_date=p.end_date,
            funding_eur=p.funding_eur,
            token_sha256=p.api_token_sha256,
            commitments=[c.model_dump(mode="json") for c in p.commitments],
        )
        .on_conflict_do_nothing()
    )


async def _replace_period(conn: AsyncConnection, event: IndicatorReportSubmitted) -> None:
    """The newer revision of a period replaces its cells as a whole; an older one arriving
    late changes nothing. Works whether or not the project's registration arrived first."""
    p, project_id = event.payload, event.project_id
    stmt = insert(m.periods).values(
        project_id=project_id,
        period=p.period,
        revision=p.revision,
        report_id=p.report_id,
        submitted_at=p.submitted_at,
    )
    newer = await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["project_id", "period"],
            set_={
                "revision": stmt.excluded.revision,
                "report_id": stmt.excluded.report_id,
                "submitted_at": stmt.excluded.submitted_at,
            },
            where=m.periods.c.revision < stmt.excluded.revision,
        ).returning(m.periods.c.revision)
    )
    if newer.one_or_none() is None:
        return
    await conn.execute(
        delete(m.cells).where(m.cells.c.project_id == project_id, m.cells.c.period == p.period)
    )
    await conn.execute(
        insert(m.cells),
        [
            {
                "project_id": project_id,
                "period": p.period,
                "kind": c.kind.value,
                "level": c.level,
                "region": c.region,
                "sex": c.sex.value if c.sex else "",
                "audience": c.audience or "",
                "count": c.count,
            }
            for c in p.cells
        ],
    )


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

    async def project(self, project_id: UUID) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(m.projects).where(m.projects.c.project_id == project_id))
            ).one_or_none()
        return None if row is None else row._asdict()

    async def find_project_by_token(self, digest: str) -> UUID | None:
        query = select(m.projects.c.project_id).where(m.projects.c.token_sha256 == digest)
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()


def commitments_of(project: dict[str, Any]) -> list[Target]:
    return [Target.model_validate(c) for c in project["commitments"]]
