"""The indicator's answers: response models, each mapped from the figures by `of()`."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.indicators import CellKind, Selector
from services.indicator.figures import (
    AllSheetsFigures,
    CoverageFigures,
    ProjectFigures,
    SheetFigures,
)

ByKind = dict[CellKind, int]
"""People by kind (`alternance` is counted among `trained`)."""


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class TargetProgress(_Answer):
    """A sheet target's or a project commitment's progress at `as_of`."""

    target_id: str
    label: str
    selector: Selector
    actual: int = Field(description="People matching the selector.")
    target: int = Field(description="The quantified value to reach by `horizon`.")
    progress: float = Field(description="actual / target.")
    expected: float = Field(description="The linear trajectory's share of `target` at `as_of`.")
    expected_actual: int = Field(description="expected × target, rounded.")
    horizon: date
    behind: bool = Field(description="`progress` below `expected` by more than the tolerance.")


class SheetProgress(_Answer):
    sheet: str
    name: str
    as_of: date
    totals: ByKind
    targets: list[TargetProgress]

    @classmethod
    def of(cls, figures: SheetFigures) -> SheetProgress:
        return cls.model_validate(figures)


class AllSheetsProgress(_Answer):
    as_of: date
    sheets: list[SheetProgress] = Field(description="Every sheet of the catalog, in its order.")

    @classmethod
    def of(cls, figures: AllSheetsFigures) -> AllSheetsProgress:
        return cls.model_validate(figures)


class ProjectProgress(_Answer):
    project_id: UUID
    sheet: str
    name: str
    as_of: date
    totals: ByKind
    by_period: dict[str, ByKind] = Field(description="By semester, then kind, as reported.")
    by_level: dict[str, ByKind] = Field(description="By canonical level, then kind.")
    by_region: dict[str, ByKind] = Field(description="By region (INSEE code), then kind.")
    commitments: list[TargetProgress]

    @classmethod
    def of(cls, figures: ProjectFigures) -> ProjectProgress:
        return cls.model_validate(figures)


class RegionsCovered(_Answer):
    covered: list[str] = Field(description="INSEE region codes, sorted.")
    uncovered: list[str] = Field(description="INSEE region codes, sorted.")
    uncovered_population_share: float = Field(description="0..1, from legal populations.")


class Coverage(_Answer):
    """`covered`, `uncovered` and `uncovered_population_share` repeat the funded reading."""

    sheet: str | None = Field(description="null: every sheet together.")
    population_vintage: str
    covered: list[str]
    uncovered: list[str]
    uncovered_population_share: float
    funded: RegionsCovered = Field(description="An active project declares the region.")
    delivered: RegionsCovered = Field(description="Reports count people in the region.")

    @classmethod
    def of(cls, figures: CoverageFigures) -> Coverage:
        funded = figures.funded
        return cls(
            sheet=figures.sheet,
            population_vintage=figures.population_vintage,
            covered=list(funded.covered),
            uncovered=list(funded.uncovered),
            uncovered_population_share=funded.uncovered_population_share,
            funded=RegionsCovered.model_validate(funded),
            delivered=RegionsCovered.model_validate(figures.delivered),
        )
