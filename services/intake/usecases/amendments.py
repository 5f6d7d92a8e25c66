"""Amending and closing a project (programme staff). Each is kept with who, when and why,
and published as one event in the same transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import topics
from contracts.events import (
    ProjectAmended,
    ProjectAmendedPayload,
    ProjectClosed,
    ProjectClosedPayload,
    ProjectStatus,
)
from contracts.indicators import Target
from contracts.projects import ProjectAmendmentIn, ProjectClosureIn
from services.intake import models as m
from services.intake.domain import (
    Amendable,
    amend,
    amendment_problems,
    changes_nothing,
    closure_problems,
    envelope,
)
from services.intake.schemas import AmendmentOut, ClosureOut
from services.intake.usecases.base import UseCases
from services.runtime.auth import Caller
from services.runtime.errors import Conflict, FieldError, NotFound, Unprocessable
from services.runtime.outbox import enqueue

_p = m.projects.c


class AmendmentUseCases(UseCases):
    async def amend(
        self, project_id: UUID, body: ProjectAmendmentIn, caller: Caller
    ) -> AmendmentOut:
        now = self.clock()
        async with self.engine.begin() as conn:
            row = await _locked_active(conn, project_id)
            current = Amendable(
                name=row.name,
                lead=row.lead,
                end_date=row.end_date,
                funding_eur=row.funding_eur,
                regions=tuple(row.regions),
                commitments=tuple(Target.model_validate(c) for c in row.commitments),
            )
            problems = amendment_problems(current, body, start=row.start_date)
            if problems:
                raise Unprocessable(problems)
            changes, new = amend(current, body)
            if changes_nothing(changes):
                raise Unprocessable(
                    [FieldError(("body",), "every field given already has that value")]
                )
            seq = (
                1
                + (
                    await conn.execute(
                        select(func.count()).where(m.amendments.c.project_id == project_id)
                    )
                ).scalar_one()
            )
            await conn.execute(
                update(m.projects)
                .where(_p.project_id == project_id)
                .values(
                    name=new.name,
                    lead=new.lead,
                    end_date=new.end_date,
                    funding_eur=new.funding_eur,
                    regions=list(new.regions),
                    commitments=[c.model_dump(mode="json") for c in new.commitments],
                )
            )
            await conn.execute(
                m.amendments.insert().values(
                    project_id=project_id,
                    seq=seq,
                    amended_by=caller.label,
                    amended_at=now,
                    reason=body.reason,
                    changes=changes.model_dump(mode="json", exclude_defaults=True),
                )
            )
            payload = ProjectAmendedPayload(
                amendment=seq,
                amended_by=caller.label,
                reason=body.reason,
                changes=changes,
                name=new.name,
                lead=new.lead,
                end_date=new.end_date,
                funding_eur=new.funding_eur,
                regions=new.regions,
                commitments=new.commitments,
            )
            await enqueue(
                conn,
                m.outbox,
                topics.PROJECTS,
                [ProjectAmended(**envelope(project_id, now), payload=payload)],
            )
        return AmendmentOut(
            amendment=seq,
            amended_by=caller.label,
            amended_at=now,
            reason=body.reason,
            changes=changes,
        )

    async def close(self, project_id: UUID, body: ProjectClosureIn, caller: Caller) -> ClosureOut:
        now = self.clock()
        async with self.engine.begin() as conn:
            row = await _locked_active(conn, project_id)
            problems = closure_problems(body, start=row.start_date, today=now.date())
            if problems:
                raise Unprocessable(problems)
            await conn.execute(
                update(m.projects)
                .where(_p.project_id == project_id)
                .values(
                    status=body.status.value,
                    closed_on=body.on,
                    closed_by=caller.label,
                    closed_at=now,
                    closure_reason=body.reason,
                )
            )
            payload = ProjectClosedPayload(
                status=body.status, on=body.on, reason=body.reason, closed_by=caller.label
            )
            await enqueue(
                conn,
                m.outbox,
                topics.PROJECTS,
                [ProjectClosed(**envelope(project_id, now), payload=payload)],
            )
        return ClosureOut(
            status=body.status,
            on=body.on,
            reason=body.reason,
            closed_by=caller.label,
            closed_at=now,
        )


async def _locked_active(conn: AsyncConnection, project_id: UUID) -> Row[Any]:
    """The project's row, locked until the transaction ends (amendments of one project take
    turns); a closed project cannot change any more (409)."""
    row = (
        await conn.execute(select(m.projects).where(_p.project_id == project_id).with_for_update())
    ).one_or_none()
    if row is None:
        raise NotFound(f"project {project_id} not found")
    if row.status != ProjectStatus.ACTIVE:
        raise Conflict(f"project {project_id} is {row.status} since {row.closed_on}")
    return row
