"""Indicator's reads: sums over the latest revisions' cells, funded regions, projects; each
returns typed values (the domain's `Tally`, the records below), never rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.indicators import Target
from services.indicator import models as m
from services.indicator.domain import DIMENSIONS, Approval, Dimension, Reading, Tally
from services.indicator.kept_approvals import of_projects

_CELLS: dict[Reading, Table] = {Reading.AS_REPORTED: m.cells, Reading.APPROVED: m.approved_cells}
# Per reading, the kept sums a national read may take its tallies from, fewest rows first:
# each by sheet and the dimensions of its key (models.py).
_KEPT: dict[Reading, tuple[Table, ...]] = {
    Reading.AS_REPORTED: (m.region_totals, m.sheet_totals, m.totals),
    Reading.APPROVED: (m.approved_region_totals, m.approved_sheet_totals, m.approved_totals),
}


def kept_sums(reading: Reading, dimensions: Collection[str]) -> tuple[Table, bool]:
    """The kept sums with the fewest rows that still have `dimensions` (every table has the
    sheet), and whether they have exactly those (their rows are then the tallies, as kept)."""
    for table in _KEPT[reading]:
        keys = {c.name for c in table.primary_key.columns} - {"sheet"}
        if keys >= set(dimensions):
            return table, keys == set(dimensions)
    raise ValueError(f"no kept sums by {sorted(dimensions)}")  # totals have every dimension


@dataclass(frozen=True)
class Project:
    """A registered project, as far as the indicator's figures need it."""

    project_id: UUID
    sheet: str
    name: str
    commitments: tuple[Target, ...]
    regions: tuple[str, ...]
    start_date: date
    end_date: date
    closed_on: date | None = None

    def closed_by(self, day: date) -> bool:
        """Closed on or before `day`: no longer watched (its figures still count)."""
        return self.closed_on is not None and self.closed_on <= day


@dataclass(frozen=True)
class ProjectTallies:
    """An active project and its people by kind, level and audience (what commitments select
    on); the other dimensions of its tallies are blank."""

    project: Project
    tallies: tuple[Tally, ...]


@dataclass(frozen=True)
class SheetFunding:
    """A sheet's active projects and their total funding in euros."""

    projects: int
    funding_eur: int


class IndicatorQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def tallies(
        self,
        *,
        sheet: str | None = None,
        project_id: UUID | None = None,
        reading: Reading = Reading.AS_REPORTED,
        by: Collection[Dimension] = DIMENSIONS,
    ) -> list[Tally]:
        """Active projects' people by sheet and the dimensions `by` (every one unless told);
        the others are summed away and left blank (""), so a read that needs only a few
        dimensions gets a few rows (the figures', docs/performance.md, B8). National (no
        `project_id`): the totals the handlers keep, not a GROUP BY over every cell at each
        request, and from the coarsest of them that has the dimensions `by` (read as kept when
        it has exactly those: `figures.SHEET_BY`, `COVERAGE_BY`); a project's: its own cells
        (the primary key's prefix)."""
        kept = [d for d in DIMENSIONS if d in by and d != "sheet"]
        if project_id is None:
            table, exact = kept_sums(reading, kept)
            t = table.c
            dims = [t.sheet, *(t[d] for d in kept)]
            if exact:
                query = select(*_as_tally(dims, t.count))
            else:
                total = cast(func.sum(t.count), BigInteger)
                query = select(*_as_tally(dims, total)).group_by(*dims)
            if sheet is not None:
                query = query.where(t.sheet == sheet)
        else:
            cells = _CELLS[reading]
            c, p = cells.c, m.projects.c
            dims = [p.sheet, *(c[d] for d in kept)]
            query = (
                select(*_as_tally(dims, cast(func.sum(c.count), BigInteger)))
                .select_from(cells.join(m.projects, c.project_id == p.project_id))
                .where(p.active, p.project_id == project_id)
                .group_by(*dims)
            )
            if sheet is not None:
                query = query.where(p.sheet == sheet)
        async with self.engine.connect() as conn:
            return [Tally(*row) for row in await conn.execute(query)]

    async def funded_regions(self, today: date) -> dict[str, set[str]]:
        """The regions active projects declare now, by sheet; a closed project's count until
        the day it closed."""
        p = m.projects.c
        region = func.unnest(p.regions)
        open_on = or_(p.closed_on.is_(None), p.closed_on > today)
        query = select(p.sheet, region).where(p.active, open_on).distinct()
        regions: dict[str, set[str]] = defaultdict(set)
        async with self.engine.connect() as conn:
            for sheet, code in await conn.execute(query):
                regions[sheet].add(code)
        return regions

    async def sheet_funding(self) -> dict[str, SheetFunding]:
        p = m.projects.c
        query = (
            select(p.sheet, func.count(), func.coalesce(func.sum(p.funding_eur), 0))
            .where(p.active)
            .group_by(p.sheet)
        )
        async with self.engine.connect() as conn:
            return {s: SheetFunding(int(n), int(f)) for s, n, f in await conn.execute(query)}

    async def active_projects(
        self, reading: Reading = Reading.AS_REPORTED, project_ids: Collection[UUID] | None = None
    ) -> list[ProjectTallies]:
        """Active projects (of `project_ids`, if given), by sheet then name, with their
        tallies by kind, level and audience, for the per-project gauges."""
        c, p = _CELLS[reading].c, m.projects.c
        dims = (c.kind, c.level, c.audience)
        which = p.active if project_ids is None else and_(p.active, p.project_id.in_(project_ids))
        sums = (
            select(c.project_id, *dims, func.sum(c.count))
            .join(m.projects, c.project_id == p.project_id)
            .where(which)
            .group_by(c.project_id, *dims)
        )
        query = select(*_PROJECT).where(which)
        async with self.engine.connect() as conn:
            projects = {r.project_id: _project(*r) for r in await conn.execute(query)}
            tallies: dict[UUID, list[Tally]] = {project_id: [] for project_id in projects}
            for project_id, kind, level, audience, count in await conn.execute(sums):
                sheet = projects[project_id].sheet
                tallies[project_id].append(
                    Tally(sheet, kind, level, "", "", audience, "", int(count))
                )
        return sorted(
            (ProjectTallies(one, tuple(tallies[one.project_id])) for one in projects.values()),
            key=lambda t: (t.project.sheet, t.project.name, str(t.project.project_id)),
        )

    async def reported(
        self,
        *,
        sheet: str | None = None,
        project_id: UUID | None = None,
        project_ids: Collection[UUID] | None = None,
    ) -> dict[UUID, dict[str, datetime]]:
        """Each active project's reported periods with their latest submission time (every
        active project named, those that reported nothing with no period)."""
        p, r = m.projects.c, m.periods.c
        query = select(p.project_id, r.period, r.submitted_at).outerjoin(
            m.periods, r.project_id == p.project_id
        )
        query = query.where(p.active)
        if sheet is not None:
            query = query.where(p.sheet == sheet)
        if project_id is not None:
            query = query.where(p.project_id == project_id)
        if project_ids is not None:
            query = query.where(p.project_id.in_(project_ids))
        reported: dict[UUID, dict[str, datetime]] = {}
        async with self.engine.connect() as conn:
            for one, period, at in await conn.execute(query):
                periods = reported.setdefault(one, {})
                if period is not None:
                    periods[period] = at
        return reported

    async def sheet_projects(
        self,
        sheet: str,
        reading: Reading = Reading.AS_REPORTED,
        *,
        after: UUID | None = None,
        limit: int | None = None,
    ) -> list[tuple[Project, list[Tally]]]:
        """The sheet's active projects with their tallies (every dimension but sex), by id;
        with `limit`, a page of the first `limit` of them after `after` (the watch reads a
        sheet a page at a time, so that what it holds does not grow with the projects)."""
        c, p = _CELLS[reading].c, m.projects.c
        which = and_(p.active, p.sheet == sheet)
        if after is not None:
            which = and_(which, p.project_id > after)
        chosen = select(*_PROJECT).where(which).order_by(p.project_id).limit(limit)
        dims = (c.project_id, c.kind, c.level, c.region, c.audience, c.period)
        async with self.engine.connect() as conn:
            projects = {r.project_id: _project(*r) for r in await conn.execute(chosen)}
            if not projects:
                return []
            # Up to the last id read: the page's projects (uuid order is the bytes' in both).
            sums = (
                select(*dims, func.sum(c.count))
                .join(m.projects, c.project_id == p.project_id)
                .where(which, p.project_id <= max(projects))
                .group_by(*dims)
            )
            tallies: dict[UUID, list[Tally]] = {one: [] for one in projects}
            for one, kind, level, region, audience, period, n in await conn.execute(sums):
                if one in tallies:  # else registered meanwhile: in the next read
                    tallies[one].append(
                        Tally(sheet, kind, level, region, "", audience, period, int(n))
                    )
        return [(projects[one], tallies[one]) for one in sorted(projects, key=str)]

    async def approvals(
        self, *, sheet: str | None = None, project_id: UUID | None = None
    ) -> dict[str, Approval]:
        """By sheet: active projects' people as reported, and those in periods whose latest
        revision is approved (the share of figures approved); a sheet only with cells.
        National or by sheet: the sums the handlers keep per sheet (kept_approvals.py); a
        project's: its periods' sums (`periods.people`, `.cells`), not its cells."""
        async with self.engine.connect() as conn:
            if project_id is not None:
                shares = await of_projects(conn, [project_id])
                return {
                    one: Approval(yes, every)
                    for one, (every, yes, cells) in shares.items()
                    if cells > 0 and sheet in (None, one)
                }
            k = m.sheet_approvals.c
            query = select(k.sheet, k.approved, k.people)
            if sheet is not None:
                query = query.where(k.sheet == sheet)
            rows = await conn.execute(query)
            return {one: Approval(int(yes), int(every)) for one, yes, every in rows}

    async def fingerprints(self, project_ids: Collection[UUID] | None = None) -> dict[UUID, str]:
        """Each active project's (of `project_ids`, if given) fingerprint: it changes whenever
        anything a per-project figure reads changes. The project's row whole, and per reading
        its periods' count and sum of revisions (a period is only ever added or replaced by a
        higher revision, and its cells only with it)."""
        query = _FINGERPRINTS
        if project_ids is not None:
            query += " and p.project_id = any(cast(:ids as uuid[]))"
        async with self.engine.connect() as conn:
            rows = await conn.execute(text(query), {"ids": list(project_ids or ())})
            return {one: f"{row}/{reported}/{approved}" for one, row, reported, approved in rows}

    async def project(self, project_id: UUID) -> Project | None:
        query = select(*_PROJECT).where(m.projects.c.project_id == project_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else _project(*row)


_FINGERPRINTS = f"""
    select p.project_id, md5(cast(p as text)),
        (select count(*) || ':' || coalesce(sum(r.revision), 0) from {m.periods.fullname} r
            where r.project_id = p.project_id),
        (select count(*) || ':' || coalesce(sum(a.revision), 0) from {m.approved_periods.fullname} a
            where a.project_id = p.project_id)
    from {m.projects.fullname} p where p.active"""

_PROJECT = (
    m.projects.c.project_id,
    m.projects.c.sheet,
    m.projects.c.name,
    m.projects.c.commitments,
    m.projects.c.regions,
    m.projects.c.start_date,
    m.projects.c.end_date,
    m.projects.c.closed_on,
)


_BLANK: ColumnElement[str] = literal_column("''")


def _as_tally(
    dims: Sequence[ColumnElement[Any]], count: ColumnElement[Any]
) -> list[ColumnElement[Any]]:
    """The columns of a `Tally` in its order: `dims` (each named as a dimension, the sheet's
    first), a blank for every other dimension, then `count`; so a row is a `Tally`'s fields,
    not a dict rebuilt per row (1,568 rows for the sheets' figures, docs/performance.md, B8)."""
    named = {d.name: d for d in dims}
    return [named.get(d, _BLANK) for d in DIMENSIONS] + [count]


def _project(
    project_id: UUID,
    sheet: str,
    name: str,
    commitments: list[object],
    regions: list[str],
    start_date: date,
    end_date: date,
    closed_on: date | None,
) -> Project:
    return Project(
        project_id,
        sheet,
        name,
        tuple(Target.model_validate(c) for c in commitments),
        tuple(regions),
        start_date,
        end_date,
        closed_on,
    )
