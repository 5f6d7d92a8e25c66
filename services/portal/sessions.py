"""Server-side sessions: the token a person pasted stays in this process's memory, behind a
random session id in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS). Each
session has its CSRF token; every form posts it back. A restart signs everyone out, which is
the price of keeping tokens out of any store (docs/portal.md)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from cachetools import TTLCache

from services.portal.schemas import Upload

COOKIE = "cma_portal"


class Role(StrEnum):
    STAFF = "staff"
    PROJECT = "project"


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token: str | None = field(default=None, repr=False)
    role: Role | None = None
    project_id: UUID | None = None
    project_name: str | None = None
    flash: list[tuple[str, str]] = field(default_factory=list)
    """(DSFR alert type, text) shown once on the next page."""
    pending: Upload | None = field(default=None, repr=False)
    """A report file that passed its dry run, awaiting the project's confirmation."""

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    def csrf_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(self.csrf, given)

    def say(self, kind: str, text: str) -> None:
        self.flash.append((kind, text))

    def pop_flash(self) -> list[tuple[str, str]]:
        shown, self.flash = self.flash, []
        return shown


class Sessions:
    """Sessions by id; one unused for `idle` expires (the cache forgets it)."""

    def __init__(self, idle: timedelta, *, maxsize: int = 10_000) -> None:
        self._by_id: TTLCache[str, Session] = TTLCache(
            maxsize=maxsize, ttl=idle.total_seconds(), timer=lambda: datetime.now().timestamp()
        )

    def get(self, session_id: str | None) -> Session | None:
        if session_id is None or (session := self._by_id.get(session_id)) is None:
            return None
        self._by_id[session_id] = session  # each use renews the idle timeout
        return session

    def new(self, session: Session | None = None) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        self._by_id[session_id] = session or Session()
        return session_id, self._by_id[session_id]

    def drop(self, session_id: str | None) -> None:
        if session_id is not None:
            self._by_id.pop(session_id, None)
