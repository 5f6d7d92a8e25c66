"""The indicator's read side, composed: what `queries.py` reads, with the catalog and the
clock, through the rules of `domain.py`, gives the typed figures below. The HTTP API answers
them (through `schemas.py`) and `/metrics` exports them (through `metrics.py`), so the two
always agree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from contracts.catalog import Catalog
from contracts.indicators import CellKind
from services.indicator.domain import (
    Progress,
    RegionCoverage,
    Tally,
    coverage,
    kind_totals,
    matching,
    nested_totals,
    progress,
    regions_with_people,
)
from services.indicator.queries import IndicatorQueries, Project
from services.runtime.clock import Clock
from services.runtime.errors import NotFound


@dataclass(frozen=True)
class SheetFigures:
    """A sheet's people by kind, and the progress of each of its targets."""

    sheet: str
    name: str
    as_of: date
    totals: dict[CellKind, int]
    targets: tuple[Progress, ...]


@dataclass(frozen=True)
class AllSheetsFigures:
    as_of: date
    sheets: tuple[SheetFigures, ...]


@dataclass(frozen=True)
class ProjectFigures:
    """A project's people by kind (in all, and by period, level and region, then kind) and
    the progress of each of its commitments."""

    project_id: UUID
    sheet: str
    name: str
    as_of: date
    totals: dict[CellKind, int]
    by_period: dict[str, dict[str, int]]
    by_level: dict[str, dict[str, int]]
    by_region: dict[str, dict[str, int]]
    commitments: tuple[Progress, ...]


@dataclass(frozen=True)
class ProjectSummary:
    """An active project's people by kind and its commitments' progress (the gauges')."""

    project: Project
    totals: dict[CellKind, int]
    commitments: tuple[Progress, ...]


@dataclass(frozen=True)
class CoverageFigures:
    """Funded: an active project of the sheet (of any, when `sheet` is None) declares the
    region. Delivered: reports count people there."""

    sheet: str | None
    population_vintage: str
    funded: RegionCoverage
    delivered: RegionCoverage


class Figures:
    def __init__(
        self, queries: IndicatorQueries, catalog: Catalog, clock: Clock, tolerance: float
    ) -> None:
        self.queries, self.catalog, self.clock, self.tolerance = queries, catalog, clock, tolerance

    async def all_sheets(self) -> AllSheetsFigures:
        tallies = await self.queries.tallies()
        return AllSheetsFigures(self.clock().date(), self.sheets(tallies))

    async def sheet(self, sheet: str) -> SheetFigures:
        """`sheet` is a catalog sheet id (the API validates it)."""
        return self._sheet(sheet, await self.queries.tallies(sheet=sheet))

    async def project(self, project_id: UUID) -> ProjectFigures:
        project = await self.queries.project(project_id)
        if project is None:
            raise NotFound(f"project {project_id} not known to the indicator service (yet)")
        tallies, today = await self.queries.tallies(project_id=project_id), self.clock().date()
        return ProjectFigures(
            project_id=project_id,
            sheet=project.sheet,
            name=project.name,
            as_of=today,
            totals=kind_totals(tallies),
            by_period=nested_totals(tallies, "period", "kind"),
            by_level=nested_totals(tallies, "level", "kind"),
            by_region=nested_totals(tallies, "region", "kind"),
            commitments=self._progress(project, tallies, today),
        )

    async def coverage(self, sheet: str | None) -> CoverageFigures:
        funded = await self.queries.funded_regions(self.clock().date())
        return self.coverage_of(sheet, funded, await self.queries.tallies(sheet=sheet))

    async def project_summaries(self) -> list[ProjectSummary]:
        """Every active project's, by sheet then name."""
        today = self.clock().date()
        return [
            ProjectSummary(
                a.project, kind_totals(a.tallies), self._progress(a.project, a.tallies, today)
            )
            for a in await self.queries.active_projects()
        ]

    def sheets(self, tallies: Sequence[Tally]) -> tuple[SheetFigures, ...]:
        """Every catalog sheet's, from tallies of every sheet."""
        return tuple(self._sheet(sheet, tallies) for sheet in self.catalog.sheets)

    def _sheet(self, sheet: str, tallies: Iterable[Tally]) -> SheetFigures:
        spec, today = self.catalog.sheets[sheet], self.clock().date()
        mine = [t for t in tallies if t.sheet == sheet]
        targets = tuple(progress(t, matching(t, mine), today, self.tolerance) for t in spec.targets)
        return SheetFigures(sheet, spec.name, today, kind_totals(mine), targets)

    def _progress(
        self, project: Project, tallies: Sequence[Tally], today: date
    ) -> tuple[Progress, ...]:
        return tuple(
            progress(c, matching(c, tallies), today, self.tolerance) for c in project.commitments
        )

    def coverage_of(
        self, sheet: str | None, funded: Mapping[str, set[str]], tallies: Iterable[Tally]
    ) -> CoverageFigures:
        """From the funded regions of every sheet and tallies of `sheet` (or more)."""
        if sheet is None:
            regions, mine = set[str]().union(*funded.values()), list(tallies)
        else:
            regions, mine = funded.get(sheet, set()), [t for t in tallies if t.sheet == sheet]
        return CoverageFigures(
            sheet=sheet,
            population_vintage=self.catalog.population_vintage,
            funded=coverage(regions, self.catalog),
            delivered=coverage(regions_with_people(mine), self.catalog),
        )
