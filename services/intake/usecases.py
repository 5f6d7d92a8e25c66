"""What every intake use case shares: the engine, the clock, and loading a project."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.intake import models as m
from services.runtime.clock import Clock
from services.runtime.errors import NotFound


class UseCases:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    async def project(self, conn: AsyncConnection, project_id: UUID) -> Any:
        row = (
            await conn.execute(select(m.projects).where(m.projects.c.project_id == project_id))
        ).one_or_none()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return row
