"""Every event the tests build directly, as its producing service would publish it: one
builder per event type, keyword arguments for what a test cares about, plausible values for
the rest (a cloud project in region 84, at the fake clock's start)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from contracts.events import (
    AmendmentChanges,
    IndicatorReportSubmitted,
    IndicatorReportSubmittedPayload,
    MilestoneCompleted,
    MilestoneCompletedPayload,
    MilestoneDeclared,
    MilestoneDeclaredPayload,
    MilestoneSpec,
    MilestoneStatus,
    MilestoneStatusChanged,
    MilestoneStatusChangedPayload,
    Person,
    ProjectAmended,
    ProjectAmendedPayload,
    ProjectClosed,
    ProjectClosedPayload,
    ProjectContext,
    ProjectRegistered,
    ProjectRegisteredPayload,
    ProjectStatus,
    ProjectTokenRotated,
    ProjectTokenRotatedPayload,
    ProjectTotalsChanged,
    ProjectTotalsChangedPayload,
    ReportOverdue,
    ReportOverdueCleared,
    ReportOverdueClearedPayload,
    ReportOverduePayload,
    ReportReviewed,
    ReportReviewedPayload,
    StaffTokenIssued,
    StaffTokenIssuedPayload,
    StaffTokenRevoked,
    StaffTokenRevokedPayload,
    TotalsRow,
)
from contracts.indicators import Target
from contracts.reports import Cell, ReviewDecision
from services.runtime.auth import hash_token

AT = datetime(2025, 9, 1, 12, tzinfo=UTC)
"""When events happen unless a test says otherwise: the fake clock's start."""
NUAGE = ProjectContext(name="Nuage", sheet="cloud", regions=("84",))


def _envelope(
    project_id: uuid.UUID, at: datetime, event_id: uuid.UUID | None, producer: str
) -> dict[str, Any]:
    return {
        "event_id": event_id or uuid.uuid4(),
        "occurred_at": at,
        "producer": producer,
        "project_id": project_id,
    }


