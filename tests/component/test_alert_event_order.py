"""An alert follows the newest event about it: an older event arriving late (a redelivery, a
replay, a slow partition) never undoes a newer one. Alerting's handlers over a real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
    MilestoneStatusChangedPayload,
    ProjectContext,
)
from services.alerting import models as m
from services.alerting.domain import AlertKind, fingerprint
from services.alerting.handlers import AlertingHandlers
from services.runtime.db import make_engine
from tests.support.clock import FakeClock

NEWER = datetime(2025, 9, 1, 12, tzinfo=UTC)
OLDER = NEWER - timedelta(hours=1)


def changed(project_id: uuid.UUID, status: MilestoneStatus, at: datetime) -> MilestoneStatusChanged:
    payload = MilestoneStatusChangedPayload(
        milestone_id="m1",
        title="Ouverture",
        due_date=date(2025, 8, 31),
        quantitative=False,
        previous=MilestoneStatus.PENDING,
        status=status,
        changed_at=at,
        project=ProjectContext(name="Nuage", sheet="cloud", regions=("84",)),
    )
    return MilestoneStatusChanged(
        event_id=uuid.uuid4(), occurred_at=at, producer="t", project_id=project_id, payload=payload
    )


async def alert_after(database_url: str, *events: MilestoneStatusChanged) -> tuple[str, datetime]:
    """The overdue alert's state and source time after applying `events` one by one."""
    handlers, engine = (
        AlertingHandlers(FakeClock(), group_wait_seconds=0),
        make_engine(database_url),
    )
    try:
        for event in events:
            async with engine.begin() as conn:
                await handlers.apply_events(conn, [event])
        overdue = fingerprint(AlertKind.MILESTONE_OVERDUE, events[0].project_id, "m1")
        query = select(m.alerts.c.state, m.alerts.c.source_at).where(
            m.alerts.c.fingerprint == overdue
        )
        async with engine.connect() as conn:
            state, source_at = (await conn.execute(query)).one()
        return state, source_at
    finally:
        await engine.dispose()


async def test_an_older_resolution_arriving_late_does_not_undo_a_newer_firing(
    clean_database: str,
) -> None:
    project = uuid.uuid4()
    newer_overdue = changed(project, MilestoneStatus.OVERDUE, NEWER)
    older_met = changed(project, MilestoneStatus.MET, OLDER)
    assert await alert_after(clean_database, newer_overdue, older_met) == ("firing", NEWER)


async def test_an_older_firing_arriving_late_does_not_reopen_a_newer_resolution(
    clean_database: str,
) -> None:
    project = uuid.uuid4()
    events = (
        changed(project, MilestoneStatus.OVERDUE, OLDER - timedelta(hours=1)),
        changed(project, MilestoneStatus.MET_LATE, NEWER),
        changed(project, MilestoneStatus.OVERDUE, OLDER),
    )
    assert await alert_after(clean_database, *events) == ("resolved", NEWER)


async def test_a_newer_event_applies_and_so_does_one_of_the_same_time(clean_database: str) -> None:
    project, other = uuid.uuid4(), uuid.uuid4()
    newer = (
        changed(project, MilestoneStatus.OVERDUE, OLDER),
        changed(project, MilestoneStatus.MET, NEWER),
    )
    assert await alert_after(clean_database, *newer) == ("resolved", NEWER)
    same_time = (
        changed(other, MilestoneStatus.OVERDUE, NEWER),
        changed(other, MilestoneStatus.MET, NEWER),
    )
    assert await alert_after(clean_database, *same_time) == ("resolved", NEWER)
