"""What every intake use case shares: the engine, the clock, and loading a project."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cachetools import LRUCache
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.intake import models as m
from services.runtime.clock import Clock
from services.runtime.errors import NotFound

_PROJECT = select(
    m.projects.c.project_id, m.projects.c.regions, m.projects.c.start_date, m.projects.c.end_date
).where(m.projects.c.project_id == bindparam("project_id"))
"""What a report is checked against; built once (a report request is the hot path)."""


class UseCases:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock
        # A registered project's regions and run never change (API v1 has no update or
        # delete), so the rows found are kept: one round trip less per report.
        self._projects: LRUCache[UUID, Any] = LRUCache(maxsize=100_000)

    async def project(self, conn: AsyncConnection, project_id: UUID) -> Any:
        if (row := self._projects.get(project_id)) is not None:
            return row
        row = (await conn.execute(_PROJECT, {"project_id": project_id})).one_or_none()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        self._projects[project_id] = row
        return row
