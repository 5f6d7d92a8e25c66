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

from contracts.events import MILESTONE_ID_PATTERN
from contracts.reports import Period
from services.intake.anomalies import ArrivalWarning
from services.intake.anomalies import Rule as ArrivalRule
from services.intake.domain import ReportRevision
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


class ReportFormat(StrEnum):
    """The media types a report may come in; the value names it in metrics."""

    JSON = "json"
    CSV = "csv"

    @classmethod
    def of(cls, content_type: str) -> ReportFormat:
        """`content_type` as the header gives it (parameters such as `charset` ignored)."""
        media_type = content_type.split(";")[0].strip().lower()
        if media_type == "application/json":
            return cls.JSON
        if media_type == "text/csv":
            return cls.CSV
        raise UnsupportedMediaType("send application/json or text/csv")


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


def _fields(r: ReportRevision) -> dict[str, object]:
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


class MilestonesDeclared(_ProjectAnswer):
    declared: list[MilestoneId] = Field(description="The milestones of the request, in order.")


class MilestoneCompletionOut(_ProjectAnswer):
    milestone_id: MilestoneId
    completed_on: date


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
