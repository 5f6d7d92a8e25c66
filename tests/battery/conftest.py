"""A fresh database and broker per battery test, on one embedded PostgreSQL the tests may
stop; services run as processes."""

from __future__ import annotations

import random
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from services.launcher.embedded import EmbeddedKafka, EmbeddedPostgres
from services.runtime.migrations import upgrade_all_async
from tests.battery.driver import Driver
from tests.battery.stack import Stack


@pytest.fixture(scope="module")
def battery_postgres() -> Iterator[EmbeddedPostgres]:
    # Always embedded, even with CMA_TEST_DATABASE_URL: the battery stops the server.
    directory = Path(tempfile.mkdtemp(prefix="cma-battery-pg-"))
    postgres = EmbeddedPostgres(directory)
    yield postgres
    postgres.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def stack(battery_postgres: EmbeddedPostgres, tmp_path: Path) -> AsyncIterator[Stack]:
    url = await battery_postgres.create_database(f"battery_{uuid.uuid4().hex[:8]}")
    await upgrade_all_async(url)
    kafka = EmbeddedKafka(log_file=tmp_path / "tansu.log")
    kafka.start()
    stack = Stack(battery_postgres, url, kafka, tmp_path)
    stack.start("intake")
    stack.start("indicator")
    try:
        yield stack
    finally:
        stack.stop_all()
        kafka.stop()


@pytest.fixture
async def driver(stack: Stack, request: pytest.FixtureRequest) -> AsyncIterator[Driver]:
    seed = sum(map(ord, request.node.name))  # seeded: a failing run can be replayed
    driver = Driver(stack.services["intake"].url, random.Random(seed))
    async with httpx.AsyncClient(base_url=driver.intake_url) as client:
        await driver.register(client, 6)
    yield driver
