"""One valid instance of every event type, with its optional fields filled in."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from contracts.events import (
    IndicatorReportSubmitted,
    MilestoneCompleted,
    MilestoneDeclared,
    MilestoneSpec,
    MilestoneStatus,
    MilestoneStatusChanged,
    ProjectContext,
    ProjectRegistered,
    ProjectTotalsChanged,
    ReportOverdue,
    ReportOverdueCleared,
)
from contracts.indicators import CellKind, Selector, Sex, Target
from contracts.reports import Cell

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


def envelope(n: int) -> dict[str, object]:
    return {
        "event_id": uuid.UUID(int=n),
        "occurred_at": AT,
        "producer": "intake",
        "project_id": PROJECT_ID,
    }


SAMPLES = (
    ProjectRegistered(
        **envelope(1),
        payload={
            "sheet": "cloud",
            "wave": "saison-1",
            "name": "La Tête Dans Le Nuage",
            "lead": "Université Grenoble-Alpes",
            "regions": ("84", "93"),
            "start_date": date(2023, 1, 1),
            "end_date": date(2027, 12, 31),
            "funding_eur": 5_000_000,
            "commitments": (TARGET,),
            "api_token_sha256": "0" * 64,
        },
    ),
    IndicatorReportSubmitted(
        **envelope(2),
        payload={
            "report_id": uuid.UUID(int=20),
            "period": "2025-S1",
            "revision": 2,
            "submitted_by": "project",
            "submitted_at": AT,
            "reason": "corrected counts",
            "cells": (
                Cell(kind=CellKind.TRAINED, level="bac+5", region="84", sex=Sex.FEMALE, count=12),
                Cell(kind=CellKind.ALTERNANCE, level="bac+5", region="84", sex=Sex.FEMALE, count=5),
                Cell(
                    kind=CellKind.SENSITISED, level="bac", region="93", audience="pupils", count=300
                ),
            ),
        },
    ),
    MilestoneDeclared(
        **envelope(3),
        payload={
            "milestone": MilestoneSpec(
                milestone_id="m1.open",
                title="Ouverture",
                due_date=date(2024, 9, 1),
                criterion=TARGET,
            ),
            "reason": "rescheduled after the accreditation",
        },
    ),
    MilestoneCompleted(
        **envelope(4),
        payload={
            "milestone_id": "m1.open",
            "completed_on": date(2024, 9, 2),
            "evidence": "https://example.org/syllabus.pdf",
            "declared_by": "staff",
        },
    ),
    ProjectTotalsChanged(
        **envelope(5),
        payload={
            "version": 3,
            "totals": (
                {"kind": "trained", "level": "bac+5", "audience": None, "count": 12},
                {"kind": "sensitised", "level": "bac", "audience": "pupils", "count": 300},
            ),
        },
    ),
    MilestoneStatusChanged(
        **envelope(6),
        payload={
            "milestone_id": "m1.open",
            "title": "Ouverture",
            "due_date": date(2024, 9, 1),
            "quantitative": True,
            "previous": MilestoneStatus.AT_RISK,
            "status": MilestoneStatus.OVERDUE,
            "changed_at": AT,
            "project": CONTEXT,
        },
    ),
    ReportOverdue(
        **envelope(7),
        payload={"period": "2024-S2", "deadline": date(2025, 2, 28), "project": CONTEXT},
    ),
    ReportOverdueCleared(
        **envelope(8),
        payload={"period": "2024-S2", "cleared_at": AT, "project": CONTEXT},
    ),
)
