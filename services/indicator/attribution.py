"""Where a sheet target's shortfall comes from: pure rules (docs/insight.md, Attribution).

A project *commits to* a sheet target when one of its commitments selects the same kind, an
overlapping set of levels (no levels: every level) and a compatible audience. What it was
expected to have reached by today is its commitment's value pro rata of its own trajectory
(the largest, when several of its commitments overlap the target: they count the same
people). That expectation is spread evenly over the project's declared regions, and over the
commitment's levels within the target's (a commitment without levels follows the project's
reported levels, or `non-precise` when it reported nothing). The actual side is every
reported cell the target counts, committed or not. gap = expected - actual, per region and per
level; the largest contributors come first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from contracts.indicators import Selector, Target
from services.indicator.domain import Tally

UNSPECIFIED = "non-precise"


@dataclass(frozen=True)
class Committing:
    """A project of the sheet: its declared regions, commitments and tallies."""

    regions: tuple[str, ...]
    commitments: tuple[Target, ...]
    tallies: tuple[Tally, ...]


@dataclass(frozen=True)
class Contribution:
    key: str  # an INSEE region code or a canonical level
    expected: float
    actual: int

    @property
    def gap(self) -> float:
        return self.expected - self.actual


@dataclass(frozen=True)
class Attribution:
    target_id: str
    expected: float
    """Sum of the committing projects' pro rata expectations today."""
    actual: int
    by_region: tuple[Contribution, ...]
    by_level: tuple[Contribution, ...]


def commits_to(commitment: Selector, target: Selector) -> bool:
    return (
        commitment.kind == target.kind
        and (
            commitment.levels is None
            or target.levels is None
            or not commitment.levels.isdisjoint(target.levels)
        )
        and (
            commitment.audience is None
            or target.audience is None
            or commitment.audience == target.audience
        )
    )


def attribute(target: Target, projects: Sequence[Committing], today: date) -> Attribution:
    s = target.selector
    regions: dict[str, float] = defaultdict(float)
    levels: dict[str, float] = defaultdict(float)
    actual_region: dict[str, int] = defaultdict(int)
    actual_level: dict[str, int] = defaultdict(int)
    for project in projects:
        counted = [t for t in project.tallies if s.matches(t.kind, t.level, t.audience or None)]
        for t in counted:
            actual_region[t.region] += t.count
            actual_level[t.level] += t.count
        mine = [c for c in project.commitments if commits_to(c.selector, s)]
        if not mine:
            continue
        best = max(mine, key=lambda c: c.value * c.expected_ratio(today))
        expected = best.value * best.expected_ratio(today)
        for region in project.regions or (UNSPECIFIED,):
            regions[region] += expected / max(1, len(project.regions))
        for level, share in _level_shares(best.selector, s, counted):
            levels[level] += expected * share
    actual = sum(actual_region.values())
    return Attribution(
        target_id=target.id,
        expected=round(sum(regions.values()), 3),
        actual=actual,
        by_region=_ranked(regions, actual_region),
        by_level=_ranked(levels, actual_level),
    )


def _level_shares(
    commitment: Selector, target: Selector, counted: Iterable[Tally]
) -> list[tuple[str, float]]:
    if commitment.levels is not None:
        chosen = sorted(commitment.levels & target.levels if target.levels else commitment.levels)
        return [(level, 1 / len(chosen)) for level in chosen]
    reported: dict[str, int] = defaultdict(int)
    for t in counted:
        reported[t.level] += t.count
    total = sum(reported.values())
    if total == 0:
        return [(UNSPECIFIED, 1.0)]
    return [(level, n / total) for level, n in sorted(reported.items())]


def _ranked(expected: dict[str, float], actual: dict[str, int]) -> tuple[Contribution, ...]:
    keys = set(expected) | set(actual)
    rows = [Contribution(k, round(expected.get(k, 0.0), 3), actual.get(k, 0)) for k in keys]
    return tuple(sorted(rows, key=lambda c: (-c.gap, c.key)))
