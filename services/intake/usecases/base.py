"""What every intake use case shares: the engine, the clock, and the projects' runs."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from services.intake.queries import ProjectRuns
from services.runtime.clock import Clock


class UseCases:
    def __init__(
        self, engine: AsyncEngine, clock: Clock, projects: ProjectRuns | None = None
    ) -> None:
        """`projects`: the cache of projects' runs, shared with the queries by the app."""
        self.engine, self.clock = engine, clock
        self.projects = projects if projects is not None else ProjectRuns()
