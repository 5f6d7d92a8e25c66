"""Registering projects and declaring or completing their milestones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import (
    MilestoneCompleted,
    MilestoneCompletedPayload,
    MilestoneDeclared,
    MilestoneDeclaredPayload,
    MilestoneSpec,
    ProjectRegistered,
    ProjectRegisteredPayload,
)
from contracts.projects import MilestoneCompletionIn, MilestonesIn, ProjectCreated, ProjectIn
from services.intake import models as m
from services.intake.domain import envelope
from services.intake.queries import declared_milestones
from services.intake.schemas import MilestoneCompletionOut, MilestonesDeclared
from services.intake.usecases.base import UseCases
from services.runtime.auth import Caller, hash_token, new_project_token
from services.runtime.errors import Conflict, FieldError, NotFound, Unprocessable
from services.runtime.outbox import enqueue


class ProjectUseCases(UseCases):
    async def register(self, body: ProjectIn, caller: Caller) -> ProjectCreated:
        project_id, token, now = uuid.uuid4(), new_project_token(), self.clock()
        fields = body.model_dump(mode="json", exclude={"milestones"})
        async with self.engine.begin() as conn:
            await conn.execute(
                m.projects.insert().values(
                    project_id=project_id,
                    token_sha256=hash_token(token),
                    created_at=now,
                    registered_by=caller.label,
                    **{
                        **fields,
                        "regions": list(body.regions),
                        "start_date": body.start_date,
                        "end_date": body.end_date,
                    },
                )
            )
            await enqueue(
                conn,
                m.outbox,
                topics.PROJECTS,
                [
                    ProjectRegistered(
                        **envelope(project_id, now),
                        payload=ProjectRegisteredPayload.model_validate(
                            {**fields, "api_token_sha256": hash_token(token)}
                        ),
                    )
                ],
            )
            await self._declare(conn, project_id, body.milestones, reason=None)
        return ProjectCreated(project_id=project_id, api_token=token)

    async def declare_milestones(self, project_id: UUID, body: MilestonesIn) -> MilestonesDeclared:
        async with self.engine.begin() as conn:
            await self._open(conn, project_id)
            declared = await self._declare(conn, project_id, body.milestones, body.reason)
        return MilestonesDeclared(project_id=project_id, declared=declared)

    async def _open(self, conn: AsyncConnection, project_id: UUID) -> None:
        """A closed project's milestones are cancelled: none is declared or completed."""
        if (await self.projects.get(conn, project_id)).closed:
            raise Conflict(f"project {project_id} is closed")

    async def _declare(
        self,
        conn: AsyncConnection,
        project_id: UUID,
        specs: Sequence[MilestoneSpec],
        reason: str | None,
    ) -> list[str]:
        existing = await declared_milestones(conn, project_id)
        events: list[MilestoneDeclared] = []
        for index, spec in enumerate(specs):
            known = spec.milestone_id in existing
            if known and existing[spec.milestone_id] is not None:
                raise Conflict(f"milestone {spec.milestone_id} is already completed")
            if known and not reason:
                raise Unprocessable(
                    [
                        FieldError(
                            ("body", "reason"),
                            f"milestones[{index}] reschedules {spec.milestone_id}: give a reason",
                            "missing",
                        )
                    ]
                )
            spec_json = spec.model_dump(mode="json")
            await conn.execute(
                insert(m.milestones)
                .values(project_id=project_id, milestone_id=spec.milestone_id, spec=spec_json)
                .on_conflict_do_update(
                    index_elements=["project_id", "milestone_id"], set_={"spec": spec_json}
                )
            )
            events.append(
                MilestoneDeclared(
                    **envelope(project_id, self.clock()),
                    payload=MilestoneDeclaredPayload(
                        milestone=spec, reason=reason if known else None
                    ),
                )
            )
        await enqueue(conn, m.outbox, topics.MILESTONES, events)
        return [s.milestone_id for s in specs]

    async def complete_milestone(
        self, project_id: UUID, milestone_id: str, body: MilestoneCompletionIn, caller: Caller
    ) -> MilestoneCompletionOut:
        now = self.clock()
        if body.completed_on > now.date():
            raise Unprocessable(
                [FieldError(("body", "completed_on"), "completed_on is in the future")]
            )
        t = m.milestones.c
        async with self.engine.begin() as conn:
            await self._open(conn, project_id)
            done = await conn.execute(
                update(m.milestones)
                .where(
                    t.project_id == project_id,
                    t.milestone_id == milestone_id,
                    t.completed_on.is_(None),
                )
                .values(completed_on=body.completed_on, evidence=body.evidence)
            )
            if done.rowcount == 0:
                if milestone_id not in await declared_milestones(conn, project_id):
                    raise NotFound(f"milestone {milestone_id} not found")
                raise Conflict(f"milestone {milestone_id} is already completed")
            await enqueue(
                conn,
                m.outbox,
                topics.MILESTONES,
                [
                    MilestoneCompleted(
                        **envelope(project_id, now),
                        payload=MilestoneCompletedPayload(
                            milestone_id=milestone_id,
                            completed_on=body.completed_on,
                            evidence=body.evidence,
                            declared_by=caller.label,
                        ),
                    )
                ],
            )
        return MilestoneCompletionOut(
            project_id=project_id, milestone_id=milestone_id, completed_on=body.completed_on
        )
