"""One platform for the whole security battery: the four services in-process on real ports,
over the session's real PostgreSQL and one embedded broker, with two projects (A and B) that
every service knows. Tests that need other settings (tight limits, webhooks) build their own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.launcher.embedded import EmbeddedKafka
from services.runtime import registry
from services.runtime.settings import Settings
from tests.conftest import plain_url, truncate_all
from tests.support.clock import FakeClock
from tests.support.data import project_body
from tests.support.platform import STAFF_TOKEN, serve, settings_for_tests

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}
SERVICES = registry.NAMES
WRITTEN_BY_HTTP = (
    "intake.projects",
    "intake.reports",
    "intake.periods",
    "intake.milestones",
    "intake.outbox",
    "alerting.subscriptions",
)
"""The tables an HTTP request can write: a refused request must leave them as they were."""


@dataclass(frozen=True)
class Project:
    project_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Stack:
    urls: dict[str, str]
    clients: dict[str, httpx.AsyncClient]
    settings: Settings
    clock: FakeClock
    a: Project
    b: Project

    @property
    def intake(self) -> httpx.AsyncClient:
        return self.clients["intake"]

    @property
    def alerting(self) -> httpx.AsyncClient:
        return self.clients["alerting"]

    async def rows(self, tables: tuple[str, ...] = WRITTEN_BY_HTTP) -> dict[str, int]:
        return await count_rows(self.settings.database_url, tables)

    async def register(self, **overrides: object) -> Project:
        r = await self.intake.post("/v1/projects", json=project_body(**overrides), headers=STAFF)
        assert r.status_code == 201, r.text
        return Project(r.json()["project_id"], r.json()["api_token"])

    async def known_everywhere(self, project: Project, within: float = 30.0) -> None:
        """Waits until every service authenticates the project's token (via its event)."""
        deadline = asyncio.get_running_loop().time() + within

        async def known_by(service: str, path: str) -> None:
            while (
                await self.clients[service].get(path, headers=project.headers)
            ).status_code != 200:
                assert asyncio.get_running_loop().time() < deadline, f"{service} never knew it"
                await asyncio.sleep(0.1)

        await known_by("indicator", f"/v1/projects/{project.project_id}/progress")
        await known_by("milestone", f"/v1/projects/{project.project_id}/milestones")
        await known_by("alerting", "/v1/subscriptions")


async def count_rows(database_url: str, tables: tuple[str, ...]) -> dict[str, int]:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        return {t: await conn.fetchval(f"select count(*) from {t}") for t in tables}
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[dict[str, str]]:
    """Every registered service on a real port: their base URLs by name."""
    async with contextlib.AsyncExitStack() as stack:
        urls = {}
        for spec in registry.SERVICES:
            app = spec.create_app(settings, clock)
            urls[spec.name] = await stack.enter_async_context(serve(app))
        yield urls


@pytest.fixture(scope="package")
async def stack(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    await truncate_all(database_url)
    logs: Path = tmp_path_factory.mktemp("security")
    kafka = EmbeddedKafka(log_file=logs / "tansu.log")
    kafka.start()
    clock = FakeClock()
    # Limits out of the way (the fuzzers send hundreds of requests a second with one token);
    # test_limits.py sets tight ones on replicas of its own.
    unlimited = {"rate_limit_per_minute": 10**9, "rate_limit_burst": 10**9}
    settings = settings_for_tests(database_url, kafka.bootstrap, **unlimited)
    try:
        async with running(settings, clock) as urls, contextlib.AsyncExitStack() as clients:
            opened = {
                name: await clients.enter_async_context(httpx.AsyncClient(base_url=url, timeout=15))
                for name, url in urls.items()
            }
            placeholder = Project("", "")
            result = Stack(urls, opened, settings, clock, placeholder, placeholder)
            result.a = await result.register(name="Projet A")
            result.b = await result.register(name="Projet B")
            for project in (result.a, result.b):
                await result.known_everywhere(project)
            yield result
    finally:
        kafka.stop()
