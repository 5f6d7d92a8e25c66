"""The tests' PostgreSQL: a migrated database of their own on a real server (the one
`CMA_TEST_DATABASE_URL` names, else an embedded one), emptied between tests, and read directly
when a test proves what was or was not stored."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

# The embedded server reaches the tests from here only.
from services.launcher.embedded import EmbeddedPostgres as EmbeddedPostgres
from services.runtime import registry
from services.runtime.migrations import upgrade_all_async

SERVER_VARIABLE = "CMA_TEST_DATABASE_URL"


def plain_url(url: str) -> str:
    """asyncpg wants `postgresql://`, SQLAlchemy `postgresql+asyncpg://`."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def embedded_server() -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of the test run's own, which a test may stop and start again."""
    # Not under pytest's 0700 tmp folders: the server runs as an unprivileged user.
    directory = Path(tempfile.mkdtemp(prefix="cma-test-pg-"))
    server = EmbeddedPostgres(directory)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def new_database(server_url: str, prefix: str = "cma_test") -> AsyncIterator[str]:
    """A database created on the server of `server_url` and migrated; dropped afterwards
    (over a new connection: the test may have restarted the server meanwhile)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    await _as_admin(server_url, f'create database "{name}"')
    try:
        base, mark, query = server_url.partition("?")  # keep `?host=/socket/dir` as it is
        url = f"{base.rsplit('/', 1)[0]}/{name}{mark}{query}"
        await upgrade_all_async(url)
        yield url
    finally:
        await _as_admin(server_url, f'drop database if exists "{name}" with (force)')


async def _as_admin(server_url: str, statement: str) -> None:
    admin = await asyncpg.connect(plain_url(server_url))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def database_for_tests() -> AsyncIterator[str]:
    """A new database on the server `CMA_TEST_DATABASE_URL` names, else on an embedded one."""
    server_url = os.environ.get(SERVER_VARIABLE)
    with contextlib.ExitStack() as embedded:
        if not server_url:
            server_url = embedded.enter_context(embedded_server()).url("postgres")
        async with new_database(server_url) as url:
            yield url


async def fetch(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def count_rows(database_url: str, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows of each `schema.table`."""
    counts = " union all ".join(f"select '{t}', count(*) from {t}" for t in tables)
    return {table: int(n) for table, n in await fetch(database_url, counts)}


async def truncate_all(database_url: str) -> None:
    """Empties every service's tables (not their migration history)."""
    tables = await fetch(
        database_url,
        "select schemaname, tablename from pg_tables where schemaname = any($1::text[]) "
        "and tablename <> 'alembic_version'",
        [spec.schema for spec in registry.SERVICES],
    )
    if tables:
        await fetch(database_url, "truncate " + ", ".join(f'"{s}"."{t}"' for s, t in tables))
