"""`cma migrate` as compose's one-shot runs it: against a database that starts listening late it
waits and migrates; against one that never listens it gives up at its bound."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.platform import cma_command, free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def forwarding(port: int, database_url: str) -> AsyncIterator[None]:
    """From now on, 127.0.0.1:`port` forwards every connection to the server of
    `database_url` (over TCP, or its Unix socket when the URL names a socket directory)."""
    url = make_url(database_url)
    socket_dir = url.query.get("host")

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if isinstance(socket_dir, str):
            return await asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{url.port or 5432}")
        return await asyncio.open_connection(url.host, url.port or 5432)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await connect()
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", port)
    async with server:
        yield


async def migrate(database_url: str, wait: float, log: Path) -> asyncio.subprocess.Process:
    environment = os.environ | {"CMA_DATABASE_URL": database_url}
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            *cma_command(), "migrate", "--wait", str(wait), env=environment, stdout=out, stderr=out
        )


async def test_migrate_waits_for_a_database_that_listens_late(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "migrate.log"
    late = make_url(database_url).difference_update_query(["host"]).set(host="127.0.0.1", port=port)
    process = await migrate(late.render_as_string(hide_password=False), 60, log)

    async def refused_once() -> str:
        assert process.returncode is None, log.read_text()
        return log.read_text()

    await eventually(refused_once, lambda text: "not reachable yet" in text, within=30)
    async with forwarding(port, database_url):
        code = await asyncio.wait_for(process.wait(), timeout=120)
    assert code == 0, log.read_text()
    assert "migrations applied" in log.read_text()


async def test_migrate_gives_up_at_its_bound_when_the_database_never_listens(
    tmp_path: Path,
) -> None:
    log = tmp_path / "migrate.log"
    started = time.monotonic()
    away = f"postgresql+asyncpg://cma@127.0.0.1:{free_port()}/cma"
    process = await migrate(away, 2, log)
    code = await asyncio.wait_for(process.wait(), timeout=60)
    assert code == 1, log.read_text()
    assert "cma migrate: the database refused" in log.read_text()
    assert time.monotonic() - started < 30  # the bound (2 s) plus the interpreter's start
