"""The services' public answers as their clients read them: the union of the fields the bilan
and the portal use (fields the services add later are ignored).
`tests/contract/test_portal_client.py` checks each model's fields against the answer schema
in the service's OpenAPI."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Selector(Answer):
    kind: str
    levels: list[str] | None = None
    audience: str | None = None


class Forecast(Answer):
    status: str
    reached_on: date | None
    pace_per_semester: float | None
    semesters_late: int | None


class TargetProgress(Answer):
    target_id: str
    label: str
    selector: Selector
    actual: int
    target: int
    progress: float
    expected: float
    expected_actual: int
    horizon: date
    behind: bool
    forecast: Forecast


class SheetProgress(Answer):
    sheet: str
    name: str
    as_of: date
    totals: dict[str, int]
    targets: list[TargetProgress]


class ProjectProgress(Answer):
    project_id: UUID
    sheet: str
    name: str
    as_of: date
    totals: dict[str, int]
    by_period: dict[str, dict[str, int]]
    by_level: dict[str, dict[str, int]]
    by_region: dict[str, dict[str, int]]
    commitments: list[TargetProgress]


class RegionsCovered(Answer):
    covered: list[str]
    uncovered: list[str]
    uncovered_population_share: float


class Coverage(Answer):
    sheet: str | None
    population_vintage: str
    funded: RegionsCovered
    delivered: RegionsCovered


class Milestone(Answer):
    project_id: UUID
    project_name: str
    sheet: str
    regions: list[str]
    milestone_id: str
    title: str
    due_date: date
    status: str
    completed_on: date | None
    quantitative: bool


class MilestoneList(Answer):
    milestones: list[Milestone]


class OverdueReport(Answer):
    project_id: UUID
    project_name: str
    sheet: str
    period: str
    deadline: date


class OverdueReports(Answer):
    overdue_reports: list[OverdueReport]


class AlertView(Answer):
    status: str
    kind: str
    severity: str
    project_id: UUID
    project_name: str
    sheet: str
    subject: str
    summary: str
    started_at: datetime
    resolved_at: datetime | None


class AlertPage(Answer):
    alerts: list[AlertView]
    next_cursor: str | None


class ProjectSummary(Answer):
    project_id: UUID
    sheet: str
    wave: str
    name: str
    lead: str
    regions: list[str]
    start_date: date
    end_date: date
    funding_eur: int | None
    status: str
    closed_on: date | None


class ProjectPage(Answer):
    items: list[ProjectSummary]
    next_cursor: str | None
