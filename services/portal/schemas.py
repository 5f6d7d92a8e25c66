"""The services' answers as the portal reads them (the fields it uses; fields the services
add later are ignored; the ones the bilan reads too are shared from services/apiclient/answers.py),
and the bodies it sends. `tests/contract/test_portal_client.py` checks
each model's fields against the answer schema in the service's OpenAPI."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from pydantic import Field

from services.apiclient.answers import Answer, Milestone, ProjectSummary, SheetProgress
from services.portal.domain import french_error


class Identity(Answer):
    role: str
    project_id: UUID | None


class AllSheetsProgress(Answer):
    as_of: date
    sheets: list[SheetProgress]


class SheetSummary(Answer):
    sheet: str
    projects: int
    milestones: dict[str, int]
    overdue_reports: int


class Summary(Answer):
    sheets: list[SheetSummary]


class Transition(Answer):
    milestone_id: str
    previous: str
    status: str
    changed_at: datetime


class ProjectTimeline(Answer):
    project_id: UUID
    milestones: list[Milestone]
    transitions: list[Transition]


class ReportRevision(Answer):
    revision: int
    submitted_by: str
    submitted_at: datetime
    reason: str | None
    cells: int


class PeriodHistory(Answer):
    period: str
    revisions: list[ReportRevision]
    current_revision: int


class ReportHistory(Answer):
    project_id: UUID
    periods: list[PeriodHistory]


class CellIn(Answer):
    kind: str
    level: str
    region: str
    sex: str | None = None
    audience: str | None = None
    count: int


class ReportContent(Answer):
    period: str
    revision: int
    current_revision: int
    submitted_at: datetime
    reason: str | None
    cells: list[CellIn]


class ReportAccepted(Answer):
    project_id: UUID
    period: str
    revision: int
    cells: int


class ReportWarning(Answer):
    rule: str
    message: str


class CountChange(Answer):
    kind: str
    current: int
    proposed: int
    change: int


class PlaceChange(CountChange):
    level: str
    region: str


class ReportDifference(Answer):
    by_kind: list[CountChange]
    by_level_and_region: list[PlaceChange]


class ReportDryRun(Answer):
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


class ProjectCreated(Answer):
    project_id: UUID
    api_token: str


class MilestoneCompleted(Answer):
    project_id: UUID
    milestone_id: str
    completed_on: date


class Channel(Answer):
    type: str
    url: str | None = None
    address: str | None = None


class Filters(Answer):
    sheets: list[str]
    projects: list[UUID]
    regions: list[str]
    kinds: list[str]
    min_severity: str


class Subscription(Answer):
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


class Alert(Answer):
    status: str
    kind: str
    severity: str
    summary: str


class Delivery(Answer):
    delivery_id: UUID
    subscription_id: UUID
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    alerts: list[Alert]


class Closure(Answer):
    status: str
    on: date
    reason: str


class Amendment(Answer):
    amendment: int
    amended_by: str
    amended_at: datetime
    reason: str


class Project(ProjectSummary):
    created_at: datetime
    closure: Closure | None
    amendments: list[Amendment]


class QueuedReview(Answer):
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


class ReviewQueue(Answer):
    reviews: list[QueuedReview]


class FieldProblem(Answer):
    """One entry of a 422 problem's `errors`."""

    loc: list[str | int]
    msg: str
    type: str = ""

    @property
    def french(self) -> str:
        return french_error(self.type, self.msg)


class Problem(Answer):
    status: int
    detail: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
