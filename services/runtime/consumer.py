"""Idempotent Kafka consumption: apply each event's effect exactly once, never block a partition.

Per batch, in one database transaction: claim the event ids in the inbox (`ON CONFLICT DO
NOTHING`; an id already there is a duplicate and is skipped), apply the fresh events, commit;
only then commit the offsets. A transient fault (database or network away) is retried with a
capped backoff and nothing is committed meanwhile. A permanent fault is isolated event by event:
the failing one is retried `consumer_max_attempts` times, then dead-lettered with its error, and
the others are applied, so a poison message neither blocks its partition nor is skipped
silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from sqlalchemy import CursorResult, Table, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import Event, parse_event
from contracts.topics import DEAD_LETTERS, Topic
from services.runtime.broker import KafkaConnection
from services.runtime.consumer_lag import ConsumerLag
from services.runtime.metrics import ConsumerMetrics
from services.runtime.registry import Consumption, consumer_group
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

Apply = Callable[[AsyncConnection, list[Event]], Awaitable[None]]
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40")  # connection, resources, shutdown, retry


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
        cause = exc.orig.__cause__ if exc.orig is not None else None
        return str(state)[:2] in _TRANSIENT_SQLSTATE_CLASSES or isinstance(cause, OSError)
    return False


async def claim_new(
    conn: AsyncConnection, inbox: Table, consumer: str, ids: Sequence[UUID]
) -> set[UUID]:
    """Record the ids as processed by `consumer`; returns those not recorded before."""
    if not ids:
        return set()
    rows: CursorResult[Any] = await conn.execute(
        insert(inbox)
        .values([{"consumer": consumer, "event_id": i} for i in dict.fromkeys(ids)])
        .on_conflict_do_nothing()
        .returning(literal_column("event_id"))
    )
    return {r[0] for r in rows}


@dataclass
class IdempotentConsumer:
    name: str  # the consumer group, `<service>.<handler>`
    topic: Topic
    engine: AsyncEngine
    inbox: Table
    apply: Apply
    settings: Settings
    metrics: ConsumerMetrics
    # After each commit that applied events, with those events.
    on_applied: Callable[[Sequence[Event]], None] | None = None
    prompt: bool = False  # `Consumption.prompt`

    def subscribe(self, broker: KafkaBroker) -> None:
        for outcome in ("applied", "duplicate", "dead_lettered"):  # zeros: increase() sees the 1st
            self.metrics.events.labels(self.name, outcome)
        self.metrics.transient_failures.labels(self.name)

        @broker.subscriber(
            self.topic.name,
            group_id=self.name,
            batch=True,
            max_records=self.settings.consumer_batch_records,
            fetch_max_wait_ms=self.settings.fetch_wait_ms(self.prompt),
            batch_timeout_ms=self.settings.fetch_wait_ms(self.prompt),
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            heartbeat_interval_ms=self.settings.consumer_session_timeout_ms // 5,
            ack_policy=AckPolicy.MANUAL,
            decoder=_raw_bodies,
            title=self.name,
        )
        async def handle(_: Any, message: KafkaMessage) -> None:
            await self.handle_records(broker, _records(message.raw_message))
            await message.ack()

    async def handle_records(self, broker: KafkaBroker, records: Sequence[ConsumerRecord]) -> None:
        started = time.perf_counter()
        parsed: list[tuple[ConsumerRecord, Event]] = []
        for record in records:
            try:
                parsed.append((record, parse_event(record.value)))
            except ValidationError as exc:  # can never succeed: dead-letter at once
                await self._dead_letter(broker, record, exc, attempts=1)
        try:
            await self._with_transient_retries(lambda: self._apply([e for _, e in parsed]))
        except Exception:
            log.warning("%s: batch of %d failed; isolating", self.name, len(parsed), exc_info=True)
            for record, event in parsed:
                await self._apply_one(broker, record, event)
        self.metrics.batch_seconds.labels(self.name).observe(time.perf_counter() - started)

    async def _apply(self, events: list[Event]) -> None:
        async with self.engine.begin() as conn:
            fresh = await claim_new(conn, self.inbox, self.name, [e.event_id for e in events])
            todo = []
            for event in events:  # keep the first of any ids repeated inside the batch
                if event.event_id in fresh:
                    fresh.discard(event.event_id)
                    todo.append(event)
            await self.apply(conn, todo)
        if todo and self.on_applied is not None:
            self.on_applied(todo)
        self.metrics.events.labels(self.name, "applied").inc(len(todo))
        self.metrics.events.labels(self.name, "duplicate").inc(len(events) - len(todo))

    async def _apply_one(self, broker: KafkaBroker, record: ConsumerRecord, event: Event) -> None:
        for attempt in range(1, self.settings.consumer_max_attempts + 1):
            try:
                return await self._with_transient_retries(lambda: self._apply([event]))
            except Exception as exc:
                if attempt == self.settings.consumer_max_attempts:
                    return await self._dead_letter(broker, record, exc, attempts=attempt)
                await asyncio.sleep(self.settings.consumer_retry_base_seconds * 2 ** (attempt - 1))

    async def _with_transient_retries(self, work: Callable[[], Awaitable[None]]) -> None:
        delay = self.settings.consumer_retry_base_seconds
        while True:
            try:
                return await work()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("%s: transient failure, retrying in %.1fs: %s", self.name, delay, exc)
                self.metrics.transient_failures.labels(self.name).inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _dead_letter(
        self, broker: KafkaBroker, record: ConsumerRecord, exc: BaseException, attempts: int
    ) -> None:
        log.error(
            "%s: dead-lettering %s[%d]@%d after %d attempts: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            exc,
        )
        await broker.publish(
            record.value,
            DEAD_LETTERS.name,
            key=record.key,
            headers={
                "cma-consumer": self.name,
                "cma-source-topic": record.topic,
                "cma-source-partition": str(record.partition),
                "cma-source-offset": str(record.offset),
                "cma-attempts": str(attempts),
                "cma-error": f"{type(exc).__name__}: {exc}"[:2000],
            },
        )
        self.metrics.events.labels(self.name, "dead_lettered").inc()


def _records(raw: Any) -> list[ConsumerRecord]:
    """A batch arrives as a tuple of records; FastStream's test broker nests them in a list."""
    if isinstance(raw, ConsumerRecord):
        return [raw]
    return [r for item in raw for r in (item if isinstance(item, list) else [item])]


