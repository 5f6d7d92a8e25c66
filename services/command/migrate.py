"""`cma migrate`: wait, with a bound, for the database to accept connections, then apply every
service's migrations.

On a fresh volume PostgreSQL's image first runs a server without TCP, then restarts it: a
one-shot migration started by a healthcheck can find nothing listening. It retries while the
failure is transient (refused, still starting, too many connections) and gives up after
`--wait` seconds; a wrong password or database name fails at once.

Then, as the owner, it confines each service that has its own role (`CMA_<SERVICE>_DATABASE_URL`)
to that service's schema (`services/runtime/roles.py`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.runtime.consumer import is_transient
from services.runtime.registry import NAMES

WAIT_SECONDS = 60.0
"""The default bound of `cma migrate --wait`."""


class DatabaseAway(Exception):
    """The database still refused connections when the bound ran out."""


async def answers(database_url: str) -> None:
    """One `select 1` over a fresh connection; raises what the connection raised."""
    engine = create_async_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    finally:
        await engine.dispose()


async def wait_for_database(
    try_once: Callable[[], Awaitable[None]],
    within: float,
    every: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Calls `try_once` until it succeeds (returns the attempts made), retrying transient
    failures every `every` seconds; raises `DatabaseAway` once `within` seconds have passed."""
    deadline = clock() + within
    attempt = 0
    while True:
        attempt += 1
        try:
            await try_once()
            return attempt
        except Exception as exc:
            if not is_transient(exc):
                raise
            if clock() + every > deadline:
                raise DatabaseAway(
                    f"the database refused {attempt} connections in {within:g} s: {exc}"
                ) from exc
            print(f"database not reachable yet ({exc}); retrying", flush=True)
        await asyncio.sleep(every)


def migrate(
    database_url: str, wait: float = WAIT_SECONDS, service_urls: Mapping[str, str] | None = None
) -> int:
    from services.runtime.migrations import upgrade_all
    from services.runtime.roles import confine_service_roles

    try:
        asyncio.run(wait_for_database(lambda: answers(database_url), wait))
    except DatabaseAway as away:
        print(f"cma migrate: {away}", flush=True)
        return 1
    upgrade_all(database_url)
    print(f"migrations applied: {', '.join(NAMES)}")
    if service_urls:
        roles = asyncio.run(confine_service_roles(database_url, service_urls))
        print(f"roles confined to their service's schema: {', '.join(roles)}")
    return 0
