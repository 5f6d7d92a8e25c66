"""Overdue semester reports, inside the caller's transaction: each closed semester a project
has not reported is flagged once, and the flag cleared once the report arrives; each flag
raised or cleared emits one event.

Set-wise (docs/performance.md, B6): the calendar is the domain's (`closed_periods` up to
`last_day`), computed once per distinct run of dates (a wave's projects share theirs), and one
statement finds and flags the closed semesters neither reported nor flagged yet; a quiet tick
reads no project.

Safe on several replicas: a flag is raised by `INSERT … ON CONFLICT DO NOTHING` and cleared by
`UPDATE … WHERE cleared_at IS NULL`, so when two evaluators race, one changes the row and
emits, the other does nothing. Event ids derive from the project and the period.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select, text, tuple_, update
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
from services.runtime.outbox import enqueue, enqueue_many

_P, _R, _O = m.projects.fullname, m.reported_periods.fullname, m.overdue_reports.fullname
_SCOPE = "(CAST(:projects AS uuid[]) IS NULL OR {column} = ANY(CAST(:projects AS uuid[])))"
# A closed project's run ends on its closing day: its calendar is keyed by it too ('infinity'
# for an open project, so that the join stays on equalities).
RAISE = text(f"""
    WITH due AS (
        SELECT p.project_id, c.period, c.deadline
        FROM unnest(CAST(:starts AS date[]), CAST(:ends AS date[]), CAST(:closings AS date[]),
                    CAST(:periods AS text[]), CAST(:deadlines AS date[]))
             AS c(start_date, end_date, closed_on, period, deadline)
        JOIN {_P} p ON p.start_date = c.start_date AND p.end_date = c.end_date
             AND coalesce(p.closed_on, 'infinity') = coalesce(c.closed_on, 'infinity')
        WHERE {_SCOPE.format(column="p.project_id")}
          AND NOT EXISTS (SELECT FROM {_R} r
                          WHERE r.project_id = p.project_id AND r.period = c.period)
          AND NOT EXISTS (SELECT FROM {_O} o
                          WHERE o.project_id = p.project_id AND o.period = c.period)),
    raised AS (
        INSERT INTO {_O} (project_id, period, deadline, detected_at)
        SELECT project_id, period, deadline, CAST(:now AS timestamptz) FROM due
        ON CONFLICT DO NOTHING
        RETURNING project_id, period, deadline)
    SELECT r.project_id, r.period, r.deadline, p.name, p.sheet, p.regions
    FROM raised r JOIN {_P} p USING (project_id)
    ORDER BY r.project_id, r.period""")
# The flags still open, with what says whether to clear them (few: the reports outstanding).
OPEN_FLAGS = text(f"""
    SELECT o.project_id, o.period, p.end_date, p.closed_on, r.period IS NOT NULL AS reported
    FROM {_O} o LEFT JOIN {_P} p USING (project_id)
         LEFT JOIN {_R} r USING (project_id, period)
    WHERE o.cleared_at IS NULL AND {_SCOPE.format(column="o.project_id")}""")


def _context(project: Row[Any]) -> ProjectContext:
    return ProjectContext(name=project.name, sheet=project.sheet, regions=tuple(project.regions))


async def evaluate_reports(
    conn: AsyncConnection,
    now: datetime,
    rules: Rules,
    *,
    projects: Sequence[uuid.UUID] | None = None,
) -> int:
    """Flags each closed semester a known project (of `projects`, or any) has not reported
    (once), and clears the flags of periods reported since or no longer due (the run was cut
    short by an amendment or a closure); returns how many flags were raised or cleared."""
    p = m.projects.c
    runs = select(p.start_date, p.end_date, p.closed_on).distinct()
    if projects is not None:
        runs = runs.where(p.project_id.in_(projects))
    calendar = [
        (start, end, closed_on, period, deadline)
        for start, end, closed_on in await conn.execute(runs)
        for period, deadline in closed_periods(
            start, last_day(end, closed_on), now.date(), rules.report_grace_days
        )
    ]
    scope = {"projects": None if projects is None else list(projects)}
    changes = 0
    if calendar:
        starts, ends, closings, periods, deadlines = (list(c) for c in zip(*calendar, strict=True))
        raised = (
            await conn.execute(
                RAISE,
                {
                    "starts": starts,
                    "ends": ends,
                    "closings": closings,
                    "periods": periods,
                    "deadlines": deadlines,
                    "now": now,
                    **scope,
                },
            )
        ).all()
        events = [
            report_overdue(r.project_id, _context(r), r.period, r.deadline, now) for r in raised
        ]
        await enqueue_many(conn, m.outbox, topics.STATUS, events)
        changes += len(raised)
    cleared = [
        (flag.project_id, flag.period)
        for flag in await conn.execute(OPEN_FLAGS, scope)
        if flag.reported or not _due(flag.end_date, flag.closed_on, flag.period)
    ]
    if cleared:
        changes += await clear_overdue(conn, cleared, now)
    return changes


def _due(end: date | None, closed_on: date | None, period: str) -> bool:
    """Whether the project's run still covers the period (an unknown project's: kept)."""
    return end is None or period_bounds(period)[0] <= last_day(end, closed_on)


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
