"""Milestone status transitions, inside the caller's transaction: open milestones evaluated,
each change persisted with its transition row and its event.

Set-wise, whatever the number of changes (docs/performance.md, B6): one read returns only the
milestones whose status may differ (a deliverable's status depends on the date alone, so the
read compares it in SQL and skips the unchanged); per 5,000 changes one statement moves the
statuses and writes their transition rows; their events go to the outbox by COPY.

Safe on several replicas: a status moves by compare-and-set (`UPDATE … WHERE status = old`),
so when two evaluators race, one changes the row and emits, the other does nothing. Event ids
derive from the milestone and its transition number (`domain.status_changed_events`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

import asyncpg
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
    status_changed_events,
)
from services.runtime.db import driver
from services.runtime.outbox import enqueue_encoded

CHUNK = 5_000  # status changes per statement
_M, _P, _T = m.milestones.fullname, m.projects.fullname, m.totals.fullname
_PENDING, _AT_RISK, _OVERDUE = (
    MilestoneStatus.PENDING.value,
    MilestoneStatus.AT_RISK.value,
    MilestoneStatus.OVERDUE.value,
)
_OPEN = ", ".join(f"'{s.value}'" for s in OPEN)
_STATUS = {s.value: s for s in MilestoneStatus}  # a dict: the enum's lookup costs 60,000 calls
# A deliverable (no criterion) not completed, of a project not closed, is, by `status_at`,
# overdue past its due date, at risk within the window, pending before: when that is its
# status, it cannot change. The test
# `test_the_read_skips_exactly_the_deliverables_the_date_leaves_unchanged` holds the two to
# the same rule. A deliverable's criterion is JSON null (as the handlers store it) or NULL.
_MAY_CHANGE = f"""(jsonb_typeof(ms.criterion) = 'object' OR ms.completed_on IS NOT NULL
    OR p.closed_on IS NOT NULL
    OR ms.status <> CASE WHEN ms.due_date < $1::date THEN '{_OVERDUE}'
                         WHEN ms.due_date - $1::date <= $2::int THEN '{_AT_RISK}'
                         ELSE '{_PENDING}' END)"""
# Sent by the driver ($1 today, $2 the at-risk window's days, $3 the selection): 60,000 rows
# cost half the CPU they cost through SQLAlchemy's result rows (docs/performance.md, B6).
_READ = f"""
    SELECT ms.project_id, ms.milestone_id, ms.title, ms.due_date, ms.criterion, ms.completed_on,
           ms.status, ms.transitions, p.name, p.sheet, p.regions, p.closed_on, t.totals,
           t.observed_at
    FROM {_M} ms JOIN {_P} p USING (project_id) LEFT JOIN {_T} t USING (project_id)
    WHERE {_MAY_CHANGE} AND """
# The date alone can move only pending and at-risk milestones (the partial index's statuses).
DUE_BY = _READ + f"ms.status IN ('{_PENDING}', '{_AT_RISK}') AND ms.due_date <= $3::date"
OF_PROJECTS = _READ + f"ms.status IN ({_OPEN}) AND ms.project_id = ANY($3::uuid[])"
# Compare-and-set, then the winners' transition rows, in one statement; arrays bound as single
# parameters: compiling one bind parameter per value costs more than the update itself.
MOVE = f"""
    WITH moved AS (
        UPDATE {_M} AS m SET status = w.new, transitions = m.transitions + 1
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[])
             AS w(project_id, milestone_id, old, seq, new)
        WHERE m.project_id = w.project_id AND m.milestone_id = w.milestone_id
          AND m.status = w.old AND m.transitions = w.seq
        RETURNING m.project_id, m.milestone_id, m.transitions, w.old, w.new)
    INSERT INTO {m.transitions.fullname}
        (project_id, milestone_id, seq, previous, status, changed_at)
    SELECT project_id, milestone_id, transitions, old, new, $6::timestamptz FROM moved
    RETURNING project_id, milestone_id"""


async def read_open(
    conn: AsyncConnection,
    today: date,
    rules: Rules,
    *,
    projects: Sequence[uuid.UUID] | None = None,
    due_by: date | None = None,
) -> list[asyncpg.Record]:
    """The open milestones of known projects (those of `projects`, or those due by `due_by`)
    whose status may differ from the one stored, each with its project's context and totals
    (a JSON column comes decoded: the engine's connections have a codec for it)."""
    selection: list[uuid.UUID] | date
    if projects is not None:
        statement, selection = OF_PROJECTS, list(projects)
    elif due_by is not None:
        statement, selection = DUE_BY, due_by
    else:
        raise ValueError("evaluate_milestones needs projects or due_by")
    async with driver(conn, "read the milestones that may change") as raw:
        rows: list[asyncpg.Record] = await raw.fetch(
            statement, today, rules.at_risk_days, selection
        )
    return rows


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
    today = now.date()
    contexts: dict[uuid.UUID, ProjectContext] = {}
    progress: dict[uuid.UUID, Progress | None] = {}
    changes = []
    for row in await read_open(conn, today, rules, projects=projects, due_by=due_by):
        project_id = row["project_id"]
        if project_id not in contexts:  # once per project, not per milestone
            contexts[project_id] = ProjectContext(
                name=row["name"], sheet=row["sheet"], regions=tuple(row["regions"])
            )
            totals = row["totals"]
            progress[project_id] = (
                None
                if totals is None
                else Progress(
                    tuple(TotalsRow.model_validate(r) for r in totals),
                    row["observed_at"].date(),
                )
            )
        criterion = Target.model_validate(row["criterion"]) if row["criterion"] else None
        new = status_at(
            today,
            due=row["due_date"],
            completed_on=row["completed_on"],
            criterion=criterion,
            progress=progress[project_id],
            rules=rules,
            closed_on=row["closed_on"],
        )
        if new != row["status"]:
            changes.append(_change(row, contexts[project_id], criterion is not None, new))
    moved = 0
    for start in range(0, len(changes), CHUNK):
        moved += await _move(conn, changes[start : start + CHUNK], now)
    return moved


def _change(
    row: asyncpg.Record, project: ProjectContext, quantitative: bool, new: MilestoneStatus
) -> StatusChange:
    return StatusChange(
        project_id=row["project_id"],
        milestone_id=row["milestone_id"],
        title=row["title"],
        due_date=row["due_date"],
        quantitative=quantitative,
        project=project,
        previous=_STATUS[row["status"]],
        status=new,
        transitions=row["transitions"],
    )


async def _move(conn: AsyncConnection, changes: list[StatusChange], now: datetime) -> int:
    """Moves every milestone whose status is still the one evaluated (compare-and-set) with
    its transition row, then enqueues the winners' events; returns how many moved."""
    won = await _compare_and_set(conn, changes, now)
    moved = [c for c in changes if (c.project_id, c.milestone_id) in won]
    await enqueue_encoded(conn, m.outbox, topics.STATUS, status_changed_events(moved, now))
    return len(moved)


async def _compare_and_set(
    conn: AsyncConnection, changes: list[StatusChange], now: datetime
) -> set[tuple[uuid.UUID, str]]:
    """The milestones moved, with their transition rows, by one statement: a milestone another
    evaluator moved first is not among them (it emits nothing here)."""
    async with driver(conn, "move statuses") as raw:
        won = await raw.fetch(
            MOVE,
            [c.project_id for c in changes],
            [c.milestone_id for c in changes],
            [c.previous.value for c in changes],
            [c.transitions for c in changes],
            [c.status.value for c in changes],
            now,
        )
    return {(project_id, milestone_id) for project_id, milestone_id in won}
