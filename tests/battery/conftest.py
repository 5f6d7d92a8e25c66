"""The platform as processes (so they can be SIGKILLed) over a fresh database on one
embedded PostgreSQL the tests may stop, and a fresh embedded broker they may kill."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.battery.driver import Driver
from tests.support.database import EmbeddedPostgres, embedded_server, new_database
from tests.support.platform import EmbeddedKafka, PlatformProcesses


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    # Always embedded, even with CMA_TEST_DATABASE_URL: the battery stops the server.
    with embedded_server() as server:
        yield server


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    """Settings a test module adds to the battery's (it overrides this fixture)."""
    return {}


@pytest.fixture
async def processes(
    postgres_server: EmbeddedPostgres,
    kafka: EmbeddedKafka,
    tmp_path: Path,
    platform_settings: dict[str, Any],
) -> AsyncIterator[PlatformProcesses]:
    """The battery's processes over a fresh database, none started yet."""
    async with (
        new_database(postgres_server.url("postgres"), prefix="battery") as url,
        PlatformProcesses(
            url,
            kafka.bootstrap,
            tmp_path,
            consumer_session_timeout_ms=3000,  # a killed member is replaced within 3 s
            rate_limit_per_minute=100_000,  # the driver is not what is under test
            rate_limit_burst=10_000,
            **platform_settings,
        ) as processes,
    ):
        yield processes


@pytest.fixture
async def platform(processes: PlatformProcesses) -> PlatformProcesses:
    await processes.start("intake")
    await processes.start("indicator")
    return processes


@pytest.fixture
async def driver(
    platform: PlatformProcesses, request: pytest.FixtureRequest
) -> AsyncIterator[Driver]:
    seed = sum(map(ord, request.node.name))  # seeded: a failing run can be replayed
    driver = Driver(platform.url("intake"), random.Random(seed))
    async with httpx.AsyncClient(base_url=driver.intake_url) as client:
        await driver.register(client, 6)
    yield driver
