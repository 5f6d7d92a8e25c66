"""Runs intake and indicator in-process on real ports, over a real database and broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from services.indicator.app import create_app as indicator_app
from services.intake.app import create_app as intake_app
from services.launcher.embedded import free_port
from services.milestone.app import create_app as milestone_app
from services.milestone.ticker import Ticker
from services.runtime.settings import Settings
from tests.support.clock import FakeClock

STAFF_TOKEN = "staff-token-for-tests-0123456789"


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def settings_for_tests(database_url: str, kafka_bootstrap: str, **overrides: Any) -> Settings:
    defaults: dict[str, Any] = {
        "environment": "test",
        "kafka_idempotence": False,  # the embedded broker cannot do idempotent producers
        "staff_tokens": (STAFF_TOKEN,),
        "consumer_retry_base_seconds": 0.05,
        "consumer_session_timeout_ms": 2_000,
        "milestone_tick_seconds": 3600,  # tests tick by hand, with a fake clock
    }
    return Settings(
        database_url=database_url, kafka_bootstrap=kafka_bootstrap, **(defaults | overrides)
    )


@dataclass
class Platform:
    intake: httpx.AsyncClient
    indicator: httpx.AsyncClient
    milestone: httpx.AsyncClient
    ticker: Ticker  # drives the milestone service's clock tick by hand
    clock: FakeClock
    settings: Settings
    staff: dict[str, str] = field(
        default_factory=lambda: {"Authorization": f"Bearer {STAFF_TOKEN}"}
    )

    async def eventually(self, read: Any, expect: Any, within: float = 15.0) -> Any:
        """Polls `read()` until it returns `expect` (or a predicate on it holds)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await read()
            ok = expect(value) if callable(expect) else value == expect
            if ok:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"still {value!r} after {within}s")
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_platform(settings: Settings, clock: FakeClock) -> AsyncIterator[Platform]:
    milestone = milestone_app(settings, clock)
    async with (
        serve(intake_app(settings, clock)) as intake_url,
        serve(indicator_app(settings, clock)) as indicator_url,
        serve(milestone) as milestone_url,
        httpx.AsyncClient(base_url=intake_url, timeout=10) as intake,
        httpx.AsyncClient(base_url=indicator_url, timeout=10) as indicator,
        httpx.AsyncClient(base_url=milestone_url, timeout=10) as milestones,
    ):
        yield Platform(intake, indicator, milestones, milestone.state.ticker, clock, settings)
