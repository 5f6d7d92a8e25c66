"""Milestone's event handlers, run inside the consumer's transaction: upstream events stored,
then the projects they touched re-evaluated, so a status changes on new data as well as on
the clock."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.events import (
    IndicatorReportSubmitted,
    MilestoneCompleted,
    MilestoneDeclared,
    ProjectAmended,
    ProjectClosed,
    ProjectEvent,
    ProjectRegistered,
    ProjectTotalsChanged,
)
from services.milestone import models as m
from services.milestone.domain import Rules
from services.milestone.overdue_reports import clear_overdue, evaluate_reports
from services.milestone.transitions import evaluate_milestones
from services.runtime.clock import Clock
from services.runtime.token_events import ApplyProjectEvents


def make_handler(clock: Clock, rules: Rules) -> ApplyProjectEvents:
    """What every consumer group (projects, milestones, reports, progress) runs on each batch."""

    async def handle_events(conn: AsyncConnection, events: list[ProjectEvent]) -> None:
        touched: set[UUID] = set()
        reported: list[tuple[UUID, str]] = []
        runs_changed: set[UUID] = set()
        for event in events:
            if isinstance(event, IndicatorReportSubmitted):
                reported.append((event.project_id, event.payload.period))
            elif await _store(conn, event):
                touched.add(event.project_id)
                if isinstance(event, ProjectAmended | ProjectClosed):
                    runs_changed.add(event.project_id)
        now = clock()
        if reported:
            await conn.execute(
                insert(m.reported_periods)
                .values([{"project_id": p, "period": period} for p, period in reported])
                .on_conflict_do_nothing()
            )
            await clear_overdue(conn, reported, now)
        if touched:
            await evaluate_milestones(conn, now, rules, projects=sorted(touched))
        if runs_changed:  # report deadlines follow the run's new end at once
            await evaluate_reports(conn, now, rules, projects=sorted(runs_changed))

    return handle_events


async def _store(conn: AsyncConnection, event: ProjectEvent) -> bool:
    """Stores what the event says; True when the project's milestones need evaluating."""
    ms = m.milestones.c
    if isinstance(event, ProjectRegistered):
        p = event.payload
        await conn.execute(
            insert(m.projects)
            .values(
                project_id=event.project_id,
                name=p.name,
                sheet=p.sheet,
                regions=list(p.regions),
                start_date=p.start_date,
                end_date=p.end_date,
                token_sha256=p.api_token_sha256,
            )
            .on_conflict_do_nothing()
        )
    elif isinstance(event, ProjectAmended | ProjectClosed):
        values: dict[str, object] = (
            {"closed_on": event.payload.on}
            if isinstance(event, ProjectClosed)
            else {
                "name": event.payload.name,
                "regions": list(event.payload.regions),
                "end_date": event.payload.end_date,
            }
        )
        await conn.execute(
            update(m.projects).where(m.projects.c.project_id == event.project_id).values(values)
        )
    elif isinstance(event, MilestoneDeclared):
        spec = event.payload.milestone
        fields = {
            "title": spec.title,
            "due_date": spec.due_date,
            "criterion": spec.criterion.model_dump(mode="json") if spec.criterion else None,
        }
        await conn.execute(
            insert(m.milestones)
            .values(project_id=event.project_id, milestone_id=spec.milestone_id, **fields)
            .on_conflict_do_update(index_elements=["project_id", "milestone_id"], set_=fields)
        )
    elif isinstance(event, MilestoneCompleted):
        await conn.execute(
            update(m.milestones)
            .where(
                ms.project_id == event.project_id,
                ms.milestone_id == event.payload.milestone_id,
            )
            .values(completed_on=event.payload.completed_on)
        )
    elif isinstance(event, ProjectTotalsChanged):
        stmt = insert(m.totals).values(
            project_id=event.project_id,
            version=event.payload.version,
            totals=[t.model_dump(mode="json") for t in event.payload.totals],
            observed_at=event.occurred_at,
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["project_id"],
                set_={
                    "version": stmt.excluded.version,
                    "totals": stmt.excluded.totals,
                    "observed_at": stmt.excluded.observed_at,
                },
                where=m.totals.c.version < stmt.excluded.version,  # a stale version changes nothing
            )
        )
    else:
        return False
    return True
