"""Services in this process: each app built by its factory and served on a real port."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Self

import httpx
import uvicorn
from fastapi import FastAPI

from services.milestone.ticker import Ticker
from services.runtime import registry
from services.runtime.settings import Settings
from tests.support.clock import FakeClock
from tests.support.data import project_body
from tests.support.platform.parts import STAFF, Project, free_port, spec_of
from tests.support.waiting import eventually


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """`app` on a free port of 127.0.0.1 under uvicorn, lifespan included: its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # raises what stopped it, if anything did
            raise RuntimeError("uvicorn stopped before it started (its log says why)")
        return server.started

    try:
        await eventually(started, True, within=60, every=0.02, what="uvicorn started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class _Served:
    app: FastAPI
    url: str
    client: httpx.AsyncClient
    exit: contextlib.AsyncExitStack


class Platform:
    """Services in this process over one database and broker, sharing one fake clock."""

    staff = STAFF

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.settings = settings
        self.clock = clock
        self._served: dict[str, _Served] = {}

    async def start(self, name: str, settings: Settings | None = None) -> httpx.AsyncClient:
        """Serves `name` with the platform's settings, or `settings`: a client to it."""
        assert name not in self._served, f"{name} already runs"
        app = spec_of(name).create_app(settings or self.settings, self.clock)
        async with contextlib.AsyncExitStack() as exit:
            url = await exit.enter_async_context(serve(app))
            client = await exit.enter_async_context(httpx.AsyncClient(base_url=url, timeout=15))
            self._served[name] = _Served(app, url, client, exit.pop_all())
        return client

    async def stop(self, name: str) -> None:
        """Stops `name` as a deployment would: its lifespan shuts it down."""
        await self._served.pop(name).exit.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for name in reversed(list(self._served)):
            await self.stop(name)

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap

    def url(self, name: str) -> str:
        return self._served[name].url

    def client(self, name: str) -> httpx.AsyncClient:
        return self._served[name].client

    def app(self, name: str) -> FastAPI:
        return self._served[name].app

    @property
    def intake(self) -> httpx.AsyncClient:
        return self.client("intake")

    @property
    def indicator(self) -> httpx.AsyncClient:
        return self.client("indicator")

    @property
    def milestone(self) -> httpx.AsyncClient:
        return self.client("milestone")

    @property
    def alerting(self) -> httpx.AsyncClient:
        return self.client("alerting")

    @property
    def ticker(self) -> Ticker:
        """The milestone service's evaluation tick, which tests run by hand."""
        ticker: Ticker = self.app("milestone").state.ticker
        return ticker

    async def register(self, **overrides: Any) -> Project:
        """Registers `project_body(**overrides)` through intake, as staff."""
        r = await self.intake.post("/v1/projects", json=project_body(**overrides), headers=STAFF)
        assert r.status_code == 201, r.text
        return Project(r.json()["project_id"], r.json()["api_token"])

    async def known_everywhere(self, project: Project, within: float = 30.0) -> None:
        """Waits until every running consumer of registrations accepts the project's token:
        each answers 200 to a read of the project once it has applied its registration."""

        async def known_by(name: str, path: str) -> None:
            if name in self._served:
                read = functools.partial(_status, self.client(name), path, project.headers)
                await eventually(read, 200, within=within, what=f"{name} knows the project")

        await known_by("indicator", f"/v1/projects/{project.project_id}/progress")
        await known_by("milestone", f"/v1/projects/{project.project_id}/milestones")
        await known_by("alerting", "/v1/subscriptions")


async def _status(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> int:
    return (await client.get(url, headers=headers)).status_code


@contextlib.asynccontextmanager
async def running_platform(
    settings: Settings, clock: FakeClock, services: Iterable[str] = registry.NAMES
) -> AsyncIterator[Platform]:
    """`services` in this process, started in order, stopped in reverse."""
    async with Platform(settings, clock) as platform:
        for name in services:
            await platform.start(name)
        yield platform
