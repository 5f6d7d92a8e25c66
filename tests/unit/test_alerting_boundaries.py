"""What an alert change carries from its event: when it happened (an older event never
overrides a newer one, and that comparison needs the time), the project, the summary a
subscriber reads, and the details a receiver keys on."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
    MilestoneStatusChangedPayload,
    ProjectContext,
    ReportOverdue,
    ReportOverdueCleared,
    ReportOverdueClearedPayload,
    ReportOverduePayload,
)
from services.alerting.domain import AlertKind, AlertState, alert_changes

AT = datetime(2025, 9, 1, 12, 30, tzinfo=UTC)
PROJECT_ID = uuid.UUID("00000000-0000-0000-0000-0000000000bb")
PROJECT = ProjectContext(name="Nuage", sheet="cloud", regions=("84", "11"))


def envelope() -> dict[str, object]:
    return {"event_id": uuid.uuid4(), "occurred_at": AT, "producer": "t", "project_id": PROJECT_ID}


def milestone(status: MilestoneStatus, previous: MilestoneStatus) -> MilestoneStatusChanged:
    payload = MilestoneStatusChangedPayload(
        milestone_id="ouverture",
        title="Ouverture du parcours",
        due_date=date(2025, 8, 31),
        quantitative=False,
        previous=previous,
        status=status,
        changed_at=AT,
        project=PROJECT,
    )
    return MilestoneStatusChanged(**envelope(), payload=payload)


def report_overdue() -> ReportOverdue:
    payload = ReportOverduePayload(period="2025-S1", deadline=date(2025, 8, 29), project=PROJECT)
    return ReportOverdue(**envelope(), payload=payload)


def report_cleared() -> ReportOverdueCleared:
    payload = ReportOverdueClearedPayload(period="2025-S1", cleared_at=AT, project=PROJECT)
    return ReportOverdueCleared(**envelope(), payload=payload)


EVENTS = (
    milestone(MilestoneStatus.OVERDUE, MilestoneStatus.AT_RISK),
    milestone(MilestoneStatus.MET, MilestoneStatus.OVERDUE),
    report_overdue(),
    report_cleared(),
)


def test_every_alert_change_carries_its_events_time_and_project() -> None:
    """The time is what orders changes: a change older than the alert's is ignored."""
    for event in EVENTS:
        for change in alert_changes(event):
            assert (change.at, change.project_id, change.project) == (AT, PROJECT_ID, PROJECT)


def test_a_milestone_alert_details_name_the_milestone_its_due_date_and_the_transition() -> None:
    changes = alert_changes(milestone(MilestoneStatus.OVERDUE, MilestoneStatus.AT_RISK))
    expected = {
        "milestone_id": "ouverture",
        "title": "Ouverture du parcours",
        "due_date": "2025-08-31",
        "status": "overdue",
        "previous": "at_risk",
    }
    assert [c.details for c in changes] == [expected, expected]
    assert [c.subject for c in changes] == ["ouverture", "ouverture"]


def test_a_milestone_alert_summary_names_the_milestone_the_project_and_the_due_date() -> None:
    resolved, fired = alert_changes(milestone(MilestoneStatus.OVERDUE, MilestoneStatus.AT_RISK))
    assert (resolved.kind, resolved.state) == (AlertKind.MILESTONE_AT_RISK, AlertState.RESOLVED)
    named = "Jalon « Ouverture du parcours » de Nuage"
    assert resolved.summary == f"{named} à risque (échéance 2025-08-31)"
    assert fired.summary == f"{named} en retard (échéance 2025-08-31)"


def test_a_report_overdue_alert_names_its_period_and_deadline_and_clearing_keeps_the_summary() -> (
    None
):
    [fired], [cleared] = alert_changes(report_overdue()), alert_changes(report_cleared())
    assert fired.details == {"period": "2025-S1", "deadline": "2025-08-29"}
    assert cleared.details == {"period": "2025-S1"}
    assert fired.summary == cleared.summary == "Rapport 2025-S1 de Nuage en retard"
    assert (fired.subject, cleared.subject) == ("2025-S1", "2025-S1")
