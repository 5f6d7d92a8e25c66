"""Silencing an arrival rule for a project (a false positive): its reports are no longer
checked against it, and the `report_anomaly` alerts it raised are resolved at once."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert

from contracts import topics
from services.intake import models as m
from services.intake.anomalies import Rule
from services.intake.arrival import anomaly_events, periods_tripping, project_context
from services.intake.schemas import SilencedCheck, SilenceIn
from services.intake.usecases.base import UseCases
from services.runtime.auth import Caller
from services.runtime.errors import NotFound
from services.runtime.outbox import enqueue

RESOLVED_BY = "Règle mise en sourdine pour ce projet par l'équipe du programme"


class CheckUseCases(UseCases):
    async def silence(
        self, project_id: UUID, rule: Rule, body: SilenceIn, caller: Caller
    ) -> SilencedCheck:
        """Idempotent: silencing again only replaces the reason."""
        now, s = self.clock(), m.silenced_checks.c
        row = {
            "project_id": project_id,
            "rule": rule.value,
            "reason": body.reason,
            "silenced_by": caller.label,
            "silenced_at": now,
        }
        async with self.engine.begin() as conn:
            await self.projects.get(conn, project_id)
            created = (
                await conn.execute(
                    insert(m.silenced_checks)
                    .values(row)
                    .on_conflict_do_nothing()
                    .returning(s.silenced_by, s.silenced_at)
                )
            ).one_or_none()
            if created is None:  # silenced already: only the reason changes
                stored = (
                    await conn.execute(
                        update(m.silenced_checks)
                        .where(s.project_id == project_id, s.rule == rule.value)
                        .values(reason=body.reason)
                        .returning(s.silenced_by, s.silenced_at)
                    )
                ).one()
            else:
                stored = created
                context = await project_context(conn, project_id)
                events = [
                    event
                    for period in await periods_tripping(conn, project_id, rule)
                    for event in anomaly_events(
                        project_id, context, period, [], {rule}, now, RESOLVED_BY
                    )
                ]
                await enqueue(conn, m.outbox, topics.STATUS, events)
        return SilencedCheck(
            rule=rule,
            reason=body.reason,
            silenced_by=stored.silenced_by,
            silenced_at=stored.silenced_at,
        )

    async def unsilence(self, project_id: UUID, rule: Rule) -> None:
        """The project's next reports are checked against `rule` again."""
        s = m.silenced_checks.c
        async with self.engine.begin() as conn:
            await self.projects.get(conn, project_id)
            gone = await conn.execute(
                delete(m.silenced_checks).where(s.project_id == project_id, s.rule == rule.value)
            )
            if gone.rowcount == 0:
                raise NotFound(f"rule {rule.value} is not silenced for project {project_id}")
