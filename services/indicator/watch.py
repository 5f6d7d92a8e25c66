"""The periodic evaluation of alert conditions (services/indicator/conditions.py): dates move
even when no report arrives. Each condition that starts or stops holding emits one
`condition.changed` through the outbox, in the transaction that records it.

Safe on several replicas: a transition is recorded by one upsert that changes the row only
when its state differs, and only the evaluator whose statement changed it emits; event ids
derive from the condition and its transition number.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Row, select, text

from contracts import topics
from contracts.events import (
    SHEET_SUBJECT,
    ConditionChanged,
    ConditionKind,
    ProjectContext,
)
from contracts.indicators import Target
from services.indicator import models as m
from services.indicator.conditions import Condition, behind_two_semesters, is_stale
from services.indicator.domain import Tally, totals_by
from services.indicator.figures import SHEET_BY, Figures
from services.indicator.freshness import freshness
from services.indicator.queries import Project
from services.runtime.outbox import derived_event_id, enqueue

log = logging.getLogger(__name__)
CONSUMER = "indicator.watch"
PAGE = 100
"""Projects read and evaluated at a time."""

_TRANSITION = text(f"""
    insert into {m.conditions.fullname}
        (fingerprint, kind, project_id, subject, summary, project, firing, transitions)
    values (:fingerprint, :kind, :project_id, :subject, :summary, cast(:project as jsonb),
        :firing, 1)
    on conflict (fingerprint) do update
        set firing = excluded.firing, summary = excluded.summary,
            transitions = {m.conditions.fullname}.transitions + 1
        where {m.conditions.fullname}.firing <> excluded.firing
    returning transitions""")


def per_period(target: Target, tallies: Iterable[Tally]) -> dict[str, int]:
    s = target.selector
    chosen = [t for t in tallies if s.matches(t.kind, t.level, t.audience or None)]
    return {p: n for (p,), n in totals_by(chosen, "period").items()}


class Watch:
    def __init__(self, figures: Figures, stale_semesters: int) -> None:
        self.figures, self.stale_semesters = figures, stale_semesters

    async def holding(self) -> list[Condition]:
        """Every condition that holds at the clock's time. A sheet's projects are read
        `PAGE` at a time, its targets from the totals kept: what an evaluation holds does not
        grow with the projects (docs/performance.md, B8's memory)."""
        f, today = self.figures, self.figures.clock().date()
        found: list[Condition] = []
        for sheet, spec in f.catalog.sheets.items():
            page = await f.queries.sheet_projects(sheet, limit=PAGE)
            if not page:
                continue
            everyone = await f.queries.tallies(sheet=sheet, by=SHEET_BY)
            context = ProjectContext(name=spec.name, sheet=sheet, regions=())
            for target in spec.targets:
                if behind_two_semesters(target, per_period(target, everyone), today, f.tolerance):
                    summary = f"Cible « {target.label} » ({spec.name}) en retard sur sa trajectoire"
                    found.append(
                        Condition(
                            ConditionKind.TARGET_BEHIND, SHEET_SUBJECT, target.id, summary, context
                        )
                    )
            while page:
                ids = [project.project_id for project, _ in page]
                reported = await f.queries.reported(project_ids=ids)
                found += self._projects_holding(page, reported, today)
                page = await f.queries.sheet_projects(sheet, after=ids[-1], limit=PAGE)
        return found

    def _projects_holding(
        self,
        page: Sequence[tuple[Project, list[Tally]]],
        reported: Mapping[UUID, dict[str, datetime]],
        today: date,
    ) -> list[Condition]:
        """The conditions of these projects of a sheet that hold today."""
        tolerance = self.figures.tolerance
        found: list[Condition] = []
        for project, tallies in page:
            if project.closed_by(today):  # its conditions stop holding: they resolve
                continue
            mine = ProjectContext(name=project.name, sheet=project.sheet, regions=project.regions)
            for c in project.commitments:
                if behind_two_semesters(c, per_period(c, tallies), today, tolerance):
                    summary = f"Engagement « {c.label} » de {project.name} en retard"
                    found.append(
                        Condition(
                            ConditionKind.COMMITMENT_BEHIND,
                            project.project_id,
                            c.id,
                            summary,
                            mine,
                        )
                    )
            fresh = freshness(
                start=project.start_date,
                end=project.end_date,
                today=today,
                reported=reported.get(project.project_id, {}),
            )
            if is_stale(fresh, self.stale_semesters):
                summary = (
                    f"{project.name} n'a rien déclaré depuis {fresh.semesters_behind} semestres"
                )
                details = {"semesters_behind": str(fresh.semesters_behind)}
                details["latest_period"] = fresh.latest_period or ""
                found.append(
                    Condition(
                        ConditionKind.PROJECT_STALE,
                        project.project_id,
                        "reports",
                        summary,
                        mine,
                        details,
                    )
                )
        return found

    async def tick(self) -> int:
        """One evaluation; returns how many conditions started or stopped holding."""
        now = self.figures.clock()
        holding = {c.fingerprint: c for c in await self.holding()}
        engine = self.figures.queries.engine
        async with engine.begin() as conn:
            c = m.conditions.c
            known = {
                row.fingerprint: row
                for row in await conn.execute(select(m.conditions).where(c.firing))
            }
            changes = [(one, True) for fp, one in holding.items() if fp not in known] + [
                (_stored(row), False) for fp, row in known.items() if fp not in holding
            ]
            events = []
            for condition, firing in changes:
                transitions = await conn.scalar(
                    _TRANSITION,
                    {
                        "fingerprint": condition.fingerprint,
                        "kind": condition.kind.value,
                        "project_id": condition.project_id,
                        "subject": condition.subject,
                        "summary": condition.summary,
                        "project": condition.project.model_dump_json(),
                        "firing": firing,
                    },
                )
                if transitions is not None:
                    events.append(_event(condition, firing, transitions, now))
            await enqueue(conn, m.outbox, topics.STATUS, events)
        return len(events)

    async def run(self, every_seconds: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # the database may be away: the next tick tries again
                log.exception("indicator watch failed")
            await asyncio.sleep(every_seconds)


def _stored(r: Row[Any]) -> Condition:
    return Condition(
        ConditionKind(r.kind),
        r.project_id,
        r.subject,
        r.summary,
        ProjectContext.model_validate(r.project),
    )


def _event(condition: Condition, firing: bool, transitions: int, now: datetime) -> ConditionChanged:
    cause = uuid.uuid5(uuid.NAMESPACE_URL, f"cma:{condition.fingerprint}")
    return ConditionChanged(
        event_id=derived_event_id(CONSUMER, cause, transitions),
        occurred_at=now,
        producer="indicator",
        project_id=condition.project_id,
        payload={
            "kind": condition.kind,
            "firing": firing,
            "subject": condition.subject,
            "summary": condition.summary,
            "details": condition.details,
            "project": condition.project,
        },
    )
