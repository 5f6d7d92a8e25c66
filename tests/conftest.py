"""Real PostgreSQL (the one named by CMA_TEST_DATABASE_URL, else an embedded one) and a real
Kafka-protocol broker (a fresh embedded `tansu` per test that needs one)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from services.launcher.embedded import EmbeddedKafka, EmbeddedPostgres
from services.runtime.migrations import upgrade_all_async
from services.runtime.registry import SERVICES
from tests.support.clock import FakeClock
from tests.support.platform import Platform, running_platform, settings_for_tests


def plain_url(url: str) -> str:
    """asyncpg wants `postgresql://`, SQLAlchemy `postgresql+asyncpg://`."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"cma_test_{uuid.uuid4().hex[:8]}"
    server_url = os.environ.get("CMA_TEST_DATABASE_URL")
    embedded = None
    if server_url:
        admin = await asyncpg.connect(plain_url(server_url))
        await admin.execute(f'create database "{name}"')
        await admin.close()
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    else:
        # Not under pytest's 0700 tmp folders: the server runs as an unprivileged user.
        embedded = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="cma-test-pg-")))
        url = await embedded.create_database(name)
    await upgrade_all_async(url)
    yield url
    if embedded is not None:
        embedded.stop()
        shutil.rmtree(embedded.directory, ignore_errors=True)
    else:
        admin = await asyncpg.connect(plain_url(server_url or ""))
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.close()


async def truncate_all(database_url: str) -> None:
    """Empties every service's tables (not their migration history)."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        tables = await conn.fetch(
            "select schemaname, tablename from pg_tables where schemaname = any($1::text[]) "
            "and tablename <> 'alembic_version'",
            [spec.schema for spec in SERVICES],
        )
        if tables:
            await conn.execute("truncate " + ", ".join(f'"{s}"."{t}"' for s, t in tables))
    finally:
        await conn.close()


@pytest.fixture
async def clean_database(database_url: str) -> str:
    await truncate_all(database_url)
    return database_url


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[EmbeddedKafka]:
    broker = EmbeddedKafka(log_file=tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def platform(
    clean_database: str, kafka: EmbeddedKafka, clock: FakeClock
) -> AsyncIterator[Platform]:
    async with running_platform(settings_for_tests(clean_database, kafka.bootstrap), clock) as p:
        yield p


DEBIAN_PACKAGES = {"promtool": "prometheus", "prometheus": "prometheus", "wrk": "wrk"}


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
