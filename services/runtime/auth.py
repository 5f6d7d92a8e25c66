"""Bearer tokens: programme-staff tokens from settings, per-project tokens stored hashed.

Each service keeps its own copy of the project token hashes (from `project.registered`),
so authorisation never reads another service's tables.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from cachetools import TTLCache
from fastapi import Request
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.runtime.errors import Forbidden, Unauthorized
from services.runtime.settings import Settings

FindProject = Callable[[str], Awaitable[UUID | None]]  # token sha256 -> project id


@dataclass(frozen=True)
class Caller:
    staff: bool
    project_id: UUID | None = None

    @property
    def label(self) -> str:
        return "staff" if self.staff else f"project:{self.project_id}"

    def require_staff(self) -> None:
        if not self.staff:
            raise Forbidden("programme-staff token required")

    def require_project(self, project_id: UUID) -> None:
        """Object-level authorisation: staff, or the project itself."""
        if not self.staff and self.project_id != project_id:
            raise Forbidden("this token is for another project")


def new_project_token() -> str:
    return "cmap_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_lookup(engine: AsyncEngine, projects: Table, *, seconds: float = 60.0) -> FindProject:
    """Finds a project by its token's hash in a service's own copy of the projects. A token
    never changes owner, so tokens found are remembered for `seconds` (one database round
    trip less per request); unknown ones are asked again, as a project may just have
    registered."""
    query = select(projects.c.project_id).where(projects.c.token_sha256 == bindparam("digest"))
    known: TTLCache[str, UUID] = TTLCache(maxsize=100_000, ttl=seconds)

    async def find(digest: str) -> UUID | None:
        if (project_id := known.get(digest)) is not None:
            return project_id
        async with engine.connect() as conn:
            project_id = (await conn.execute(query, {"digest": digest})).scalar_one_or_none()
        if project_id is not None:
            known[digest] = project_id
        return project_id

    return find


def authenticator(
    settings: Settings, find_project: FindProject
) -> Callable[[Request], Awaitable[Caller]]:
    staff_hashes = [hash_token(t.get_secret_value()) for t in settings.staff_tokens]

    async def authenticate(request: Request) -> Caller:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token")
        digest = hash_token(token.strip())
        if any(hmac.compare_digest(digest, h) for h in staff_hashes):
            return Caller(staff=True)
        project_id = await find_project(digest)
        if project_id is None:
            raise Unauthorized("unknown token")
        return Caller(staff=False, project_id=project_id)

    return authenticate
