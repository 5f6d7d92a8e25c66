"""Intake's own HTTP answers. The payloads clients share with other services (`ProjectIn`,
`ProjectCreated`, `MilestonesIn`, `MilestoneCompletionIn`, `ReportIn`) live in `contracts/`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from contracts.catalog import Catalog
from contracts.events import MILESTONE_ID_PATTERN, AmendmentChanges, MilestoneSpec, ProjectStatus
from contracts.indicators import CellKind, Sex, Target
from contracts.reports import Cell, Period
from services.intake.anomalies import ArrivalWarning
from services.intake.anomalies import Rule as ArrivalRule
from services.intake.domain import CountChange, ReportCheck, ReportRevision
from services.runtime.errors import UnsupportedMediaType

Timestamp = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
"""Sent as `datetime.isoformat()` (`…+00:00`, where pydantic would write `…Z`), as intake
always has: clients get the same bytes."""
MilestoneId = Annotated[str, Field(pattern=MILESTONE_ID_PATTERN)]


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportFormat(StrEnum):
    """The media types a report may come in; the value names it in metrics."""

    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"

    @classmethod
    def of(cls, content_type: str) -> ReportFormat:
        """`content_type` as the header gives it (parameters such as `charset` ignored)."""
        media_type = content_type.split(";")[0].strip().lower()
        if media_type == "application/json":
            return cls.JSON
        if media_type == "text/csv":
            return cls.CSV
        if media_type == XLSX_MEDIA_TYPE:
            return cls.XLSX
        raise UnsupportedMediaType(f"send application/json, text/csv or {XLSX_MEDIA_TYPE}")


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class _ProjectAnswer(_Answer):
    """Every intake answer names its project first."""

    project_id: UUID


class _RevisionFields(_Answer):
    report_id: UUID
    period: Period
    revision: int = Field(ge=1, description="1 for a period's first report, then 2, 3…")
    submitted_by: str = Field(description="`staff` or `project:<project_id>`")
    submitted_at: Timestamp
    reason: str | None
    cells: int = Field(ge=1, description="How many cells the report holds.")


def _fields(r: ReportRevision | CountChange) -> dict[str, object]:
    return {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}


class ReportRevisionOut(_RevisionFields):
    @classmethod
    def of(cls, r: ReportRevision) -> ReportRevisionOut:
        return cls.model_validate(_fields(r))


class ReportWarning(_Answer):
    """A check on arrival the report tripped: it was taken all the same (docs/insight.md)."""

    rule: ArrivalRule
    message: str = Field(description="In French, for the project.")


class ReportAccepted(_RevisionFields, _ProjectAnswer):
    """The answer to a report, and to every retry of it with the same Idempotency-Key."""

    warnings: list[ReportWarning] = Field(
        default=[], description="Checks on arrival tripped (a retry answers none)."
    )

    @classmethod
    def of(
        cls, project_id: UUID, r: ReportRevision, warnings: Sequence[ArrivalWarning] = ()
    ) -> ReportAccepted:
        found = [{"rule": w.rule, "message": w.message} for w in warnings]
        return cls.model_validate({"project_id": project_id, **_fields(r), "warnings": found})


class PeriodHistory(_Answer):
    period: Period
    revisions: list[ReportRevisionOut] = Field(description="Oldest first.")
    current_revision: int = Field(ge=1)


class ReportHistory(_ProjectAnswer):
    periods: list[PeriodHistory] = Field(description="Oldest period first.")

    @classmethod
    def of(cls, project_id: UUID, revisions: Iterable[ReportRevision]) -> ReportHistory:
        """`revisions` ordered by period, then revision."""
        periods: dict[str, list[ReportRevisionOut]] = {}
        for r in revisions:
            periods.setdefault(r.period, []).append(ReportRevisionOut.of(r))
        return cls(
            project_id=project_id,
            periods=[
                PeriodHistory(period=p, revisions=rs, current_revision=rs[-1].revision)
                for p, rs in periods.items()
            ],
        )


class CountChangeOut(_Answer):
    kind: CellKind
    current: int = Field(ge=0, description="In the period's current revision (0 if none).")
    proposed: int = Field(ge=0, description="In the report checked.")
    change: int = Field(description="`proposed - current`.")


class PlaceChangeOut(CountChangeOut):
    level: str
    region: str


class ReportDifference(_Answer):
    by_kind: list[CountChangeOut] = Field(description="Every kind, changed or not.")
    by_level_and_region: list[PlaceChangeOut] = Field(
        description="Each kind at a level and region whose count changes (sex and audience "
        "summed); a cell the report drops changes to 0."
    )


class ReportDryRun(_ProjectAnswer):
    """What `?dry_run=true` answers: the report passed every rule a submission meets, nothing
    was stored, no event sent, no revision number taken, no Idempotency-Key recorded."""

    dry_run: bool = Field(description="Always true: nothing was stored.")
    period: Period
    reason: str | None
    current_revision: int | None = Field(
        description="The revision this report would replace; null if it would be the first."
    )
    cells: list[Cell] = Field(description="The cells as they would be stored, in file order.")
    difference: ReportDifference
    warnings: list[ReportWarning] = Field(
        description="The checks on arrival the report would trip (it would be taken all the same)."
    )

    @classmethod
    def of(
        cls, project_id: UUID, check: ReportCheck, warnings: Sequence[ArrivalWarning]
    ) -> ReportDryRun:
        def change(c: CountChange) -> dict[str, object]:
            return {**_fields(c), "change": c.proposed - c.current}

        return cls.model_validate(
            {
                "project_id": project_id,
                "dry_run": True,
                "period": check.report.period,
                "reason": check.report.reason,
                "current_revision": check.current_revision,
                "cells": check.report.cells,
                "difference": {
                    "by_kind": [change(c) for c in check.by_kind],
                    "by_level_and_region": [change(c) for c in check.by_level_and_region],
                },
                "warnings": [{"rule": w.rule, "message": w.message} for w in warnings],
            }
        )


class MilestonesDeclared(_ProjectAnswer):
    declared: list[MilestoneId] = Field(description="The milestones of the request, in order.")


class MilestoneCompletionOut(_ProjectAnswer):
    milestone_id: MilestoneId
    completed_on: date


# Projects: the list, one project with its history, a report's cells, the catalog.


class ProjectSummaryOut(_ProjectAnswer):
    sheet: str
    wave: str
    name: str
    lead: str
    regions: list[str]
    start_date: date
    end_date: date
    funding_eur: int | None
    status: ProjectStatus
    closed_on: date | None = Field(description="Set once closed: the day it closed.")


class ProjectPage(_Answer):
    items: list[ProjectSummaryOut] = Field(description="In registration order.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: none.")


class ProjectMilestoneOut(MilestoneSpec):
    completed_on: date | None


class ClosureOut(_Answer):
    status: ProjectStatus
    on: date
    reason: str
    closed_by: str
    closed_at: Timestamp


class AmendmentOut(_Answer):
    amendment: int = Field(ge=1)
    amended_by: str
    amended_at: Timestamp
    reason: str
    changes: AmendmentChanges


class ProjectOut(ProjectSummaryOut):
    """Everything registered, as it now stands, and how it came to be."""

    commitments: list[Target]
    milestones: list[ProjectMilestoneOut] = Field(description="By due date.")
    created_at: Timestamp
    closure: ClosureOut | None
    amendments: list[AmendmentOut] = Field(description="Oldest first.")


class ReportContent(_ProjectAnswer):
    """One revision of a period's report, with its cells as sent."""

    report_id: UUID
    period: Period
    revision: int = Field(ge=1)
    current_revision: int = Field(ge=1, description="The period's revision that counts now.")
    submitted_by: str
    submitted_at: Timestamp
    reason: str | None
    cells: list[Cell]


