"""The indicator's sums and rows at their edges: tallies that share a key add up, a progress row
names its target, figures are rounded to 6 decimals, only reported combinations appear."""

from __future__ import annotations

from datetime import date

from contracts.catalog import load_catalog
from contracts.indicators import CellKind, Selector, Target
from services.indicator.domain import (
    Tally,
    coverage,
    kind_totals,
    nested_totals,
    progress,
    regions_with_people,
    totals_by,
)

TARGET = Target(
    id="formes-bac5",
    label="Formés au niveau bac+5",
    selector=Selector(kind=CellKind.TRAINED, levels=frozenset({"bac+5"})),
    value=3,
    start=date(2024, 1, 1),
    horizon=date(2024, 1, 4),
)


def tally(
    count: int,
    kind: str = "trained",
    period: str = "2025-S1",
    region: str = "84",
    level: str = "bac+5",
) -> Tally:
    return Tally("cloud", kind, level, region, "", "", period, count)


def test_tallies_with_the_same_key_add_up_instead_of_replacing_each_other() -> None:
    tallies = [tally(2), tally(3, region="11"), tally(7, kind="sensitised")]
    assert totals_by(tallies, "kind") == {("trained",): 5, ("sensitised",): 7}
    by_sheet = {("cloud", "trained"): 5, ("cloud", "sensitised"): 7}
    assert totals_by(tallies, "sheet", "kind") == by_sheet
    assert kind_totals(tallies) == {"trained": 5, "sensitised": 7, "alternance": 0}


def test_totals_by_period_add_up_the_tallies_of_each_period_and_kind_sorted() -> None:
    tallies = [
        tally(1, period="2025-S2"),
        tally(2, period="2025-S1"),
        tally(4, period="2025-S1", region="11"),
        tally(8, kind="sensitised", period="2025-S1"),
    ]
    nested = nested_totals(tallies, "period", "kind")
    assert nested == {"2025-S1": {"sensitised": 8, "trained": 6}, "2025-S2": {"trained": 1}}
    assert list(nested) == ["2025-S1", "2025-S2"]
    assert list(nested["2025-S1"]) == ["sensitised", "trained"]
    assert nested_totals([], "period", "kind") == {}


def test_a_progress_row_names_its_target_its_selector_and_its_horizon() -> None:
    row = progress(TARGET, 1, date(2024, 1, 2), tolerance=0.0)
    assert (row.target_id, row.label, row.selector, row.horizon) == (
        "formes-bac5",
        "Formés au niveau bac+5",
        TARGET.selector,
        date(2024, 1, 4),
    )


def test_progress_and_expected_share_are_rounded_to_6_decimals() -> None:
    row = progress(TARGET, 1, date(2024, 1, 2), tolerance=0.0)  # 1/3 done, 1/3 expected
    assert (row.progress, row.expected, row.expected_actual) == (0.333333, 0.333333, 1)
    assert row.behind is False


def test_the_uncovered_population_share_is_rounded_to_6_decimals() -> None:
    catalog = load_catalog()
    share = coverage({"11"}, catalog).uncovered_population_share
    exact = 1 - catalog.regions["11"].population / catalog.total_population
    assert share == round(exact, 6) and share != exact


def test_a_region_counts_as_covered_only_where_reports_count_people() -> None:
    tallies = [tally(3, region="84"), tally(0, region="11"), tally(1, region="76")]
    assert regions_with_people(tallies) == {"84", "76"}  # one person is enough
    assert regions_with_people([]) == set()
