"""Pure rules of the indicator service: progress on a trajectory, and regional coverage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.catalog import Catalog
from contracts.indicators import CellKind, Target


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


def matching(target: Target, tallies: Iterable[Tally]) -> int:
    s = target.selector
    return sum(t.count for t in tallies if s.matches(t.kind, t.level, t.audience or None))


def progress(target: Target, actual: int, today: date, tolerance: float) -> dict[str, Any]:
    """`progress` = actual / value; `expected` = the linear trajectory's share at `today`;
    `behind` when progress falls short of expected by more than `tolerance`."""
    ratio, expected = actual / target.value, target.expected_ratio(today)
    return {
        "target_id": target.id,
        "label": target.label,
        "selector": target.selector.model_dump(mode="json"),
        "actual": actual,
        "target": target.value,
        "progress": round(ratio, 6),
        "expected": round(expected, 6),
        "expected_actual": round(expected * target.value),
        "horizon": target.horizon.isoformat(),
        "behind": target.is_behind(actual, today, tolerance),
    }


def totals_by(tallies: Iterable[Tally], *dimensions: str) -> dict[tuple[str, ...], int]:
    sums: dict[tuple[str, ...], int] = defaultdict(int)
    for t in tallies:
        sums[tuple(getattr(t, d) for d in dimensions)] += t.count
    return dict(sums)


def kind_totals(tallies: Iterable[Tally]) -> dict[str, int]:
    sums = totals_by(tallies, "kind")
    return {k.value: sums.get((k.value,), 0) for k in CellKind}


def coverage(covered: set[str], catalog: Catalog) -> dict[str, Any]:
    """Covered and uncovered regions (INSEE codes) and the population share left uncovered,
    derived from `covered` and the catalog's populations: no list is stored."""
    regions = catalog.regions
    uncovered = sorted(code for code in regions if code not in covered)
    share = sum(regions[c].population for c in uncovered) / catalog.total_population
    return {
        "covered": sorted(code for code in regions if code in covered),
        "uncovered": uncovered,
        "uncovered_population_share": round(share, 6),
    }
