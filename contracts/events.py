"""Event envelope and payloads. Frozen, `extra="forbid"`: a field nobody declared is a bug.

Adding an optional field is compatible; anything else needs a new topic version.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.indicators import Target
from contracts.reports import Cell, Period


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MilestoneSpec(_Frozen):
    milestone_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    title: str = Field(min_length=1, max_length=200)
    due_date: date
    criterion: Target | None = None  # quantitative milestone: met when the selector reaches value


class ProjectRegisteredPayload(_Frozen):
    sheet: str
    wave: str
    name: str
    lead: str
    regions: tuple[str, ...]
    start_date: date
    end_date: date
    funding_eur: int | None
    commitments: tuple[Target, ...]
    api_token_sha256: str  # lets every service authenticate the project without intake's tables


class IndicatorReportSubmittedPayload(_Frozen):
    """A full replacement of one project's period: the cells of `revision` replace any earlier."""

    report_id: UUID
    period: Period
    revision: int = Field(ge=1)
    submitted_by: str
    submitted_at: datetime
    reason: str | None
    cells: tuple[Cell, ...]


class MilestoneDeclaredPayload(_Frozen):
    milestone: MilestoneSpec
    reason: str | None = None  # set when this declaration reschedules an existing milestone


class MilestoneCompletedPayload(_Frozen):
    milestone_id: str
    completed_on: date
    evidence: str | None
    declared_by: str


class _Envelope(_Frozen):
    event_id: UUID
    schema_version: Literal[1] = 1
    occurred_at: datetime
    producer: str
    project_id: UUID


class ProjectRegistered(_Envelope):
    type: Literal["project.registered"] = "project.registered"
    payload: ProjectRegisteredPayload


class IndicatorReportSubmitted(_Envelope):
    type: Literal["indicator_report.submitted"] = "indicator_report.submitted"
    payload: IndicatorReportSubmittedPayload


class MilestoneDeclared(_Envelope):
    type: Literal["milestone.declared"] = "milestone.declared"
    payload: MilestoneDeclaredPayload


class MilestoneCompleted(_Envelope):
    type: Literal["milestone.completed"] = "milestone.completed"
    payload: MilestoneCompletedPayload


Event = Annotated[
    ProjectRegistered | IndicatorReportSubmitted | MilestoneDeclared | MilestoneCompleted,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[type[_Envelope], ...] = (
    ProjectRegistered,
    IndicatorReportSubmitted,
    MilestoneDeclared,
    MilestoneCompleted,
)
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: bytes) -> Event:
    """Decode one message value; raises pydantic.ValidationError on anything malformed."""
    return event_adapter.validate_json(raw)
