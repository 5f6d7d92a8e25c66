"""The HTTP answers of the milestone API, mapped from the read models of `queries.py`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from contracts.events import MilestoneStatus
from services.milestone.queries import Counts, MilestoneState, OverdueReport, Transition


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


class SheetSummary(BaseModel):
    sheet: str
    projects: int = Field(description="Projects known to the milestone service.")
    milestones: dict[MilestoneStatus, int] = Field(description="Milestones by status.")
    overdue_reports: int = Field(description="Semesters overdue and not yet reported.")


class Summary(BaseModel):
    """Counts for a dashboard: one small answer however many projects there are."""

    sheets: list[SheetSummary] = Field(description="Sheets with at least one project, sorted.")

    @classmethod
    def of(cls, counts: Counts) -> Summary:
        sheets = sorted(set(counts.projects) | {s for s, _ in counts.milestones})
        return cls(
            sheets=[
                SheetSummary(
                    sheet=sheet,
                    projects=counts.projects.get(sheet, 0),
                    milestones={st: n for (s, st), n in counts.milestones.items() if s == sheet},
                    overdue_reports=counts.overdue_reports.get(sheet, 0),
                )
                for sheet in sheets
            ]
        )
