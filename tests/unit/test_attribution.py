"""Where a shortfall comes from, on a hand-computed case."""

from __future__ import annotations

from datetime import date

from contracts.indicators import Selector, Target
from services.indicator.attribution import (
    UNSPECIFIED,
    Committing,
    Contribution,
    attribute,
    commits_to,
)
from services.indicator.domain import Tally

TODAY = date(2022, 1, 1)


def commitment(kind: str, value: int, horizon: date, levels: list[str] | None = None) -> Target:
    return Target(
        id=f"{kind}-{value}",
        label="c",
        selector=Selector.model_validate({"kind": kind, "levels": levels}),
        value=value,
        start=date(2021, 1, 1),
        horizon=horizon,
    )


def cell(kind: str, level: str, region: str, count: int) -> Tally:
    return Tally("ia", kind, level, region, "", "", "2021-S2", count)


SHEET_TARGET = Target(
    id="ia-formes",
    label="Formés",
    selector=Selector(kind="trained"),  # type: ignore[arg-type]
    value=10_000,
    start=date(2021, 1, 1),
    horizon=date(2030, 12, 31),
)


def test_the_gap_is_split_by_region_and_level_largest_first() -> None:
    projects = [
        # Half-way through its run on 1 January 2022 (365 of 730 days): 1,000 → 500 expected,
        # 250 in each of its two regions; no levels: spread like its reports (half each).
        Committing(
            ("11", "93"),
            (commitment("trained", 1_000, date(2023, 1, 1)),),
            (cell("trained", "bac+5", "11", 100), cell("trained", "bac+3", "93", 100)),
        ),
        # Run over: all 400 expected, in its one level; its sensitised commitment and cells
        # are not the target's.
        Committing(
            ("28",),
            (
                commitment("trained", 400, date(2022, 1, 1), ["formation-continue"]),
                commitment("sensitised", 9_999, date(2022, 1, 1)),
            ),
            (cell("sensitised", "bac+5", "28", 50),),
        ),
        # Committed to nothing: its people count, no expectation.
        Committing(("53",), (), (cell("trained", "bac+5", "53", 30),)),
    ]
    found = attribute(SHEET_TARGET, projects, TODAY)
    assert (found.expected, found.actual) == (900, 230)
    assert found.by_region == (
        Contribution("28", 400, 0),
        Contribution("11", 250, 100),
        Contribution("93", 250, 100),
        Contribution("53", 0, 30),
    )
    assert found.by_level == (
        Contribution("formation-continue", 400, 0),
        Contribution("bac+3", 250, 100),
        Contribution("bac+5", 250, 130),
    )
    assert [c.gap for c in found.by_region] == [400, 150, 150, -30]


def test_a_commitment_without_levels_or_reports_lands_in_non_precise() -> None:
    project = Committing(("84",), (commitment("trained", 200, date(2022, 1, 1)),), ())
    found = attribute(SHEET_TARGET, [project], TODAY)
    assert found.by_level == (Contribution(UNSPECIFIED, 200, 0),)


def test_overlapping_commitments_of_one_project_count_once_at_the_largest() -> None:
    both = (
        commitment("trained", 300, date(2022, 1, 1)),
        commitment("trained", 100, date(2022, 1, 1), ["formation-continue"]),
    )
    found = attribute(SHEET_TARGET, [Committing(("84",), both, ())], TODAY)
    assert found.expected == 300


def test_a_commitment_commits_to_a_target_of_its_kind_levels_and_audience() -> None:
    target = Selector.model_validate({"kind": "trained", "levels": ["bac+5"], "audience": "staff"})
    yes = [{"kind": "trained"}, {"kind": "trained", "levels": ["bac+5", "bac+8"]}]
    no = [
        {"kind": "sensitised"},
        {"kind": "trained", "levels": ["bac+8"]},
        {"kind": "trained", "audience": "pupils"},
    ]
    assert all(commits_to(Selector.model_validate(s), target) for s in yes)
    assert not any(commits_to(Selector.model_validate(s), target) for s in no)
