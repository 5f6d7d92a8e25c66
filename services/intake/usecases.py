"""What every intake use case shares: the engine, the clock, and loading a project."""

from __future__ import annotations

from typing import Any
from uuid import UUID

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

    async def project(self, conn: AsyncConnection, project_id: UUID) -> Any:
        row = (await conn.execute(_PROJECT, {"project_id": project_id})).one_or_none()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return row
