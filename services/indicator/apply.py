"""Applying events, inside the consumer's transaction: registrations, and report revisions that
replace a period's cells whole. Every change to a project's cells emits its new totals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import (
    Event,
    IndicatorReportSubmitted,
    ProjectRegistered,
    ProjectTotalsChanged,
    TotalsRow,
)
from services.indicator import models as m
from services.runtime.clock import Clock
from services.runtime.outbox import derived_event_id, enqueue

CONSUMER = "indicator.reports"


def make_apply(clock: Clock) -> Callable[[AsyncConnection, list[Event]], Awaitable[None]]:
    async def apply_events(conn: AsyncConnection, events: list[Event]) -> None:
        changed: dict[UUID, UUID] = {}  # project -> the last event that changed its cells
        for event in events:
            if isinstance(event, ProjectRegistered):
                await _register(conn, event)
            elif isinstance(event, IndicatorReportSubmitted) and await _replace_period(conn, event):
                changed[event.project_id] = event.event_id
        for project_id, cause in changed.items():
            await _emit_totals(conn, project_id, cause, clock())

    return apply_events


async def _emit_totals(conn: AsyncConnection, project_id: UUID, cause: UUID, now: datetime) -> None:
    """One `project.totals_changed` per project per batch, with an id derived from its cause
    (a replay emits the same event again, not a new one) and, as version, the sum of the
    project's current revision numbers: it grows with every change that is applied, and a
    rebuild by replay arrives at the same numbers, so consumers can keep the highest."""
    version = (
        await conn.execute(
            select(func.sum(m.periods.c.revision)).where(m.periods.c.project_id == project_id)
        )
    ).scalar_one()
    c = m.cells.c
    rows = await conn.execute(
        select(c.kind, c.level, c.audience, func.sum(c.count))
        .where(c.project_id == project_id)
        .group_by(c.kind, c.level, c.audience)
        .order_by(c.kind, c.level, c.audience)
    )
    totals = [TotalsRow(kind=k, level=lv, audience=a or None, count=int(n)) for k, lv, a, n in rows]
    event = ProjectTotalsChanged(
        event_id=derived_event_id(CONSUMER, cause),
        occurred_at=now,
        producer="indicator",
        project_id=project_id,
        payload={"version": version, "totals": totals},
    )
    await enqueue(conn, m.outbox, topics.PROGRESS, [event])


async def _register(conn: AsyncConnection, event: ProjectRegistered) -> None:
    p = event.payload
    await conn.execute(
        insert(m.projects)
        .values(
            project_id=event.project_id,
            sheet=p.sheet,
            wave=p.wave,
            name=p.name,
            lead=p.lead,
            regions=list(p.regions),
            start_date=p.start_date,
            end_date=p.end_date,
            funding_eur=p.funding_eur,
            token_sha256=p.api_token_sha256,
            commitments=[c.model_dump(mode="json") for c in p.commitments],
        )
        .on_conflict_do_nothing()
    )


async def _replace_period(conn: AsyncConnection, event: IndicatorReportSubmitted) -> bool:
    """The newer revision of a period replaces its cells as a whole; an older one arriving
    late changes nothing. Works whether or not the project's registration arrived first."""
    p, project_id = event.payload, event.project_id
    stmt = insert(m.periods).values(
        project_id=project_id,
        period=p.period,
        revision=p.revision,
        report_id=p.report_id,
        submitted_at=p.submitted_at,
    )
    newer = await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["project_id", "period"],
            set_={
                "revision": stmt.excluded.revision,
                "report_id": stmt.excluded.report_id,
                "submitted_at": stmt.excluded.submitted_at,
            },
            where=m.periods.c.revision < stmt.excluded.revision,
        ).returning(m.periods.c.revision)
    )
    if newer.one_or_none() is None:
        return False
    await conn.execute(
        delete(m.cells).where(m.cells.c.project_id == project_id, m.cells.c.period == p.period)
    )
    await conn.execute(
        insert(m.cells),
        [
            {
                "project_id": project_id,
                "period": p.period,
                "kind": c.kind.value,
                "level": c.level,
                "region": c.region,
                "sex": c.sex.value if c.sex else "",
                "audience": c.audience or "",
                "count": c.count,
            }
            for c in p.cells
        ],
    )
    return True
