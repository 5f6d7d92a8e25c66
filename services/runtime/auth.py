"""Bearer tokens: bootstrap staff tokens from settings; named staff tokens and per-project
tokens stored hashed.

Each service keeps its own copy of the token hashes (projects from `project.registered` and
`project.token_rotated`, named staff tokens from `staff_token.*`), so authorisation never
reads another service's tables. A replaced or revoked token is refused by every process within
seconds: `services/runtime/token_events.py` tells each process's `TokenDirectory`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from cachetools import TTLCache
from fastapi import Request
from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events import Person
from services.runtime.errors import Forbidden, Unauthorized
from services.runtime.settings import Settings

FindCaller = Callable[[str], Awaitable["Caller | None"]]  # token sha256 -> who holds it


@dataclass(frozen=True)
class Caller:
    staff: bool
    project_id: UUID | None = None
    person: Person | None = None
    """Whom a named staff token belongs to; None for bootstrap staff tokens and projects."""
    admin: bool = False
    """A staff admin manages staff tokens: bootstrap tokens and named tokens issued as admin."""

    @property
    def label(self) -> str:
        """Who did it, as records keep it: a person for named staff tokens."""
        if self.person is not None:
            return f"{self.person.name} <{self.person.email}>"
        return "staff" if self.staff else f"project:{self.project_id}"

    def require_staff(self) -> None:
        if not self.staff:
            raise Forbidden("programme-staff token required")

    def require_staff_admin(self) -> None:
        self.require_staff()
        if not self.admin:
            raise Forbidden("staff admin token required")

    def require_project(self, project_id: UUID) -> None:
        """Object-level authorisation: staff, or the project itself."""
        if not self.staff and self.project_id != project_id:
            raise Forbidden("this token is for another project")


BOOTSTRAP_STAFF = Caller(staff=True, admin=True)


def new_project_token() -> str:
    return "cmap_" + secrets.token_urlsafe(32)


def new_staff_token() -> str:
    return "cmas_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_copies(engine: AsyncEngine, projects: Table, staff_tokens: Table) -> FindCaller:
    """Who holds a token, by its hash, in a service's own copies of the projects and of the
    named staff tokens (a revoked staff token is kept there, marked revoked)."""
    project = select(projects.c.project_id).where(projects.c.token_sha256 == bindparam("digest"))
    s = staff_tokens.c
    staff = select(s.name, s.email, s.admin).where(
        s.token_sha256 == bindparam("digest"), s.revoked_at.is_(None)
    )

    async def read(digest: str) -> Caller | None:
        async with engine.connect() as conn:
            project_id = (await conn.execute(project, {"digest": digest})).scalar()
            if project_id is not None:
                return Caller(staff=False, project_id=project_id)
            row = (await conn.execute(staff, {"digest": digest})).one_or_none()
        if row is None:
            return None
        return Caller(staff=True, person=Person(name=row.name, email=row.email), admin=row.admin)

    return read


class TokenDirectory:
    """Who holds a token, by its hash, as a process of a service answers it: `read` (the
    service's copies), a cache in front of it, and a deny set in front of both.

    Tokens found are remembered for `seconds` (one database round trip less per request);
    unknown ones are asked again, as a project may just have registered. A token replaced or
    revoked is `revoke`d here by the process's revocation listener: dropped from the cache
    and refused from then on, even while the service's copy still holds it (the copy is
    updated by one replica's consumer, possibly later than this process hears of it)."""

    def __init__(
        self, read: FindCaller, *, seconds: float = 60.0, revoked_kept: int = 100_000
    ) -> None:
        self._read = read
        self._known: TTLCache[str, Caller] = TTLCache(maxsize=100_000, ttl=seconds)
        # Insertion-ordered: past `revoked_kept` the oldest go (the copies refuse them by then).
        self._revoked: dict[str, None] = {}
        self._revoked_kept = revoked_kept

    async def find(self, digest: str) -> Caller | None:
        if digest in self._revoked:
            return None
        if (caller := self._known.get(digest)) is not None:
            return caller
        caller = await self._read(digest)
        # A revocation heard while the copy was read wins over what the copy said.
        if caller is None or digest in self._revoked:
            return None
        self._known[digest] = caller
        return caller

    def revoke(self, digests: Iterable[str]) -> None:
        for digest in digests:
            self._known.pop(digest, None)
            self._revoked[digest] = None
        while len(self._revoked) > self._revoked_kept:
            del self._revoked[next(iter(self._revoked))]

    @property
    def revoked(self) -> tuple[str, ...]:
        """The hashes this process refuses, oldest first."""
        return tuple(self._revoked)


def authenticator(settings: Settings, find: FindCaller) -> Callable[[Request], Awaitable[Caller]]:
    bootstrap_hashes = [hash_token(t.get_secret_value()) for t in settings.staff_tokens]

    async def authenticate(request: Request) -> Caller:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token")
        digest = hash_token(token.strip())
        if any(hmac.compare_digest(digest, h) for h in bootstrap_hashes):
            return BOOTSTRAP_STAFF
        caller = await find(digest)
        if caller is None:
            raise Unauthorized("unknown token")
        return caller

    return authenticate
