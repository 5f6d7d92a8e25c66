"""A service's sessions carry the timeouts of its settings: a session stalled inside a
transaction is ended by PostgreSQL, and the locks it held are freed."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.runtime.db import service_engine
from tests.support.database import plain_url
from tests.support.platform import settings_for_tests


async def test_the_settings_timeouts_are_on_every_session(clean_database: str) -> None:
    settings = settings_for_tests(
        clean_database,
        "unused:9092",
        database_statement_timeout_ms=1234,
        database_idle_in_transaction_timeout_ms=5678,
    )
    engine = service_engine(settings, "intake")
    try:
        async with engine.connect() as conn:
            shown = [
                (await conn.execute(text(f"show {name}"))).scalar_one()
                for name in ("statement_timeout", "idle_in_transaction_session_timeout")
            ]
        assert shown == ["1234ms", "5678ms"]
    finally:
        await engine.dispose()


async def test_a_session_stalled_in_a_transaction_loses_its_locks(clean_database: str) -> None:
    settings = settings_for_tests(
        clean_database, "unused:9092", database_idle_in_transaction_timeout_ms=300
    )
    engine = service_engine(settings, "intake")
    other = await asyncpg.connect(plain_url(clean_database))
    try:
        async with engine.connect() as stalled:
            await stalled.execute(
                text("insert into intake.leases values ('x', 'stalled', now())")
            )  # and the process stalls before it commits: the row stays locked
            started = asyncio.get_running_loop().time()
            async with other.transaction():  # waits for the lock until the session is ended
                await other.execute("insert into intake.leases values ('x', 'other', now())")
            waited = asyncio.get_running_loop().time() - started
            assert waited < 5, waited
            with pytest.raises(DBAPIError):  # the stalled process finds its session gone
                await stalled.execute(text("select 1"))
    finally:
        await other.close()
        await engine.dispose()
    assert waited >= 0.2  # it did wait for the stalled session, about its timeout
