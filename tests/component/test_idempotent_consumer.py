"""The consumer's promises, driven record by record over a real PostgreSQL: a failing event
is retried then dead-lettered without skipping it silently or blocking the ones after it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import Event
from contracts.topics import DEAD_LETTERS, REPORTS
from services.indicator.models import processed_events
from services.runtime.consumer import IdempotentConsumer
from services.runtime.db import make_engine
from services.runtime.metrics import ConsumerMetrics
from tests.support.events import report_submitted
from tests.support.platform import settings_for_tests


class RecordingBroker:
    def __init__(self) -> None:
        self.published: list[tuple[bytes, str, dict[str, str]]] = []

    async def publish(
        self, value: bytes, topic: str, *, key: bytes, headers: dict[str, str]
    ) -> None:
        self.published.append((value, topic, headers))


def record(offset: int, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(REPORTS.name, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


@pytest.fixture
async def engine(clean_database: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(clean_database)
    yield engine
    await engine.dispose()


def consumer(engine: AsyncEngine, apply: Any) -> IdempotentConsumer:
    settings = settings_for_tests(
        "unused", "unused", consumer_max_attempts=3, consumer_retry_base_seconds=0.001
    )
    return IdempotentConsumer(
        "indicator.test",
        REPORTS,
        engine,
        processed_events,
        apply,
        settings,
        ConsumerMetrics(CollectorRegistry(), "indicator"),
    )


async def inbox(engine: AsyncEngine) -> set[uuid.UUID]:
    async with engine.connect() as conn:
        return set((await conn.execute(select(processed_events.c.event_id))).scalars())


async def test_a_failure_on_one_event_neither_skips_it_silently_nor_blocks_the_next(
    engine: AsyncEngine,
) -> None:
    project = uuid.uuid4()
    good_before, bad, good_after = (
        report_submitted(project, revision=n, trained=n) for n in (1, 2, 3)
    )
    attempts: dict[uuid.UUID, int] = {}
    applied: list[uuid.UUID] = []

    async def apply(conn: AsyncConnection, events: list[Event]) -> None:
        for e in events:
            attempts[e.event_id] = attempts.get(e.event_id, 0) + 1
            if e.event_id == bad.event_id:
                raise ValueError("cannot apply this one")
        applied.extend(e.event_id for e in events)

    broker = RecordingBroker()
    records = [
        record(i, e.model_dump_json().encode())
        for i, e in enumerate([good_before, bad, good_after])
    ]
    await consumer(engine, apply).handle_records(broker, records)  # type: ignore[arg-type]

    assert applied == [good_before.event_id, good_after.event_id]
    assert attempts[bad.event_id] == 1 + 3  # the batch, then max_attempts alone
    [(value, topic, headers)] = broker.published
    assert (topic, value) == (DEAD_LETTERS.name, records[1].value)
    assert headers["cma-source-offset"] == "1" and headers["cma-attempts"] == "3"
    assert "cannot apply this one" in headers["cma-error"]
    # The failed event's claim rolled back with its transaction: a replay may try it again.
    assert await inbox(engine) == {good_before.event_id, good_after.event_id}


async def test_a_transient_failure_is_retried_without_dead_lettering(engine: AsyncEngine) -> None:
    event, calls = report_submitted(uuid.uuid4()), []

    async def apply(conn: AsyncConnection, events: list[Event]) -> None:
        calls.append(len(events))
        if len(calls) < 3:
            raise ConnectionRefusedError("database restarting")

    broker = RecordingBroker()
    await consumer(engine, apply).handle_records(
        broker, [record(0, event.model_dump_json().encode())]
    )  # type: ignore[arg-type]
    assert calls == [1, 1, 1] and broker.published == []
    assert await inbox(engine) == {event.event_id}


async def test_an_event_seen_before_is_not_applied_again(engine: AsyncEngine) -> None:
    event, seen = report_submitted(uuid.uuid4()), []

    async def apply(conn: AsyncConnection, events: list[Event]) -> None:
        seen.extend(e.event_id for e in events)

    c, raw = consumer(engine, apply), event.model_dump_json().encode()
    await c.handle_records(RecordingBroker(), [record(0, raw), record(1, raw)])  # type: ignore[arg-type]
    await c.handle_records(RecordingBroker(), [record(2, raw)])  # type: ignore[arg-type]
    assert seen == [event.event_id]
    async with engine.connect() as conn:
        assert (
            await conn.execute(select(func.count()).select_from(processed_events))
        ).scalar() == 1
