"""The watch reads a sheet's projects a page at a time and its targets from the totals kept
(docs/performance.md, B8's memory): the conditions found do not depend on the page size, and
a sheet target's semesters are those of every project's cells summed."""

from __future__ import annotations

import pytest

from bench.metrics_seed import clock, seed
from contracts.catalog import load_catalog
from services.indicator import watch as watch_module
from services.indicator.figures import SHEET_BY, Figures
from services.indicator.queries import IndicatorQueries
from services.indicator.watch import Watch, per_period
from services.runtime.db import make_engine


async def test_conditions_found_page_by_page_are_those_of_the_whole_sheet(
    clean_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(clean_database)
    await seed(engine, 0, 21)  # 3 projects in each of the 7 sheets
    queries = IndicatorQueries(engine)
    figures = Figures(queries, load_catalog(), clock, tolerance=0.1)
    watch = Watch(figures, stale_semesters=0)

    async def found() -> list[tuple[str, str, dict[str, str]]]:
        return [(c.fingerprint, c.summary, c.details) for c in await watch.holding()]

    whole = await found()
    monkeypatch.setattr(watch_module, "PAGE", 2)  # a sheet's 3 projects in two pages
    assert await found() == whole
    kinds = {fingerprint.split("/")[0] for fingerprint, _, _ in whole}
    assert kinds == {"commitment_behind", "target_behind", "project_stale"}

    for sheet, spec in figures.catalog.sheets.items():
        every = [t for _, tallies in await queries.sheet_projects(sheet) for t in tallies]
        kept = await queries.tallies(sheet=sheet, by=SHEET_BY)
        for target in spec.targets:
            assert per_period(target, kept) == per_period(target, every)
    await engine.dispose()
