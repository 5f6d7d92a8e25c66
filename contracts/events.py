"""Event envelope and payloads. Frozen, `extra="forbid"`: a field nobody declared is a bug.

Adding an optional field is compatible; anything else needs a new topic version.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.indicators import Target
from contracts.reports import Cell, Period, ReviewDecision
from contracts.text import Text


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


T = TypeVar("T")

MILESTONE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_EMAIL_PART = r"[^@\s<>\x00-\x1f\x7f-\x9f]+"
EMAIL_PATTERN = rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"  # a sanity check, not RFC 5322


class MilestoneSpec(_Frozen):
    milestone_id: Annotated[str, Field(pattern=MILESTONE_ID_PATTERN)]
    title: Text = Field(min_length=1, max_length=200)
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


class ReportReviewedPayload(_Frozen):
    """A programme officer's decision on one revision of a period. It carries the revision's
    cells, so the approved reading is a function of the reports topic alone."""

    report_id: UUID
    period: Period
    revision: int = Field(ge=1)
    decision: ReviewDecision
    comment: str | None
    reviewed_by: str
    reviewed_at: datetime
    cells: tuple[Cell, ...]


class MilestoneDeclaredPayload(_Frozen):
    milestone: MilestoneSpec
    reason: str | None = None  # set when this declaration reschedules an existing milestone


class MilestoneCompletedPayload(_Frozen):
    milestone_id: str
    completed_on: date
    evidence: str | None
    declared_by: str


class ProjectStatus(StrEnum):
    """A project runs (`active`) until staff close it as `completed` or `abandoned`."""

    ACTIVE = "active"
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class Change(_Frozen, Generic[T]):
    """One amended field: its value before and after."""

    before: T
    after: T


class CommitmentChange(_Frozen):
    before: Target
    after: Target


class AmendmentChanges(_Frozen):
    """What one amendment changed; a field left out did not change."""

    name: Change[str] | None = None
    lead: Change[str] | None = None
    end_date: Change[date] | None = None
    funding_eur: Change[int | None] | None = None
    regions: Change[tuple[str, ...]] | None = None
    commitments_added: tuple[Target, ...] = ()
    commitments_changed: tuple[CommitmentChange, ...] = ()
    commitments_withdrawn: tuple[Target, ...] = ()


class ProjectAmendedPayload(_Frozen):
    """An amendment by staff: what changed, and the amendable fields as they now stand (a
    consumer sets them, whatever it held)."""

    amendment: int = Field(ge=1, description="1 for a project's first amendment, then 2, 3…")
    amended_by: str
    reason: str
    changes: AmendmentChanges
    name: str
    lead: str
    end_date: date
    funding_eur: int | None
    regions: tuple[str, ...]
    commitments: tuple[Target, ...]


class ProjectClosedPayload(_Frozen):
    """Closed from `on`: no longer funded for coverage, open milestones cancelled, no report
    due for a period after `on`; its figures stay in the totals."""

    status: Literal[ProjectStatus.COMPLETED, ProjectStatus.ABANDONED]
    on: date
    reason: str
    closed_by: str


class TotalsRow(_Frozen):
    kind: str
    level: str
    audience: str | None
    count: int = Field(ge=0)


class ProjectTotalsChangedPayload(_Frozen):
    """A project's totals over its latest revisions, summed by kind, level and audience.
    `version` grows with every change: a consumer keeps the highest it has seen."""

    version: int = Field(ge=1)
    totals: tuple[TotalsRow, ...]


class MilestoneStatus(StrEnum):
    PENDING = "pending"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    MET = "met"
    MET_LATE = "met_late"
    CANCELLED = "cancelled"  # terminal: its project closed before it was met


class ProjectContext(_Frozen):
    """Who a status event is about, so subscribers can filter without another lookup."""

    name: str
    sheet: str
    regions: tuple[str, ...]


class MilestoneStatusChangedPayload(_Frozen):
    milestone_id: str
    title: str
    due_date: date
    quantitative: bool
    previous: MilestoneStatus
    status: MilestoneStatus
    changed_at: datetime
    project: ProjectContext


class ReportOverduePayload(_Frozen):
    period: Period
    deadline: date
    project: ProjectContext


class ReportOverdueClearedPayload(_Frozen):
    period: Period
    cleared_at: datetime
    project: ProjectContext


class ConditionKind(StrEnum):
    """Alert conditions evaluated outside the milestone service (docs/insight.md)."""

    COMMITMENT_BEHIND = "commitment_behind"
    TARGET_BEHIND = "target_behind"
    PROJECT_STALE = "project_stale"
    REPORT_ANOMALY = "report_anomaly"
    REPORT_RETURNED = "report_returned"


SHEET_SUBJECT = UUID(int=0)
"""The `project_id` of a condition about a whole sheet (`target_behind`): no project."""


class ConditionChangedPayload(_Frozen):
    """A condition started (`firing`) or stopped holding; `subject` tells which one of the
    project's (a commitment id, a target id, `reports`, `<period>/<rule>`)."""

    kind: ConditionKind
    firing: bool
    subject: Annotated[str, Field(min_length=1, max_length=120)]
    summary: str
    details: dict[str, str]
    project: ProjectContext


