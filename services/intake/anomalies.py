"""Checks on arrival: rules that flag a report without refusing it (docs/insight.md, Checks on
arrival). Pure: the caller reads the figures of the project's earlier reports and passes them in.

Each rule has a threshold setting and can be silenced per project (`silenced`):

- `revision_swing`: a revision changes its period's total (all kinds but `alternance`, which
  is counted among `trained`) by more than `revision_share` of the previous revision's total.
- `semester_spike`: the period's trained total is above `spike_factor` × the median of the
  project's other semesters (at least two of them, with a positive median).
- `sex_split_dropped`: trained people reported without any sex split while an earlier
  semester had one.
- `alternance_share`: alternance above `alternance_share` of trained.
- `zero_after_nonzero`: a period whose total is 0 after an earlier non-zero one.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from contracts.indicators import CellKind
from contracts.reports import Cell


class Rule(StrEnum):
    REVISION_SWING = "revision_swing"
    SEMESTER_SPIKE = "semester_spike"
    SEX_SPLIT_DROPPED = "sex_split_dropped"
    ALTERNANCE_SHARE = "alternance_share"
    ZERO_AFTER_NONZERO = "zero_after_nonzero"


@dataclass(frozen=True)
class Thresholds:
    revision_share: float = 0.5
    spike_factor: float = 5.0
    alternance_share: float = 0.8


@dataclass(frozen=True)
class ArrivalWarning:
    rule: Rule
    message: str  # French: the project reads it


def total(cells: Sequence[Cell]) -> int:
    return sum(c.count for c in cells if c.kind is not CellKind.ALTERNANCE)


def of_kind(cells: Sequence[Cell], kind: CellKind) -> int:
    return sum(c.count for c in cells if c.kind is kind)


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """What the rules read of a report they compare with: kept with each stored revision, so
    that a new report's checks do not decode every period's cells."""

    total: int  # every kind but `alternance`
    trained: int
    sex_split: bool  # some `trained` cell carries a sex

    @classmethod
    def of(cls, cells: Sequence[Cell]) -> PeriodFigures:
        split = any(c.kind is CellKind.TRAINED and c.sex is not None for c in cells)
        return cls(total(cells), of_kind(cells, CellKind.TRAINED), split)


def warnings(
    *,
    period: str,
    cells: Sequence[Cell],
    previous: PeriodFigures | None,
    others: Mapping[str, PeriodFigures],
    thresholds: Thresholds,
    silenced: Collection[Rule] = (),
) -> list[ArrivalWarning]:
    """`previous`: the period's previous revision (None for a first one); `others`: the
    latest revision of each of the project's other periods."""
    found: list[ArrivalWarning] = []
    now, trained = total(cells), of_kind(cells, CellKind.TRAINED)
    if previous is not None and previous.total > 0:
        before = previous.total
        if abs(now - before) > thresholds.revision_share * before:
            found.append(
                ArrivalWarning(
                    Rule.REVISION_SWING,
                    f"Cette révision change le total du semestre de {before} à {now} "
                    f"(plus de {thresholds.revision_share:.0%}).",
                )
            )
    history = [f.trained for f in others.values()]
    if len(history) >= 2 and (median := statistics.median(history)) > 0:
        if trained > thresholds.spike_factor * median:
            found.append(
                ArrivalWarning(
                    Rule.SEMESTER_SPIKE,
                    f"{trained} formés ce semestre, plus de {thresholds.spike_factor:g} fois "
                    f"la médiane des autres semestres du projet ({median:g}).",
                )
            )
    earlier = [f for p, f in others.items() if p < period]
    trained_cells = [c for c in cells if c.kind is CellKind.TRAINED and c.count > 0]
    if (
        any(f.sex_split for f in earlier)
        and trained_cells
        and all(c.sex is None for c in trained_cells)
    ):
        found.append(
            ArrivalWarning(
                Rule.SEX_SPLIT_DROPPED,
                "Formés déclarés sans répartition par sexe, alors que les semestres "
                "précédents en avaient une.",
            )
        )
    alternance = of_kind(cells, CellKind.ALTERNANCE)
    if trained > 0 and alternance > thresholds.alternance_share * trained:
        found.append(
            ArrivalWarning(
                Rule.ALTERNANCE_SHARE,
                f"{alternance} en alternance sur {trained} formés "
                f"(plus de {thresholds.alternance_share:.0%}).",
            )
        )
    if now == 0 and any(f.total > 0 for f in earlier):
        found.append(
            ArrivalWarning(
                Rule.ZERO_AFTER_NONZERO,
                "Semestre déclaré à zéro après des semestres non nuls.",
            )
        )
    return [w for w in found if w.rule not in silenced]
