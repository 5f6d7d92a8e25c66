"""The indicator's answers: response models, each mapped from the figures by `of()`."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.indicators import CellKind, Selector
from services.indicator.attribution import Attribution
from services.indicator.domain import Reading
from services.indicator.figures import (
    AllSheetsFigures,
    CoverageFigures,
    ProjectFigures,
    SheetFigures,
)
from services.indicator.forecast import ForecastStatus

ByKind = dict[CellKind, int]
"""People by kind (`alternance` is counted among `trained`)."""


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class ForecastAnswer(_Answer):
    """When the value is reached at the pace of the last reported semesters (docs/insight.md)."""

    status: ForecastStatus = Field(
        description="`on_track`: reached by the horizon; `late`: after it; `unreachable`: no "
        "progress over the window; `insufficient_data`: fewer than two reported semesters."
    )
    reached_on: date | None = Field(
        description="Last day of the semester the value is (projected to be) reached in."
    )
    pace_per_semester: float | None = Field(description="Weighted least-squares slope.")
    semesters_late: int | None = Field(description="Semesters after the horizon's; 0 on track.")


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
    forecast: ForecastAnswer


class Contribution(_Answer):
    key: str = Field(description="An INSEE region code or a canonical level.")
    expected: float = Field(description="What committing projects expected there by today.")
    actual: int = Field(description="People the target counts there.")
    gap: float = Field(description="expected - actual: positive where the shortfall is.")


class Explanation(_Answer):
    """A target's shortfall split by region and by level, largest contributors first."""

    target_id: str
    expected: float = Field(description="Committing projects' pro rata expectations, summed.")
    actual: int
    by_region: list[Contribution]
    by_level: list[Contribution]

    @classmethod
    def of(cls, attribution: Attribution) -> Explanation:
        return cls.model_validate(attribution)


READING = Field(
    description="`as_reported`: each period's latest revision; `approved`: its latest "
    "approved revision (docs/review.md)."
)
APPROVED_SHARE = Field(
    description="Share of the people reported (latest revisions, every kind) in periods whose "
    "latest revision is approved; null when nothing is reported."
)


class SheetProgress(_Answer):
    sheet: str
    name: str
    as_of: date
    reading: Reading = READING
    totals: ByKind
    approved_share: float | None = APPROVED_SHARE
    targets: list[TargetProgress]
    explanation: Explanation | None = Field(
        default=None, description="With `explain=<target_id>`: where its shortfall comes from."
    )

    @classmethod
    def of(cls, figures: SheetFigures, explanation: Attribution | None = None) -> SheetProgress:
        answer = cls.model_validate(figures)
        if explanation is None:
            return answer
        return answer.model_copy(update={"explanation": Explanation.of(explanation)})


class AllSheetsProgress(_Answer):
    as_of: date
    reading: Reading = READING
    sheets: list[SheetProgress] = Field(description="Every sheet of the catalog, in its order.")

    @classmethod
    def of(cls, figures: AllSheetsFigures) -> AllSheetsProgress:
        return cls.model_validate(figures)


class FreshnessAnswer(_Answer):
    latest_report_on: date | None = Field(description="When its latest revision was submitted.")
    latest_period: str | None = Field(description="The latest semester it reported.")
    semesters_behind: int = Field(
        description="Closed semesters of its run after `latest_period` (from its start if none)."
    )


class ProjectProgress(_Answer):
    project_id: UUID
    sheet: str
    name: str
    as_of: date
    reading: Reading = READING
    totals: ByKind
    approved_share: float | None = APPROVED_SHARE
    by_period: dict[str, ByKind] = Field(description="By semester, then kind, as reported.")
    by_level: dict[str, ByKind] = Field(description="By canonical level, then kind.")
    by_region: dict[str, ByKind] = Field(description="By region (INSEE code), then kind.")
    commitments: list[TargetProgress]
    freshness: FreshnessAnswer

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
    reading: Reading = Field(description="The reading of `delivered` (funded has one).")
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
            reading=figures.reading,
            population_vintage=figures.population_vintage,
            covered=list(funded.covered),
            uncovered=list(funded.uncovered),
            uncovered_population_share=funded.uncovered_population_share,
            funded=RegionsCovered.model_validate(funded),
            delivered=RegionsCovered.model_validate(figures.delivered),
        )
