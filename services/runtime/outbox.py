"""Outbox: write events in the business transaction; a relay publishes them at least once.

Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas may relay side by side.
A row is marked sent only after the broker acknowledged it; a crash in between re-sends it,
and consumers drop the duplicate by `event_id`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import Envelope
from contracts.topics import ALL, Topic, event_key
from services.runtime.broker import ensure_topics
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


async def enqueue(
    conn: AsyncConnection, table: Table, topic: Topic, events: Sequence[Envelope]
) -> None:
    """Add events to the outbox inside the caller's transaction."""
    if events:
        await conn.execute(
            insert(table),
            [
                {
                    "event_id": event.event_id,
                    "topic": topic.name,
                    "key": event_key(event.project_id),
                    "value": event.model_dump_json().encode(),
                }
                for event in events
            ],
        )


def derived_event_id(consumer: str, source_event_id: uuid.UUID, index: int = 0) -> uuid.UUID:
    """Deterministic id for an event caused by another: a replay produces the same id."""
    return uuid.uuid5(source_event_id, f"{consumer}/{index}")


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        broker: KafkaBroker,
        bootstrap: str,
        topics: tuple[Topic, ...],
        *,
        batch_rows: int,
        poll_seconds: float,
    ) -> None:
        self._engine, self._table, self._broker = engine, table, broker
        self._bootstrap, self._topics = bootstrap, topics
        self._marker = Topic(f"cma.outbox-marker.{table.schema}", 1, "Its absence: a new broker.")
        self._batch_rows, self._poll_seconds = batch_rows, poll_seconds

    @classmethod
    def from_settings(
        cls, engine: AsyncEngine, table: Table, broker: KafkaBroker, settings: Settings
    ) -> OutboxRelay:
        return cls(
            engine,
            table,
            broker,
            settings.kafka_bootstrap,
            ALL,
            batch_rows=settings.outbox_batch_rows,
            poll_seconds=settings.outbox_poll_seconds,
        )

    def backlog_gauge(
        self, registry: CollectorRegistry, service: str
    ) -> Callable[[], Awaitable[None]]:
        """`cma_<service>_outbox_backlog`, and the coroutine that refreshes it before a scrape."""
        gauge = Gauge(
            f"cma_{service}_outbox_backlog",
            "Outbox rows not yet acknowledged by Kafka.",
            registry=registry,
        )

        async def refresh() -> None:
            gauge.set(await self.backlog())

        return refresh

    async def backlog(self) -> int:
        async with self._engine.connect() as conn:
            query = select(func.count()).where(self._table.c.sent_at.is_(None))
            return int((await conn.execute(query)).scalar_one())

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows; returns how many were sent."""
        t = self._table
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(t.c.seq, t.c.topic, t.c.key, t.c.value)
                    .where(t.c.sent_at.is_(None))
                    .order_by(t.c.seq)
                    .limit(self._batch_rows)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            pending = [
                await self._broker.publish(r.value, r.topic, key=r.key, no_confirm=True)
                for r in rows
            ]
            acks = await asyncio.gather(*pending)
            await conn.execute(
                update(t)
                .where(t.c.seq == bindparam("b_seq"))
                .values(
                    sent_at=func.now(),
                    sent_partition=bindparam("b_partition"),
                    sent_offset=bindparam("b_offset"),
                ),
                [
                    {"b_seq": r.seq, "b_partition": a.partition, "b_offset": a.offset}
                    for r, a in zip(rows, acks, strict=True)
                ],
            )
            return len(rows)

    async def resend_if_the_broker_is_new(self) -> int:
        """A broker that came back empty (the embedded one keeps nothing across a restart)
        no longer has what it acknowledged. The relay keeps a marker topic on the broker:
        finding it missing means the broker is new, so every sent row is marked unsent and
        published again; consumers drop the duplicates by event id. (Comparing end offsets
        would be finer, but the embedded broker reports them wrong for multi-record batches.)
        Missing topics are created again on the way."""
        created = await ensure_topics(self._bootstrap, (*self._topics, self._marker))
        if self._marker.name not in created:
            return 0
        t = self._table
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.sent_at.is_not(None))
                .values(sent_at=None, sent_partition=None, sent_offset=None)
            )
        if result.rowcount:
            log.warning("new broker: re-sending %d events it cannot have", result.rowcount)
        return result.rowcount

    async def run(self, check_broker_every: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        next_check = loop.time()
        while True:
            try:
                if loop.time() >= next_check:
                    await self.resend_if_the_broker_is_new()
                    next_check = loop.time() + check_broker_every
                if await self.publish_pending() == 0:
                    await asyncio.sleep(self._poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:  # broker or database away: keep the rows, try again shortly
                log.exception("outbox relay: publish failed; retrying")
                next_check = loop.time()  # a broker that comes back may be a new, empty one
                await asyncio.sleep(1.0)
