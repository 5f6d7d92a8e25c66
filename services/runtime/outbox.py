"""Outbox: write events in the business transaction; a relay publishes them at least once,
each key's events in the order of the outbox's `seq`.

One relay per outbox is active: the holder of the outbox's lease (`services/runtime/leases.py`),
renewed while it publishes; the other replicas stand by and take over when it lapses (the
holder stalled or died). The active relay reads the oldest unsent rows, without locking them,
publishes them in `seq` order, and marks those the broker acknowledged in one statement. No
transaction is open while it talks to Kafka. A crash between a send and its mark re-sends
the row, and consumers drop the duplicate by `event_id`.

Why the order holds even while a stalled relay wakes up still sending: every relay publishes
the oldest unsent rows in `seq` order, so the first copy of an event always follows the first
copies of the earlier events of its key (a late duplicate may follow later ones; consumers
skip it). Two relays at once would only duplicate work; the lease makes that the exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import EventEnvelope
from contracts.topics import ALL, Topic, event_key
from services.runtime.broker import KafkaConnection, ensure_topics
from services.runtime.db import copy_rows
from services.runtime.leases import Lease, autocommit, instance_id
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


async def enqueue(
    conn: AsyncConnection, table: Table, topic: Topic, events: Sequence[EventEnvelope]
) -> None:
    """Add events to the outbox inside the caller's transaction."""
    if events:
        await conn.execute(
            insert(table),
            [
                {
                    "event_id": event.event_id,
                    "topic": topic.name,
                    "key": event_key(event.partition_key),
                    "value": event.model_dump_json().encode(),
                }
                for event in events
            ],
        )


async def enqueue_many(
    conn: AsyncConnection, table: Table, topic: Topic, events: Sequence[EventEnvelope]
) -> None:
    """`enqueue` by COPY, for thousands of events at once (a milestone tick): each row's `seq`
    still follows the order of `events`."""
    await enqueue_encoded(
        conn,
        table,
        topic,
        [(e.event_id, event_key(e.partition_key), e.model_dump_json().encode()) for e in events],
    )


Encoded = tuple[uuid.UUID | str, bytes, bytes]  # an event's id (or its text), key and JSON


async def enqueue_encoded(
    conn: AsyncConnection, table: Table, topic: Topic, events: Sequence[Encoded]
) -> None:
    """`enqueue_many` of events already serialized (a milestone tick builds its JSON without
    the models: docs/performance.md, B6)."""
    if events:
        await copy_rows(
            conn,
            table,
            ("event_id", "topic", "key", "value"),
            [(event_id, topic.name, key, value) for event_id, key, value in events],
        )


def derived_event_id(consumer: str, source_event_id: uuid.UUID, index: int = 0) -> uuid.UUID:
    """Deterministic id for an event caused by another: a replay produces the same id."""
    return uuid.uuid5(source_event_id, f"{consumer}/{index}")


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        table: Table,
        leases: Table,
        broker: KafkaBroker,
        kafka: KafkaConnection,
        topics: tuple[Topic, ...],
        *,
        batch_rows: int,
        poll_seconds: float,
        lease_seconds: float,
        holder: str | None = None,
    ) -> None:
        self._engine, self._table, self._broker = autocommit(engine), table, broker
        self._kafka, self._topics = kafka, topics
        self._marker = Topic(f"cma.outbox-marker.{table.schema}", 1, "Its absence: a new broker.")
        self._batch_rows, self._poll_seconds = batch_rows, poll_seconds
        self.lease = Lease(engine, leases, "outbox-relay", holder or instance_id(), lease_seconds)
        # A standby looks for a lapsed lease this often: a takeover comes at most this late.
        self._standby_seconds = min(1.0, lease_seconds / 4)

    @classmethod
    def from_settings(
        cls,
        engine: AsyncEngine,
        table: Table,
        leases: Table,
        broker: KafkaBroker,
        settings: Settings,
    ) -> OutboxRelay:
        return cls(
            engine,
            table,
            leases,
            broker,
            KafkaConnection.from_settings(settings),
            ALL,
            batch_rows=settings.outbox_batch_rows,
            poll_seconds=settings.outbox_poll_seconds,
            lease_seconds=settings.outbox_lease_seconds,
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
        """While this relay holds the outbox's lease, publish the oldest unsent rows in `seq`
        order and mark those acknowledged; returns how many were sent (0 on standby)."""
        if not await self.lease.hold():
            return 0
        t = self._table
        query = select(t.c.seq, t.c.topic, t.c.key, t.c.value).where(t.c.sent_at.is_(None))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(t.c.seq).limit(self._batch_rows))).all()
        pending = []
        for r in rows:
            if not await self.lease.hold():  # renewed while publishing; lost: stop here
                break
            pending.append(await self._broker.publish(r.value, r.topic, key=r.key, no_confirm=True))
        if not pending:
            return 0
        acks = await asyncio.gather(*pending)
        await self._mark_sent(
            [(r.seq, a.partition, a.offset) for r, a in zip(rows[: len(acks)], acks, strict=True)]
        )
        return len(acks)

    async def _mark_sent(self, sent: list[tuple[int, int, int]]) -> None:
        """One statement: no transaction is left open should the relay stall here. A row
        already marked (by a relay that took over) keeps the partition and offset it has."""
        seqs, partitions, offsets = (list(column) for column in zip(*sent, strict=True))
        async with self._engine.connect() as conn:
            await conn.execute(
                text(f"""
                    UPDATE {self._table.fullname} AS o
                    SET sent_at = now(), sent_partition = s.partition, sent_offset = s.offset
                    FROM unnest(CAST(:seqs AS bigint[]), CAST(:partitions AS int[]),
                                CAST(:offsets AS bigint[])) AS s(seq, partition, "offset")
                    WHERE o.seq = s.seq AND o.sent_at IS NULL
                """),
                {"seqs": seqs, "partitions": partitions, "offsets": offsets},
            )

    async def resend_if_the_broker_is_new(self) -> int:
        """A broker that came back empty (the embedded one keeps nothing across a restart)
        no longer has what it acknowledged. The relay keeps a marker topic on the broker:
        finding it missing means the broker is new, so every sent row is marked unsent and
        published again; consumers drop the duplicates by event id. (Comparing end offsets
        would be finer, but the embedded broker reports them wrong for multi-record batches.)
        Missing topics are created again on the way. Not where `cma topics` made the topics
        (no CREATE right): a real cluster keeps what it acknowledged."""
        if not self._kafka.create_topics:
            return 0
        created = await ensure_topics(self._kafka, (*self._topics, self._marker))
        if self._marker.name not in created:
            return 0
        t = self._table
        async with self._engine.connect() as conn:
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
        try:
            while True:
                try:
                    if loop.time() >= next_check:
                        await self.resend_if_the_broker_is_new()
                        next_check = loop.time() + check_broker_every
                    if await self.publish_pending() == 0:
                        active = self.lease.remaining() > 0
                        await asyncio.sleep(self._poll_seconds if active else self._standby_seconds)
                except asyncio.CancelledError:
                    raise
                except Exception:  # broker or database away: keep the rows, try again shortly
                    log.exception("outbox relay: publish failed; retrying")
                    next_check = loop.time()  # a broker that comes back may be a new, empty one
                    await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(Exception):  # a clean stop hands over at once
                await self.lease.release()