class SheetOut(_Answer):
    id: str
    name: str
    start: date
    targets: list[Target]


class RegionOut(_Answer):
    insee_code: str
    name: str
    population: int
    population_year: int


class CodeOut(_Answer):
    code: str
    label: str


class CatalogOut(_Answer):
    """What a client builds its forms and checks from."""

    version: str
    population_vintage: str
    sheets: list[SheetOut]
    levels: list[CodeOut]
    regions: list[RegionOut]
    audiences: list[CodeOut]
    kinds: list[CellKind]
    sexes: list[Sex]
    periods: list[Period] = Field(description="The periods begun by today, oldest first.")

    @classmethod
    def of(cls, catalog: Catalog, periods: list[str]) -> CatalogOut:
        return cls(
            version=catalog.version,
            population_vintage=catalog.population_vintage,
            sheets=[
                SheetOut(id=s.id, name=s.name, start=s.start, targets=s.targets)
                for s in catalog.sheets.values()
            ],
            levels=[CodeOut(code=lv.code, label=lv.label) for lv in catalog.levels.values()],
            regions=[
                RegionOut(
                    insee_code=r.insee_code,
                    name=r.name,
                    population=r.population,
                    population_year=r.population_year,
                )
                for r in catalog.regions.values()
            ],
            audiences=[CodeOut(code=a.code, label=a.label) for a in catalog.audiences.values()],
            kinds=list(CellKind),
            sexes=list(Sex),
            periods=periods,
        )
