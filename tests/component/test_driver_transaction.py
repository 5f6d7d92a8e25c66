"""Statements sent through `runtime.db.driver` belong to the caller's transaction even when
they are its first: a failure afterwards leaves none of them written."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.runtime.db import driver


async def test_statements_sent_first_through_the_driver_roll_back_with_their_transaction(
    clean_database: str,
) -> None:
    engine = create_async_engine(clean_database)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table driver_probe (n int)"))
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                async with driver(conn, "probe") as db:
                    await db.execute("insert into driver_probe values (1)")
                raise RuntimeError("after the driver's statement")
        async with engine.connect() as conn:
            assert (await conn.execute(text("select count(*) from driver_probe"))).scalar() == 0
    finally:
        await engine.dispose()