# Tokens: who may call the APIs. Every service keeps its own copy of the hashes; a token
# replaced or revoked is refused by every process within seconds (docs/security.md, Tokens).


class ProjectTokenRotatedPayload(_Frozen):
    """The project's token was replaced: `revoked_token_sha256` is refused from now on."""

    api_token_sha256: str
    revoked_token_sha256: str
    rotated_by: str


class Person(_Frozen):
    """Whom a named staff token belongs to: records of who did what show this person."""

    name: Text = Field(min_length=1, max_length=100)
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)


class StaffTokenIssuedPayload(_Frozen):
    token_sha256: str
    person: Person
    admin: bool  # a staff admin may issue and revoke staff tokens
    issued_by: str


class StaffTokenRevokedPayload(_Frozen):
    token_sha256: str
    revoked_by: str


class EventEnvelope(_Frozen):
    event_id: UUID
    schema_version: Literal[1] = 1
    occurred_at: datetime
    producer: str

    @property
    def partition_key(self) -> UUID:
        """What the event is keyed by on its topic (its subject's events stay in order)."""
        raise NotImplementedError  # each envelope below names its subject


class Envelope(EventEnvelope):
    project_id: UUID

    @property
    def partition_key(self) -> UUID:
        return self.project_id


class StaffTokenEnvelope(EventEnvelope):
    """Events about a named staff token, keyed by the token (not about a project)."""

    token_id: UUID

    @property
    def partition_key(self) -> UUID:
        return self.token_id


class ProjectRegistered(Envelope):
    type: Literal["project.registered"] = "project.registered"
    payload: ProjectRegisteredPayload


class ProjectAmended(Envelope):
    type: Literal["project.amended"] = "project.amended"
    payload: ProjectAmendedPayload


class ProjectClosed(Envelope):
    type: Literal["project.closed"] = "project.closed"
    payload: ProjectClosedPayload


class IndicatorReportSubmitted(Envelope):
    type: Literal["indicator_report.submitted"] = "indicator_report.submitted"
    payload: IndicatorReportSubmittedPayload


class ReportReviewed(Envelope):
    type: Literal["report.reviewed"] = "report.reviewed"
    payload: ReportReviewedPayload


class MilestoneDeclared(Envelope):
    type: Literal["milestone.declared"] = "milestone.declared"
    payload: MilestoneDeclaredPayload


class MilestoneCompleted(Envelope):
    type: Literal["milestone.completed"] = "milestone.completed"
    payload: MilestoneCompletedPayload


class ProjectTotalsChanged(Envelope):
    type: Literal["project.totals_changed"] = "project.totals_changed"
    payload: ProjectTotalsChangedPayload


class MilestoneStatusChanged(Envelope):
    type: Literal["milestone.status_changed"] = "milestone.status_changed"
    payload: MilestoneStatusChangedPayload


class ReportOverdue(Envelope):
    type: Literal["report.overdue"] = "report.overdue"
    payload: ReportOverduePayload


class ReportOverdueCleared(Envelope):
    type: Literal["report.overdue_cleared"] = "report.overdue_cleared"
    payload: ReportOverdueClearedPayload


class ConditionChanged(Envelope):
    type: Literal["condition.changed"] = "condition.changed"
    payload: ConditionChangedPayload


class ProjectTokenRotated(Envelope):
    type: Literal["project.token_rotated"] = "project.token_rotated"
    payload: ProjectTokenRotatedPayload


class StaffTokenIssued(StaffTokenEnvelope):
    type: Literal["staff_token.issued"] = "staff_token.issued"
    payload: StaffTokenIssuedPayload


class StaffTokenRevoked(StaffTokenEnvelope):
    type: Literal["staff_token.revoked"] = "staff_token.revoked"
    payload: StaffTokenRevokedPayload


ProjectEvent = (
    ProjectRegistered
    | ProjectAmended
    | ProjectClosed
    | IndicatorReportSubmitted
    | MilestoneDeclared
    | MilestoneCompleted
    | ProjectTotalsChanged
    | MilestoneStatusChanged
    | ReportOverdue
    | ReportOverdueCleared
    | ConditionChanged
    | ReportReviewed
    | ProjectTokenRotated
)
"""Events about one project (keyed by it): what a service's own handlers apply."""
StaffTokenEvent = StaffTokenIssued | StaffTokenRevoked
Event = Annotated[ProjectEvent | StaffTokenEvent, Field(discriminator="type")]
EVENT_TYPES: tuple[type[EventEnvelope], ...] = (
    ProjectRegistered,
    ProjectAmended,
    ProjectClosed,
    IndicatorReportSubmitted,
    MilestoneDeclared,
    MilestoneCompleted,
    ProjectTotalsChanged,
    MilestoneStatusChanged,
    ReportOverdue,
    ReportOverdueCleared,
    ConditionChanged,
    ReportReviewed,
    ProjectTokenRotated,
    StaffTokenIssued,
    StaffTokenRevoked,
)
event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: bytes) -> Event:
    """Decode one message value; raises pydantic.ValidationError on anything malformed."""
    return event_adapter.validate_json(raw)
