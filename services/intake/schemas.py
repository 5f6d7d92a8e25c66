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
from contracts.events import (
    EMAIL_PATTERN,
    MILESTONE_ID_PATTERN,
    AmendmentChanges,
    MilestoneSpec,
    ProjectStatus,
)
from contracts.indicators import CellKind, Sex, Target
from contracts.reports import Cell, Period
from contracts.text import Text
from services.intake.anomalies import ArrivalWarning
from services.intake.anomalies import Rule as ArrivalRule
from services.intake.domain import (
    CountChange,
    QueuedRevision,
    ReportCheck,
    ReportRevision,
    Review,
    ReviewStatus,
    StaffToken,
)
from services.runtime.auth import Caller
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
    submitted_by: str = Field(description="`staff`, `name <email>` or `project:<project_id>`")
    submitted_at: Timestamp
    reason: str | None
    cells: int = Field(ge=1, description="How many cells the report holds.")


def _fields(r: ReportRevision | CountChange) -> dict[str, object]:
    return {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}


class ReportRevisionOut(_RevisionFields):
    review_status: ReviewStatus = Field(
        description="`submitted`, `approved` or `returned` by a programme officer."
    )
    reviewed_by: str | None
    reviewed_at: Timestamp | None
    review_comment: str | None = Field(description="Why it was returned (or approved).")

    @classmethod
    def of(cls, r: ReportRevision, review: Review) -> ReportRevisionOut:
        return cls.model_validate(
            _fields(r)
            | {
                "review_status": review.status,
                "reviewed_by": review.reviewed_by,
                "reviewed_at": review.reviewed_at,
                "review_comment": review.comment,
            }
        )


class ReportWarning(_Answer):
    """A check on arrival the report tripped: it was taken all the same (docs/insight.md)."""

    rule: ArrivalRule
    message: str = Field(description="In French, for the project.")


class ReportAccepted(_RevisionFields, _ProjectAnswer):
    """The answer to a report, and to every retry of it with the same Idempotency-Key."""

    warnings: list[ReportWarning] = Field(
        default=[], description="Checks on arrival tripped (a retry answers the same)."
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
    def of(
        cls, project_id: UUID, revisions: Iterable[tuple[ReportRevision, Review]]
    ) -> ReportHistory:
        """`revisions` ordered by period, then revision, each with its review."""
        periods: dict[str, list[ReportRevisionOut]] = {}
        for r, review in revisions:
            periods.setdefault(r.period, []).append(ReportRevisionOut.of(r, review))
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
    registered_by: str | None = Field(
        description="Who registered it: `staff`, `name <email>`; null if not recorded"
    )
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


ByKind = dict[CellKind, int]


class ReviewOut(_ProjectAnswer):
    """A revision's review state (docs/review.md)."""

    report_id: UUID
    period: Period
    revision: int = Field(ge=1)
    status: ReviewStatus = Field(description="`submitted` until a programme officer decides.")
    reviewed_by: str | None = Field(description="Who decided; null while `submitted`.")
    reviewed_at: Timestamp | None
    comment: str | None = Field(description="The officer's comment (required to return).")

    @classmethod
    def of(cls, project_id: UUID, r: ReportRevision, review: Review) -> ReviewOut:
        return cls(
            project_id=project_id,
            report_id=r.report_id,
            period=r.period,
            revision=r.revision,
            status=review.status,
            reviewed_by=review.reviewed_by,
            reviewed_at=review.reviewed_at,
            comment=review.comment,
        )


class QueuedReview(ReviewOut):
    """A period's latest revision awaiting (or having had) a decision."""

    project_name: str
    sheet: str
    submitted_by: str
    submitted_at: Timestamp
    reason: str | None
    cells: int = Field(ge=1)
    totals: ByKind = Field(description="People by kind in this revision.")
    difference: ByKind | None = Field(
        description="This revision's totals minus those of the revision it supersedes; "
        "null for a period's first revision."
    )
    warnings: list[ReportWarning] = Field(description="Checks on arrival it tripped.")

    @classmethod
    def of_queued(cls, q: QueuedRevision) -> QueuedReview:
        r = q.revision
        return cls(
            **ReviewOut.of(q.project_id, r, q.review).model_dump(),
            project_name=q.project_name,
            sheet=q.sheet,
            submitted_by=r.submitted_by,
            submitted_at=r.submitted_at,
            reason=r.reason,
            cells=r.cells,
            totals=q.totals,
            difference=q.difference,
            warnings=[ReportWarning(rule=ArrivalRule(rule), message=m) for rule, m in q.warnings],
        )


class ReviewQueue(_Answer):
    status: ReviewStatus
    reviews: list[QueuedReview] = Field(description="Oldest submission first.")

    @classmethod
    def of(cls, status: ReviewStatus, queued: Iterable[QueuedRevision]) -> ReviewQueue:
        return cls(status=status, reviews=[QueuedReview.of_queued(q) for q in queued])


# Tokens: a project's replaced, named staff tokens issued, listed and revoked.


class ProjectTokenOut(_ProjectAnswer):
    api_token: str = Field(
        description="Shown once; only its SHA-256 is stored. The previous token is refused "
        "by every service within 5 seconds."
    )


class StaffTokenIn(BaseModel):
    """The body of `POST /v1/staff-tokens`: the person the token is for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Text = Field(min_length=1, max_length=100)
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    admin: bool = Field(
        default=False, strict=True, description="May issue and revoke staff tokens."
    )


class StaffTokenOut(_Answer):
    token_id: UUID
    name: str
    email: str
    admin: bool
    issued_at: Timestamp
    issued_by: str = Field(description="Who issued it: `staff` or `name <email>`")
    revoked_at: Timestamp | None
    revoked_by: str | None

    @classmethod
    def of(cls, token: StaffToken) -> StaffTokenOut:
        return cls.model_validate(dataclasses.asdict(token))


class StaffTokenCreated(StaffTokenOut):
    api_token: str = Field(description="Shown once; only its SHA-256 is stored.")

    @classmethod
    def issued(cls, token: StaffToken, api_token: str) -> StaffTokenCreated:
        return cls.model_validate({**dataclasses.asdict(token), "api_token": api_token})


class StaffTokenList(_Answer):
    items: list[StaffTokenOut] = Field(description="Oldest first, revoked ones included.")


class SilenceIn(BaseModel):
    """Why the rule flags this project's reports wrongly (kept with the silence)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    reason: Text = Field(min_length=1, max_length=500)


class SilencedCheck(_Answer):
    rule: ArrivalRule
    reason: str
    silenced_by: str = Field(description="`staff` (or the staff member's name).")
    silenced_at: Timestamp


class SilencedChecks(_ProjectAnswer):
    """The arrival rules this project's reports are not checked against."""

    checks: list[SilencedCheck]


class Role(StrEnum):
    STAFF = "staff"
    PROJECT = "project"


class Identity(_Answer):
    """Who a token is: what a client (the portal) needs to know after a sign-in."""

    role: Role
    project_id: UUID | None = Field(description="The project of a project token; null: staff.")

    @classmethod
    def of(cls, caller: Caller) -> Identity:
        role = Role.STAFF if caller.staff else Role.PROJECT
        return cls(role=role, project_id=caller.project_id)
