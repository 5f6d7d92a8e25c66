"""Evaluating milestones and report deadlines, inside a transaction; each change emits one event.

Safe on several replicas: a status moves by compare-and-set (`UPDATE … WHERE status = old`)
and an overdue report by `INSERT … ON CONFLICT DO NOTHING` / `UPDATE … WHERE cleared_at IS
NULL`, so when two evaluators race, one changes the row and emits, the other does nothing.
Event ids derive from the milestone and its transition number: a replay re-emits nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import (
    MilestoneStatus,
    MilestoneStatusChanged,
    ProjectContext,
    ReportOverdue,
    ReportOverdueCleared,
    TotalsRow,
)
from contracts.indicators import Target
from services.milestone import models as m
from services.milestone.domain import OPEN, Progress, Rules, closed_periods, status_at
from services.runtime.outbox import enqueue

NAMESPACE = uuid.UUID("6f0c5d0e-3d1b-4c55-8f7e-0a4c1f6d2b90")
CHUNK = 5_000  # status changes per statement
# Arrays bound as five parameters: compiling one bind parameter per value costs more than
# the update itself.
COMPARE_AND_SET = text("""
    UPDATE milestone.milestones AS m SET status = w.new, transitions = m.transitions + 1
    FROM unnest(CAST(:project_ids AS uuid[]), CAST(:milestone_ids AS text[]),
                CAST(:olds AS text[]), CAST(:seqs AS int[]), CAST(:news AS text[]))
         AS w(project_id, milestone_id, old, seq, new)
    WHERE m.project_id = w.project_id AND m.milestone_id = w.milestone_id
      AND m.status = w.old AND m.transitions = w.seq
    RETURNING m.project_id, m.milestone_id
""")


def _context(row: Any) -> ProjectContext:
    return ProjectContext(name=row.name, sheet=row.sheet, regions=tuple(row.regions))


def _envelope(project_id: uuid.UUID, key: str, now: datetime) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid5(NAMESPACE, f"{project_id}/{key}"),
        "occurred_at": now,
        "producer": "milestone",
        "project_id": project_id,
    }


async def evaluate_milestones(
    conn: AsyncConnection,
    now: datetime,
    rules: Rules,
    *,
    projects: Sequence[uuid.UUID] | None = None,
    due_by: Any = None,
) -> int:
    """Re-evaluates open milestones of known projects (those of `projects`, or those due by
    `due_by`); returns how many changed status."""
    ms, p, t = m.milestones.c, m.projects.c, m.totals.c
    query = (
        select(
            ms.project_id,
            ms.milestone_id,
            ms.title,
            ms.due_date,
            ms.criterion,
            ms.completed_on,
            ms.status,
            ms.transitions,
            p.name,
            p.sheet,
            p.regions,
            t.totals,
            t.observed_at,
        )
        .join(m.projects, p.project_id == ms.project_id)
        .outerjoin(m.totals, t.project_id == ms.project_id)
        .where(ms.status.in_([s.value for s in OPEN]))
    )
    if projects is not None:
        query = query.where(ms.project_id.in_(projects))
    if due_by is not None:  # the date alone can move only pending and at-risk milestones
        query = query.where(ms.due_date <= due_by, ms.status != MilestoneStatus.OVERDUE.value)
    changes = []
    for row in await conn.execute(query):
        criterion = Target.model_validate(row.criterion) if row.criterion else None
        progress = (
            None
            if row.totals is None
            else Progress(
                tuple(TotalsRow.model_validate(r) for r in row.totals), row.observed_at.date()
            )
        )
        new = status_at(
            now.date(),
            due=row.due_date,
            completed_on=row.completed_on,
            criterion=criterion,
            progress=progress,
            rules=rules,
        )
        if new != row.status:
            changes.append((row, new))
    moved = 0
    for start in range(0, len(changes), CHUNK):
        moved += await _transition(conn, changes[start : start + CHUNK], now)
    return moved


async def _transition(
    conn: AsyncConnection, changes: list[tuple[Any, MilestoneStatus]], now: datetime
) -> int:
    """Moves every milestone whose status is still the one evaluated (compare-and-set, in one
    statement), then writes the winners' transitions and events; returns how many moved."""
    won = set(
        await conn.execute(
            COMPARE_AND_SET,
            {
                "project_ids": [r.project_id for r, _ in changes],
                "milestone_ids": [r.milestone_id for r, _ in changes],
                "olds": [r.status for r, _ in changes],
                "seqs": [r.transitions for r, _ in changes],
                "news": [new.value for _, new in changes],
            },
        )
    )  # a milestone another evaluator moved first is not returned: it emits nothing here
    moved = [(r, new) for r, new in changes if (r.project_id, r.milestone_id) in won]
    if not moved:
        return 0
    await conn.execute(
        insert(m.transitions),
        [
            {
                "project_id": r.project_id,
                "milestone_id": r.milestone_id,
                "seq": r.transitions + 1,
                "previous": r.status,
                "status": new.value,
                "changed_at": now,
            }
            for r, new in moved
        ],
    )
    await enqueue(
        conn,
        m.outbox,
        topics.STATUS,
        [
            MilestoneStatusChanged(
                **_envelope(r.project_id, f"milestone/{r.milestone_id}/{r.transitions + 1}", now),
                payload={
                    "milestone_id": r.milestone_id,
                    "title": r.title,
                    "due_date": r.due_date,
                    "quantitative": r.criterion is not None,
                    "previous": r.status,
                    "status": new,
                    "changed_at": now,
                    "project": _context(r),
                },
            )
            for r, new in moved
        ],
    )
    return len(moved)


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
        for period, deadline in closed_periods(
            project.start_date, project.end_date, now.date(), rules.report_grace_days
        ):
            key = (project_id, period)
            if key not in reported and key not in flagged:
                changes += await _flag(conn, project, period, deadline, now)
    cleared = [key for key, at in flagged.items() if at is None and key in reported]
    if cleared:
        changes += await clear_overdue(conn, cleared, now)
    return changes


async def _flag(
    conn: AsyncConnection, project: Any, period: str, deadline: Any, now: datetime
) -> int:
    raised = await conn.execute(
        insert(m.overdue_reports)
        .values(project_id=project.project_id, period=period, deadline=deadline, detected_at=now)
        .on_conflict_do_nothing()
        .returning(m.overdue_reports.c.period)
    )
    if raised.one_or_none() is None:
        return 0
    await enqueue(
        conn,
        m.outbox,
        topics.STATUS,
        [
            ReportOverdue(
                **_envelope(project.project_id, f"report/{period}/overdue", now),
                payload={"period": period, "deadline": deadline, "project": _context(project)},
            )
        ],
    )
    return 1


async def clear_overdue(
    conn: AsyncConnection, keys: list[tuple[uuid.UUID, str]], now: datetime
) -> int:
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
    await enqueue(
        conn,
        m.outbox,
        topics.STATUS,
        [
            ReportOverdueCleared(
                **_envelope(c.project_id, f"report/{c.period}/cleared", now),
                payload={
                    "period": c.period,
                    "cleared_at": now,
                    "project": _context(projects[c.project_id]),
                },
            )
            for c in cleared
        ],
    )
    return len(cleared)
