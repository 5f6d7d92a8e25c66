"""Milestone status transitions, inside the caller's transaction: open milestones evaluated,
each change persisted with its transition row and its event.

Safe on several replicas: a status moves by compare-and-set (`UPDATE … WHERE status = old`),
so when two evaluators race, one changes the row and emits, the other does nothing. Event ids
derive from the milestone and its transition number (`domain.status_changed`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import MilestoneStatus, ProjectContext, TotalsRow
from contracts.indicators import Target
from services.milestone import models as m
from services.milestone.domain import (
    OPEN,
    Progress,
    Rules,
    StatusChange,
    status_at,
    status_changed,
)
from services.runtime.outbox import enqueue

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


async def evaluate_milestones(
    conn: AsyncConnection,
    now: datetime,
    rules: Rules,
    *,
    projects: Sequence[uuid.UUID] | None = None,
    due_by: date | None = None,
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
            p.closed_on,
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
    for row in await conn.execute(query):  # a quiet tick reads many rows and changes few
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
            closed_on=row.closed_on,
        )
        if new != row.status:
            changes.append(_change(row, criterion is not None, new))
    moved = 0
    for start in range(0, len(changes), CHUNK):
        moved += await _move(conn, changes[start : start + CHUNK], now)
    return moved


def _change(row: Row[*tuple[Any, ...]], quantitative: bool, new: MilestoneStatus) -> StatusChange:
    return StatusChange(
        project_id=row.project_id,
        milestone_id=row.milestone_id,
        title=row.title,
        due_date=row.due_date,
        quantitative=quantitative,
        project=ProjectContext(name=row.name, sheet=row.sheet, regions=tuple(row.regions)),
        previous=MilestoneStatus(row.status),
        status=new,
        transitions=row.transitions,
    )


async def _move(conn: AsyncConnection, changes: list[StatusChange], now: datetime) -> int:
    """Moves every milestone whose status is still the one evaluated (compare-and-set, in one
    statement), then writes the winners' transitions and events; returns how many moved."""
    won = set(
        await conn.execute(
            COMPARE_AND_SET,
            {
                "project_ids": [c.project_id for c in changes],
                "milestone_ids": [c.milestone_id for c in changes],
                "olds": [c.previous.value for c in changes],
                "seqs": [c.transitions for c in changes],
                "news": [c.status.value for c in changes],
            },
        )
    )  # a milestone another evaluator moved first is not returned: it emits nothing here
    moved = [c for c in changes if (c.project_id, c.milestone_id) in won]
    if not moved:
        return 0
    await conn.execute(
        insert(m.transitions),
        [
            {
                "project_id": c.project_id,
                "milestone_id": c.milestone_id,
                "seq": c.transitions + 1,
                "previous": c.previous.value,
                "status": c.status.value,
                "changed_at": now,
            }
            for c in moved
        ],
    )
    await enqueue(conn, m.outbox, topics.STATUS, [status_changed(c, now) for c in moved])
    return len(moved)
