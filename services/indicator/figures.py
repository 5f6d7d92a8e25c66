"""The read model: database tallies + the catalog + the domain rules → the API's figures.
The HTTP API and the `/metrics` collector both read through here, so they always agree."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from contracts.catalog import Catalog
from services.indicator.domain import Tally, coverage, kind_totals, matching, progress, totals_by
from services.indicator.queries import IndicatorQueries, commitments_of
from services.runtime.clock import Clock
from services.runtime.errors import NotFound


class Figures:
    def __init__(
        self, queries: IndicatorQueries, catalog: Catalog, clock: Clock, tolerance: float
    ) -> None:
        self.queries, self.catalog, self.clock, self.tolerance = queries, catalog, clock, tolerance

    def check_sheet(self, sheet: str) -> None:
        if sheet not in self.catalog.sheets:
            raise NotFound(f"unknown sheet {sheet!r}; known: {', '.join(self.catalog.sheets)}")

    def sheet_progress(self, sheet: str, tallies: list[Tally]) -> dict[str, Any]:
        spec, today = self.catalog.sheets[sheet], self.clock().date()
        mine = [t for t in tallies if t.sheet == sheet]
        return {
            "sheet": sheet,
            "name": spec.name,
            "as_of": today.isoformat(),
            "totals": kind_totals(mine),
            "targets": [
                progress(t, matching(t, mine), today, self.tolerance) for t in spec.targets
            ],
        }

    async def progress(self, sheet: str | None) -> dict[str, Any]:
        if sheet is not None:
            self.check_sheet(sheet)
            return self.sheet_progress(sheet, await self.queries.tallies(sheet=sheet))
        tallies = await self.queries.tallies()
        return {
            "as_of": self.clock().date().isoformat(),
            "sheets": [self.sheet_progress(s, tallies) for s in self.catalog.sheets],
        }

    async def project_progress(self, project_id: UUID) -> dict[str, Any]:
        project = await self.queries.project(project_id)
        if project is None:
            raise NotFound(f"project {project_id} not known to the indicator service (yet)")
        tallies, today = await self.queries.tallies(project_id=project_id), self.clock().date()
        return {
            "project_id": str(project_id),
            "sheet": project["sheet"],
            "name": project["name"],
            "as_of": today.isoformat(),
            "totals": kind_totals(tallies),
            "by_period": _nested(totals_by(tallies, "period", "kind")),
            "by_level": _nested(totals_by(tallies, "level", "kind")),
            "by_region": _nested(totals_by(tallies, "region", "kind")),
            "commitments": [
                progress(c, matching(c, tallies), today, self.tolerance)
                for c in commitments_of(project)
            ],
        }

    async def coverage(self, sheet: str | None) -> dict[str, Any]:
        """Funded: an active project of the sheet declares the region. Delivered: reports
        count people there. The top-level fields are the funded reading."""
        if sheet is not None:
            self.check_sheet(sheet)
        funded_by_sheet = await self.queries.funded_regions()
        tallies = await self.queries.tallies(sheet=sheet)
        funded = (
            funded_by_sheet.get(sheet, set())
            if sheet is not None
            else set().union(*funded_by_sheet.values())
        )
        delivered = {t.region for t in tallies if t.count > 0}
        funded_view = coverage(funded, self.catalog)
        return {
            "sheet": sheet,
            "population_vintage": self.catalog.population_vintage,
            **funded_view,
            "funded": funded_view,
            "delivered": coverage(delivered, self.catalog),
        }


def _nested(sums: dict[tuple[str, ...], int]) -> dict[str, dict[str, int]]:
    nested: dict[str, dict[str, int]] = {}
    for (outer, inner), count in sorted(sums.items()):
        nested.setdefault(outer, {})[inner] = count
    return nested
