"""Events the tests build directly, as a producing service would publish them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
    MilestoneStatusChangedPayload,
    ProjectContext,
)


def milestone_changed(
    status: MilestoneStatus,
    project_id: uuid.UUID,
    at: datetime,
    *,
    milestone_id: str = "m1",
    regions: Sequence[str] = ("84",),
) -> MilestoneStatusChanged:
    """Milestone `milestone_id` ("Ouverture", due 2025-08-31) of a cloud project leaving
    `pending` for `status` at `at`."""
    payload = MilestoneStatusChangedPayload(
        milestone_id=milestone_id,
        title="Ouverture",
        due_date=date(2025, 8, 31),
        quantitative=False,
        previous=MilestoneStatus.PENDING,
        status=status,
        changed_at=at,
        project=ProjectContext(name="Nuage", sheet="cloud", regions=tuple(regions)),
    )
    return MilestoneStatusChanged(
        event_id=uuid.uuid4(), occurred_at=at, producer="t", project_id=project_id, payload=payload
    )
