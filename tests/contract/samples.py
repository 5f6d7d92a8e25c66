"""One valid instance of every event type, with its optional fields filled in."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from contracts.events import (
    AmendmentChanges,
    CommitmentChange,
    ConditionChanged,
    ConditionChangedPayload,
    ConditionKind,
    MilestoneSpec,
    MilestoneStatus,
    ProjectContext,
    ProjectStatus,
    TotalsRow,
)
from contracts.indicators import CellKind, Selector, Sex, Target
from contracts.reports import Cell, ReviewDecision
from tests.support import events

PROJECT_ID = uuid.UUID("0b9f1f4e-3c1a-4d2e-9a55-6f1f5b8f0c01")
AT = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
TARGET = Target(
    id="bac5-trained",
    label="Formés bac+5",
    selector=Selector(
        kind=CellKind.TRAINED, levels=frozenset({"bac+5", "bac+8"}), audience="staff"
    ),
    value=450,
    start=date(2023, 1, 1),
    horizon=date(2027, 12, 31),
)
CONTEXT = ProjectContext(name="La Tête Dans Le Nuage", sheet="cloud", regions=("84",))
OPENING = MilestoneSpec(
    milestone_id="m1.open", title="Ouverture", due_date=date(2024, 9, 1), criterion=TARGET
)


def event_id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


SAMPLES = (
    events.project_registered(
        PROJECT_ID,
        name="La Tête Dans Le Nuage",
        regions=("84", "93"),
        commitments=(TARGET,),
        funding_eur=5_000_000,
        token_sha256="0" * 64,
        at=AT,
        event_id=event_id(1),
    ),
    events.report_submitted(
        PROJECT_ID,
        revision=2,
        period="2025-S1",
        reason="corrected counts",
        cells=(
            Cell(kind=CellKind.TRAINED, level="bac+5", region="84", sex=Sex.FEMALE, count=12),
            Cell(kind=CellKind.ALTERNANCE, level="bac+5", region="84", sex=Sex.FEMALE, count=5),
            Cell(kind=CellKind.SENSITISED, level="bac", region="93", audience="pupils", count=300),
        ),
        at=AT,
        event_id=event_id(2),
        report_id=uuid.UUID(int=20),
    ),
    events.milestone_declared(
        PROJECT_ID,
        OPENING,
        reason="rescheduled after the accreditation",
        at=AT,
        event_id=event_id(3),
    ),
    events.milestone_completed(
        PROJECT_ID,
        "m1.open",
        date(2024, 9, 2),
        evidence="https://example.org/syllabus.pdf",
        declared_by="staff",
        at=AT,
        event_id=event_id(4),
    ),
    events.totals_changed(
        PROJECT_ID,
        3,
        (
            TotalsRow(kind="trained", level="bac+5", audience=None, count=12),
            TotalsRow(kind="sensitised", level="bac", audience="pupils", count=300),
        ),
        at=AT,
        event_id=event_id(5),
    ),
    events.milestone_changed(
        MilestoneStatus.OVERDUE,
        PROJECT_ID,
        AT,
        previous=MilestoneStatus.AT_RISK,
        milestone_id="m1.open",
        due_date=date(2024, 9, 1),
        quantitative=True,
        project=CONTEXT,
        event_id=event_id(6),
    ),
    events.report_overdue(
        PROJECT_ID, "2024-S2", date(2025, 2, 28), project=CONTEXT, at=AT, event_id=event_id(7)
    ),
    events.report_overdue_cleared(
        PROJECT_ID, "2024-S2", project=CONTEXT, at=AT, event_id=event_id(8)
    ),
    events.project_amended(
        PROJECT_ID,
        amendment=2,
        name="La Tête Dans Le Nuage",
        regions=("84",),
        end_date=date(2028, 6, 30),
        commitments=(TARGET,),
        funding_eur=None,
        changes=AmendmentChanges.model_validate(
            {
                "name": {"before": "Nuage", "after": "La Tête Dans Le Nuage"},
                "lead": {"before": "UGA", "after": "Université Grenoble-Alpes"},
                "end_date": {"before": "2027-12-31", "after": "2028-06-30"},
                "funding_eur": {"before": 5_000_000, "after": None},
                "regions": {"before": ["84", "93"], "after": ["84"]},
                "commitments_added": [TARGET],
                "commitments_changed": [CommitmentChange(before=TARGET, after=TARGET)],
                "commitments_withdrawn": [TARGET],
            }
        ),
        reason="avenant n°2",
        amended_by="staff",
        at=AT,
        event_id=event_id(9),
    ),
    events.project_closed(
        PROJECT_ID,
        date(2025, 3, 1),
        status=ProjectStatus.COMPLETED,
        reason="terminé en avance",
        closed_by="staff",
        at=AT,
        event_id=event_id(10),
    ),
    ConditionChanged(
        event_id=event_id(11),
        occurred_at=AT,
        producer="indicator",
        project_id=PROJECT_ID,
        payload=ConditionChangedPayload(
            kind=ConditionKind.COMMITMENT_BEHIND,
            firing=True,
            subject="formes",
            summary="Engagement « Formés » de La Tête Dans Le Nuage en retard",
            details={"semesters_behind": "2"},
            project=CONTEXT,
        ),
    ),
    events.report_reviewed(
        PROJECT_ID,
        revision=2,
        period="2025-S1",
        decision=ReviewDecision.RETURNED,
        comment="Les effectifs bac+5 doublent : merci de vérifier.",
        at=AT,
        event_id=event_id(10),
        report_id=event_id(11),
    ),
    events.project_token_rotated(
        PROJECT_ID, token="cmap_new", previous="cmap_old", at=AT, event_id=event_id(12)
    ),
    events.staff_token_issued(
        uuid.UUID(int=90), admin=True, issued_by="staff", at=AT, event_id=event_id(13)
    ),
    events.staff_token_revoked(uuid.UUID(int=90), revoked_by="staff", at=AT, event_id=event_id(14)),
)
