"""The services' answers as the portal reads them (the fields it uses; fields the services
add later are ignored), and the bodies it sends. `tests/contract/test_portal_client.py` checks
each model's fields against the answer schema in the service's OpenAPI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.portal.domain import french_error


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Identity(_Answer):
    role: str
    project_id: UUID | None


class Selector(_Answer):
    kind: str
    levels: list[str] | None = None
    audience: str | None = None


class Forecast(_Answer):
    status: str
    reached_on: date | None
    semesters_late: int | None


class TargetProgress(_Answer):
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


class SheetProgress(_Answer):
    sheet: str
    name: str
    as_of: date
    totals: dict[str, int]
    targets: list[TargetProgress]


class AllSheetsProgress(_Answer):
    as_of: date
    sheets: list[SheetProgress]


class ProjectProgress(_Answer):
    project_id: UUID
    sheet: str
    name: str
    as_of: date
    totals: dict[str, int]
    by_period: dict[str, dict[str, int]]
    by_level: dict[str, dict[str, int]]
    by_region: dict[str, dict[str, int]]
    commitments: list[TargetProgress]


class RegionsCovered(_Answer):
    covered: list[str]
    uncovered: list[str]
    uncovered_population_share: float


class Coverage(_Answer):
    sheet: str | None
    population_vintage: str
    funded: RegionsCovered
    delivered: RegionsCovered


class Milestone(_Answer):
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


class MilestoneList(_Answer):
    milestones: list[Milestone]


class SheetSummary(_Answer):
    sheet: str
    projects: int
    milestones: dict[str, int]
    overdue_reports: int


class Summary(_Answer):
    sheets: list[SheetSummary]


class Transition(_Answer):
    milestone_id: str
    previous: str
    status: str
    changed_at: datetime


class ProjectTimeline(_Answer):
    project_id: UUID
    milestones: list[Milestone]
    transitions: list[Transition]


class OverdueReport(_Answer):
    project_id: UUID
    project_name: str
    sheet: str
    period: str
    deadline: date


class OverdueReports(_Answer):
    overdue_reports: list[OverdueReport]


class ReportRevision(_Answer):
    revision: int
    submitted_by: str
    submitted_at: datetime
    reason: str | None
    cells: int


class PeriodHistory(_Answer):
    period: str
    revisions: list[ReportRevision]
    current_revision: int


class ReportHistory(_Answer):
    project_id: UUID
    periods: list[PeriodHistory]


class CellIn(_Answer):
    kind: str
    level: str
    region: str
    sex: str | None = None
    audience: str | None = None
    count: int


class ReportContent(_Answer):
    period: str
    revision: int
    current_revision: int
    submitted_at: datetime
    reason: str | None
    cells: list[CellIn]


class ReportAccepted(_Answer):
    project_id: UUID
    period: str
    revision: int
    cells: int


class ReportWarning(_Answer):
    rule: str
    message: str


class CountChange(_Answer):
    kind: str
    current: int
    proposed: int
    change: int


class PlaceChange(CountChange):
    level: str
    region: str


class ReportDifference(_Answer):
    by_kind: list[CountChange]
    by_level_and_region: list[PlaceChange]


class ReportDryRun(_Answer):
    period: str
    current_revision: int | None
    cells: list[dict[str, object]]
    difference: ReportDifference
    warnings: list[ReportWarning]


@dataclass(frozen=True)
class Upload:
    """A report file as the project chose it, kept in its session between the dry run and
    the confirmation (never on disk)."""

    content: bytes = field(repr=False)
    media_type: str
    filename: str
    period: str
    reason: str | None


class ProjectCreated(_Answer):
    project_id: UUID
    api_token: str


class MilestoneCompleted(_Answer):
    project_id: UUID
    milestone_id: str
    completed_on: date


class Channel(_Answer):
    type: str
    url: str | None = None
    address: str | None = None


class Filters(_Answer):
    sheets: list[str]
    projects: list[UUID]
    regions: list[str]
    kinds: list[str]
    min_severity: str


class Subscription(_Answer):
    subscription_id: UUID
    name: str
    owner_project_id: UUID | None
    channel: Channel
    filters: Filters
    repeat_interval_seconds: int
    created_at: datetime
    paused: bool


class SubscriptionCreated(Subscription):
    """A subscription as its creation or change answers it: with the webhook key that made,
    if any (shown once)."""

    secret: str | None


class Alert(_Answer):
    status: str
    kind: str
    severity: str
    summary: str


class Delivery(_Answer):
    delivery_id: UUID
    subscription_id: UUID
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    alerts: list[Alert]


class AlertView(_Answer):
    status: str
    kind: str
    severity: str
    project_id: UUID
    project_name: str
    sheet: str
    summary: str
    started_at: datetime
    resolved_at: datetime | None


class AlertPage(_Answer):
    alerts: list[AlertView]
    next_cursor: str | None


class ProjectSummary(_Answer):
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


class ProjectPage(_Answer):
    items: list[ProjectSummary]
    next_cursor: str | None


class Closure(_Answer):
    status: str
    on: date
    reason: str


class Amendment(_Answer):
    amendment: int
    amended_by: str
    amended_at: datetime
    reason: str


class Project(ProjectSummary):
    created_at: datetime
    closure: Closure | None
    amendments: list[Amendment]


class QueuedReview(_Answer):
    project_id: UUID
    project_name: str
    sheet: str
    period: str
    revision: int
    status: str
    submitted_at: datetime
    reason: str | None
    cells: int
    totals: dict[str, int]
    difference: dict[str, int] | None


class ReviewQueue(_Answer):
    reviews: list[QueuedReview]


class FieldProblem(_Answer):
    """One entry of a 422 problem's `errors`."""

    loc: list[str | int]
    msg: str
    type: str = ""

    @property
    def french(self) -> str:
        return french_error(self.type, self.msg)


class Problem(_Answer):
    status: int
    detail: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
