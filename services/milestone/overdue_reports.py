"""Overdue semester reports, inside the caller's transaction: each closed semester a project
has not reported is flagged once, and the flag cleared once the report arrives; each flag
raised or cleared emits one event.

Safe on several replicas: a flag is raised by `INSERT … ON CONFLICT DO NOTHING` and cleared by
`UPDATE … WHERE cleared_at IS NULL`, so when two evaluators race, one changes the row and
emits, the other does nothing. Event ids derive from the project and the period.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import ProjectContext
from contracts.reports import period_bounds
from services.milestone import models as m
from services.milestone.domain import (
    Rules,
    closed_periods,
    last_day,
    report_overdue,
    report_overdue_cleared,
)
from services.runtime.outbox import enqueue


def _context(project: Row[Any]) -> ProjectContext:
    return ProjectContext(name=project.name, sheet=project.sheet, regions=tuple(project.regions))


async def evaluate_reports(
    conn: AsyncConnection,
    now: datetime,
    rules: Rules,
    *,
    projects: Sequence[uuid.UUID] | None = None,
) -> int:
    """Flags each closed semester a known project has not reported (once), and clears the
    flags of periods reported since; returns how many flags were raised or cleared."""
    p, r, o = m.projects.c, m.reported_periods.c, m.overdue_reports.c
    query = select(m.projects)
    if projects is not None:
        query = query.where(p.project_id.in_(projects))
    known = {row.project_id: row for row in await conn.execute(query)}
    scope = [] if projects is None else [o.project_id.in_(projects)]
    reported = set(
        await conn.execute(
            select(r.project_id, r.period).where(
                *([r.project_id.in_(projects)] if projects is not None else [])
            )
        )
    )
    flagged = {
        (row.project_id, row.period): row.cleared_at
        for row in await conn.execute(select(o.project_id, o.period, o.cleared_at).where(*scope))
    }
    changes = 0
    for project_id, project in known.items():
        end = last_day(project.end_date, project.closed_on)
        for period, deadline in closed_periods(
            project.start_date, end, now.date(), rules.report_grace_days
        ):
            key = (project_id, period)
            if key not in reported and key not in flagged:
                changes += await _flag(conn, project, period, deadline, now)
    # Reported since, or no longer due: the run was cut short by an amendment or a closure.
    cleared = [
        key
        for key, at in flagged.items()
        if at is None and (key in reported or not _due(known.get(key[0]), key[1]))
    ]
    if cleared:
        changes += await clear_overdue(conn, cleared, now)
    return changes


def _due(project: Row[Any] | None, period: str) -> bool:
    """Whether the project's run still covers the period (an unknown project's: kept)."""
    if project is None:
        return True
    return period_bounds(period)[0] <= last_day(project.end_date, project.closed_on)


async def _flag(
    conn: AsyncConnection, project: Row[Any], period: str, deadline: date, now: datetime
) -> int:
    raised = await conn.execute(
        insert(m.overdue_reports)
        .values(project_id=project.project_id, period=period, deadline=deadline, detected_at=now)
        .on_conflict_do_nothing()
        .returning(m.overdue_reports.c.period)
    )
    if raised.one_or_none() is None:
        return 0
    event = report_overdue(project.project_id, _context(project), period, deadline, now)
    await enqueue(conn, m.outbox, topics.STATUS, [event])
    return 1


async def clear_overdue(
    conn: AsyncConnection, keys: list[tuple[uuid.UUID, str]], now: datetime
) -> int:
    """Clears the open flags of these (project, period) reports; returns how many."""
    o, p = m.overdue_reports.c, m.projects.c
    rows = await conn.execute(
        update(m.overdue_reports)
        .where(tuple_(o.project_id, o.period).in_(keys), o.cleared_at.is_(None))
        .values(cleared_at=now)
        .returning(o.project_id, o.period)
    )
    cleared = rows.all()
    if not cleared:
        return 0
    projects = {
        row.project_id: row
        for row in await conn.execute(
            select(m.projects).where(p.project_id.in_({c.project_id for c in cleared}))
        )
    }
    events = [
        report_overdue_cleared(c.project_id, _context(projects[c.project_id]), c.period, now)
        for c in cleared
    ]
    await enqueue(conn, m.outbox, topics.STATUS, events)
    return len(cleared)
