"""The delivery loop: claims due deliveries with `FOR UPDATE SKIP LOCKED` (replicas share the
work), sends them, records each attempt; and, every second, queues the repeats of alerts that
still fire.

A delivery's row stays locked while it is sent, so a crash before the commit leaves it
pending and it is sent again: delivery is at least once, and receivers deduplicate on
`X-CMA-Delivery`. Scheduling (group wait, backoff) uses the database's clock: it is transport
timing, not a business date; the alert lifecycle follows the injected clock."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.alerting import models as m
from services.alerting.channels import Channels, DeliveryFailed
from services.alerting.domain import Channel, DeliveryStatus
from services.alerting.metrics import DeliveryMetrics
from services.alerting.queries import Subscription
from services.alerting.usecases import AlertingUseCases
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


def backoff_seconds(failed_attempts: int, base: float, jitter: float, cap: float = 3600) -> float:
    """Exponential with "equal jitter" (`jitter` in [0, 1)): half fixed, half random, so the
    retries of many deliveries to one receiver spread out."""
    delay = min(base * 2.0 ** (failed_attempts - 1), cap)
    return delay / 2 + delay / 2 * jitter


class DeliveryLoop:
    def __init__(
        self,
        engine: AsyncEngine,
        usecases: AlertingUseCases,
        channels: Channels,
        settings: Settings,
        metrics: DeliveryMetrics,
        *,
        poll_seconds: float = 0.1,
        repeat_every_seconds: float = 1.0,
        batch: int = 20,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.engine, self.usecases, self.channels = engine, usecases, channels
        self.settings, self.metrics, self.jitter = settings, metrics, jitter
        self.poll, self.repeat_every, self.batch = poll_seconds, repeat_every_seconds, batch

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_repeat = loop.time()
        while True:
            try:
                if loop.time() >= next_repeat:
                    await self.usecases.repeat_firing()
                    next_repeat = loop.time() + self.repeat_every
                if await self.deliver_due() == 0:
                    await asyncio.sleep(self.poll)
            except asyncio.CancelledError:
                raise
            except Exception:  # database away: the rows wait, pending
                log.exception("alerting: delivery loop failed; retrying")
                await asyncio.sleep(1.0)

    async def deliver_due(self) -> int:
        """Send one batch of due deliveries; returns how many were attempted."""
        d = m.deliveries.c
        query = (
            select(d.delivery_id, d.alerts, d.attempts, m.subscriptions)
            .join(m.subscriptions, m.subscriptions.c.subscription_id == d.subscription_id)
            .where(d.status == DeliveryStatus.PENDING, d.due_at <= func.now())
            .order_by(d.due_at)
            .limit(self.batch)
            .with_for_update(of=m.deliveries, skip_locked=True)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            failures = await asyncio.gather(*(self._attempt(row) for row in rows))
            outcomes = [await self._record(conn, r, f) for r, f in zip(rows, failures, strict=True)]
        for row, (outcome, latency) in zip(rows, outcomes, strict=True):  # once committed
            self._count(Channel(row.channel), outcome, latency)
        return len(rows)

    async def _attempt(self, row: Row[Any]) -> DeliveryFailed | None:
        try:
            await self.channels.send(Subscription.from_row(row), str(row.delivery_id), row.alerts)
        except DeliveryFailed as exc:
            return exc
        except Exception as exc:  # a bug or an odd receiver: retried, within the attempt limit
            log.exception("alerting: delivery %s failed unexpectedly", row.delivery_id)
            return DeliveryFailed(f"{type(exc).__name__}", retryable=True)
        return None

    async def _record(
        self, conn: AsyncConnection, row: Row[Any], failure: DeliveryFailed | None
    ) -> tuple[DeliveryStatus, float]:
        """Returns the delivery's status after the attempt (still pending: a retry) and, when
        delivered, the latency."""
        d, attempts = m.deliveries.c, row.attempts + 1
        now = func.clock_timestamp()  # not now(): the transaction began before the sending
        stmt = update(m.deliveries).where(d.delivery_id == row.delivery_id)
        stmt = stmt.values(attempts=attempts, updated_at=now)
        if failure is None:
            latency = func.extract("epoch", now - d.created_at)
            done = stmt.values(status=DeliveryStatus.DELIVERED, delivered_at=now).returning(latency)
            return DeliveryStatus.DELIVERED, float((await conn.execute(done)).one()[0])
        error = str(failure)[:500]
        if failure.retryable and attempts < self.settings.delivery_max_attempts:
            base = self.settings.delivery_backoff_base_seconds
            wait = timedelta(seconds=backoff_seconds(attempts, base, self.jitter()))
            await conn.execute(stmt.values(last_error=error, due_at=now + wait))
            return DeliveryStatus.PENDING, 0.0
        log.warning("alerting: delivery %s dead after %d attempts", row.delivery_id, attempts)
        await conn.execute(stmt.values(status=DeliveryStatus.DEAD, last_error=error))
        return DeliveryStatus.DEAD, 0.0

    def _count(self, channel: Channel, outcome: DeliveryStatus, latency: float) -> None:
        if outcome is DeliveryStatus.DELIVERED:
            self.metrics.sent.labels(channel).inc()
            self.metrics.latency.labels(channel).observe(latency)
            return
        self.metrics.failed.labels(channel).inc()
        if outcome is DeliveryStatus.DEAD:
            self.metrics.dead.labels(channel).inc()
