"""Progress on a trajectory and regional coverage: the indicator's pure rules."""

from __future__ import annotations

from datetime import date

from contracts.catalog import load_catalog
from contracts.indicators import Selector, Target
from services.indicator.domain import Tally, coverage, kind_totals, matching, progress


def tally(
    kind: str = "trained",
    level: str = "bac+5",
    audience: str = "",
    count: int = 1,
    sheet: str = "cloud",
    region: str = "84",
) -> Tally:
    return Tally(sheet, kind, level, region, "", audience, "2025-S1", count)


def target(**selector: object) -> Target:
    return Target(
        id="t",
        label="t",
        selector=Selector.model_validate({"kind": "trained", **selector}),
        value=1000,
        start=date(2022, 1, 1),
        horizon=date(2030, 1, 1),
    )


def test_a_target_counts_only_the_cells_its_selector_matches() -> None:
    tallies = [
        tally(count=10),
        tally(level="bac+2", count=5),
        tally(kind="sensitised", count=7),
        tally(audience="staff", count=3),
    ]
    assert matching(target(), tallies) == 18
    assert matching(target(levels=["bac+5"]), tallies) == 13
    assert matching(target(levels=["bac+5"], audience="staff"), tallies) == 3


def test_expected_progress_follows_a_linear_trajectory_clamped_to_the_horizon() -> None:
    t = target()
    assert t.expected_ratio(date(2021, 6, 1)) == 0
    assert (
        t.expected_ratio(date(2026, 1, 1))
        == (date(2026, 1, 1) - date(2022, 1, 1)).days / (date(2030, 1, 1) - date(2022, 1, 1)).days
    )
    assert t.expected_ratio(date(2031, 1, 1)) == 1


def test_a_target_is_behind_only_beyond_the_tolerance() -> None:
    t = target()
    midway = date(2026, 1, 1)  # expected ≈ 0.5
    assert progress(t, 450, midway, tolerance=0.1).behind is False
    assert progress(t, 390, midway, tolerance=0.1).behind is True
    row = progress(t, 390, midway, tolerance=0.1)
    assert (row.actual, row.target, row.progress) == (390, 1000, 0.39)
    assert row.expected_actual == round(row.expected * 1000)


def test_kind_totals_name_every_kind_even_when_nothing_was_reported() -> None:
    assert kind_totals([]) == {"trained": 0, "sensitised": 0, "alternance": 0}
    assert kind_totals([tally(count=4), tally(kind="alternance", count=1)])["trained"] == 4


def test_coverage_derives_uncovered_regions_and_population_share_from_the_catalog() -> None:
    catalog = load_catalog()
    everything = coverage(set(catalog.regions), catalog)
    assert everything.uncovered == () and everything.uncovered_population_share == 0
    nothing = coverage(set(), catalog)
    assert nothing.covered == () and nothing.uncovered_population_share == 1
    only_idf = coverage({"11"}, catalog)
    assert only_idf.covered == ("11",) and "11" not in only_idf.uncovered
    expected = 1 - catalog.regions["11"].population / catalog.total_population
    assert abs(only_idf.uncovered_population_share - expected) < 1e-6