async def _raw_bodies(message: KafkaMessage) -> Any:
    """Skip FastStream's JSON decoding: `parse_event` validates the raw bytes itself."""
    return None


def subscribe_consumers(
    broker: KafkaBroker,
    service: str,
    consumed: Sequence[Consumption],
    engine: AsyncEngine,
    inbox: Table,
    apply: Apply,
    settings: Settings,
    registry: CollectorRegistry,
    on_applied: Callable[[Sequence[Event]], None] | None = None,
) -> ConsumerLag:
    """One consumer group per handler, named `<service>.<handler>`, all applying through
    `apply` with the service's inbox and sharing its processing metrics. Returns the groups'
    lag gauge, whose `run` the service adds to its background loops. `on_applied` runs after
    each commit that applied events, with them (to refresh what is kept in memory)."""
    metrics = ConsumerMetrics(registry, service)
    groups = [(consumer_group(service, c.handler), c.topic) for c in consumed]
    for c in consumed:
        group = consumer_group(service, c.handler)
        IdempotentConsumer(
            group, c.topic, engine, inbox, apply, settings, metrics, on_applied, c.prompt
        ).subscribe(broker)
    return ConsumerLag(
        registry,
        service,
        groups,
        KafkaConnection.from_settings(settings),
        settings.consumer_lag_seconds,
    )
