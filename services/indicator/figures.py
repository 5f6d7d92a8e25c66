"""The indicator's read side, composed: what `queries.py` reads, with the catalog and the
clock, through the rules of `domain.py`, gives the typed figures below. The HTTP API answers
them (through `schemas.py`) and `/metrics` exports them (through `metrics.py`), so the two
always agree."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from uuid import UUID

from contracts.catalog import Catalog, load_catalog
from contracts.indicators import CellKind, Target
from services.indicator.attribution import Attribution, Committing, attribute
from services.indicator.domain import (
    Approval,
    Dimension,
    Progress,
    Reading,
    RegionCoverage,
    Tally,
    coverage,
    kind_totals,
    matching,
    nested_totals,
    progress,
    regions_with_people,
    totals_by,
)
from services.indicator.forecast import DEFAULT_WINDOW, forecast
from services.indicator.freshness import Freshness, freshness
from services.indicator.queries import IndicatorQueries, Project
from services.runtime.clock import Clock
from services.runtime.errors import NotFound
from services.runtime.settings import Settings

SHEET_BY: tuple[Dimension, ...] = ("kind", "level", "audience", "period")
"""All a sheet's figures read of its tallies (`Figures._sheet`): people by kind, and each
target's selector (kind, level, audience) by semester; region and sex summed away in SQL, so
the national progress reads a few thousand rows, not every combination (B8)."""
COVERAGE_BY: tuple[Dimension, ...] = ("region",)
"""All delivered coverage reads: the regions with people. Counts are never negative, so a
region's sum is above 0 iff one of its tallies is."""


@dataclass(frozen=True)
class SheetFigures:
    """A sheet's people by kind, and the progress of each of its targets."""

    sheet: str
    name: str
    as_of: date
    totals: dict[CellKind, int]
    targets: tuple[Progress, ...]
    reading: Reading
    approved_share: float | None


@dataclass(frozen=True)
class AllSheetsFigures:
    as_of: date
    sheets: tuple[SheetFigures, ...]
    reading: Reading


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
    freshness: Freshness
    reading: Reading
    approved_share: float | None


@dataclass(frozen=True)
class ProjectSummary:
    """An active project's people by kind, its commitments' progress and its freshness (the
    gauges')."""

    project: Project
    totals: dict[CellKind, int]
    commitments: tuple[Progress, ...]
    freshness: Freshness


@dataclass(frozen=True)
class CoverageFigures:
    """Funded: an active project of the sheet (of any, when `sheet` is None) declares the
    region. Delivered: reports count people there."""

    sheet: str | None
    population_vintage: str
    funded: RegionCoverage
    delivered: RegionCoverage
    reading: Reading


