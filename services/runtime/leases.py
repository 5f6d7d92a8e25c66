"""Leases: how an instance holds work without holding a transaction.

No transaction stays open across a network call (HTTP, SMTP, Kafka): a process that stalls
there (a frozen container, a long pause, a half-open connection) would keep its locks for as
long as it stalls. Work is claimed instead by a short committed statement that names the
holder and an expiry on the database's clock; the holder works outside any transaction and
records the outcome in a second short statement that checks the claim is still its own. A
claim that lapses is taken by another instance, so a stalled one delays work by one lease at
most, and the work may be done twice (at least once: make it idempotent downstream).
"""

from __future__ import annotations

import math
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Table, delete, func, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine


def instance_id() -> str:
    """A holder's name: host and process (so an operator can find it), plus a random part (a
    restarted process, or a second worker on the same host, is another holder)."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"[:200]


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, each statement committed on its own: a claim or a record is one
    statement, so no transaction is left open if the process stalls right after it."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class Lease:
    """A named lease in a service's `leases` table: one holder at a time, renewed while it
    works, taken over by another instance once it lapses (the holder stalled or died).

    The holder trusts its lease until its own monotonic clock says it has run out, counted
    from before the statement that took it was sent, so it stops before anyone else may take
    it over (both clocks run at the same rate; the database's decides takeovers)."""

    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        name: str,
        holder: str,
        seconds: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.table, self.name = autocommit(engine), table, name
        self.holder, self.seconds, self.monotonic = holder, seconds, monotonic
        self._expires = -math.inf

    def remaining(self) -> float:
        """Seconds this holder may still rely on the lease (negative: not held)."""
        return self._expires - self.monotonic()

    async def hold(self) -> bool:
        """Takes the lease, or renews it once half of it is spent; True while held."""
        if self.remaining() > self.seconds / 2:
            return True
        return await self.acquire()

    async def acquire(self) -> bool:
        """Takes or renews the lease in one committed statement: granted when it is free,
        lapsed, or already ours."""
        t = self.table
        stmt = insert(t).values(
            name=self.name, holder=self.holder, until=func.now() + timedelta(seconds=self.seconds)
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[t.c.name],
            set_={"holder": stmt.excluded.holder, "until": stmt.excluded.until},
            where=or_(t.c.holder == self.holder, t.c.until < func.now()),
        )
        started = self.monotonic()
        async with self.engine.connect() as conn:
            held = (await conn.execute(stmt.returning(t.c.holder))).first() is not None
        self._expires = started + self.seconds if held else -math.inf
        return held

    async def release(self) -> None:
        """Hands the lease back at once (a clean stop), so another instance need not wait."""
        self._expires = -math.inf
        t = self.table
        async with self.engine.connect() as conn:
            await conn.execute(delete(t).where(t.c.name == self.name, t.c.holder == self.holder))
