"""Pure rules of the indicator service: progress on a trajectory, and regional coverage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from contracts.catalog import Catalog
from contracts.indicators import CellKind, Selector, Target
from services.indicator.forecast import Forecast


class Reading(StrEnum):
    """Which revision of each period the figures count (docs/review.md)."""

    AS_REPORTED = "as_reported"  # the latest
    APPROVED = "approved"  # the latest a programme officer approved


@dataclass(frozen=True)
class Approval:
    """People reported (latest revisions, every kind) and those of them in periods whose
    latest revision is approved."""

    approved: int
    reported: int

    @property
    def share(self) -> float | None:
        """approved / reported, to 6 decimals; None when nothing is reported."""
        return round(self.approved / self.reported, 6) if self.reported else None


@dataclass(frozen=True)
class Tally:
    """Reported people summed over the latest revisions, at one combination of dimensions."""

    sheet: str
    kind: str
    level: str
    region: str
    sex: str  # "" when not reported
    audience: str  # "" when not reported
    period: str
    count: int


Dimension = Literal["sheet", "kind", "level", "region", "sex", "audience", "period"]
"""A field of `Tally` that totals can be grouped by."""
DIMENSIONS: tuple[Dimension, ...] = (
    "sheet",
    "kind",
    "level",
    "region",
    "sex",
    "audience",
    "period",
)
"""Every one, in `Tally`'s order."""


@dataclass(frozen=True)
class Progress:
    """A sheet target's or a project commitment's progress at a date."""

    target_id: str
    label: str
    selector: Selector
    actual: int
    target: int
    """The target's quantified value."""
    progress: float
    """actual / target, to 6 decimals."""
    expected: float
    """The linear trajectory's share of `target` at the date, to 6 decimals."""
    expected_actual: int
    horizon: date
    behind: bool
    forecast: Forecast | None = None
    """Set by the figures (services/indicator/forecast.py), which know the semesters."""


@dataclass(frozen=True)
class RegionCoverage:
    """Covered and uncovered regions (INSEE codes, sorted) and the population share left
    uncovered."""

    covered: tuple[str, ...]
    uncovered: tuple[str, ...]
    uncovered_population_share: float


def matching(target: Target, tallies: Iterable[Tally]) -> int:
    s = target.selector
    return sum(t.count for t in tallies if s.matches(t.kind, t.level, t.audience or None))


def progress(target: Target, actual: int, today: date, tolerance: float) -> Progress:
    """`progress` = actual / value; `expected` = the linear trajectory's share at `today`;
    `behind` when progress falls short of expected by more than `tolerance`."""
    ratio, expected = actual / target.value, target.expected_ratio(today)
    return Progress(
        target_id=target.id,
        label=target.label,
        selector=target.selector,
        actual=actual,
        target=target.value,
        progress=round(ratio, 6),
        expected=round(expected, 6),
        expected_actual=round(expected * target.value),
        horizon=target.horizon,
        behind=target.is_behind(actual, today, tolerance),
    )


def totals_by(tallies: Iterable[Tally], *dimensions: Dimension) -> dict[tuple[str, ...], int]:
    sums: dict[tuple[str, ...], int] = defaultdict(int)
    for t in tallies:
        sums[tuple(getattr(t, d) for d in dimensions)] += t.count
    return dict(sums)


def kind_totals(tallies: Iterable[Tally]) -> dict[CellKind, int]:
    """People by kind, every kind named (0 when nothing was reported), in `CellKind` order."""
    sums = totals_by(tallies, "kind")
    return {k: sums.get((k.value,), 0) for k in CellKind}


def nested_totals(
    tallies: Iterable[Tally], outer: Dimension, inner: Dimension
) -> dict[str, dict[str, int]]:
    """People by `outer` then `inner` (e.g. by period, then kind), both sorted; only the
    combinations reported."""
    nested: dict[str, dict[str, int]] = {}
    for (o, i), count in sorted(totals_by(tallies, outer, inner).items()):
        nested.setdefault(o, {})[i] = count
    return nested


def coverage(covered: Iterable[str], catalog: Catalog) -> RegionCoverage:
    """Covered and uncovered regions (INSEE codes) and the population share left uncovered,
    derived from `covered` and the catalog's populations: no list is stored."""
    regions, known = catalog.regions, set(covered)
    uncovered = tuple(sorted(code for code in regions if code not in known))
    share = sum(regions[c].population for c in uncovered) / catalog.total_population
    return RegionCoverage(
        covered=tuple(sorted(code for code in regions if code in known)),
        uncovered=uncovered,
        uncovered_population_share=round(share, 6),
    )


def regions_with_people(tallies: Iterable[Tally]) -> set[str]:
    """Delivered coverage: the regions where reports count people."""
    return {t.region for t in tallies if t.count > 0}
