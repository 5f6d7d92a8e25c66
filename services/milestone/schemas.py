"""The HTTP answers of the milestone API, mapped from the read models of `queries.py`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from contracts.events import MilestoneStatus
from services.milestone.queries import MilestoneState, OverdueReport, Transition


class MilestoneOut(BaseModel):
    project_id: UUID
    project_name: str
    sheet: str
    regions: list[str]
    milestone_id: str
    title: str
    due_date: date
    status: MilestoneStatus
    completed_on: date | None = Field(description="null: not declared complete")
    quantitative: bool

    @classmethod
    def of(cls, state: MilestoneState) -> MilestoneOut:
        return cls.model_validate(state, from_attributes=True)


class TransitionOut(BaseModel):
    project_id: UUID
    milestone_id: str
    seq: int = Field(description="1 for the milestone's first status change, then 2, …")
    previous: MilestoneStatus
    status: MilestoneStatus
    changed_at: datetime

    @classmethod
    def of(cls, transition: Transition) -> TransitionOut:
        return cls.model_validate(transition, from_attributes=True)


class OverdueReportOut(BaseModel):
    project_id: UUID
    project_name: str
    sheet: str
    period: str = Field(examples=["2025-S1"])
    deadline: date = Field(description="The semester's last day plus the grace period.")
    detected_at: datetime

    @classmethod
    def of(cls, report: OverdueReport) -> OverdueReportOut:
        return cls.model_validate(report, from_attributes=True)


class MilestoneList(BaseModel):
    milestones: list[MilestoneOut]

    @classmethod
    def of(cls, states: Iterable[MilestoneState]) -> MilestoneList:
        return cls(milestones=[MilestoneOut.of(s) for s in states])


class ProjectTimeline(BaseModel):
    project_id: UUID
    milestones: list[MilestoneOut]
    transitions: list[TransitionOut] = Field(description="Oldest first.")

    @classmethod
    def of(
        cls,
        project_id: UUID,
        states: Iterable[MilestoneState],
        transitions: Iterable[Transition],
    ) -> ProjectTimeline:
        return cls(
            project_id=project_id,
            milestones=[MilestoneOut.of(s) for s in states],
            transitions=[TransitionOut.of(t) for t in transitions],
        )


class OverdueReports(BaseModel):
    overdue_reports: list[OverdueReportOut]

    @classmethod
    def of(cls, reports: Iterable[OverdueReport]) -> OverdueReports:
        return cls(overdue_reports=[OverdueReportOut.of(r) for r in reports])
