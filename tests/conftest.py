"""Real PostgreSQL (the one named by CMA_TEST_DATABASE_URL, else an embedded one) and a real
Kafka-protocol broker (a fresh embedded `tansu` per test that needs one); the platform
(tests/support/platform) on them."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from services.runtime import registry
from tests.support.clock import FakeClock
from tests.support.database import database_for_tests, truncate_all
from tests.support.platform import (
    EmbeddedKafka,
    Platform,
    running_broker,
    running_platform,
    settings_for_tests,
)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    async with database_for_tests() as url:
        yield url


@pytest.fixture
async def clean_database(database_url: str) -> str:
    await truncate_all(database_url)
    return database_url


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    with running_broker(tmp_path / "tansu.log") as broker:
        yield broker


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def platform(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> AsyncIterator[Platform]:
    """Every registered service but alerting; a test that needs alerting starts it
    (`platform.start("alerting")`): its consumers would add two group joins to every test."""
    settings = settings_for_tests(clean_database, kafka.bootstrap)
    started = [name for name in registry.NAMES if name != "alerting"]
    async with running_platform(settings, clock, started) as p:
        yield p


DEBIAN_PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "wrk": "wrk",
    "chromium": "chromium",
}


def require_tool(name: str) -> str:
    """The path of a command-line tool a test needs. Missing: skip, saying so — except in CI
    (`CI=true`), where `.ci/run` installs it and a skip would hide a broken set-up."""
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGES[name]
        message = f"{name} is not installed (Debian package: {package}; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
