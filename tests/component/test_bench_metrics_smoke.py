"""B7 runs in CI on a small scale, so it cannot rot; the figures come from the full run
(docs/performance.md, B7)."""

from __future__ import annotations

import pytest

from bench.metrics_formula import PER_PROJECT_FAMILIES, catalog_bounds, per_project
from bench.metrics_scrape import main as scrape_main
from bench.metrics_series import main, report
from services.intake.schemas import ReportFormat
from services.runtime.registry import NAMES


async def test_the_metrics_series_benchmark_measures_what_the_documented_formula_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    measured = await main(projects=14, sizes=(7,), scrapes=1)
    out = capsys.readouterr().out
    assert "broken: nothing, the formula holds" in out
    small, large = measured
    assert (small.terms["active_projects"], large.terms["active_projects"]) == (7, 14)
    assert large.terms["commitments"] == 28
    for size in measured:
        for service in NAMES:
            series = size.series[service]
            per_project_part = sum(n for f, n in series.items() if f in PER_PROJECT_FAMILIES)
            assert per_project_part == per_project(service, size.terms), (service, size)
    bounds = catalog_bounds(large.terms["semesters"])
    for family, bound in bounds.items():
        service = family.split("_")[1]
        assert large.series[service].get(family, 0) <= bound, family
    # Doubling the projects adds exactly the per-project part to intake and alerting: nothing.
    # Intake: reports accepted by format and replay, each with its `_created`, and the backlog.
    intake = 2 * 2 * len(ReportFormat) + 1
    assert sum(small.series["intake"].values()) == sum(large.series["intake"].values()) == intake
    assert sum(small.series["alerting"].values()) == sum(large.series["alerting"].values())
    assert report(measured) == []


async def test_the_metrics_scrape_benchmark_serves_from_memory_what_a_scrape_computed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    await scrape_main(projects=6, scrapes=5, rebuilds=1, touched=[1, 3])
    out = capsys.readouterr().out
    assert "projects=6 business series=" in out and "identical=yes" in out
    assert "rebuild after a batch touching 3 projects median" in out and "full ÷ it" in out
    assert "national families (their own loop) median" in out
    assert "scrape served from memory: p50" in out