def project_registered(
    project_id: uuid.UUID,
    *,
    token: str = "cmap_project-token-for-tests",
    token_sha256: str | None = None,
    name: str = "Nuage",
    regions: Sequence[str] = ("84",),
    commitments: Sequence[Target] = (),
    funding_eur: int | None = None,
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> ProjectRegistered:
    """Project `name` (cloud, wave saison-1, 2023-2027) registered with API token `token`."""
    payload = ProjectRegisteredPayload(
        sheet="cloud",
        wave="saison-1",
        name=name,
        lead="Université Grenoble-Alpes",
        regions=tuple(regions),
        start_date=date(2023, 1, 1),
        end_date=date(2027, 12, 31),
        funding_eur=funding_eur,
        commitments=tuple(commitments),
        api_token_sha256=token_sha256 or hash_token(token),
    )
    return ProjectRegistered(**_envelope(project_id, at, event_id, "intake"), payload=payload)


def report_submitted(
    project_id: uuid.UUID,
    *,
    revision: int = 1,
    trained: int = 10,
    cells: Sequence[Cell] | None = None,
    period: str = "2025-S1",
    reason: str | None = None,
    submitted_by: str = "project",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
) -> IndicatorReportSubmitted:
    """Revision `revision` of `period`: `trained` people trained at bac+5 in region 84,
    unless `cells` says otherwise."""
    payload = IndicatorReportSubmittedPayload(
        report_id=report_id or uuid.uuid4(),
        period=period,
        revision=revision,
        submitted_by=submitted_by,
        submitted_at=at,
        reason=reason,
        cells=tuple(cells or (Cell(kind="trained", level="bac+5", region="84", count=trained),)),
    )
    return IndicatorReportSubmitted(
        **_envelope(project_id, at, event_id, "intake"), payload=payload
    )


def report_reviewed(
    project_id: uuid.UUID,
    *,
    revision: int = 1,
    trained: int = 10,
    cells: Sequence[Cell] | None = None,
    period: str = "2025-S1",
    decision: ReviewDecision = ReviewDecision.APPROVED,
    comment: str | None = None,
    reviewed_by: str = "staff",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
) -> ReportReviewed:
    """A decision on revision `revision` of `period`, carrying its cells (as `report_submitted`
    builds them)."""
    payload = ReportReviewedPayload(
        report_id=report_id or uuid.uuid4(),
        period=period,
        revision=revision,
        decision=decision,
        comment=comment,
        reviewed_by=reviewed_by,
        reviewed_at=at,
        cells=tuple(cells or (Cell(kind="trained", level="bac+5", region="84", count=trained),)),
    )
    return ReportReviewed(**_envelope(project_id, at, event_id, "intake"), payload=payload)


def milestone_declared(
    project_id: uuid.UUID,
    milestone: MilestoneSpec,
    *,
    reason: str | None = None,
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> MilestoneDeclared:
    payload = MilestoneDeclaredPayload(milestone=milestone, reason=reason)
    return MilestoneDeclared(**_envelope(project_id, at, event_id, "intake"), payload=payload)


def milestone_completed(
    project_id: uuid.UUID,
    milestone_id: str,
    completed_on: date,
    *,
    evidence: str | None = None,
    declared_by: str = "project",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> MilestoneCompleted:
    payload = MilestoneCompletedPayload(
        milestone_id=milestone_id,
        completed_on=completed_on,
        evidence=evidence,
        declared_by=declared_by,
    )
    return MilestoneCompleted(**_envelope(project_id, at, event_id, "intake"), payload=payload)


def totals_changed(
    project_id: uuid.UUID,
    version: int,
    totals: Sequence[TotalsRow],
    *,
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> ProjectTotalsChanged:
    payload = ProjectTotalsChangedPayload(version=version, totals=tuple(totals))
    return ProjectTotalsChanged(**_envelope(project_id, at, event_id, "indicator"), payload=payload)


def milestone_changed(
    status: MilestoneStatus,
    project_id: uuid.UUID,
    at: datetime = AT,
    *,
    previous: MilestoneStatus = MilestoneStatus.PENDING,
    milestone_id: str = "m1",
    title: str = "Ouverture",
    due_date: date = date(2025, 8, 31),
    quantitative: bool = False,
    project: ProjectContext = NUAGE,
    regions: Sequence[str] | None = None,
    event_id: uuid.UUID | None = None,
) -> MilestoneStatusChanged:
    """Milestone `milestone_id` (`title`, due 2025-08-31) of `project` moving from `previous`
    to `status` at `at`; `regions` replaces the project's regions."""
    if regions is not None:
        project = project.model_copy(update={"regions": tuple(regions)})
    payload = MilestoneStatusChangedPayload(
        milestone_id=milestone_id,
        title=title,
        due_date=due_date,
        quantitative=quantitative,
        previous=previous,
        status=status,
        changed_at=at,
        project=project,
    )
    return MilestoneStatusChanged(
        **_envelope(project_id, at, event_id, "milestone"), payload=payload
    )


def report_overdue(
    project_id: uuid.UUID,
    period: str,
    deadline: date,
    *,
    project: ProjectContext = NUAGE,
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> ReportOverdue:
    payload = ReportOverduePayload(period=period, deadline=deadline, project=project)
    return ReportOverdue(**_envelope(project_id, at, event_id, "milestone"), payload=payload)


def report_overdue_cleared(
    project_id: uuid.UUID,
    period: str,
    *,
    project: ProjectContext = NUAGE,
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> ReportOverdueCleared:
    payload = ReportOverdueClearedPayload(period=period, cleared_at=at, project=project)
    return ReportOverdueCleared(**_envelope(project_id, at, event_id, "milestone"), payload=payload)


def project_amended(
    project_id: uuid.UUID,
    *,
    amendment: int = 1,
    name: str = "Nuage",
    regions: Sequence[str] = ("84",),
    end_date: date = date(2027, 12, 31),
    commitments: Sequence[Target] = (),
    funding_eur: int | None = None,
    changes: AmendmentChanges | None = None,
    reason: str = "avenant",
    amended_by: str = "staff",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> ProjectAmended:
    """Project `project_id` (as `project_registered` makes it) as it stands after an amendment."""
    payload = ProjectAmendedPayload(
        amendment=amendment,
        amended_by=amended_by,
        reason=reason,
        changes=changes or AmendmentChanges(),
        name=name,
        lead="Université Grenoble-Alpes",
        end_date=end_date,
        funding_eur=funding_eur,
        regions=tuple(regions),
        commitments=tuple(commitments),
    )
    return ProjectAmended(**_envelope(project_id, at, event_id, "intake"), payload=payload)


def project_closed(
    project_id: uuid.UUID,
    on: date,
    *,
    status: ProjectStatus = ProjectStatus.ABANDONED,
    reason: str = "porteur défaillant",
    closed_by: str = "staff",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> ProjectClosed:
    payload = ProjectClosedPayload.model_validate(
        {"status": status, "on": on, "reason": reason, "closed_by": closed_by}
    )
    return ProjectClosed(**_envelope(project_id, at, event_id, "intake"), payload=payload)


def project_token_rotated(
    project_id: uuid.UUID,
    *,
    token: str,
    previous: str = "cmap_project-token-for-tests",
    rotated_by: str = "staff",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> ProjectTokenRotated:
    """The project's token `previous` replaced by `token`."""
    payload = ProjectTokenRotatedPayload(
        api_token_sha256=hash_token(token),
        revoked_token_sha256=hash_token(previous),
        rotated_by=rotated_by,
    )
    return ProjectTokenRotated(**_envelope(project_id, at, event_id, "intake"), payload=payload)


def staff_token_issued(
    token_id: uuid.UUID,
    *,
    token: str = "cmas_staff-token-for-tests",
    name: str = "Camille Martin",
    email: str = "camille.martin@example.org",
    admin: bool = False,
    issued_by: str = "staff",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> StaffTokenIssued:
    payload = StaffTokenIssuedPayload(
        token_sha256=hash_token(token),
        person=Person(name=name, email=email),
        admin=admin,
        issued_by=issued_by,
    )
    envelope = {"event_id": event_id or uuid.uuid4(), "occurred_at": at, "producer": "intake"}
    return StaffTokenIssued(**envelope, token_id=token_id, payload=payload)


def staff_token_revoked(
    token_id: uuid.UUID,
    *,
    token: str = "cmas_staff-token-for-tests",
    revoked_by: str = "staff",
    at: datetime = AT,
    event_id: uuid.UUID | None = None,
) -> StaffTokenRevoked:
    payload = StaffTokenRevokedPayload(token_sha256=hash_token(token), revoked_by=revoked_by)
    envelope = {"event_id": event_id or uuid.uuid4(), "occurred_at": at, "producer": "intake"}
    return StaffTokenRevoked(**envelope, token_id=token_id, payload=payload)
