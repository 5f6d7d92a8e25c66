"""The platform as processes (so they can be SIGKILLed) over a fresh database on one
embedded PostgreSQL the tests may stop, and a fresh embedded broker they may kill."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

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
async def platform(
    postgres_server: EmbeddedPostgres, kafka: EmbeddedKafka, tmp_path: Path
) -> AsyncIterator[PlatformProcesses]:
    async with (
        new_database(postgres_server.url("postgres"), prefix="battery") as url,
        PlatformProcesses(
            url,
            kafka.bootstrap,
            tmp_path,
            consumer_session_timeout_ms=3000,  # a killed member is replaced within 3 s
            rate_limit_per_minute=100_000,  # the driver is not what is under test
            rate_limit_burst=10_000,
        ) as platform,
    ):
        await platform.start("intake")
        await platform.start("indicator")
        yield platform


@pytest.fixture
async def driver(
    platform: PlatformProcesses, request: pytest.FixtureRequest
) -> AsyncIterator[Driver]:
    seed = sum(map(ord, request.node.name))  # seeded: a failing run can be replayed
    driver = Driver(platform.url("intake"), random.Random(seed))
    async with httpx.AsyncClient(base_url=driver.intake_url) as client:
        await driver.register(client, 6)
    yield driver
