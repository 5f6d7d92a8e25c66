"""What each page shows, composed from the services' answers (calls made concurrently)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from uuid import UUID

from contracts.catalog import Catalog
from services.apiclient import answers as a
from services.portal import domain
from services.portal import schemas as s
from services.portal.client import Api

LAGGING = ("at_risk", "overdue")


@dataclass(frozen=True)
class Overview:
    progress: s.AllSheetsProgress
    sheets: list[a.SheetProgress]
    """Sheets with projects first, then the catalog's order."""
    projects_by_sheet: dict[str, int]
    lagging: int
    overdue_reports: int
    firing: int
    more_firing: bool


@dataclass(frozen=True)
class RegionCell:
    code: str
    name: str
    coverage: domain.Coverage
    path: str
    view_box: str
    population: int


@dataclass(frozen=True)
class CoverageView:
    coverage: a.Coverage
    regions: list[RegionCell]
    counts: dict[domain.Coverage, int]


@dataclass(frozen=True)
class SheetView:
    progress: a.SheetProgress
    projects: list[a.ProjectProgress]
    chart: domain.Trajectory | None
    chart_target: a.TargetProgress | None
    running: list[tuple[str, int]]
    by_level: dict[str, dict[str, int]]
    by_region: dict[str, dict[str, int]]


@dataclass(frozen=True)
class ProjectView:
    project: s.Project
    progress: a.ProjectProgress
    timeline: s.ProjectTimeline
    reports: s.ReportHistory


@dataclass(frozen=True)
class RevisionView:
    project_id: UUID
    content: s.ReportContent
    changes: list[domain.CellChange] | None
    """None for a period's first revision."""


def _cells(content: s.ReportContent) -> dict[domain.Coordinates, int]:
    return {(c.kind, c.level, c.region, c.sex, c.audience): c.count for c in content.cells}


@dataclass(frozen=True)
class MilestonesView:
    lagging: list[a.Milestone]
    overdue_reports: list[a.OverdueReport]


def _add(into: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    for key, by_kind in more.items():
        slot = into.setdefault(key, {})
        for kind, count in by_kind.items():
            slot[kind] = slot.get(kind, 0) + count


class PortalQueries:
    def __init__(self, api: Api, catalog: Catalog, shapes: dict[str, dict[str, str]]) -> None:
        self.api = api
        self.catalog = catalog
        self.shapes = shapes

    async def directory(self, token: str, **filters: str | None) -> list[a.ProjectSummary]:
        """Every project matching `filters`, page after page."""
        projects, cursor = [], None
        while True:
            page = await self.api.projects(token, filters, cursor)
            projects += page.items
            if (cursor := page.next_cursor) is None:
                return projects

    async def overview(self, token: str) -> Overview:
        """Small answers whatever the number of projects (B9: 1,000 projects)."""
        progress, summary, firing = await asyncio.gather(
            self.api.progress(token), self.api.summary(token), self.api.alerts(token, "firing")
        )
        projects = {s.sheet: s.projects for s in summary.sheets}
        return Overview(
            progress=progress,
            sheets=sorted(progress.sheets, key=lambda sheet: not projects.get(sheet.sheet)),
            projects_by_sheet=projects,
            lagging=sum(s.milestones.get(status, 0) for s in summary.sheets for status in LAGGING),
            overdue_reports=sum(s.overdue_reports for s in summary.sheets),
            firing=len(firing.alerts),
            more_firing=firing.next_cursor is not None,
        )

    async def sheet(self, token: str, sheet: str) -> SheetView:
        everything, projects = await asyncio.gather(
            self.api.progress(token), self.directory(token, sheet=sheet)
        )
        (progress,) = [p for p in everything.sheets if p.sheet == sheet]
        figures = await asyncio.gather(
            *(self.api.project_progress(token, p.project_id) for p in projects)
        )
        by_period: dict[str, dict[str, int]] = {}
        by_level: dict[str, dict[str, int]] = {}
        by_region: dict[str, dict[str, int]] = {}
        for f in figures:
            _add(by_period, f.by_period)
            _add(by_level, f.by_level)
            _add(by_region, f.by_region)
        target = progress.targets[0] if progress.targets else None
        chart, running = None, []
        if target is not None:
            kind = target.selector.kind
            running = domain.cumulative({p: k.get(kind, 0) for p, k in by_period.items()})
            chart = domain.trajectory(
                start=self.catalog.sheets[sheet].start,
                horizon=target.horizon,
                target=target.target,
                running=running,
            )
        return SheetView(
            progress=progress,
            projects=sorted(figures, key=lambda f: f.name.casefold()),
            chart=chart,
            chart_target=target,
            running=running,
            by_level=by_level,
            by_region=by_region,
        )

    async def coverage(self, token: str, sheet: str | None) -> CoverageView:
        coverage = await self.api.coverage(token, sheet)
        funded, delivered = set(coverage.funded.covered), set(coverage.delivered.covered)
        cells = [
            RegionCell(
                code=code,
                name=region.name,
                coverage=domain.region_coverage(funded=code in funded, delivered=code in delivered),
                path=self.shapes[code]["path"],
                view_box=self.shapes[code]["view_box"],
                population=region.population,
            )
            for code, region in sorted(self.catalog.regions.items())
        ]
        return CoverageView(coverage, cells, dict(Counter(c.coverage for c in cells)))

    async def project(self, token: str, project_id: UUID) -> ProjectView:
        project, progress, timeline, reports = await asyncio.gather(
            self.api.project(token, project_id),
            self.api.project_progress(token, project_id),
            self.api.project_milestones(token, project_id),
            self.api.reports(token, project_id),
        )
        return ProjectView(project, progress, timeline, reports)

    async def revision(
        self, token: str, project_id: UUID, period: str, revision: int
    ) -> RevisionView:
        """A revision's cells and what changed from the one before."""
        content = await self.api.revision(token, project_id, period, revision)
        if revision == 1:
            return RevisionView(project_id, content, None)
        before = await self.api.revision(token, project_id, period, revision - 1)
        return RevisionView(
            project_id, content, domain.cell_changes(_cells(before), _cells(content))
        )

    async def milestones(self, token: str) -> MilestonesView:
        milestones, overdue = await asyncio.gather(
            self.api.milestones(token), self.api.overdue_reports(token)
        )
        lagging = [m for m in milestones.milestones if m.status in LAGGING]
        return MilestonesView(
            lagging=sorted(lagging, key=lambda m: (m.due_date, m.project_name)),
            overdue_reports=sorted(overdue.overdue_reports, key=lambda r: r.deadline),
        )