class Figures:
    def __init__(
        self,
        queries: IndicatorQueries,
        catalog: Catalog,
        clock: Clock,
        tolerance: float,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.queries, self.catalog, self.clock, self.tolerance = queries, catalog, clock, tolerance
        self.window = window

    @classmethod
    def from_settings(cls, queries: IndicatorQueries, clock: Clock, settings: Settings) -> Figures:
        """The programme's catalog, with the tolerance and window the service is set with."""
        return cls(
            queries,
            load_catalog(),
            clock,
            settings.trajectory_tolerance,
            settings.forecast_window_semesters,
        )

    async def all_sheets(self, reading: Reading = Reading.AS_REPORTED) -> AllSheetsFigures:
        tallies = await self.queries.tallies(reading=reading, by=SHEET_BY)
        sheets = self.sheets(tallies, reading, await self.queries.approvals())
        return AllSheetsFigures(self.clock().date(), sheets, reading)

    async def sheet(self, sheet: str, reading: Reading = Reading.AS_REPORTED) -> SheetFigures:
        """`sheet` is a catalog sheet id (the API validates it)."""
        tallies = await self.queries.tallies(sheet=sheet, reading=reading, by=SHEET_BY)
        return self._sheet(sheet, tallies, reading, await self.queries.approvals(sheet=sheet))

    async def project(
        self, project_id: UUID, reading: Reading = Reading.AS_REPORTED
    ) -> ProjectFigures:
        project = await self.queries.project(project_id)
        if project is None:
            raise NotFound(f"project {project_id} not known to the indicator service (yet)")
        tallies = await self.queries.tallies(project_id=project_id, reading=reading)
        today = self.clock().date()
        reported = await self.queries.reported(project_id=project_id)
        approval = (await self.queries.approvals(project_id=project_id)).get(project.sheet)
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
            freshness=self._freshness(project, reported.get(project_id, {}), today),
            reading=reading,
            approved_share=_share(approval),
        )

    async def explain(
        self, sheet: str, target: Target, reading: Reading = Reading.AS_REPORTED
    ) -> Attribution:
        """`target` is one of the sheet's (the API checks it)."""
        projects = await self.queries.sheet_projects(sheet, reading)
        committing = [Committing(p.regions, p.commitments, tuple(t)) for p, t in projects]
        return attribute(target, committing, self.clock().date())

    async def coverage(
        self, sheet: str | None, reading: Reading = Reading.AS_REPORTED
    ) -> CoverageFigures:
        funded = await self.queries.funded_regions(self.clock().date())
        tallies = await self.queries.tallies(sheet=sheet, reading=reading, by=COVERAGE_BY)
        return self.coverage_of(sheet, funded, tallies, reading)

    async def project_summaries(
        self, reading: Reading = Reading.AS_REPORTED, project_ids: Collection[UUID] | None = None
    ) -> list[ProjectSummary]:
        """Every active project's (of `project_ids`, if given), by sheet then name."""
        today = self.clock().date()
        reported = await self.queries.reported(project_ids=project_ids)
        return [
            ProjectSummary(
                a.project,
                kind_totals(a.tallies),
                self._progress(a.project, a.tallies, today),
                self._freshness(a.project, reported.get(a.project.project_id, {}), today),
            )
            for a in await self.queries.active_projects(reading, project_ids)
        ]

    def sheets(
        self, tallies: Sequence[Tally], reading: Reading, approvals: Mapping[str, Approval]
    ) -> tuple[SheetFigures, ...]:
        """Every catalog sheet's, from tallies of every sheet (by `SHEET_BY` at least)."""
        return tuple(self._sheet(s, tallies, reading, approvals) for s in self.catalog.sheets)

    def _sheet(
        self,
        sheet: str,
        tallies: Iterable[Tally],
        reading: Reading,
        approvals: Mapping[str, Approval],
    ) -> SheetFigures:
        spec, today = self.catalog.sheets[sheet], self.clock().date()
        mine = [t for t in tallies if t.sheet == sheet]
        targets = tuple(self._target(t, mine, today) for t in spec.targets)
        share = _share(approvals.get(sheet))
        return SheetFigures(sheet, spec.name, today, kind_totals(mine), targets, reading, share)

    def _progress(
        self, project: Project, tallies: Sequence[Tally], today: date
    ) -> tuple[Progress, ...]:
        return tuple(self._target(c, tallies, today) for c in project.commitments)

    def _target(self, target: Target, tallies: Sequence[Tally], today: date) -> Progress:
        """Progress with its forecast; a semester counts as reported when it has cells."""
        per_period = {p: n for (p,), n in totals_by(_selected(target, tallies), "period").items()}
        ahead = forecast(
            per_period=per_period,
            reported={t.period for t in tallies},
            value=target.value,
            horizon=target.horizon,
            window=self.window,
        )
        found = progress(target, matching(target, tallies), today, self.tolerance)
        return replace(found, forecast=ahead)

    @staticmethod
    def _freshness(project: Project, reported: dict[str, datetime], today: date) -> Freshness:
        return freshness(
            start=project.start_date, end=project.end_date, today=today, reported=reported
        )

    def coverage_of(
        self,
        sheet: str | None,
        funded: Mapping[str, set[str]],
        tallies: Iterable[Tally],
        reading: Reading = Reading.AS_REPORTED,
    ) -> CoverageFigures:
        """From the funded regions of every sheet and tallies of `sheet` (or more; by
        `COVERAGE_BY` at least)."""
        if sheet is None:
            regions, mine = set[str]().union(*funded.values()), list(tallies)
        else:
            regions, mine = funded.get(sheet, set()), [t for t in tallies if t.sheet == sheet]
        return CoverageFigures(
            sheet=sheet,
            population_vintage=self.catalog.population_vintage,
            funded=coverage(regions, self.catalog),
            delivered=coverage(regions_with_people(mine), self.catalog),
            reading=reading,
        )


def _share(approval: Approval | None) -> float | None:
    return None if approval is None else approval.share


def _selected(target: Target, tallies: Iterable[Tally]) -> list[Tally]:
    s = target.selector
    return [t for t in tallies if s.matches(t.kind, t.level, t.audience or None)]
