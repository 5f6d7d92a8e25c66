"""Replacing a project's token; issuing and revoking named staff tokens. Each change is one
event through the outbox: every service keeps its copy of the hashes from them, and every
process refuses a replaced or revoked token as soon as it reads one (docs/security.md, Tokens).
"""

from __future__ import annotations

import uuid
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import topics
from contracts.events import (
    Person,
    ProjectTokenRotated,
    ProjectTokenRotatedPayload,
    StaffTokenIssued,
    StaffTokenIssuedPayload,
    StaffTokenRevoked,
    StaffTokenRevokedPayload,
)
from services.intake import models as m
from services.intake.domain import StaffToken, envelope, staff_envelope
from services.intake.queries import STAFF_TOKEN_FIELDS
from services.intake.schemas import ProjectTokenOut, StaffTokenCreated, StaffTokenIn, StaffTokenOut
from services.intake.usecases.base import UseCases
from services.runtime.auth import (
    Caller,
    TokenDirectory,
    hash_token,
    new_project_token,
    new_staff_token,
)
from services.runtime.clock import Clock
from services.runtime.errors import NotFound
from services.runtime.outbox import enqueue


class TokenUseCases(UseCases):
    def __init__(self, engine: AsyncEngine, clock: Clock, directory: TokenDirectory) -> None:
        super().__init__(engine, clock)
        # This process refuses the old token at once; the others when they read the event.
        self.directory = directory

    async def rotate_project_token(self, project_id: UUID, caller: Caller) -> ProjectTokenOut:
        token, now = new_project_token(), self.clock()
        p = m.projects.c
        async with self.engine.begin() as conn:
            current = select(p.token_sha256).where(p.project_id == project_id).with_for_update()
            old = (await conn.execute(current)).scalar_one_or_none()
            if old is None:
                raise NotFound(f"project {project_id} not found")
            new = hash_token(token)
            await conn.execute(
                update(m.projects).where(p.project_id == project_id).values(token_sha256=new)
            )
            payload = ProjectTokenRotatedPayload(
                api_token_sha256=new, revoked_token_sha256=old, rotated_by=caller.label
            )
            event = ProjectTokenRotated(**envelope(project_id, now), payload=payload)
            await enqueue(conn, m.outbox, topics.PROJECTS, [event])
        self.directory.revoke([old])
        return ProjectTokenOut(project_id=project_id, api_token=token)

    async def issue_staff_token(self, body: StaffTokenIn, caller: Caller) -> StaffTokenCreated:
        token, token_id, now = new_staff_token(), uuid.uuid4(), self.clock()
        person = Person(name=body.name, email=body.email)
        issued = StaffToken(
            token_id, person.name, person.email, body.admin, now, caller.label, None, None
        )
        payload = StaffTokenIssuedPayload(
            token_sha256=hash_token(token), person=person, admin=body.admin, issued_by=caller.label
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                m.staff_tokens.insert().values(
                    token_id=token_id,
                    token_sha256=payload.token_sha256,
                    name=person.name,
                    email=person.email,
                    admin=body.admin,
                    issued_at=now,
                    issued_by=caller.label,
                )
            )
            event = StaffTokenIssued(**staff_envelope(token_id, now), payload=payload)
            await enqueue(conn, m.outbox, topics.ACCESS, [event])
        return StaffTokenCreated.issued(issued, token)

    async def revoke_staff_token(self, token_id: UUID, caller: Caller) -> StaffTokenOut:
        """Revoking a revoked token changes nothing and answers it as it is."""
        now, s = self.clock(), m.staff_tokens.c
        async with self.engine.begin() as conn:
            revoked = (
                await conn.execute(
                    update(m.staff_tokens)
                    .where(s.token_id == token_id, s.revoked_at.is_(None))
                    .values(revoked_at=now, revoked_by=caller.label)
                    .returning(s.token_sha256)
                )
            ).scalar_one_or_none()
            if revoked is not None:
                payload = StaffTokenRevokedPayload(token_sha256=revoked, revoked_by=caller.label)
                event = StaffTokenRevoked(**staff_envelope(token_id, now), payload=payload)
                await enqueue(conn, m.outbox, topics.ACCESS, [event])
            found = select(*STAFF_TOKEN_FIELDS, s.token_sha256).where(s.token_id == token_id)
            row = (await conn.execute(found)).one_or_none()
        if row is None:
            raise NotFound(f"staff token {token_id} not found")
        self.directory.revoke([row.token_sha256])
        return StaffTokenOut.of(StaffToken(*row[:-1]))
